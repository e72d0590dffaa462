#version 450
//! variants: f32 f16 bf16
// Layer norm / RMS norm of contiguous rows too long for registers: one workgroup per row, a pass
// of sums shifted by the row's first element (which keeps the variance from cancelling when the
// mean is large) and a write pass, so the row is read twice and written once.
#include "common/types.glsl"
#include "common/typed.glsl"
#define WG 1024
layout(local_size_x = WG) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t out_;
  uint64_t w;
  uint64_t b;
  uint64_t stats;
  uint rows;
  uint n;
  uint flags;
  uint vec;
  float eps;
  uint pad;
} pc;

#define FLAG_W 1u
#define FLAG_B 2u
#define FLAG_RMS 4u

#include "activation/rows.glsl"

void main() {
  uint row = flat_group();
  if (row >= pc.rows) return;
  uint tid = gl_LocalInvocationID.x;
  uint64_t off = uint64_t(row) * pc.n * ESIZE;
  uint64_t xr = pc.x + off, orow = pc.out_ + off;
  bool vec = pc.vec != 0u;
  bool rms = (pc.flags & FLAG_RMS) != 0u;
  uint packs = (pc.n + 3u) / 4u;
  float inv_n = 1.0 / float(pc.n);

  float shift = rms ? 0.0 : LD(xr, 0u);
  float s = 0.0, q = 0.0;
  for (uint p = tid; p < packs; p += WG) {
    vec4 d = (row_load(xr, p, pc.n, vec, 0.0) - shift) * row_mask(p, pc.n);
    s += sum4(d);
    q += dot(d, d);
  }
  vec2 sq = wg_sum2(vec2(s, q)) * inv_n;
  float mean = rms ? 0.0 : shift + sq.x;
  float var = rms ? sq.y : max(sq.y - sq.x * sq.x, 0.0);
  float rstd = inversesqrt(var + pc.eps);
  if (pc.stats != 0ul && tid == 0u) {
    F32Buf(pc.stats).v[2u * row] = mean;
    F32Buf(pc.stats).v[2u * row + 1u] = rstd;
  }

  for (uint p = tid; p < packs; p += WG) {
    vec4 y = (row_load(xr, p, pc.n, vec, 0.0) - mean) * rstd;
    if ((pc.flags & FLAG_W) != 0u) y *= row_load(pc.w, p, pc.n, vec, 0.0);
    if ((pc.flags & FLAG_B) != 0u) y += row_load(pc.b, p, pc.n, vec, 0.0);
    row_store(orow, p, pc.n, vec, y);
  }
}
