#version 450
//! variants: f32 f16 bf16
// Sparse expansion, after z = x W^T + b: per row (one workgroup) keep the k largest z, zero the
// rest and L2-normalise; also writes the kept indices and the norm for the backward. The row is
// read once and written once.
#include "common/types.glsl"
#include "common/typed.glsl"
#define WG 64u
#define KMAX 32u
layout(local_size_x = 64) in;
#include "memory/topk.glsl"
layout(push_constant) uniform Push {
  uint64_t z;      // [rows, H]
  uint64_t out_;   // [rows, H]
  uint64_t index;  // [rows, k] i32
  uint64_t norm;   // [rows] f32: max(||t||, eps)
  uint rows;
  uint H;
  uint k;
  float eps;
} pc;

void main() {
  uint row = flat_group();
  if (row >= pc.rows) return;
  uint tid = gl_LocalInvocationID.x;
  uint base = row * pc.H;
  uint cnt = 0u;
  // Two passes over the row (the second from cache): this thread's maximum, for the threshold,
  // then the pushes of the values that reach it. 16 loads in flight at a time (one load after
  // another would each wait out the memory latency).
  float mx = uintBitsToFloat(0xff800000u);
  for (uint j0 = tid; j0 < pc.H; j0 += 16u * WG) {
    float t[16];
    [[unroll]] for (uint u = 0u; u < 16u; ++u) t[u] = float(LD(pc.z, base + min(j0 + u * WG, pc.H - 1u)));
    [[unroll]] for (uint u = 0u; u < 16u; ++u) if (j0 + u * WG < pc.H && !isnan(t[u])) mx = max(mx, t[u]);
  }
  float thr = tk_threshold(mx, pc.k);
  for (uint j0 = tid; j0 < pc.H; j0 += 16u * WG) {
    float t[16];
    [[unroll]] for (uint u = 0u; u < 16u; ++u) t[u] = float(LD(pc.z, base + min(j0 + u * WG, pc.H - 1u)));
    [[unroll]] for (uint u = 0u; u < 16u; ++u)
      if (j0 + u * WG < pc.H && (t[u] >= thr || isinf(thr))) tk_push(t[u], j0 + u * WG, pc.k, cnt);
  }
  uint head = tk_merge(pc.k, cnt);
  float ss = 0.0;
  for (uint r = 0u; r < pc.k; ++r) ss += res_v_[r] * res_v_[r];
  float nrm = max(sqrt(ss), pc.eps);
  if (tid == 0u) F32Buf(pc.norm).v[row] = nrm;
  for (uint r = tid; r < pc.k; r += WG) I32Buf(pc.index).v[row * pc.k + r] = int(res_i_[r]);
  // A thread's winners are the first `head` entries of its own list, all in its own columns.
  for (uint j = tid; j < pc.H; j += WG) {
    float y = 0.0;
    for (uint h = 0u; h < head; ++h)
      if (tk_i_[h * WG + tid] == j) y = float(LD(pc.z, base + j)) / nrm;
    ST(pc.out_, base + j, y);
  }
}
