#version 450
//! variants: f32 f16 bf16
// Trace STDP weight update (pair and triplet). The traces are read as decayed for this step (they
// hold earlier spikes only). LTP and LTD are two rank-B products of per-row and per-column
// factors, staged in shared memory:
//   LTP_ij = sum_b [post_bi (a_plus + a3_plus y2_bi)] * [x1_bj]
//   LTD_ij = sum_b [y1_bi] * [pre_bj (a_minus + a3_minus x2_bj)]
// then the bound is applied and each weight written once. The trace update runs after this
// kernel (stdp_trace.comp), so no thread sees a trace of the current step.
#include "common/types.glsl"
#include "common/typed.glsl"
#extension GL_EXT_control_flow_attributes : require
#include "plasticity/tile.glsl"
layout(push_constant) uniform Push {
  uint64_t w;
  uint64_t pre;   // [B, n_pre] spikes, W's dtype or u8
  uint64_t post;  // [B, n_post]
  uint64_t x1;    // f32 [B, n_pre] fast presynaptic trace
  uint64_t x2;    // f32 [B, n_pre] slow presynaptic trace (triplet)
  uint64_t y1;    // f32 [B, n_post]
  uint64_t y2;    // f32 [B, n_post] (triplet)
  uint batch;
  uint n_pre;
  uint n_post;
  uint flags;     // bits 0-1: bound (0 none, 1 hard, 2 soft); bit 2: triplet; bits 3, 4: pre, post spikes u8
  float decay[4]; // x1, y1, x2, y2
  float a_plus;
  float a_minus;
  float a3_plus;
  float a3_minus;
  float w_min;
  float w_max;
  float scale;    // 1/B (mean) or 1 (sum)
} pc;

shared vec2 s_row[BC][TILE_R];  // (LTP, LTD) row factors
shared vec2 s_col[BC][TILE_C];  // (LTP, LTD) column factors

float spike(uint64_t p, uint i, bool u8) {
  return (u8 ? uint(U8Buf(p).v[i]) != 0u : LD(p, i) != 0.0) ? 1.0 : 0.0;
}

void main() {
  const uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
  const uint l = ty * TX + tx;
  const uint j0 = gl_WorkGroupID.x * TILE_C, i0 = gl_WorkGroupID.y * TILE_R;
  const bool triplet = (pc.flags & 4u) != 0u;
  float ltp[RPT][CPT], ltd[RPT][CPT];
  [[unroll]] for (uint r = 0u; r < RPT; ++r)
    [[unroll]] for (uint c = 0u; c < CPT; ++c) ltp[r][c] = 0.0, ltd[r][c] = 0.0;
  for (uint b0 = 0u; b0 < pc.batch; b0 += BC) {
    [[unroll]] for (uint k = 0u; k < BC * TILE_C / NTHREADS; ++k) {
      uint e = l + k * NTHREADS, bb = e / TILE_C, c = e % TILE_C;
      uint b = b0 + bb, col = j0 + c;
      vec2 f = vec2(0.0);
      if (b < pc.batch && col < pc.n_pre) {
        uint q = b * pc.n_pre + col;
        float slow = triplet ? F32Buf(pc.x2).v[q] * pc.decay[2] : 0.0;
        f = vec2(F32Buf(pc.x1).v[q] * pc.decay[0], spike(pc.pre, q, (pc.flags & 8u) != 0u) * (pc.a_minus + pc.a3_minus * slow));
      }
      s_col[bb][c] = f;
    }
    [[unroll]] for (uint k = 0u; k < BC * TILE_R / NTHREADS; ++k) {
      uint e = l + k * NTHREADS, bb = e / TILE_R, r = e % TILE_R;
      uint b = b0 + bb, row = i0 + r;
      vec2 f = vec2(0.0);
      if (b < pc.batch && row < pc.n_post) {
        uint q = b * pc.n_post + row;
        float slow = triplet ? F32Buf(pc.y2).v[q] * pc.decay[3] : 0.0;
        f = vec2(spike(pc.post, q, (pc.flags & 16u) != 0u) * (pc.a_plus + pc.a3_plus * slow), F32Buf(pc.y1).v[q] * pc.decay[1]);
      }
      s_row[bb][r] = f;
    }
    barrier();
    // Full chunks run fully unrolled; the last partial one skips its zero padding.
#define ACCUMULATE(bb)                                                               \
  {                                                                                  \
    vec2 rf[RPT], cf[CPT];                                                           \
    [[unroll]] for (uint r = 0u; r < RPT; ++r) rf[r] = s_row[bb][ty + r * TY];       \
    [[unroll]] for (uint c = 0u; c < CPT; ++c) cf[c] = s_col[bb][tx + c * TX];       \
    [[unroll]] for (uint r = 0u; r < RPT; ++r)                                       \
      [[unroll]] for (uint c = 0u; c < CPT; ++c) {                                   \
        ltp[r][c] += rf[r].x * cf[c].x;                                              \
        ltd[r][c] += rf[r].y * cf[c].y;                                              \
      }                                                                              \
  }
    const uint nb = min(BC, pc.batch - b0);
    if (nb == BC) {
      [[unroll]] for (uint bb = 0u; bb < BC; ++bb) ACCUMULATE(bb)
    } else {
      for (uint bb = 0u; bb < nb; ++bb) ACCUMULATE(bb)
    }
    barrier();
  }
  // All loads of W before any store: the stores could alias the loads as far as the compiler
  // knows, which would otherwise serialise one memory round trip per weight.
  const uint bound = pc.flags & 3u;
  float wv[RPT][CPT];
  [[unroll]] for (uint r = 0u; r < RPT; ++r)
    [[unroll]] for (uint c = 0u; c < CPT; ++c) {
      const uint i = i0 + ty + r * TY, j = j0 + tx + c * TX;
      wv[r][c] = i < pc.n_post && j < pc.n_pre ? LD(pc.w, i * pc.n_pre + j) : 0.0;
    }
  [[unroll]] for (uint r = 0u; r < RPT; ++r)
    [[unroll]] for (uint c = 0u; c < CPT; ++c) {
      const uint i = i0 + ty + r * TY, j = j0 + tx + c * TX;
      if (i >= pc.n_post || j >= pc.n_pre) continue;
      const float w = wv[r][c];
      const float p = ltp[r][c] * pc.scale, d = ltd[r][c] * pc.scale;
      float nw = bound == 2u ? w + (pc.w_max - w) * p - (w - pc.w_min) * d : w + p - d;
      if (bound == 1u) nw = clamp(nw, pc.w_min, pc.w_max);
      ST(pc.w, i * pc.n_pre + j, nw);
    }
}
