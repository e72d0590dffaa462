#version 450
//! variants: f32 f16 bf16
// Layer norm / RMS norm backward of contiguous rows too long for registers: one workgroup per
// row, a pass for the row's two sums and a write pass, so x and g are read twice (the second
// time mostly from cache) and dx written once. Formulas: norm_grad_rows.glsl.
#include "common/types.glsl"
#include "common/typed.glsl"
#define WG 1024
layout(local_size_x = WG) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t g;
  uint64_t w;
  uint64_t stats;
  uint64_t dx;
  uint64_t dw;  // unused here: rows this long take norm_grad_cols.comp for the weight and bias
  uint64_t db;
  uint rows;
  uint n;
  uint flags;
  uint vec;
  uint chunk;  // 1
  uint pad;
} pc;

#define FLAG_W 1u
#define FLAG_RMS 4u

#include "activation/rows.glsl"

void main() {
  uint row = flat_group();
  if (row >= pc.rows) return;
  uint tid = gl_LocalInvocationID.x;
  uint64_t off = uint64_t(row) * pc.n * ESIZE;
  uint64_t xr = pc.x + off, gr = pc.g + off, dr = pc.dx + off;
  bool vec = pc.vec != 0u, has_w = (pc.flags & FLAG_W) != 0u;
  uint packs = (pc.n + 3u) / 4u;
  float mean = F32Buf(pc.stats).v[2u * row], rstd = F32Buf(pc.stats).v[2u * row + 1u];

  float s1 = 0.0, s2 = 0.0;
  for (uint p = tid; p < packs; p += WG) {
    vec4 xh = (row_load(xr, p, pc.n, vec, 0.0) - mean) * rstd;
    vec4 gw = row_load(gr, p, pc.n, vec, 0.0);
    if (has_w) gw *= row_load(pc.w, p, pc.n, vec, 0.0);
    s1 += sum4(gw);
    s2 += dot(gw, xh);
  }
  vec2 s = wg_sum2(vec2(s1, s2)) / float(pc.n);
  float c = (pc.flags & FLAG_RMS) != 0u ? 0.0 : s.x;
  for (uint p = tid; p < packs; p += WG) {
    vec4 xh = (row_load(xr, p, pc.n, vec, 0.0) - mean) * rstd;
    vec4 gw = row_load(gr, p, pc.n, vec, 0.0);
    if (has_w) gw *= row_load(pc.w, p, pc.n, vec, 0.0);
    row_store(dr, p, pc.n, vec, (gw - c - xh * s.y) * rstd);
  }
}
