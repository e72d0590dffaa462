#version 450
//! variants: f32 f16 bf16
// SGD (torch.optim semantics): weight decay, momentum with dampening (the first step of a
// parameter copies the gradient into the buffer), nesterov. st0: momentum_buffer.
// h: momentum, 1 - dampening, weight_decay. Header: lr; record s0 = 1 on the parameter's first step.
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
  if ((pc.flags & UF_WEIGHT_DECAY) != 0u) g += pc.h[2] * p;
  if ((pc.flags & UF_MOMENTUM) != 0u) {
    float buf = sc_f(pc.rec + REC_S0) != 0.0 ? g : F32Buf(pc.st0).v[i] * pc.h[0] + pc.h[1] * g;
    F32Buf(pc.st0).v[i] = buf;
    g = (pc.flags & UF_NESTEROV) != 0u ? g + pc.h[0] * buf : buf;
  }
  ST(pc.p, i, p - lr * g);
}
