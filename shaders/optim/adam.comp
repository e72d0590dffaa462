#version 450
//! variants: f32 f16 bf16
// Adam and AdamW (torch.optim semantics, amsgrad optional): one fused pass over a parameter that
// updates exp_avg (st0), exp_avg_sq (st1), max_exp_avg_sq (st2) and the parameter in place.
// h: beta1, beta2, eps, weight_decay, 1 - beta1, 1 - beta2. Record: s0 = lr / (1 - beta1^t),
// s1 = sqrt(1 - beta2^t), s2 = 1 - lr * weight_decay (AdamW).
#include "common/types.glsl"
#include "common/typed.glsl"
#include "optim/optim.glsl"
layout(local_size_x = 256) in;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  float step_size = sc_f(pc.rec + REC_S0);
  float bc2_sqrt = sc_f(pc.rec + REC_S1);
  float p = LD(pc.p, i);
  float g = LD(pc.g, i);
  if ((pc.flags & UF_DECOUPLED) != 0u)
    p *= sc_f(pc.rec + REC_S2);
  else if ((pc.flags & UF_WEIGHT_DECAY) != 0u)
    g += pc.h[3] * p;
  float m = F32Buf(pc.st0).v[i];
  float v = F32Buf(pc.st1).v[i];
  m += pc.h[4] * (g - m);  // lerp toward g, as torch's exp_avg.lerp_(grad, 1 - beta1)
  v = v * pc.h[1] + pc.h[5] * (g * g);
  F32Buf(pc.st0).v[i] = m;
  F32Buf(pc.st1).v[i] = v;
  if ((pc.flags & UF_AMSGRAD) != 0u) {
    v = max(F32Buf(pc.st2).v[i], v);
    F32Buf(pc.st2).v[i] = v;
  }
  float denom = sqrt(v) / bc2_sqrt + pc.h[2];
  ST(pc.p, i, p - step_size * (m / denom));
}
