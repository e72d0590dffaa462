#version 450
//! variants: f32 f16 bf16 i32 i64
// argmax / argmin over the [outer, rlen, inner] view: (value, index) states where the first index
// of the extreme wins and NaN counts as both the maximum and the minimum (PyTorch). Writes I64.
#include "reduction/reduce_common.glsl"

#define OP_ARGMAX 0u
#define OP_ARGMIN 1u
#define NO_INDEX 0xffffffffu  // an empty state; loses every tie

struct State {
  ACC v;
  uint i;
};
shared ACC sh_v[256];
shared uint sh_i[256];

State st_init() {
  State s;
  s.i = NO_INDEX;
#if IS_FLOAT
  s.v = pc.op == OP_ARGMAX ? -f_inf() : f_inf();
#else
  s.v = pc.op == OP_ARGMAX ? (-9223372036854775807l - 1l) : 9223372036854775807l;
#endif
  return s;
}

// True when (av, ai) is preferred over (bv, bi).
bool wins(ACC av, uint ai, ACC bv, uint bi) {
#if IS_FLOAT
  bool an = isnan(av), bn = isnan(bv);
  if (an || bn) return an && (!bn || ai < bi);
#endif
  if (av == bv) return ai < bi;
  return pc.op == OP_ARGMAX ? av > bv : av < bv;
}

State st_combine(State a, State b) { return wins(a.v, a.i, b.v, b.i) ? a : b; }
State st_shuffle_xor(State s, uint m) {
  s.v = shuffle_xor(s.v, m);
  s.i = shuffle_xor(s.i, m);
  return s;
}
void sh_put(uint i, State s) {
  sh_v[i] = s.v;
  sh_i[i] = s.i;
}
State sh_get(uint i) {
  State s;
  s.v = sh_v[i];
  s.i = sh_i[i];
  return s;
}
State st_load(uint i) {
  State s;
  s.v = acc_at(pc.src, i);
  s.i = U32Buf(pc.src2).v[i];
  return s;
}
void st_save(uint i, State s) {
  acc_put(pc.dst, i, s.v);
  U32Buf(pc.dst2).v[i] = s.i;
}
void st_finish(uint i, State s) { I64Buf(pc.dst).v[i] = int64_t(s.i); }

void take(inout State s, ACC v, uint r) {
  if (wins(v, r, s.v, s.i)) {
    s.v = v;
    s.i = r;
  }
}

void accumulate(inout State s, uint base, uint stride, uint r0, uint r1, uint step) {
  uint r = r0;
  for (; r < r1 && r1 - r > 3u * step; r += 4u * step) {
    ACC a0 = ACC(LD(pc.src, base + r * stride));
    ACC a1 = ACC(LD(pc.src, base + (r + step) * stride));
    ACC a2 = ACC(LD(pc.src, base + (r + 2u * step) * stride));
    ACC a3 = ACC(LD(pc.src, base + (r + 3u * step) * stride));
    take(s, a0, r);
    take(s, a1, r + step);
    take(s, a2, r + 2u * step);
    take(s, a3, r + 3u * step);
  }
  for (; r < r1; r += step) take(s, ACC(LD(pc.src, base + r * stride)), r);
}

#include "reduction/reduce_main.glsl"
