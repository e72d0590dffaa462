#version 450
//! variants: f32 f16 bf16
// Layer norm / RMS norm backward of contiguous rows of up to 2048 elements held in registers: 256
// threads with 2 packs of 4 elements each (see norm_grad_rows.glsl).
#include "common/types.glsl"
#include "common/typed.glsl"
#define WG 256
#define PACKS 2
#include "normalization/norm_grad_rows.glsl"
