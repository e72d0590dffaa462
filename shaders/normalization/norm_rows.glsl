// Body of the register-resident layer-norm / RMS-norm kernels (norm_rows*.comp set WG and
// PACKS): one workgroup per contiguous row held in registers; the mean and the variance come from
// one workgroup combine of per-thread statistics, so the row is read once and written once.
layout(local_size_x = WG) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t out_;
  uint64_t w;  // [n] or 0
  uint64_t b;  // [n] or 0
  uint64_t stats;  // f32 [rows, 2] or 0: the row's mean (0 for RMS norm) and rstd, for the backward
  uint rows;
  uint n;      // row length, at most WG * PACKS * 4
  uint flags;  // FLAG_*
  uint vec;    // 1: n % 4 == 0 and every row, w and b 4-element aligned
  float eps;
  uint pad;
} pc;

#define FLAG_W 1u
#define FLAG_B 2u
#define FLAG_RMS 4u

#include "activation/rows.glsl"

void main() {
  uint row = flat_group();
  if (row >= pc.rows) return;  // whole workgroups only: the barriers below stay uniform
  uint tid = gl_LocalInvocationID.x;
  uint64_t off = uint64_t(row) * pc.n * ESIZE;
  uint64_t xr = pc.x + off, orow = pc.out_ + off;
  bool vec = pc.vec != 0u;
  float inv_n = 1.0 / float(pc.n);

  vec4 v[PACKS];
  [[unroll]] for (uint k = 0u; k < PACKS; ++k) v[k] = row_load(xr, k * WG + tid, pc.n, vec, 0.0);

  float mean = 0.0, var;
  if ((pc.flags & FLAG_RMS) != 0u) {
    float q = 0.0;
    [[unroll]] for (uint k = 0u; k < PACKS; ++k) q += dot(v[k], v[k]);
    var = wg_sum2(vec2(q, 0.0)).x * inv_n;
  } else {
    // Each thread's count, sum and squared deviations about its own mean (a second pass over the
    // registers, pads masked out), joined by Chan's update: no cancellation, one barrier.
    float cnt = 0.0, s = 0.0;
    [[unroll]] for (uint k = 0u; k < PACKS; ++k) {
      cnt += sum4(row_mask(k * WG + tid, pc.n));
      s += sum4(v[k]);
    }
    float tm = cnt > 0.0 ? s / cnt : 0.0, q = 0.0;
    [[unroll]] for (uint k = 0u; k < PACKS; ++k) {
      vec4 d = (v[k] - tm) * row_mask(k * WG + tid, pc.n);
      q += dot(d, d);
    }
    vec2 mm = wg_mean_m2(cnt, s, q);
    mean = mm.x;
    var = mm.y * inv_n;
  }
  float rstd = inversesqrt(var + pc.eps);
  if (pc.stats != 0ul && tid == 0u) {
    F32Buf(pc.stats).v[2u * row] = mean;
    F32Buf(pc.stats).v[2u * row + 1u] = rstd;
  }

  [[unroll]] for (uint k = 0u; k < PACKS; ++k) {
    uint p = k * WG + tid;
    if (p * 4u >= pc.n) break;
    vec4 y = (v[k] - mean) * rstd;
    if ((pc.flags & FLAG_W) != 0u) y *= row_load(pc.w, p, pc.n, vec, 0.0);
    if ((pc.flags & FLAG_B) != 0u) y += row_load(pc.b, p, pc.n, vec, 0.0);
    row_store(orow, p, pc.n, vec, y);
  }
}
