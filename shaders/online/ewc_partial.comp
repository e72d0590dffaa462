#version 450
//! variants: f32 f16 bf16
// EWC penalty, first pass: workgroup k of `groups` writes the f32 partial sum of F (theta -
// theta*)^2 over its grid-stride share. The share depends only on n and groups, and the tree
// order is fixed, so the result is bit-for-bit repeatable (no atomics).
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t theta;
  uint64_t star;
  uint64_t fisher;
  uint64_t partial;
  uint n;
  uint groups;
} pc;

shared float red[256];

void main() {
  uint lid = gl_LocalInvocationID.x;
  uint k = gl_WorkGroupID.x;
  float acc = 0.0;
  for (uint i = k * 256u + lid; i < pc.n; i += pc.groups * 256u) {
    float d = LD(pc.theta, i) - LD(pc.star, i);
    acc += LD(pc.fisher, i) * d * d;
  }
  red[lid] = acc;
  barrier();
  for (uint s = 128u; s > 0u; s >>= 1) {
    if (lid < s) red[lid] += red[lid + s];
    barrier();
  }
  if (lid == 0u) F32Buf(pc.partial).v[k] = red[0];
}
