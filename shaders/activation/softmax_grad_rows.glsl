// Body of the register-resident softmax backward kernels (softmax_grad_rows*.comp set WG and
// PACKS): one workgroup per contiguous row; y and g stay in registers between the row's sum and
// the write, so each is read once.
//   softmax:     dx = y * (g - sum(g * y))
//   log-softmax: dx = g - exp(y) * sum(g)
layout(local_size_x = WG) in;
layout(push_constant) uniform Push {
  uint64_t y;  // the forward's output
  uint64_t g;
  uint64_t dx;
  uint rows;
  uint n;     // row length, at most WG * PACKS * 4
  uint log_;  // 1: log-softmax
  uint vec;   // 1: n % 4 == 0 and rows 4-element aligned
} pc;

#include "activation/rows.glsl"

void main() {
  uint row = flat_group();
  if (row >= pc.rows) return;  // whole workgroups only: the barrier below stays uniform
  uint tid = gl_LocalInvocationID.x;
  uint64_t off = uint64_t(row) * pc.n * ESIZE;
  uint64_t yr = pc.y + off, gr = pc.g + off, dr = pc.dx + off;
  bool vec = pc.vec != 0u, lg = pc.log_ != 0u;

  // Pads load as 0 in both rows, so they add nothing to either sum.
  vec4 yv[PACKS], gv[PACKS];
  float s = 0.0;
  [[unroll]] for (uint k = 0u; k < PACKS; ++k) {
    yv[k] = row_load(yr, k * WG + tid, pc.n, vec, 0.0);
    gv[k] = row_load(gr, k * WG + tid, pc.n, vec, 0.0);
    s += lg ? sum4(gv[k]) : dot(gv[k], yv[k]);
  }
  float t = wg_sum2(vec2(s, 0.0)).x;
  [[unroll]] for (uint k = 0u; k < PACKS; ++k) {
    uint p = k * WG + tid;
    if (p * 4u >= pc.n) break;
    row_store(dr, p, pc.n, vec, lg ? gv[k] - exp(yv[k]) * t : yv[k] * (gv[k] - t));
  }
}
