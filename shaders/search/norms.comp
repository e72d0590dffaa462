#version 450
//! variants: f32 f16 bf16
// Per-row norm terms of the search kernels: |x|^2 (mode 0) or 1 / max(|x|, 1e-8) (mode 1), f32,
// one thread per row (called once per add and once per search on the queries).
#include "common/types.glsl"
#include "common/typed.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Push {
  uint64_t x;    // [rows, D]
  uint64_t y;    // f32 [rows]
  uint rows;
  uint D;
  uint mode;
  uint pad;
} pc;

void main() {
  const uint r = flat_group() * 256u + gl_LocalInvocationIndex;
  if (r >= pc.rows) return;
  float s = 0.0;
  for (uint j = 0u; j < pc.D; ++j) {
    const float v = float(LD(pc.x, r * pc.D + j));
    s = fma(v, v, s);
  }
  F32Buf(pc.y).v[r] = pc.mode == 0u ? s : 1.0 / max(sqrt(s), 1e-8);
}
