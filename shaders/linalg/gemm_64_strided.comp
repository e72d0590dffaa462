#version 450
//! variants: f32 f16 bf16
// GEMM, 64x64 tile, 4x4 per thread, scalar loads through any strides: small problems of any layout.
// The body (and why the tile is laid out this way) is in linalg/gemm.glsl.
#define BM 64
#define BN 64
#define BK 16
#define TM 4
#define TN 4
#define VEC4 0
#include "linalg/gemm.glsl"
