#version 450
//! variants: f32 f16 bf16
// Diagonal natural gradient: F <- b F + (1 - b) g^2 (st0: fisher), p -= lr g / (F + eps).
// h: b, 1 - b, eps. Header: lr.
#include "common/types.glsl"
#include "common/typed.glsl"
#include "optim/optim.glsl"
layout(local_size_x = 256) in;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  float lr = sc_f(SC_LR);
  float p = LD(pc.p, i);
  float g = LD(pc.g, i);
  float f = F32Buf(pc.st0).v[i] * pc.h[0] + pc.h[1] * (g * g);
  F32Buf(pc.st0).v[i] = f;
  ST(pc.p, i, p - lr * (g / (f + pc.h[2])));
}
