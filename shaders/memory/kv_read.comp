#version 450
//! variants: f32 f16 bf16
// Fused key-value read: out[r] = softmax(q_r K^T * scale) V in one pass over the memory, with an
// online softmax (running max and sum per row, flash-attention style). A workgroup takes up to
// ROWS query rows of one memory batch, output columns [col0, col0 + 256) and one split of the
// slots; slots go in tiles of 64: the tile's keys are staged in shared memory with coalesced
// loads, thread j scores slot j against every row, the tile's weights are shared, and each
// thread folds them into its 4 columns of every row, so each key and value row is read once per
// ROWS queries. With one split the result is written directly; with several (few query rows
// over a long memory) each writes its partial max, sum and unnormalised sums to f32 scratch and
// kv_combine.comp merges them.
#include "common/types.glsl"
#include "common/typed.glsl"
#extension GL_EXT_control_flow_attributes : require
#define WG 64u
#define CPT 4u
#define ROWS 8u
#define QMAX 256u
#define DT 64u  // key dims staged per step
layout(local_size_x = 64) in;
layout(push_constant) uniform Push {
  uint64_t q;     // [rows, d]
  uint64_t k;     // [M, d] or [batches, M, d]
  uint64_t v;     // [M, dv] or [batches, M, dv]
  uint64_t out_;  // [rows, dv]
  uint64_t part;  // splits > 1: f32 [splits, rows, dv] unnormalised sums
  uint64_t ml;    // splits > 1: f32 [splits, rows, 2] running max and sum
  uint rows;
  uint per_batch; // query rows per memory batch (rows when the memory is shared)
  uint M;
  uint d;
  uint dv;
  uint col0;      // first output column of this dispatch (chunks of 256)
  float scale;    // 1 / tau
  uint groups_per_batch;  // ceil(per_batch / ROWS)
  uint splits;
  uint split_len; // slots per split, a multiple of 64
} pc;

shared float q_[ROWS * QMAX];     // the rows' queries when d <= QMAX
shared float k_[WG * (DT + 1u)];  // a tile of keys, padded against bank conflicts
shared float s_[ROWS * WG];       // scores, then weights, of the tile: [row][slot]

float qval(uint row0, uint i, uint e) {
  return pc.d <= QMAX ? q_[i * QMAX + e] : float(LD(pc.q, (row0 + i) * pc.d + e));
}

