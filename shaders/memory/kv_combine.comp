#version 450
//! variants: f32 f16 bf16
// Merges the split partial results of kv_read.comp, one thread per output element:
// out = sum_s exp(m_s - M) acc_s / sum_s exp(m_s - M) l_s with M = max_s m_s.
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t part;  // f32 [splits, rows, dv]
  uint64_t ml;    // f32 [splits, rows, 2]
  uint64_t out_;  // [rows, dv]
  uint rows;
  uint dv;
  uint splits;
  uint pad;
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.rows * pc.dv) return;
  uint r = i / pc.dv;
  float mx = uintBitsToFloat(0xff800000u);
  for (uint s = 0u; s < pc.splits; ++s) mx = max(mx, F32Buf(pc.ml).v[(s * pc.rows + r) * 2u]);
  float mb = isinf(mx) && mx < 0.0 ? 0.0 : mx;
  float num = 0.0, den = 0.0;
  for (uint s = 0u; s < pc.splits; ++s) {
    float w = exp(F32Buf(pc.ml).v[(s * pc.rows + r) * 2u] - mb);
    den += w * F32Buf(pc.ml).v[(s * pc.rows + r) * 2u + 1u];
    num += w * F32Buf(pc.part).v[s * pc.rows * pc.dv + i];
  }
  ST(pc.out_, i, num / den);
}
