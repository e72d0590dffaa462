#version 450
//! variants: f32 f16 bf16
// Row losses of cosine_embedding_loss, triplet_margin_loss and contrastive_loss: a team of lanes
// per row sums the row's products or distances in one pass; lane 0 forms the row's loss, saves
// the row statistics the backward needs, and the workgroup sums its rows (see store_total).
#include "common/types.glsl"
#include "common/typed.glsl"
#define WG 256
#include "loss/common.glsl"
#include "loss/pair_rows.glsl"
layout(local_size_x = WG) in;
layout(push_constant) uniform Push {
  uint64_t a;      // x1 / anchor
  uint64_t b;      // x2 / positive
  uint64_t c;      // negative (triplet)
  uint64_t y;      // labels (cosine, contrastive), dtype ydt
  uint64_t out_;
  uint64_t part;
  uint64_t stats;  // 0, or vec4 per row for the backward
  uint rows;
  uint D;
  uint team_log2;
  uint op;
  uint ydt;
  uint reduce;     // 0: NONE, 1: MEAN, 2: SUM
  float margin;
  float p;
} pc;

void main() {
  const uint T = 1u << pc.team_log2;
  const uint tid = gl_LocalInvocationID.x;
  const uint lane = tid & (T - 1u);
  const uint team = tid >> pc.team_log2;
  const uint per_group = WG >> pc.team_log2;
  float acc = 0.0;
  uint slot = 0u;
  for (uint base = gl_WorkGroupID.x * per_group; base < pc.rows; base += gl_NumWorkGroups.x * per_group) {
    const uint row = base + team;
    const bool live = row < pc.rows;
    const uint start = row * pc.D;
    vec4 s = vec4(0.0);
    if (live) {
      for (uint k = lane; k < pc.D; k += T) {
        float av = LD(pc.a, start + k), bv = LD(pc.b, start + k);
        if (pc.op == OP_COSINE) {
          s.xyz += vec3(av * bv, av * av, bv * bv);
        } else if (pc.op == OP_TRIPLET) {
          s.x += pw_abs(av - bv + TRIPLET_EPS, pc.p);
          s.y += pw_abs(av - LD(pc.c, start + k) + TRIPLET_EPS, pc.p);
        } else {
          float d = av - bv;
          s.x += d * d;
        }
      }
    }
    s = team_sum(s, T, slot);
    slot ^= 1u;
    if (live && lane == 0u) {
      float loss;
      vec4 st;
      if (pc.op == OP_COSINE) {
        float m1 = s.y + COS_EPS, m2 = s.z + COS_EPS;
        float cs = s.x / sqrt(m1 * m2);
        float yv = load_as_float(pc.y, pc.ydt, row);
        loss = yv == 1.0 ? 1.0 - cs : (yv == -1.0 ? max(cs - pc.margin, 0.0) : 0.0);
        st = vec4(cs, m1, m2, 0.0);
      } else if (pc.op == OP_TRIPLET) {
        float dp = root_p(s.x, pc.p), dn = root_p(s.y, pc.p);
        loss = max(pc.margin + dp - dn, 0.0);
        st = vec4(dp, dn, 0.0, 0.0);
      } else {
        float d = sqrt(s.x), h = max(pc.margin - d, 0.0);
        float yv = load_as_float(pc.y, pc.ydt, row);
        loss = 0.5 * (yv * s.x + (1.0 - yv) * h * h);
        st = vec4(d, 0.0, 0.0, 0.0);
      }
      if (pc.reduce == 0u) ST(pc.out_, row, loss);
      if (pc.stats != uint64_t(0)) F32x4Buf(pc.stats).v[row] = st;
      acc += loss;
    }
  }
  if (pc.reduce == 0u) return;
  store_total(wg_total(vec2(acc, 0.0)), pc.part, gl_WorkGroupID.x, pc.out_, uint64_t(0), 0u, pc.reduce == 1u,
              float(pc.rows));
}
