#version 450
// Episodic memory read, one workgroup per query, after S = queries keys^T (a matmul): cosine
// similarity S / (max(||q||, eps) max(||key||, eps)) over the stored slots, the top k, their
// values copied out, and the usage counts of the returned slots incremented (atomics: several
// queries may return one slot).
#include "common/types.glsl"
#define WG 64u
#define KMAX 32u
layout(local_size_x = 64) in;
#include "memory/topk.glsl"
layout(push_constant) uniform Push {
  uint64_t q;       // [Q, dk]
  uint64_t s;       // [Q, size] f32 dot products
  uint64_t norms;   // [C] f32 key norms
  uint64_t mvalues; // [C, dv]
  uint64_t usage;   // [C] u32
  uint64_t ovalues; // [Q, k, dv]
  uint64_t oscores; // [Q, k] f32 or 0
  uint64_t oindex;  // [Q, k] i64 or 0
  uint Q;
  uint size;
  uint dk;
  uint dv;
  uint k;
  float eps;
} pc;

shared float qn_;

void main() {
  uint qi = flat_group();
  if (qi >= pc.Q) return;
  uint tid = gl_LocalInvocationID.x;
  uint qb = qi * pc.dk;
  if (tid == 0u) {
    float s = 0.0;
    for (uint e = 0u; e < pc.dk; ++e) s += F32Buf(pc.q).v[qb + e] * F32Buf(pc.q).v[qb + e];
    qn_ = max(sqrt(s), pc.eps);
  }
  barrier();
  float qn = qn_;
  uint cnt = 0u;
  uint sb = qi * pc.size;
  // Two passes (the second from cache): this thread's best similarity, for the threshold, then
  // the pushes of those that reach it. 16 loads in flight at a time (few workgroups: latency is
  // not hidden by other warps).
  float mx = uintBitsToFloat(0xff800000u);
  for (uint pass = 0u; pass < 2u; ++pass) {
    float thr = pass == 0u ? 0.0 : tk_threshold(mx, pc.k);
    for (uint j0 = tid; j0 < pc.size; j0 += 16u * WG) {
      float t[16], n[16];
      [[unroll]] for (uint u = 0u; u < 16u; ++u) {
        uint j = min(j0 + u * WG, pc.size - 1u);
        t[u] = F32Buf(pc.s).v[sb + j];
        n[u] = F32Buf(pc.norms).v[j];
      }
      [[unroll]] for (uint u = 0u; u < 16u; ++u) {
        if (j0 + u * WG >= pc.size) continue;
        float c = t[u] / (qn * max(n[u], pc.eps));
        if (pass == 0u) {
          if (!isnan(c)) mx = max(mx, c);
        } else if (c >= thr || isinf(thr)) {
          tk_push(c, j0 + u * WG, pc.k, cnt);
        }
      }
    }
  }
  tk_merge(pc.k, cnt);
  for (uint r = tid; r < pc.k; r += WG) {
    uint slot = res_i_[r];
    if (pc.oscores != 0ul) F32Buf(pc.oscores).v[qi * pc.k + r] = res_v_[r];
    if (pc.oindex != 0ul) I64Buf(pc.oindex).v[qi * pc.k + r] = int64_t(slot);
    atomicAdd(U32Buf(pc.usage).v[slot], 1u);
  }
  for (uint e = tid; e < pc.k * pc.dv; e += WG) {
    uint r = e / pc.dv, c = e % pc.dv;
    F32Buf(pc.ovalues).v[(qi * pc.k + r) * pc.dv + c] = F32Buf(pc.mvalues).v[res_i_[r] * pc.dv + c];
  }
}
