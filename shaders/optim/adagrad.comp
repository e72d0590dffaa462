#version 450
//! variants: f32 f16 bf16
// Adagrad (torch.optim semantics): st0 sum. h: eps, weight_decay. Record s0: the step's
// lr / (1 + (step - 1) lr_decay).
#include "common/types.glsl"
#include "common/typed.glsl"
#include "optim/optim.glsl"
layout(local_size_x = 256) in;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  float clr = sc_f(pc.rec + REC_S0);
  float p = LD(pc.p, i);
  float g = LD(pc.g, i);
  if ((pc.flags & UF_WEIGHT_DECAY) != 0u) g += pc.h[1] * p;
  float s = F32Buf(pc.st0).v[i] + g * g;
  F32Buf(pc.st0).v[i] = s;
  ST(pc.p, i, p - clr * (g / (sqrt(s) + pc.h[0])));
}
