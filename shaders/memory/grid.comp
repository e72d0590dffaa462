#version 450
//! variants: f32 f16 bf16
// Grid cells: the rectified sum of three plane waves 60 degrees apart, scaled so that a lattice
// vertex fires at max_rate: out[b, n] = max_rate * max(0, sum_j cos(k u_j . (x_b - p_n))) / 3.
#include "common/types.glsl"
#include "common/typed.glsl"
#include "common/mathx.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;       // [B, 2]
  uint64_t spacing; // [N]
  uint64_t orient;  // [N] radians
  uint64_t phase;   // [N, 2]
  uint64_t out_;    // [B, N]
  uint B;
  uint N;
  float max_rate;
  uint pad;
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.B * pc.N) return;
  uint n = i % pc.N, b = i / pc.N;
  float dx = float(LD(pc.x, 2u * b)) - float(LD(pc.phase, 2u * n));
  float dy = float(LD(pc.x, 2u * b + 1u)) - float(LD(pc.phase, 2u * n + 1u));
  float k = 7.255197456936871 / float(LD(pc.spacing, n));  // 4 pi / sqrt(3) / spacing
  float th = float(LD(pc.orient, n));
  float sum = 0.0;
  for (uint j = 0u; j < 3u; ++j) {
    float a = th + float(j) * 1.0471975511965976;  // + j * 60 degrees
    sum += cos_r(k * (cos_r(a) * dx + sin_r(a) * dy));
  }
  ST(pc.out_, i, pc.max_rate * max(sum, 0.0) * (1.0 / 3.0));
}
