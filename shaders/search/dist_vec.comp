#version 450
//! variants: f32 f16 bf16
// Pairwise distances (or the index's keys) into a dense [Q, N] block, 4-wide loads (D a multiple of 4,
// aligned rows). The body (and why it is laid out this way) is in search/dist.glsl.
#define VEC4 1
#define SELECT 0
#include "search/dist.glsl"
