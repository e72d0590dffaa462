#version 450
//! variants: f32 f16 bf16
// Tsodyks-Markram short-term plasticity over T steps (T = 1 for the step op), a thread per synapse
// keeping u and x in registers, in place on u and x (contiguous, n elements): each step relaxes
// exactly over dt, then on a presynaptic spike facilitates u += U (1 - u), releases r = u x into
// out[t] and depletes x -= r. Spikes [T, m] are read through broadcast strides within a step.
#include "common/types.glsl"
#include "common/typed.glsl"
#if defined(T_F16)
#define LD_ROUND(v) float16_t(v)
#elif defined(T_BF16)
#define LD_ROUND(v) bf16_to_f32(f32_to_bf16(v))
#endif
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t u;
  uint64_t x;
  uint64_t spk;
  uint64_t out_;
  uint n;
  uint ndim;     // 0: a step of spikes is contiguous with u's shape
  float U;
  float du;      // exp(-dt / tau_f)
  float dx;      // exp(-dt / tau_d)
  uint T;
  uint sstep;    // elements per step of spikes
  uint shape[4];
  uint ss[4];
  uint pad;
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  uint si = i;
  if (pc.ndim > 0u) {
    uint rem = i;
    si = 0u;
    for (int d = int(pc.ndim) - 1; d >= 0; --d) {
      si += (rem % pc.shape[d]) * pc.ss[d];
      rem /= pc.shape[d];
    }
  }
  float u = LD(pc.u, i), x = LD(pc.x, i);
  for (uint t = 0u; t < pc.T; ++t) {
    x = 1.0 - (1.0 - x) * pc.dx;
    u = pc.U + (u - pc.U) * pc.du;
    float r = 0.0;
    if (float(LD(pc.spk, t * pc.sstep + si)) != 0.0) {
      u = u + pc.U * (1.0 - u);
      r = u * x;
      x = x - r;
    }
#if !defined(T_F32)
    // The step op rounds the state to its dtype every step; the sequence does the same so that
    // T steps at once equal T single steps.
    u = float(LD_ROUND(u));
    x = float(LD_ROUND(x));
#endif
    ST(pc.out_, t * pc.n + i, r);
  }
  ST(pc.u, i, u);
  ST(pc.x, i, x);
}
