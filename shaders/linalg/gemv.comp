#version 450
//! variants: f32 f16 bf16
// Skinny products: y[z][r][j] = sum_k x[z][r][k] * Mat[z][k][j] (+ bias) for R <= 4 rows r, i.e.
// matmul and linear whose output has at most 4 rows (or, with the operands' roles swapped, 4
// columns), where a GEMM tile would leave most of its rows idle. Memory-bound: each element of
// Mat is read once, coalesced, 4 at a time where the layout allows, and used for all R rows.
#extension GL_EXT_control_flow_attributes : require
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t mat;
  uint64_t y;
  uint64_t bias;  // 0: none
  uint K;
  uint J;         // outputs per row
  uint R;         // rows (1..4)
  uint sxk;       // element strides: x along k and r, Mat along k and j, y along j and r
  uint sxr;
  uint smk;
  uint smj;
  uint syj;
  uint syr;
  uint ysb;       // elements between the outputs of consecutive z
  uint sbj;       // bias strides along j and r
  uint sbr;
  uint mode;      // MODE_*
  uint bd1;       // z = i0 * bd1 + i1
  uint sx0;       // batch strides of x and Mat for i0 and i1
  uint sx1;
  uint sm0;
  uint sm1;
} pc;

// Mat contiguous along k: a warp per output j, its lanes striding k (VEC: 4 ks per lane and load;
// x then contiguous along k too).
#define MODE_K 0u
#define MODE_K_VEC 1u
// Mat contiguous along j: a lane per output (VEC: 4 outputs per lane), the rest of the workgroup
// striding k, so that few outputs still spread over many workgroups.
#define MODE_J 2u
#define MODE_J_VEC 3u
#define RMAX 4u

#if defined(T_F32)
#define ES 4u
#else
#define ES 2u
#endif

layout(buffer_reference, std430, buffer_reference_align = 8) buffer U32x2Buf { uvec2 v[]; };

vec4 load4(uint64_t base, uint i) {
#if defined(T_F32)
  return F32x4Buf(base).v[i >> 2];
#elif defined(T_F16)
  uvec2 u = U32x2Buf(base).v[i >> 2];
  return vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y));
#else
  uvec2 u = U32x2Buf(base).v[i >> 2];
  return vec4(uintBitsToFloat(u.x << 16), uintBitsToFloat(u.x & 0xffff0000u), uintBitsToFloat(u.y << 16),
              uintBitsToFloat(u.y & 0xffff0000u));
#endif
}

shared vec4 red[RMAX][256];

uint64_t xb, mb;

// acc[r] += x[r][k..] * Mat[k..][j..] for one k (or 4 consecutive ks) of one thread, per mode.
void step_k_vec(uint k, uint j, inout vec4 acc[RMAX]) {
  const vec4 m = load4(mb, j * pc.smj + k);
  [[unroll]] for (uint r = 0u; r < RMAX; ++r)
    if (r < pc.R) acc[r] = fma(load4(xb, r * pc.sxr + k), m, acc[r]);
}
void step_k(uint k, uint j, inout vec4 acc[RMAX]) {
  const float m = float(LD(mb, j * pc.smj + k * pc.smk));
  [[unroll]] for (uint r = 0u; r < RMAX; ++r)
    if (r < pc.R) acc[r].x = fma(float(LD(xb, r * pc.sxr + k * pc.sxk)), m, acc[r].x);
}
void step_j_vec(uint k, uint j, inout vec4 acc[RMAX]) {
  const vec4 m = load4(mb, k * pc.smk + j);
  [[unroll]] for (uint r = 0u; r < RMAX; ++r)
    if (r < pc.R) acc[r] = fma(vec4(float(LD(xb, r * pc.sxr + k * pc.sxk))), m, acc[r]);
}
void step_j(uint k, uint j, inout vec4 acc[RMAX]) {
  const float m = float(LD(mb, k * pc.smk + j * pc.smj));
  [[unroll]] for (uint r = 0u; r < RMAX; ++r)
    if (r < pc.R) acc[r].x = fma(float(LD(xb, r * pc.sxr + k * pc.sxk)), m, acc[r].x);
}

