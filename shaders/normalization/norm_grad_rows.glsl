// Body of the register-resident layer-norm / RMS-norm backward kernels (norm_grad_rows*.comp set
// WG and PACKS): one workgroup per contiguous row, from the forward's saved mean and rstd; x and
// g stay in registers between the row's two sums and the write, so each is read once. With
// xhat = (x - mean) * rstd and gw = g * w (g without weight):
//   layer norm: dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat))
//   RMS norm:   dx = rstd * (gw - xhat * mean(gw * xhat))          (mean = 0)
layout(local_size_x = WG) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t g;
  uint64_t w;      // [n] or 0
  uint64_t stats;  // f32 [rows, 2]: mean (0 for RMS norm) and rstd, written by the forward
  uint64_t dx;
  uint rows;
  uint n;      // row length, at most WG * PACKS * 4
  uint flags;  // FLAG_*
  uint vec;    // 1: n % 4 == 0 and every row and w 4-element aligned
} pc;

#define FLAG_W 1u
#define FLAG_RMS 4u

#include "activation/rows.glsl"

void main() {
  uint row = flat_group();
  if (row >= pc.rows) return;  // whole workgroups only: the barrier below stays uniform
  uint tid = gl_LocalInvocationID.x;
  uint64_t off = uint64_t(row) * pc.n * ESIZE;
  bool vec = pc.vec != 0u;
  float mean = F32Buf(pc.stats).v[2u * row], rstd = F32Buf(pc.stats).v[2u * row + 1u];

  // Pads load g = 0, so they add nothing to either sum whatever their xhat.
  vec4 xh[PACKS], gw[PACKS];
  float s1 = 0.0, s2 = 0.0;
  [[unroll]] for (uint k = 0u; k < PACKS; ++k) {
    uint p = k * WG + tid;
    xh[k] = (row_load(pc.x + off, p, pc.n, vec, 0.0) - mean) * rstd;
    gw[k] = row_load(pc.g + off, p, pc.n, vec, 0.0);
    if ((pc.flags & FLAG_W) != 0u) gw[k] *= row_load(pc.w, p, pc.n, vec, 0.0);
    s1 += sum4(gw[k]);
    s2 += dot(gw[k], xh[k]);
  }
  vec2 s = wg_sum2(vec2(s1, s2)) / float(pc.n);
  float c = (pc.flags & FLAG_RMS) != 0u ? 0.0 : s.x;
  [[unroll]] for (uint k = 0u; k < PACKS; ++k) {
    uint p = k * WG + tid;
    if (p * 4u >= pc.n) break;
    row_store(pc.dx + off, p, pc.n, vec, (gw[k] - c - xh[k] * s.y) * rstd);
  }
}
