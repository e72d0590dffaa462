#version 450
//! variants: f32 f16 bf16
// Per-feature standardisation: out[r, c] = (x[r, c] - mean[c]) / sqrt(var[c] + eps), with f32
// statistics. Push layout: ApplyPush in online.cpp.
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t mean;
  uint64_t var;
  uint64_t out_;
  uint n;
  uint D;
  float eps;
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  uint c = i % pc.D;
  float m = F32Buf(pc.mean).v[c];
  float v = F32Buf(pc.var).v[c];
  ST(pc.out_, i, (LD(pc.x, i) - m) / sqrt(v + pc.eps));
}
