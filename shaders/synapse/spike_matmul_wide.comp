#version 450
//! variants: f32 f16 bf16
// Spike-matmul, 8 rows x 256 columns per workgroup (two columns per thread: the chunk's spikes
// are staged once for twice the columns); see spike_matmul.glsl.
#define ROWS 8u
#define COLS 2u
#include "synapse/spike_matmul.glsl"
