#version 450
//! variants: f32 f16 bf16
// Rate-based Hebbian family over W[i, j] (i: output, j: input), in place, with C = sum_b y_b x_b^T
// staged through shared memory as in stdp.comp:
//   mode 0 Hebbian: W + eta * scale * C_ij - decay * W_ij
//   mode 1 Oja:     W + eta * scale * (C_ij - sum_b y_bi^2 W_ij)
//   mode 2 Sanger:  W + eta * scale * (C_ij - P_ij),  P = LT(sum_b y_b y_b^T) W computed before
// A thread reads W only at its own elements, so no thread sees another's new value.
#include "common/types.glsl"
#include "common/typed.glsl"
#extension GL_EXT_control_flow_attributes : require
#include "plasticity/tile.glsl"
layout(push_constant) uniform Push {
  uint64_t w;
  uint64_t x;    // [B, n_in]
  uint64_t y;    // [B, n_out]
  uint64_t back; // f32 [n_out, n_in]: P (mode 2)
  uint batch;
  uint n_in;
  uint n_out;
  uint mode;
  float eta;
  float scale;   // 1/B
  float decay;
  float pad_;
} pc;

shared float s_x[BC][TILE_C];
shared float s_y[BC][TILE_R];

void main() {
  const uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
  const uint l = ty * TX + tx;
  const uint j0 = gl_WorkGroupID.x * TILE_C, i0 = gl_WorkGroupID.y * TILE_R;
  float yx[RPT][CPT], yy[RPT];
  [[unroll]] for (uint r = 0u; r < RPT; ++r) {
    yy[r] = 0.0;
    [[unroll]] for (uint c = 0u; c < CPT; ++c) yx[r][c] = 0.0;
  }
  for (uint b0 = 0u; b0 < pc.batch; b0 += BC) {
    [[unroll]] for (uint k = 0u; k < BC * TILE_C / NTHREADS; ++k) {
      uint e = l + k * NTHREADS, bb = e / TILE_C, c = e % TILE_C;
      uint b = b0 + bb, col = j0 + c;
      s_x[bb][c] = b < pc.batch && col < pc.n_in ? float(LD(pc.x, b * pc.n_in + col)) : 0.0;
    }
    [[unroll]] for (uint k = 0u; k < BC * TILE_R / NTHREADS; ++k) {
      uint e = l + k * NTHREADS, bb = e / TILE_R, r = e % TILE_R;
      uint b = b0 + bb, row = i0 + r;
      s_y[bb][r] = b < pc.batch && row < pc.n_out ? float(LD(pc.y, b * pc.n_out + row)) : 0.0;
    }
    barrier();
    // Full chunks run fully unrolled; the last partial one skips its zero padding.
#define ACCUMULATE(bb)                                                               \
  {                                                                                  \
    float yv[RPT], xv[CPT];                                                          \
    [[unroll]] for (uint r = 0u; r < RPT; ++r) {                                     \
      yv[r] = s_y[bb][ty + r * TY];                                                  \
      yy[r] += yv[r] * yv[r];                                                        \
    }                                                                                \
    [[unroll]] for (uint c = 0u; c < CPT; ++c) xv[c] = s_x[bb][tx + c * TX];         \
    [[unroll]] for (uint r = 0u; r < RPT; ++r)                                       \
      [[unroll]] for (uint c = 0u; c < CPT; ++c) yx[r][c] += yv[r] * xv[c];          \
  }
    const uint nb = min(BC, pc.batch - b0);
    if (nb == BC) {
      [[unroll]] for (uint bb = 0u; bb < BC; ++bb) ACCUMULATE(bb)
    } else {
      for (uint bb = 0u; bb < nb; ++bb) ACCUMULATE(bb)
    }
    barrier();
  }
  // All loads before any store (the stores could alias the loads as far as the compiler knows).
  const float g = pc.eta * pc.scale;
  float wv[RPT][CPT], pv[RPT][CPT];
  [[unroll]] for (uint r = 0u; r < RPT; ++r)
    [[unroll]] for (uint c = 0u; c < CPT; ++c) {
      const uint i = i0 + ty + r * TY, j = j0 + tx + c * TX;
      const bool ok = i < pc.n_out && j < pc.n_in;
      wv[r][c] = ok ? float(LD(pc.w, i * pc.n_in + j)) : 0.0;
      pv[r][c] = ok && pc.mode == 2u ? F32Buf(pc.back).v[i * pc.n_in + j] : 0.0;
    }
  [[unroll]] for (uint r = 0u; r < RPT; ++r)
    [[unroll]] for (uint c = 0u; c < CPT; ++c) {
      const uint i = i0 + ty + r * TY, j = j0 + tx + c * TX;
      if (i >= pc.n_out || j >= pc.n_in) continue;
      const float w = wv[r][c];
      float nw;
      if (pc.mode == 0u)
        nw = w + g * yx[r][c] - pc.decay * w;
      else if (pc.mode == 1u)
        nw = w + g * (yx[r][c] - yy[r] * w);
      else
        nw = w + g * (yx[r][c] - pv[r][c]);
      ST(pc.w, i * pc.n_in + j, nw);
    }
}
