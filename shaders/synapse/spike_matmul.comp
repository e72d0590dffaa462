#version 450
//! variants: f32 f16 bf16
// Spike-matmul, 8 rows x 128 columns per workgroup; see spike_matmul.glsl.
#define ROWS 8u
#define COLS 1u
#include "synapse/spike_matmul.glsl"
