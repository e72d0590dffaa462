#version 450
//! variants: f32 f16 bf16
// Backward of the row losses of pair_rows.comp, one element per invocation, from the row
// statistics the forward saved: gradients of x1/anchor, x2/positive and the negative.
#include "common/types.glsl"
#include "common/typed.glsl"
#include "loss/pair_rows.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t a;
  uint64_t b;
  uint64_t c;
  uint64_t y;
  uint64_t stats;
  uint64_t g;
  uint64_t da;  // 0 when not needed, as db and dc
  uint64_t db;
  uint64_t dc;
  uint n;       // rows * D
  uint D;
  uint op;
  uint ydt;
  uint gscalar; // 1: g holds one value (MEAN / SUM)
  float scale;  // 1 / rows for MEAN, else 1
  float margin;
  float p;
} pc;

// d||v||_p / dv for one component, given the norm (0 where the norm is 0, as PyTorch's norm).
float norm_grad(float v, float nrm, float p) {
  if (nrm == 0.0) return 0.0;
  if (p == 2.0) return v / nrm;
  if (p == 1.0) return sign(v);
  return sign(v) * pow(abs(v), p - 1.0) / pow(nrm, p - 1.0);
}

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  uint row = i / pc.D;
  float gr = (pc.gscalar != 0u ? LD(pc.g, 0u) : LD(pc.g, row)) * pc.scale;
  vec4 st = F32x4Buf(pc.stats).v[row];
  float av = LD(pc.a, i), bv = LD(pc.b, i);
  float ga = 0.0, gb = 0.0, gc = 0.0;
  if (pc.op == OP_COSINE) {
    float yv = load_as_float(pc.y, pc.ydt, row);
    // clamp_min passes the gradient where cos - margin >= 0, as PyTorch's.
    float k = yv == 1.0 ? -gr : (yv == -1.0 && st.x - pc.margin >= 0.0 ? gr : 0.0);
    float den = sqrt(st.y * st.z);
    ga = k * (bv / den - st.x * av / st.y);
    gb = k * (av / den - st.x * bv / st.z);
  } else if (pc.op == OP_TRIPLET) {
    float on = pc.margin + st.x - st.y >= 0.0 ? gr : 0.0;
    float g1 = norm_grad(av - bv + TRIPLET_EPS, st.x, pc.p);
    float g2 = norm_grad(av - LD(pc.c, i) + TRIPLET_EPS, st.y, pc.p);
    ga = on * (g1 - g2);
    gb = -on * g1;
    gc = on * g2;
  } else {
    float yv = load_as_float(pc.y, pc.ydt, row);
    float d = st.x, h = max(pc.margin - d, 0.0), diff = av - bv;
    // d/dx1 of y d^2 / 2 is y (x1 - x2), finite at d = 0; the hinge term's d(d)/dx1 is (x1 - x2) / d.
    ga = gr * (yv * diff - (d > 0.0 ? (1.0 - yv) * h * diff / d : 0.0));
    gb = -ga;
  }
  if (pc.da != uint64_t(0)) ST(pc.da, i, ga);
  if (pc.db != uint64_t(0)) ST(pc.db, i, gb);
  if (pc.dc != uint64_t(0)) ST(pc.dc, i, gc);
}
