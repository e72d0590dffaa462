#version 450
//! variants: f32 f16 bf16
// Split-k epilogue: out[b][i] = sum over splits s of partial[b][s][i] (f32) + bias[i % N], converted to
// the output dtype. Used when a GEMM has too few output tiles to fill the device and a long k.
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t partial;
  uint64_t out_;
  uint64_t bias;  // 0: none
  uint n;         // outputs in all (batch * mn)
  uint mn;        // outputs per matrix
  uint N;
  uint splits;
} pc;

void main() {
  const uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  const uint b = i / pc.mn, r = i - b * pc.mn;
  const uint64_t base = pc.partial + uint64_t(b) * pc.splits * pc.mn * 4u;
  float sum = 0.0;
  for (uint s = 0u; s < pc.splits; ++s) sum += F32Buf(base).v[s * pc.mn + r];
  if (pc.bias != 0ul) sum += float(LD(pc.bias, r % pc.N));
  ST(pc.out_, i, sum);
}
