#version 450
//! variants: f32 f16 bf16
// Softmax / log-softmax backward of contiguous rows too long for registers: one workgroup per row,
// a pass for the row's sum (of g * y, or of g) and a write pass, so y and g are read twice (the
// second time mostly from cache) and dx written once. Formulas: softmax_grad_rows.glsl.
#include "common/types.glsl"
#include "common/typed.glsl"
#define WG 1024
layout(local_size_x = WG) in;
layout(push_constant) uniform Push {
  uint64_t y;
  uint64_t g;
  uint64_t dx;
  uint rows;
  uint n;
  uint log_;
  uint vec;
} pc;

#include "activation/rows.glsl"

void main() {
  uint row = flat_group();
  if (row >= pc.rows) return;
  uint tid = gl_LocalInvocationID.x;
  uint64_t off = uint64_t(row) * pc.n * ESIZE;
  uint64_t yr = pc.y + off, gr = pc.g + off, dr = pc.dx + off;
  bool vec = pc.vec != 0u, lg = pc.log_ != 0u;
  uint packs = (pc.n + 3u) / 4u;

  float s = 0.0;
  for (uint p = tid; p < packs; p += WG) {
    vec4 gv = row_load(gr, p, pc.n, vec, 0.0);
    s += lg ? sum4(gv) : dot(gv, row_load(yr, p, pc.n, vec, 0.0));
  }
  float t = wg_sum2(vec2(s, 0.0)).x;
  for (uint p = tid; p < packs; p += WG) {
    vec4 yv = row_load(yr, p, pc.n, vec, 0.0), gv = row_load(gr, p, pc.n, vec, 0.0);
    row_store(dr, p, pc.n, vec, lg ? gv - exp(yv) * t : yv * (gv - t));
  }
}
