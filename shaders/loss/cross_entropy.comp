#version 450
//! variants: f32 f16 bf16
// Cross-entropy (from logits) and NLL (from log-probabilities) forward, fused: a team of lanes per
// position of x seen as [N, C, inner] (classes `inner` apart) finds the row's max and log-sum-exp,
// the picked logit and the label-smoothing term, and the workgroup sums its positions' losses.
#include "common/types.glsl"
#include "common/typed.glsl"
#define WG 256
#include "loss/common.glsl"
layout(local_size_x = WG) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t target;  // class indices [N, inner] (i32 / i64), or probabilities of x's shape
  uint64_t out_;    // NONE: per-position losses; else the reduced loss (single workgroup)
  uint64_t part;    // partial {sum, count} per workgroup, or 0
  uint64_t aux;     // 0, or f32 [lse per position | count | sum of weights per position] for backward
  uint64_t err;
  int64_t ignore_index;
  uint rows;        // N * inner positions
  uint C;
  uint inner;
  uint team_log2;
  uint flags;
  uint tag;
  float smoothing;
  uint pad;
} pc;

#define F_I64 1u
#define F_PROB 2u
#define F_NLL 4u
#define F_NONE 8u
#define F_MEAN 16u
#define F_VEC 32u   // inner == 1, C % 4 == 0 and x (and soft targets) 4-element aligned

void main() {
  const uint T = 1u << pc.team_log2;
  const uint tid = gl_LocalInvocationID.x;
  const uint lane = tid & (T - 1u);
  const uint team = tid >> pc.team_log2;
  const uint per_group = WG >> pc.team_log2;
  const bool prob = (pc.flags & F_PROB) != 0u, nll = (pc.flags & F_NLL) != 0u;
  const float eps = pc.smoothing, fc = float(pc.C);
  vec2 acc = vec2(0.0);  // (loss, counted) of this team's positions, kept by lane 0
  // Every invocation runs the same number of iterations, so barriers (wide teams) stay uniform.
  for (uint base = gl_WorkGroupID.x * per_group; base < pc.rows; base += gl_NumWorkGroups.x * per_group) {
    const uint row = base + team;
    const bool live = row < pc.rows;
    const uint n = row / pc.inner;
    const uint start = n * pc.C * pc.inner + (row - n * pc.inner);
    int64_t t = 0;
    bool valid = live;
    if (!prob && live) {
      t = load_target(pc.target, (pc.flags & F_I64) != 0u, row);
      valid = t != pc.ignore_index;
      if (valid && (t < 0 || t >= int64_t(pc.C))) {
        if (lane == 0u) report_index(pc.err, pc.tag, t);
        valid = false;
      }
    }
    float loss = 0.0, lse = 0.0, sw = 0.0;
    if (nll) {
      if (valid) loss = -LD(pc.x, start + uint(t) * pc.inner);
    } else {
      // One pass: a running max m with s = sum exp(x - m), sd = sum w (x - m) and sw = sum w
      // (w: the smoothed one-hot weight 1, or the soft target's weight), shifted when m grows.
      // Contiguous rows go by packs of 4, two packs in flight per lane.
      const bool track = prob || eps > 0.0;
      float m = NEG_INF;
      vec4 s = vec4(0.0);
      if (live && (pc.flags & F_VEC) != 0u) {
        const uint np = pc.C >> 2, p0 = start >> 2;
        for (uint p = lane; p < np; p += 2u * T) {
          const bool two = p + T < np;
          vec4 v1 = load4(pc.x, p0 + p), v2 = two ? load4(pc.x, p0 + p + T) : vec4(NEG_INF);
          vec4 w1 = vec4(1.0), w2 = vec4(1.0);
          if (prob) {
            w1 = (1.0 - eps) * load4(pc.target, p0 + p) + eps / fc;
            w2 = two ? (1.0 - eps) * load4(pc.target, p0 + p + T) + eps / fc : vec4(0.0);
          }
          float pm = max(max4(v1), max4(v2));
          if (pm > m) {
            s.x *= exp(m - pm);
            if (s.z != 0.0) s.y += s.z * (m - pm);
            m = pm;
          }
          vec4 d1 = v1 - m;
          s.x += sum4(exp(d1));
          if (track) s.yz += vec2(dot(w1, d1), sum4(w1));
          if (two) {
            vec4 d2 = v2 - m;
            s.x += sum4(exp(d2));
            if (track) s.yz += vec2(dot(w2, d2), sum4(w2));
          }
        }
      } else if (live) {
        for (uint c = lane; c < pc.C; c += T) {
          float v = LD(pc.x, start + c * pc.inner);
          float w = prob ? (1.0 - eps) * LD(pc.target, start + c * pc.inner) + eps / fc : 1.0;
          if (v > m) {
            s.x *= exp(m - v);
            if (s.z != 0.0) s.y += s.z * (m - v);
            m = v;
          }
          float d = v - m;
          s.x += exp(d);
          if (track) s.yz += vec2(w * d, w);
        }
      }
      // Shift every lane's sums to the team's max.
      float mt = team_max(m, T);
      if (m != mt) {
        s.x *= exp(m - mt);
        if (s.z != 0.0) s.y += s.z * (m - mt);
      }
      m = mt;
      s = team_sum(s, T, 0u);
      float ls = log(s.x);
      lse = m + ls;
      sw = s.z;
      if (prob) {
        loss = ls * s.z - s.y;  // sum_c w_c (lse - x_c)
      } else if (valid) {
        float xt = LD(pc.x, start + uint(t) * pc.inner);
        loss = ls - (1.0 - eps) * (xt - m);
        if (eps > 0.0) loss -= eps / fc * s.y;
      }
    }
    if (live && lane == 0u) {
      if ((pc.flags & F_NONE) != 0u) ST(pc.out_, row, loss);
      if (pc.aux != uint64_t(0)) {
        F32Buf(pc.aux).v[row] = lse;
        if (prob) F32Buf(pc.aux).v[pc.rows + 1u + row] = sw;
      }
      acc += vec2(loss, valid ? 1.0 : 0.0);
    }
  }
  if ((pc.flags & F_NONE) != 0u) {
    // The backward of NONE scales by each position's own gradient: no count needed.
    return;
  }
  vec2 total = wg_total(acc);
  store_total(total, pc.part, gl_WorkGroupID.x, pc.out_, pc.aux, pc.rows, (pc.flags & F_MEAN) != 0u, -1.0);
}
