#version 450
//! variants: f32 f16 bf16
// Pairwise distances (or the index's keys) into a dense [Q, N] block, scalar loads (any D).
// The body (and why it is laid out this way) is in search/dist.glsl.
#define VEC4 0
#define SELECT 0
#include "search/dist.glsl"
