#version 450
//! variants: f32 f16 bf16
// Backward of place / time cells, in f32. With e = max_rate exp(-d2 / (2 s^2)) and w = g e / s^2:
// mode 0, one thread per position b: dx[b] = sum_n w (c_n - x_b); mode 1, one thread per cell n:
// dc[n] = sum_b w (x_b - c_n) and ds[n] = sum_b w d2 / s. The exponential is recomputed rather
// than stored: it costs less than writing and reading a [B, N] intermediate.
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;     // [B, D]
  uint64_t c;     // [N, D]
  uint64_t s;     // [N] or 0 (scalar sigma)
  uint64_t g;     // [B, N], the output gradient
  uint64_t d0;    // mode 0: dx [B, D]; mode 1: dc [N, D] (f32)
  uint64_t d1;    // mode 1: ds [N] (f32) or 0
  uint B;
  uint N;
  uint D;
  uint mode;
  float sigma;
  float max_rate;
} pc;

#define MAXD 8u

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  float acc[MAXD];
  float sacc = 0.0;
  for (uint k = 0u; k < MAXD; ++k) acc[k] = 0.0;
  if (pc.mode == 0u) {
    if (i >= pc.B) return;
    uint b = i;
    float xb[MAXD];
    for (uint k = 0u; k < pc.D; ++k) xb[k] = float(LD(pc.x, b * pc.D + k));
    for (uint n = 0u; n < pc.N; ++n) {
      float d2 = 0.0;
      for (uint k = 0u; k < pc.D; ++k) {
        float e = xb[k] - float(LD(pc.c, n * pc.D + k));
        d2 += e * e;
      }
      float sg = pc.s != 0ul ? float(LD(pc.s, n)) : pc.sigma;
      float is2 = 1.0 / (sg * sg);
      float w = float(LD(pc.g, b * pc.N + n)) * pc.max_rate * exp(-0.5 * d2 * is2) * is2;
      for (uint k = 0u; k < pc.D; ++k) acc[k] += w * (float(LD(pc.c, n * pc.D + k)) - xb[k]);
    }
    for (uint k = 0u; k < pc.D; ++k) F32Buf(pc.d0).v[b * pc.D + k] = acc[k];
  } else {
    if (i >= pc.N) return;
    uint n = i;
    float cn[MAXD];
    for (uint k = 0u; k < pc.D; ++k) cn[k] = float(LD(pc.c, n * pc.D + k));
    float sg = pc.s != 0ul ? float(LD(pc.s, n)) : pc.sigma;
    float is2 = 1.0 / (sg * sg);
    for (uint b = 0u; b < pc.B; ++b) {
      float d2 = 0.0;
      for (uint k = 0u; k < pc.D; ++k) {
        float e = float(LD(pc.x, b * pc.D + k)) - cn[k];
        d2 += e * e;
      }
      float w = float(LD(pc.g, b * pc.N + n)) * pc.max_rate * exp(-0.5 * d2 * is2) * is2;
      for (uint k = 0u; k < pc.D; ++k) acc[k] += w * (float(LD(pc.x, b * pc.D + k)) - cn[k]);
      sacc += w * d2;
    }
    for (uint k = 0u; k < pc.D; ++k) F32Buf(pc.d0).v[n * pc.D + k] = acc[k];
    if (pc.d1 != 0ul) F32Buf(pc.d1).v[n] = sacc / sg;
  }
}
