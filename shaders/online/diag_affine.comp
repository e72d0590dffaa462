#version 450
// out = (a M + b I) * s^sexp for a square [D, D] matrix: the steps of the Newton-Schulz
// iteration (covariance + eps I, the scaled start, 1.5 I - 0.5 Z Y, the final 1/sqrt(c)), with
// the scale s read from the device so that no host wait is needed. M may be absent (0).
// Push layout: AffinePush in online.cpp.
#include "common/types.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t m;
  uint64_t out_;
  uint64_t s;  // f32 scalar or 0 (no scale)
  uint D;
  float a;
  float b;
  float sexp;
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.D * pc.D) return;
  float v = (pc.m != 0ul ? pc.a * F32Buf(pc.m).v[i] : 0.0) + ((i / pc.D == i % pc.D) ? pc.b : 0.0);
  if (pc.s != 0ul) {
    float sv = F32Buf(pc.s).v[0];
    v *= pc.sexp == -1.0 ? 1.0 / sv : (pc.sexp == -0.5 ? 1.0 / sqrt(sv) : pow(sv, pc.sexp));
  }
  F32Buf(pc.out_).v[i] = v;
}
