#version 450
//! variants: f32
// Layer norm / RMS norm backward of contiguous rows of up to 16384 elements held in registers: 1024
// threads with 4 packs of 4 elements each (see norm_grad_rows.glsl). f32 only, as the forward
// (norm_rows_16384.comp): longer 16-bit rows stream.
#include "common/types.glsl"
#include "common/typed.glsl"
#define WG 1024
#define PACKS 4
#include "normalization/norm_grad_rows.glsl"
