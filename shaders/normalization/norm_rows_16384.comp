#version 450
//! variants: f32
// Layer norm / RMS norm of contiguous rows of up to 16384 elements held in registers: 1024 threads
// with 4 packs of 4 elements each (see norm_rows.glsl). f32 only: for 16-bit dtypes the
// streaming norm_long kernel is faster at these lengths (measured on an H100).
#include "common/types.glsl"
#include "common/typed.glsl"
#define WG 1024
#define PACKS 4
#include "normalization/norm_rows.glsl"
