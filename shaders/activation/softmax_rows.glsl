// Body of the register-resident softmax kernels (softmax_rows*.comp set WG and PACKS): one
// workgroup per contiguous row; each thread keeps PACKS packs of 4 elements in registers, so the
// row is read once and written once.
layout(local_size_x = WG) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t out_;
  uint rows;
  uint n;     // row length, at most WG * PACKS * 4
  uint log_;  // 1: log-softmax
  uint vec;   // 1: n % 4 == 0 and rows 4-element aligned
} pc;

#include "activation/rows.glsl"

void main() {
  uint row = flat_group();
  if (row >= pc.rows) return;  // whole workgroups only: the barriers below stay uniform
  uint tid = gl_LocalInvocationID.x;
  uint64_t off = uint64_t(row) * pc.n * ESIZE;
  uint64_t xr = pc.x + off, orow = pc.out_ + off;
  bool vec = pc.vec != 0u;

  vec4 v[PACKS];
  [[unroll]] for (uint k = 0u; k < PACKS; ++k) v[k] = row_load(xr, k * WG + tid, pc.n, vec, NEG_INF);

  // Each thread's max m, its elements as exp(x - m) and their sum; one combine gives the row's
  // max M and sum S, and a thread's exp(x - m) times exp(m - M) / S is exp(x - M) / S: one exp
  // per element and one barrier. m = -inf (pads or -inf inputs only) uses 0 instead, which
  // keeps exp(-inf - m) = 0 rather than NaN.
  float m = NEG_INF;
  [[unroll]] for (uint k = 0u; k < PACKS; ++k) m = max(m, max4(v[k]));
  float mb = m == NEG_INF ? 0.0 : m;
  float s = 0.0;
  vec4 e[PACKS];
  [[unroll]] for (uint k = 0u; k < PACKS; ++k) {
    e[k] = exp(v[k] - mb);
    s += sum4(e[k]);
  }
  vec2 ms = wg_max_sum(m, s);
  if (pc.log_ != 0u) {
    // (x - M) - log(S), as PyTorch: x - (M + log(S)) would round M + log(S) at M's magnitude.
    float c = log(ms.y);
    [[unroll]] for (uint k = 0u; k < PACKS; ++k) row_store(orow, k * WG + tid, pc.n, vec, (v[k] - ms.x) - c);
  } else {
    float r = exp(mb - ms.x) / ms.y;
    [[unroll]] for (uint k = 0u; k < PACKS; ++k) row_store(orow, k * WG + tid, pc.n, vec, e[k] * r);
  }
}
