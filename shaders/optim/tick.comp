#version 450
// The per-step "tick" of an optimizer, run once at the start of every step (and of every replay
// of a captured step): advances the step counts and computes the per-step scalars the update
// kernels read, so nothing that changes between steps is baked into recorded push constants.
// Handles parameters first .. first + count - 1; mask bit j (or flag TF_ALL) marks the ones
// that have a gradient this step (the others keep their step count, as in torch.optim).
#include "common/types.glsl"
#define OPTIM_TICK
#include "optim/optim.glsl"
layout(local_size_x = 64) in;
layout(push_constant) uniform Tick {
  uint64_t sc;
  uint first;
  uint count;
  uint kind;
  uint flags;
  float beta1_hi, beta1_lo;  // beta as a float-float pair (hi + lo)
  float beta2_hi, beta2_lo;
  float lr_decay;
  float mu_decay;
  float mu_min;
  float weight_decay;
  uint mask[18];
} tk;

#define TF_HEADER 1u
#define TF_ALL 2u

#define K_SGD 0u
#define K_ADAM 1u
#define K_ADAMW 2u
#define K_ADAGRAD 4u

// beta^t in float-float (about 44 bits), so that 1 - beta^t keeps its relative accuracy for
// beta near 1 (beta2 = 0.999 at t = 1 loses 13 bits in plain f32). Veltkamp split and Dekker
// product need correctly rounded f32 * and +, which Vulkan requires; fma() may round twice, so
// it is not used, and `precise` forbids the compiler from contracting.
vec2 split(float a) {
  precise float c = 4097.0 * a;
  precise float hi = c - (c - a);
  precise float lo = a - hi;
  return vec2(hi, lo);
}

vec2 ff_mul(vec2 a, vec2 b) {
  vec2 as = split(a.x), bs = split(b.x);
  precise float p = a.x * b.x;
  precise float e = ((as.x * bs.x - p) + as.x * bs.y + as.y * bs.x) + as.y * bs.y;
  precise float e2 = e + (a.x * b.y + a.y * b.x);
  precise float s = p + e2;
  precise float lo = e2 - (s - p);
  return vec2(s, lo);
}

vec2 ff_pow(vec2 b, uint n) {
  vec2 r = vec2(1.0, 0.0);
  while (n != 0u) {
    if ((n & 1u) != 0u) r = ff_mul(r, b);
    n >>= 1;
    if (n != 0u) b = ff_mul(b, b);
  }
  return r;
}

// 1 - x for x = hi + lo in [0, 1]: 1 - hi is exact for hi >= 0.5 (Sterbenz).
float one_minus(vec2 x) {
  precise float s = 1.0 - x.x;
  precise float r = s - x.y;
  return r;
}

void set_f(uint w, float v) { U32Buf(tk.sc).v[w] = floatBitsToUint(v); }
float get_f(uint w) { return uintBitsToFloat(U32Buf(tk.sc).v[w]); }

void main() {
  uint lid = gl_LocalInvocationID.x;
  if ((tk.flags & TF_HEADER) != 0u && lid == 0u) {
    U32Buf(tk.sc).v[SC_T] += 1u;
    float mu = get_f(SC_MU);
    set_f(SC_MU_USED, mu);
    set_f(SC_MU, max(mu * tk.mu_decay, tk.mu_min));
  }
  float lr = get_f(SC_LR);
  for (uint j = lid; j < tk.count; j += 64u) {
    if ((tk.flags & TF_ALL) == 0u && (tk.mask[j >> 5] & (1u << (j & 31u))) == 0u) continue;
    uint rec = SC_HEADER + 4u * (tk.first + j);
    uint step = U32Buf(tk.sc).v[rec + REC_STEP] + 1u;
    U32Buf(tk.sc).v[rec + REC_STEP] = step;
    if (tk.kind == K_SGD) {
      set_f(rec + REC_S0, step == 1u ? 1.0 : 0.0);
    } else if (tk.kind == K_ADAM || tk.kind == K_ADAMW) {
      float bc1 = one_minus(ff_pow(vec2(tk.beta1_hi, tk.beta1_lo), step));
      float bc2 = one_minus(ff_pow(vec2(tk.beta2_hi, tk.beta2_lo), step));
      set_f(rec + REC_S0, lr / bc1);
      set_f(rec + REC_S1, sqrt(bc2));
      set_f(rec + REC_S2, 1.0 - lr * tk.weight_decay);
    } else if (tk.kind == K_ADAGRAD) {
      set_f(rec + REC_S0, lr / (1.0 + float(step - 1u) * tk.lr_decay));
    }
  }
}