// Four independent chains keep four loads of Mat in flight per thread; one loop per mode so that
// the loop body has no branch.
#define KLOOP(STEP)                                                  \
  {                                                                  \
    uint k = k0;                                                     \
    for (; k + 3u * kstep < pc.K; k += 4u * kstep) {                 \
      STEP(k, j, acc0);                                              \
      STEP(k + kstep, j, acc1);                                      \
      STEP(k + 2u * kstep, j, acc2);                                 \
      STEP(k + 3u * kstep, j, acc3);                                 \
    }                                                                \
    for (; k < pc.K; k += kstep) STEP(k, j, acc0);                   \
  }

void main() {
  const uint t = gl_LocalInvocationIndex;
  const uint z = gl_WorkGroupID.z, i1 = z % pc.bd1, i0 = z / pc.bd1;
  xb = pc.x + (uint64_t(i0) * pc.sx0 + uint64_t(i1) * pc.sx1) * ES;
  mb = pc.mat + (uint64_t(i0) * pc.sm0 + uint64_t(i1) * pc.sm1) * ES;
  const uint g = flat_group();
  const bool kmode = pc.mode <= MODE_K_VEC;
  const bool vec = pc.mode == MODE_K_VEC || pc.mode == MODE_J_VEC;
  // j modes: JL lanes along j (16 outputs per workgroup: 16 lanes, or 4 lanes of 4; runs of 64
  // bytes per k) and 256 / JL slices of k. k modes: 8 outputs per workgroup, a warp each.
  const uint JL = kmode ? 1u : (vec ? 4u : 16u);
  const uint jl = kmode ? 0u : t % JL;
  const uint j = kmode ? g * 8u + (t >> 5) : (g * JL + jl) * (vec ? 4u : 1u);
  const uint k0 = kmode ? (t & 31u) * (vec ? 4u : 1u) : t / JL;
  const uint kstep = kmode ? (vec ? 128u : 32u) : 256u / JL;

  vec4 acc0[RMAX], acc1[RMAX], acc2[RMAX], acc3[RMAX];
  [[unroll]] for (uint r = 0u; r < RMAX; ++r) acc0[r] = acc1[r] = acc2[r] = acc3[r] = vec4(0.0);
  if (j < pc.J) {
    switch (pc.mode) {
      case MODE_K_VEC: KLOOP(step_k_vec) break;
      case MODE_K: KLOOP(step_k) break;
      case MODE_J_VEC: KLOOP(step_j_vec) break;
      default: KLOOP(step_j) break;
    }
  }
  [[unroll]] for (uint r = 0u; r < RMAX; ++r)
    if (r < pc.R) red[r][t] = (acc0[r] + acc1[r]) + (acc2[r] + acc3[r]);
  barrier();

  const uint64_t yb = pc.y + uint64_t(z) * pc.ysb * ES;
  if (kmode) {
    // Thread t sums the 32 lanes of warp t % 8 for row t / 8.
    const uint w = t % 8u, r = t / 8u, jo = g * 8u + w;
    if (r < pc.R && jo < pc.J) {
      vec4 s = vec4(0.0);
      for (uint l = 0u; l < 32u; ++l) s += red[r][w * 32u + l];
      float v = s.x + s.y + s.z + s.w;
      if (pc.bias != 0ul) v += float(LD(pc.bias, jo * pc.sbj + r * pc.sbr));
      ST(yb, jo * pc.syj + r * pc.syr, v);
    }
  } else {
    // Thread t sums the k-slices of lane t % JL for row t / JL.
    const uint l = t % JL, r = t / JL;
    if (r < pc.R) {
      vec4 s = vec4(0.0);
      for (uint q = 0u; q < 256u / JL; ++q) s += red[r][q * JL + l];
      const uint per = vec ? 4u : 1u;
      for (uint e = 0u; e < per; ++e) {
        const uint jo = (g * JL + l) * per + e;
        if (jo < pc.J) {
          float v = s[e];
          if (pc.bias != 0ul) v += float(LD(pc.bias, jo * pc.sbj + r * pc.sbr));
          ST(yb, jo * pc.syj + r * pc.syr, v);
        }
      }
    }
  }
}
