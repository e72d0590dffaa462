#version 450
//! variants: f32 f16 bf16
// Softmax / log-softmax of contiguous rows of up to 4096 elements held in registers: 256 threads
// with 4 packs of 4 elements each (see softmax_rows.glsl).
#include "common/types.glsl"
#include "common/typed.glsl"
#define WG 256
#define PACKS 4
#include "activation/softmax_rows.glsl"
