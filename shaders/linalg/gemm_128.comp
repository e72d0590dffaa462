#version 450
//! variants: f32 f16 bf16
// GEMM, 128x128 tile, k-slices of 8, 8x8 per thread, 4-wide loads: the kernel for large problems.
// The body (and why the tile is laid out this way) is in linalg/gemm.glsl.
#define BM 128
#define BN 128
#define BK 8
#define TM 8
#define TN 8
#define VEC4 1
#include "linalg/gemm.glsl"
