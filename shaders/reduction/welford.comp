#version 450
//! variants: f32 f16 bf16
// Variance and standard deviation over the [outer, rlen, inner] view: Welford updates per thread
// of the values shifted by the first one of their line, and Chan's pairwise combination, so a large
// mean with a small spread keeps its precision.
// p0 is the divisor max(N - correction, 0).
#include "reduction/reduce_common.glsl"

#define OP_VAR 0u
#define OP_STD 1u

struct State {
  float n;
  float mean;
  float m2;  // sum of squared deviations from the mean
};
shared float sh_n[256];
shared float sh_mean[256];
shared float sh_m2[256];

State st_init() { return State(0.0, 0.0, 0.0); }

State st_combine(State a, State b) {
  if (b.n == 0.0) return a;
  if (a.n == 0.0) return b;
  float n = a.n + b.n;
  float d = b.mean - a.mean;
  float f = b.n / n;
  a.mean += d * f;
  a.m2 += b.m2 + d * d * a.n * f;
  a.n = n;
  return a;
}
State st_shuffle_xor(State s, uint m) {
  return State(shuffle_xor(s.n, m), shuffle_xor(s.mean, m), shuffle_xor(s.m2, m));
}
void sh_put(uint i, State s) {
  sh_n[i] = s.n;
  sh_mean[i] = s.mean;
  sh_m2[i] = s.m2;
}
State sh_get(uint i) { return State(sh_n[i], sh_mean[i], sh_m2[i]); }
State st_load(uint i) {
  F32Buf b = F32Buf(pc.src);
  return State(b.v[3u * i], b.v[3u * i + 1u], b.v[3u * i + 2u]);
}
void st_save(uint i, State s) {
  F32Buf b = F32Buf(pc.dst);
  b.v[3u * i] = s.n;
  b.v[3u * i + 1u] = s.mean;
  b.v[3u * i + 2u] = s.m2;
}

void st_finish(uint i, State s) {
  // A zero divisor gives inf, or NaN when every value is equal (0 / 0), as PyTorch does.
  float v = pc.p0 > 0.0 ? s.m2 / pc.p0 : (s.m2 > 0.0 ? f_inf() : f_nan());
  if (pc.op == OP_STD) v = sqrt(v);
  ST(pc.dst, i, v);
  // Under autograd the mean goes to dst2 (f32) for the backward; the state holds the mean of the
  // values shifted by the line's first element (src2 is the input in both passes).
  if (pc.dst2 != 0ul) F32Buf(pc.dst2).v[i] = s.mean + LD(pc.src2, line_start(i));
}

void push(inout State s, float x) {
  s.n += 1.0;
  float d = x - s.mean;
  s.mean += d / s.n;
  s.m2 += d * (x - s.mean);
}

// Every thread of a line shifts by the line's first element, so the states of one line stay
// combinable. A value near the mean makes x - k exact (Sterbenz) and keeps the running mean small:
// with a mean of 1e4 and a spread of 1, an unshifted f32 mean carries an absolute error near 1e-3.
void accumulate(inout State s, uint base, uint stride, uint r0, uint r1, uint step) {
  float k = LD(pc.src, base);
  uint r = r0;
  for (; r < r1 && r1 - r > 3u * step; r += 4u * step) {
    float a0 = LD(pc.src, base + r * stride);
    float a1 = LD(pc.src, base + (r + step) * stride);
    float a2 = LD(pc.src, base + (r + 2u * step) * stride);
    float a3 = LD(pc.src, base + (r + 3u * step) * stride);
    push(s, a0 - k);
    push(s, a1 - k);
    push(s, a2 - k);
    push(s, a3 - k);
  }
  for (; r < r1; r += step) push(s, LD(pc.src, base + r * stride) - k);
}

#include "reduction/reduce_main.glsl"
