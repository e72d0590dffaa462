#version 450
//! variants: f32
// The fused distance + per-chunk top-k scan of the flat index, 4-wide loads (D a multiple of 4,
// aligned rows). The body (and why it is laid out this way) is in search/dist.glsl.
#define VEC4 1
#define SELECT 1
#include "search/dist.glsl"
