#version 450
//! variants: f32 f16 bf16
// Softmax / log-softmax of contiguous rows too long for registers: one workgroup per row, a
// running (max, sum) pass and a write pass, so the row is read twice (the second time mostly
// from cache) and written once.
#include "common/types.glsl"
#include "common/typed.glsl"
#define WG 1024
layout(local_size_x = WG) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t out_;
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
  uint64_t xr = pc.x + off, orow = pc.out_ + off;
  bool vec = pc.vec != 0u;
  uint packs = (pc.n + 3u) / 4u;

  // Running max m and sum s of exp(x - m) over this thread's elements.
  float m = NEG_INF, s = 0.0;
  for (uint p = tid; p < packs; p += WG) {
    vec4 a = row_load(xr, p, pc.n, vec, NEG_INF);
    float nm = max(m, max4(a));
    if (nm == NEG_INF) continue;  // only -inf so far: nothing to add, and -inf - -inf is NaN
    s = s * exp(m - nm) + sum4(exp(a - nm));
    m = nm;
  }
  vec2 ms = wg_max_sum(m, s);
  float gm = ms.x, gs = ms.y;

  if (pc.log_ != 0u) {
    float c = log(gs);  // (x - m) - log(s): see softmax_rows.glsl
    for (uint p = tid; p < packs; p += WG) row_store(orow, p, pc.n, vec, (row_load(xr, p, pc.n, vec, 0.0) - gm) - c);
  } else {
    float r = 1.0 / gs;
    for (uint p = tid; p < packs; p += WG)
      row_store(orow, p, pc.n, vec, exp(row_load(xr, p, pc.n, vec, 0.0) - gm) * r);
  }
}
