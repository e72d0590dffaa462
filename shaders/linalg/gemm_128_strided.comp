#version 450
//! variants: f32 f16 bf16
// GEMM, 128x128 tile, 8x8 per thread, scalar loads through any strides: large problems whose layout
// or sizes rule out 4-wide loads.
// The body (and why the tile is laid out this way) is in linalg/gemm.glsl.
#define BM 128
#define BN 128
#define BK 8
#define TM 8
#define TN 8
#define VEC4 0
#include "linalg/gemm.glsl"
