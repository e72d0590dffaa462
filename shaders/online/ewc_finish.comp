#version 450
//! variants: f32 f16 bf16
// EWC penalty, second pass: one workgroup adds the partial sums in a fixed order and stores
// 0.5 * lambda * sum in the output dtype.
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t partial;
  uint64_t out_;
  uint groups;
  float half_lambda;
} pc;

shared float red[256];

void main() {
  uint lid = gl_LocalInvocationID.x;
  float acc = 0.0;
  for (uint i = lid; i < pc.groups; i += 256u) acc += F32Buf(pc.partial).v[i];
  red[lid] = acc;
  barrier();
  for (uint s = 128u; s > 0u; s >>= 1) {
    if (lid < s) red[lid] += red[lid + s];
    barrier();
  }
  if (lid == 0u) ST(pc.out_, 0, pc.half_lambda * red[0]);
}
