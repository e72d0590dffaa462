#version 450
//! variants: f32 f16 bf16
// Backward of cross-entropy / NLL in one pass over x: dx = g_r (softmax(x) * sum(w) - w) with
// w the (smoothed) one-hot or soft target of position r, from the log-sum-exp the forward saved;
// NLL: dx = -g_r at the target. Soft targets also get dtarget = -g_r (1 - eps) log_softmax(x).
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t target;
  uint64_t aux;     // [lse per position | count | sum of weights per position] (f32)
  uint64_t g;       // the loss's gradient: one value, or one per position (NONE)
  uint64_t dx;
  uint64_t dtarget; // 0 unless soft targets need a gradient
  int64_t ignore_index;
  uint n;           // elements of x
  uint C;
  uint inner;
  uint rows;
  uint flags;
  float smoothing;
} pc;

#define F_I64 1u
#define F_PROB 2u
#define F_NLL 4u
#define F_NONE 8u
#define F_MEAN 16u

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  uint j = i % pc.inner, q = i / pc.inner;
  uint c = q % pc.C, row = (q / pc.C) * pc.inner + j;
  float gr;
  if ((pc.flags & F_NONE) != 0u) {
    gr = LD(pc.g, row);
  } else {
    gr = LD(pc.g, 0u);
    if ((pc.flags & F_MEAN) != 0u) gr /= F32Buf(pc.aux).v[pc.rows];
  }
  const float eps = pc.smoothing;
  if ((pc.flags & F_PROB) != 0u) {
    float ls = LD(pc.x, i) - F32Buf(pc.aux).v[row];  // log_softmax
    float w = (1.0 - eps) * LD(pc.target, i) + eps / float(pc.C);
    ST(pc.dx, i, gr * (exp(ls) * F32Buf(pc.aux).v[pc.rows + 1u + row] - w));
    if (pc.dtarget != uint64_t(0)) ST(pc.dtarget, i, -gr * (1.0 - eps) * ls);
    return;
  }
  int64_t t = (pc.flags & F_I64) != 0u ? I64Buf(pc.target).v[row] : int64_t(I32Buf(pc.target).v[row]);
  // Ignored and out-of-range targets (reported by the forward) contribute nothing.
  if (t == pc.ignore_index || t < 0 || t >= int64_t(pc.C)) {
    ST(pc.dx, i, 0.0);
    return;
  }
  float hit = int64_t(c) == t ? 1.0 : 0.0;
  if ((pc.flags & F_NLL) != 0u) {
    ST(pc.dx, i, -gr * hit);
    return;
  }
  float sm = exp(LD(pc.x, i) - F32Buf(pc.aux).v[row]);
  ST(pc.dx, i, gr * (sm - (1.0 - eps) * hit - eps / float(pc.C)));
}
