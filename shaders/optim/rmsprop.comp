#version 450
//! variants: f32 f16 bf16
// RMSprop (torch.optim semantics): st0 square_avg, st1 momentum_buffer, st2 grad_avg (centered).
// h: alpha, 1 - alpha, eps, weight_decay, momentum. Header: lr.
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
  if ((pc.flags & UF_WEIGHT_DECAY) != 0u) g += pc.h[3] * p;
  float sq = F32Buf(pc.st0).v[i] * pc.h[0] + pc.h[1] * (g * g);
  F32Buf(pc.st0).v[i] = sq;
  float avg;
  if ((pc.flags & UF_CENTERED) != 0u) {
    float ga = F32Buf(pc.st2).v[i];
    ga += pc.h[1] * (g - ga);
    F32Buf(pc.st2).v[i] = ga;
    avg = sqrt(sq - ga * ga);
  } else {
    avg = sqrt(sq);
  }
  avg += pc.h[2];
  if ((pc.flags & UF_MOMENTUM) != 0u) {
    float buf = F32Buf(pc.st1).v[i] * pc.h[4] + g / avg;
    F32Buf(pc.st1).v[i] = buf;
    ST(pc.p, i, p - lr * buf);
  } else {
    ST(pc.p, i, p - lr * (g / avg));
  }
}
