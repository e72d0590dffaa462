#version 450
//! variants: f32 f16 bf16
// Backward of cross-entropy / NLL in one pass over x: dx = g_r (softmax(x) * sum(w) - w) with
// w the (smoothed) one-hot or soft target of position r, from the log-sum-exp the forward saved;
// NLL: dx = -g_r at the target. Soft targets also get dtarget = -g_r (1 - eps) log_softmax(x).
// Contiguous rows (inner == 1) take 4 elements per invocation (one pack access when aligned).
#include "common/types.glsl"
#include "common/typed.glsl"
#define WG 256
#include "loss/common.glsl"
layout(local_size_x = WG) in;
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
#define F_VEC 32u

// What every element of position `row` needs: its gradient scale, log-sum-exp, target and the
// sum of its soft target's weights.
struct Row {
  float gr;
  float lse;
  float sw;
  int64_t t;
  bool live;  // index targets: not ignored and in range
};

Row load_row(uint row) {
  Row r;
  if ((pc.flags & F_NONE) != 0u) {
    r.gr = LD(pc.g, row);
  } else {
    r.gr = LD(pc.g, 0u);
    if ((pc.flags & F_MEAN) != 0u) r.gr /= F32Buf(pc.aux).v[pc.rows];
  }
  r.lse = (pc.flags & F_NLL) != 0u ? 0.0 : F32Buf(pc.aux).v[row];
  r.sw = 0.0;
  r.t = 0;
  r.live = true;
  if ((pc.flags & F_PROB) != 0u) {
    r.sw = F32Buf(pc.aux).v[pc.rows + 1u + row];
  } else {
    r.t = (pc.flags & F_I64) != 0u ? I64Buf(pc.target).v[row] : int64_t(I32Buf(pc.target).v[row]);
    // Ignored and out-of-range targets (reported by the forward) contribute nothing.
    r.live = r.t != pc.ignore_index && r.t >= 0 && r.t < int64_t(pc.C);
  }
  return r;
}

// dx of class c with logit xv (index targets).
float grad_index(Row r, uint c, float xv) {
  if (!r.live) return 0.0;
  float hit = int64_t(c) == r.t ? 1.0 : 0.0;
  if ((pc.flags & F_NLL) != 0u) return -r.gr * hit;
  const float eps = pc.smoothing;
  return r.gr * (exp(xv - r.lse) - (1.0 - eps) * hit - eps / float(pc.C));
}

// (dx, dtarget) with logit xv and soft target tv.
vec2 grad_prob(Row r, float xv, float tv) {
  const float eps = pc.smoothing;
  float ls = xv - r.lse;  // log_softmax
  float w = (1.0 - eps) * tv + eps / float(pc.C);
  return vec2(r.gr * (exp(ls) * r.sw - w), -r.gr * (1.0 - eps) * ls);
}

void element(uint i, uint row, uint c, Row r) {
  if ((pc.flags & F_PROB) != 0u) {
    vec2 d = grad_prob(r, LD(pc.x, i), LD(pc.target, i));
    ST(pc.dx, i, d.x);
    if (pc.dtarget != uint64_t(0)) ST(pc.dtarget, i, d.y);
  } else {
    ST(pc.dx, i, grad_index(r, c, LD(pc.x, i)));
  }
}

void main() {
  const uint gid = flat_group() * WG + gl_LocalInvocationID.x;
  if (pc.inner != 1u) {
    // Classes `inner` apart: one element per invocation.
    if (gid >= pc.n) return;
    uint j = gid % pc.inner, q = gid / pc.inner;
    uint c = q % pc.C, row = (q / pc.C) * pc.inner + j;
    element(gid, row, c, load_row(row));
    return;
  }
  const uint e0 = gid * 4u;
  if (e0 >= pc.n) return;
  uint row = e0 / pc.C, c = e0 - row * pc.C;
  Row r = load_row(row);
  if ((pc.flags & F_VEC) != 0u) {
    // C % 4 == 0: the pack lies in one row.
    vec4 xv = load4(pc.x, gid), dx;
    if ((pc.flags & F_PROB) != 0u) {
      vec4 tv = load4(pc.target, gid), dt;
      for (uint k = 0u; k < 4u; ++k) {
        vec2 d = grad_prob(r, xv[k], tv[k]);
        dx[k] = d.x;
        dt[k] = d.y;
      }
      if (pc.dtarget != uint64_t(0)) store4(pc.dtarget, gid, dt);
    } else {
      for (uint k = 0u; k < 4u; ++k) dx[k] = grad_index(r, c + k, xv[k]);
    }
    store4(pc.dx, gid, dx);
    return;
  }
  for (uint k = 0u; k < 4u && e0 + k < pc.n; ++k) {
    if (c == pc.C) {
      c = 0u;
      ++row;
      r = load_row(row);
    }
    element(e0 + k, row, c, r);
    ++c;
  }
}
