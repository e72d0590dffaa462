#version 450
//! variants: f32 f16 bf16
// Layer norm / RMS norm of contiguous rows of up to 2048 elements held in registers: 128 threads
// with 4 packs of 4 elements each (see norm_rows.glsl).
#include "common/types.glsl"
#include "common/typed.glsl"
#define WG 128
#define PACKS 4
#include "normalization/norm_rows.glsl"
