#version 450
//! variants: f32
// The fused distance + per-chunk top-k scan of the flat index, scalar loads (any D).
// The body (and why it is laid out this way) is in search/dist.glsl.
#define VEC4 0
#define SELECT 1
#include "search/dist.glsl"
