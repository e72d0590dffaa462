// Body of the register-resident layer-norm / RMS-norm backward kernels (norm_grad_rows*.comp set
// WG and PACKS), from the forward's saved mean and rstd. A workgroup walks a chunk of `chunk`
// contiguous rows; x and g of a row stay in registers between the row's two sums and the write, so
// each is read once. A thread owns the same columns in every row, so it also sums g * xhat and g
// over the chunk in registers: the weight and bias gradients need no second pass over x and g,
// only one f32 row of partial sums per chunk (added up by the caller). With xhat = (x - mean) rstd
// and gw = g * w (g without weight):
//   layer norm: dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat))
//   RMS norm:   dx = rstd * (gw - xhat * mean(gw * xhat))          (mean = 0)
layout(local_size_x = WG) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t g;
  uint64_t w;      // [n] or 0
  uint64_t stats;  // f32 [rows, 2]: mean (0 for RMS norm) and rstd, written by the forward
  uint64_t dx;     // or 0: x needs no gradient
  uint64_t dw;     // f32 [chunks, n] partial sums of g * xhat, or 0
  uint64_t db;     // f32 [chunks, n] partial sums of g, or 0
  uint rows;
  uint n;      // row length, at most WG * PACKS * 4
  uint flags;  // FLAG_*
  uint vec;    // 1: n % 4 == 0 and every row, w, dw and db 4-element aligned
  uint chunk;  // rows per workgroup
  uint pad;
} pc;

#define FLAG_W 1u
#define FLAG_RMS 4u

#include "activation/rows.glsl"

// Pack p of an f32 partial-sum row.
void store_f32(uint64_t base, uint p, uint n, bool vec, vec4 v) {
  uint e = p * 4u;
  if (vec) {
    if (e < n) F32x4Buf(base).v[p] = v;
    return;
  }
  [[unroll]] for (uint j = 0u; j < 4u; ++j)
    if (e + j < n) F32Buf(base).v[e + j] = v[j];
}

void main() {
  uint part = flat_group();
  uint r0 = part * pc.chunk;
  if (r0 >= pc.rows) return;  // whole workgroups only: the barriers below stay uniform
  uint r1 = min(r0 + pc.chunk, pc.rows);
  uint tid = gl_LocalInvocationID.x;
  bool vec = pc.vec != 0u, has_w = (pc.flags & FLAG_W) != 0u;
  bool want_dx = pc.dx != 0ul, want_sums = pc.dw != 0ul || pc.db != 0ul;

  vec4 sw[PACKS], sb[PACKS];
  [[unroll]] for (uint k = 0u; k < PACKS; ++k) sw[k] = sb[k] = vec4(0.0);

  // The pack loops inside the row loop carry no [[unroll]]: drivers unroll a constant 4-trip loop
  // anyway, and the hint triples lavapipe's compile time of this kernel.
  for (uint row = r0; row < r1; ++row) {
    uint64_t off = uint64_t(row) * pc.n * ESIZE;
    float mean = F32Buf(pc.stats).v[2u * row], rstd = F32Buf(pc.stats).v[2u * row + 1u];
    // Pads load g = 0, so they add nothing to any sum whatever their xhat.
    vec4 xh[PACKS], gv[PACKS];
    float s1 = 0.0, s2 = 0.0;
    for (uint k = 0u; k < PACKS; ++k) {
      uint p = k * WG + tid;
      xh[k] = (row_load(pc.x + off, p, pc.n, vec, 0.0) - mean) * rstd;
      gv[k] = row_load(pc.g + off, p, pc.n, vec, 0.0);
      sw[k] += gv[k] * xh[k];
      sb[k] += gv[k];
      if (has_w) gv[k] *= row_load(pc.w, p, pc.n, vec, 0.0);  // from here on g * w
      s1 += sum4(gv[k]);
      s2 += dot(gv[k], xh[k]);
    }
    if (!want_dx) continue;
    vec2 s = wg_sum2(vec2(s1, s2)) / float(pc.n);
    float c = (pc.flags & FLAG_RMS) != 0u ? 0.0 : s.x;
    for (uint k = 0u; k < PACKS; ++k) {
      uint p = k * WG + tid;
      if (p * 4u >= pc.n) break;
      row_store(pc.dx + off, p, pc.n, vec, (gv[k] - c - xh[k] * s.y) * rstd);
    }
    barrier();  // every thread has read this row's slots before the next row writes them
  }
  if (!want_sums) return;
  uint64_t o = uint64_t(part) * pc.n * 4u;
  for (uint k = 0u; k < PACKS; ++k) {
    uint p = k * WG + tid;
    if (p * 4u >= pc.n) break;
    if (pc.dw != 0ul) store_f32(pc.dw + o, p, pc.n, vec, sw[k]);
    if (pc.db != 0ul) store_f32(pc.db + o, p, pc.n, vec, sb[k]);
  }
}
