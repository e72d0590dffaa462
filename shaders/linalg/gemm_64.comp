#version 450
//! variants: f32 f16 bf16
// GEMM, 64x64 tile, k-slices of 16, 4x4 per thread, 4-wide loads: small and split-k problems, where
// 128x128 tiles would leave most of the device idle.
// The body (and why the tile is laid out this way) is in linalg/gemm.glsl.
#define BM 64
#define BN 64
#define BK 16
#define TM 4
#define TN 4
#define VEC4 1
#include "linalg/gemm.glsl"
