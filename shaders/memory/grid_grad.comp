#version 450
//! variants: f32 f16 bf16
// Backward of the grid cells w.r.t. the positions, one thread per position b, in f32: where the
// sum S = sum_j cos(a_j), a_j = k u_j . (x_b - p_n), is positive,
// dx_b += g[b, n] * max_rate / 3 * sum_j -sin(a_j) k u_j; the rectified part passes nothing.
#include "common/types.glsl"
#include "common/typed.glsl"
#include "common/mathx.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;       // [B, 2]
  uint64_t spacing; // [N]
  uint64_t orient;  // [N]
  uint64_t phase;   // [N, 2]
  uint64_t g;       // [B, N]
  uint64_t dx;      // [B, 2] f32
  uint B;
  uint N;
  float max_rate;
  uint pad;
} pc;

void main() {
  uint b = flat_group() * 256u + gl_LocalInvocationID.x;
  if (b >= pc.B) return;
  float xb = float(LD(pc.x, 2u * b)), yb = float(LD(pc.x, 2u * b + 1u));
  vec2 acc = vec2(0.0);
  for (uint n = 0u; n < pc.N; ++n) {
    float dx = xb - float(LD(pc.phase, 2u * n)), dy = yb - float(LD(pc.phase, 2u * n + 1u));
    float k = 7.255197456936871 / float(LD(pc.spacing, n));  // 4 pi / sqrt(3) / spacing
    float th = float(LD(pc.orient, n));
    float sum = 0.0;
    vec2 grad = vec2(0.0);
    for (uint j = 0u; j < 3u; ++j) {
      float a = th + float(j) * 1.0471975511965976;
      vec2 u = vec2(cos_r(a), sin_r(a)) * k;
      float arg = u.x * dx + u.y * dy;
      sum += cos_r(arg);
      grad -= sin_r(arg) * u;
    }
    if (sum > 0.0) acc += float(LD(pc.g, b * pc.N + n)) * grad;
  }
  acc *= pc.max_rate * (1.0 / 3.0);
  F32Buf(pc.dx).v[2u * b] = acc.x;
  F32Buf(pc.dx).v[2u * b + 1u] = acc.y;
}
