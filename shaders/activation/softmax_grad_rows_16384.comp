#version 450
//! variants: f32
// Softmax / log-softmax backward of contiguous rows of up to 16384 elements held in registers: 1024
// threads with 4 packs of 4 elements each (see softmax_grad_rows.glsl). f32 only, as the forward
// (softmax_rows_16384.comp): longer 16-bit rows stream.
#include "common/types.glsl"
#include "common/typed.glsl"
#define WG 1024
#define PACKS 4
#include "activation/softmax_grad_rows.glsl"
