#version 450
//! variants: f32 f16 bf16
// log(sum(exp(x))) over the [outer, rlen, inner] view in one pass: each state is a running maximum
// m and s = sum(exp(x - m)), rescaled when m grows. Infinite inputs give +-inf, NaN gives NaN.
#include "reduction/reduce_common.glsl"

struct State {
  float m;
  float s;
};
shared float sh_m[256];
shared float sh_s[256];

State st_init() { return State(-f_inf(), 0.0); }

State st_combine(State a, State b) {
  if (b.m > a.m) {
    State t = a;
    a = b;
    b = t;
  }
  if (b.s == 0.0) return a;
  // Equal maxima (including both infinite) add directly: exp(inf - inf) would be NaN.
  a.s += a.m == b.m ? b.s : b.s * exp(b.m - a.m);
  return a;
}
State st_shuffle_xor(State s, uint m) { return State(shuffle_xor(s.m, m), shuffle_xor(s.s, m)); }
void sh_put(uint i, State s) {
  sh_m[i] = s.m;
  sh_s[i] = s.s;
}
State sh_get(uint i) { return State(sh_m[i], sh_s[i]); }
State st_load(uint i) {
  F32Buf b = F32Buf(pc.src);
  return State(b.v[2u * i], b.v[2u * i + 1u]);
}
void st_save(uint i, State s) {
  F32Buf b = F32Buf(pc.dst);
  b.v[2u * i] = s.m;
  b.v[2u * i + 1u] = s.s;
}
void st_finish(uint i, State s) {
  float v = s.m + log(s.s);
  ST(pc.dst, i, v);
  // Under autograd the result also goes to dst2 in f32: the backward's exp(x - lse) would carry
  // the rounding of an f16/bf16 result (|lse| * 2^-8 for bf16) into every gradient.
  if (pc.dst2 != 0ul) F32Buf(pc.dst2).v[i] = v;
}

void push(inout State s, float x) {
  if (x > s.m) {
    s.s = s.s * exp(s.m - x) + 1.0;
    s.m = x;
  } else if (x == s.m) {
    s.s += 1.0;
  } else {
    s.s += exp(x - s.m);  // NaN lands here and poisons s
  }
}

void accumulate(inout State s, uint base, uint stride, uint r0, uint r1, uint step) {
  uint r = r0;
  for (; r < r1 && r1 - r > 3u * step; r += 4u * step) {
    float a0 = LD(pc.src, base + r * stride);
    float a1 = LD(pc.src, base + (r + step) * stride);
    float a2 = LD(pc.src, base + (r + 2u * step) * stride);
    float a3 = LD(pc.src, base + (r + 3u * step) * stride);
    push(s, a0);
    push(s, a1);
    push(s, a2);
    push(s, a3);
  }
  for (; r < r1; r += step) push(s, LD(pc.src, base + r * stride));
}

#include "reduction/reduce_main.glsl"