void main() {
  uint g = flat_group();
  uint split = g % pc.splits;
  g /= pc.splits;
  uint batch = g / pc.groups_per_batch;
  uint local0 = (g % pc.groups_per_batch) * ROWS;
  if (batch * pc.per_batch >= pc.rows) return;
  uint nr = min(ROWS, pc.per_batch - local0);
  uint row0 = batch * pc.per_batch + local0;
  uint tid = gl_LocalInvocationID.x;
  uint kb = batch * pc.M * pc.d, vb = batch * pc.M * pc.dv;  // sizes are checked to fit 32 bits
  uint m0 = split * pc.split_len, m1 = min(pc.M, m0 + pc.split_len);
  const float NEG_INF = uintBitsToFloat(0xff800000u);

  if (pc.d <= QMAX)
    for (uint e = tid; e < nr * pc.d; e += WG) q_[(e / pc.d) * QMAX + e % pc.d] = float(LD(pc.q, row0 * pc.d + e));

  float m[ROWS], l[ROWS], acc[ROWS * CPT];
  [[unroll]] for (uint i = 0u; i < ROWS; ++i) {
    m[i] = NEG_INF;
    l[i] = 0.0;
    [[unroll]] for (uint c = 0u; c < CPT; ++c) acc[i * CPT + c] = 0.0;
  }

  for (uint t0 = m0; t0 < m1; t0 += WG) {
    uint j = t0 + tid;
    uint cnt = min(WG, m1 - t0);
    float dot[ROWS];
    [[unroll]] for (uint i = 0u; i < ROWS; ++i) dot[i] = 0.0;
    for (uint e0 = 0u; e0 < pc.d; e0 += DT) {
      uint w = min(DT, pc.d - e0);
      barrier();  // the previous step's k_ (and, first time, q_) is done with / written
      // 64 elements per thread, loaded 16 at a time so that the loads are in flight together
      // (one after another, each would wait out the memory latency).
      for (uint x0 = 0u; x0 < cnt * w; x0 += 16u * WG) {
        float t[16];
        [[unroll]] for (uint u = 0u; u < 16u; ++u) {
          uint x = min(x0 + u * WG + tid, cnt * w - 1u);
          t[u] = float(LD(pc.k, kb + (t0 + x / w) * pc.d + e0 + x % w));
        }
        [[unroll]] for (uint u = 0u; u < 16u; ++u) {
          uint x = x0 + u * WG + tid;
          if (x < cnt * w) k_[(x / w) * (DT + 1u) + x % w] = t[u];
        }
      }
      barrier();
      if (tid < cnt)
        for (uint e = 0u; e < w; ++e) {
          float kv = k_[tid * (DT + 1u) + e];
          [[unroll]] for (uint i = 0u; i < ROWS; ++i) if (i < nr) dot[i] += qval(row0, i, e0 + e) * kv;
        }
    }
    [[unroll]] for (uint i = 0u; i < ROWS; ++i) if (i < nr) s_[i * WG + tid] = tid < cnt ? dot[i] * pc.scale : NEG_INF;
    barrier();
    // Each thread reads the whole tile's scores: the new running max per row, then its own
    // slot's weight (which overwrites its score once every thread has read the scores).
    float mb[ROWS], corr[ROWS];
    [[unroll]] for (uint i = 0u; i < ROWS; ++i) {
      if (i >= nr) break;
      float mt = m[i];
      for (uint jj = 0u; jj < cnt; ++jj) mt = max(mt, s_[i * WG + jj]);
      // mt is -inf only while every score so far is -inf; then nothing carries weight yet.
      mb[i] = isinf(mt) && mt < 0.0 ? 0.0 : mt;
      corr[i] = exp(m[i] - mb[i]);
      m[i] = mt;
    }
    barrier();
    [[unroll]] for (uint i = 0u; i < ROWS; ++i) if (i < nr) s_[i * WG + tid] = tid < cnt ? exp(s_[i * WG + tid] - mb[i]) : 0.0;
    barrier();
    [[unroll]] for (uint i = 0u; i < ROWS; ++i) {
      if (i >= nr) break;
      float ps = 0.0;
      for (uint jj = 0u; jj < cnt; ++jj) ps += s_[i * WG + jj];
      l[i] = l[i] * corr[i] + ps;
      [[unroll]] for (uint c = 0u; c < CPT; ++c) acc[i * CPT + c] *= corr[i];
    }
    // Values 16 slots at a time with the loads in flight together; slots past the tile's end
    // load a valid row and carry weight 0.
    [[unroll]] for (uint c = 0u; c < CPT; ++c) {
      uint col = pc.col0 + c * WG + tid;
      if (col < pc.dv)
        for (uint jj0 = 0u; jj0 < cnt; jj0 += 16u) {
          float vv[16];
          [[unroll]] for (uint u = 0u; u < 16u; ++u) vv[u] = float(LD(pc.v, vb + (t0 + min(jj0 + u, cnt - 1u)) * pc.dv + col));
          [[unroll]] for (uint u = 0u; u < 16u; ++u)
            [[unroll]] for (uint i = 0u; i < ROWS; ++i) if (i < nr) acc[i * CPT + c] += s_[i * WG + jj0 + u] * vv[u];
        }
    }
    barrier();  // s_ is rewritten by the next tile
  }
  if (pc.splits == 1u) {
    [[unroll]] for (uint i = 0u; i < ROWS; ++i)
      [[unroll]] for (uint c = 0u; c < CPT; ++c) {
        uint col = pc.col0 + c * WG + tid;
        if (i < nr && col < pc.dv) ST(pc.out_, (row0 + i) * pc.dv + col, acc[i * CPT + c] / l[i]);
      }
  } else {
    uint sb = split * pc.rows;
    [[unroll]] for (uint i = 0u; i < ROWS; ++i) {
      if (i >= nr) break;
      [[unroll]] for (uint c = 0u; c < CPT; ++c) {
        uint col = pc.col0 + c * WG + tid;
        if (col < pc.dv) F32Buf(pc.part).v[(sb + row0 + i) * pc.dv + col] = acc[i * CPT + c];
      }
      if (tid == 0u && pc.col0 == 0u) {
        F32Buf(pc.ml).v[(sb + row0 + i) * 2u] = m[i];
        F32Buf(pc.ml).v[(sb + row0 + i) * 2u + 1u] = l[i];
      }
    }
  }
}
