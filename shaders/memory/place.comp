#version 450
//! variants: f32 f16 bf16
// Gaussian tuning curves of place cells (D-dimensional) and time cells (D = 1, baseline 0):
// out[b, n] = baseline + max_rate * exp(-||x_b - c_n||^2 / (2 sigma_n^2)), one thread per output.
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;      // [B, D]
  uint64_t c;      // [N, D]
  uint64_t s;      // [N] per-cell widths, or 0: the scalar sigma
  uint64_t out_;   // [B, N]
  uint B;
  uint N;
  uint D;
  float sigma;
  float max_rate;
  float baseline;
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.B * pc.N) return;
  uint n = i % pc.N, b = i / pc.N;
  float d2 = 0.0;
  for (uint k = 0u; k < pc.D; ++k) {
    float e = float(LD(pc.x, b * pc.D + k)) - float(LD(pc.c, n * pc.D + k));
    d2 += e * e;
  }
  float sg = pc.s != 0ul ? float(LD(pc.s, n)) : pc.sigma;
  ST(pc.out_, i, pc.baseline + pc.max_rate * exp(-d2 / (2.0 * sg * sg)));
}
