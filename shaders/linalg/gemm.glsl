// Body of the tiled GEMM kernels, included by gemm_*.comp which set the tile shape:
// C[z] = A[z] B[z] (+ bias), one BM x BN tile of C per workgroup of 256 threads.
//
// Tile macros: BM, BN (output tile), BK (k-slice per shared-memory stage), TM, TN (the micro tile of
// one thread, multiples of 4), VEC4 (1: every operand's fast dim has stride 1, its extent and the
// other stride are multiples of 4 and its base is aligned, so a thread's 4 elements are one load;
// 0: any strides, 4 scalar loads).
//
// Pipeline: the next k-slice is loaded from global memory into registers before the FMAs of the
// current one (stored to the other shared buffer after them), so one barrier per slice suffices
// and global latency hides behind BK * TM * TN FMAs per thread. A and B are stored k-major in
// shared memory ([k][m], [k][n], rows padded by one vec4 so that transposing stores do not hit one
// bank), and each thread reads its fragments as vec4: per k it does TM*TN FMAs for (TM+TN)/4 loads.
#extension GL_EXT_control_flow_attributes : require
#include "common/types.glsl"
#include "common/typed.glsl"

layout(local_size_x = 256) in;

layout(buffer_reference, std430, buffer_reference_align = 8) buffer U32x2Buf { uvec2 v[]; };

layout(push_constant) uniform Push {
  uint64_t a;
  uint64_t b;
  uint64_t c;
  uint64_t bias;  // 0: none
  uint M;
  uint N;
  uint K;
  uint kc;        // k-range of one split (K when not split)
  uint sam;       // element strides of A along m and k, of B along k and n
  uint sak;
  uint sbk;
  uint sbn;
  uint ldc;       // row stride of C
  uint csb;       // elements between the C matrices of consecutive z
  uint bd1;       // z = (i0 * bd1 + i1) * splits + split
  uint sa0;       // batch strides of A and B for i0 and i1
  uint sa1;
  uint sb0;
  uint sb1;
  uint splits;
  uint flags;
  uint pad;
} pc;

#define F_A_KFAST 1u  // a thread's 4 elements of A step along k (else along m)
#define F_B_KFAST 2u  // a thread's 4 elements of B step along k (else along n)
#define F_PARTIAL 4u  // write f32 partial sums without bias (split-k; gemm_reduce finishes)
#define F_C_VEC4 8u   // ldc and C's base allow 4-wide stores

#if defined(T_F32)
#define ES 4u
#else
#define ES 2u
#endif

#define THREADS 256u
#define TX (BN / TN)  // threads along n (16)
#define TY (BM / TM)  // threads along m (16)

shared vec4 As[2][BK][BM / 4 + 1];
shared vec4 Bs[2][BK][BN / 4 + 1];

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

// The 4 elements a thread moves for one operand: the first at tile-local (row, k), the others
// `rstep` rows and `kstep` ks further, `fs` elements apart in memory; zeros outside the matrix.
vec4 fetch(uint64_t base, uint idx, uint grow, uint gk, uint rows, uint kend, uint rstep, uint kstep, uint fs) {
  vec4 v = vec4(0.0);
#if VEC4
  if (grow < rows && gk < kend) v = load4(base, idx);
#else
  [[unroll]] for (uint e = 0u; e < 4u; ++e)
    if (grow + e * rstep < rows && gk + e * kstep < kend) v[e] = float(LD(base, idx + e * fs));
#endif
  return v;
}

void store_c(uint64_t base, uint i, float v, bool partial) {
  if (partial) {
    F32Buf(base).v[i] = v;
  } else {
    ST(base, i, v);
  }
}

void store_c4(uint64_t base, uint i, vec4 v, bool partial) {
#if defined(T_F32)
  F32x4Buf(base).v[i >> 2] = v;
#else
  if (partial) {
    F32x4Buf(base).v[i >> 2] = v;
  } else {
#if defined(T_F16)
    U32x2Buf(base).v[i >> 2] = uvec2(packHalf2x16(v.xy), packHalf2x16(v.zw));
#else
    U32x2Buf(base).v[i >> 2] = uvec2(uint(f32_to_bf16(v.x)) | (uint(f32_to_bf16(v.y)) << 16),
                                     uint(f32_to_bf16(v.z)) | (uint(f32_to_bf16(v.w)) << 16));
#endif
  }
#endif
}

vec4 load_bias(uint col) {
  vec4 v = vec4(0.0);
  if (col < pc.N) v.x = float(LD(pc.bias, col));
  if (col + 1u < pc.N) v.y = float(LD(pc.bias, col + 1u));
  if (col + 2u < pc.N) v.z = float(LD(pc.bias, col + 2u));
  if (col + 3u < pc.N) v.w = float(LD(pc.bias, col + 3u));
  return v;
}

void main() {
  const uint t = gl_LocalInvocationIndex;
  const uint z = gl_WorkGroupID.z;
  const uint split = z % pc.splits;
  const uint bz = z / pc.splits;
  const uint i1 = bz % pc.bd1, i0 = bz / pc.bd1;
  const uint64_t abase = pc.a + (uint64_t(i0) * pc.sa0 + uint64_t(i1) * pc.sa1) * ES;
  const uint64_t bbase = pc.b + (uint64_t(i0) * pc.sb0 + uint64_t(i1) * pc.sb1) * ES;
  const uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  const uint kbeg = split * pc.kc;
  const uint kend = min(pc.K, kbeg + pc.kc);
  const uint nk = kend > kbeg ? (kend - kbeg + BK - 1u) / BK : 0u;

  // Loader geometry: with the fast dim along k, BK/4 threads cover a row of the slice; along
  // m (or n), BM/4 threads cover a k-row of it.
  const bool akf = (pc.flags & F_A_KFAST) != 0u;
  const uint a_r = akf ? t / (BK / 4u) : (t % (BM / 4u)) * 4u;
  const uint a_k = akf ? (t % (BK / 4u)) * 4u : t / (BM / 4u);
  const uint a_rs = akf ? 0u : 1u, a_ks = akf ? 1u : 0u;
  const uint a_fs = akf ? pc.sak : pc.sam;
  const uint a_step = BK * pc.sak;
  uint a_gk = kbeg + a_k;
  uint a_i = (m0 + a_r) * pc.sam + a_gk * pc.sak;

  const bool bkf = (pc.flags & F_B_KFAST) != 0u;
  const uint b_r = bkf ? t / (BK / 4u) : (t % (BN / 4u)) * 4u;
  const uint b_k = bkf ? (t % (BK / 4u)) * 4u : t / (BN / 4u);
  const uint b_rs = bkf ? 0u : 1u, b_ks = bkf ? 1u : 0u;
  const uint b_fs = bkf ? pc.sbk : pc.sbn;
  const uint b_step = BK * pc.sbk;
  uint b_gk = kbeg + b_k;
  uint b_i = (n0 + b_r) * pc.sbn + b_gk * pc.sbk;

  // Compute geometry: a warp covers 4 x 8 threads, so its fragment reads touch 4 distinct vec4 of
  // A and 8 of B (one shared-memory wavefront each).
  const uint lane = t & 31u, warp = t >> 5u;
  const uint tx = (warp & 1u) * 8u + (lane & 7u);
  const uint ty = (warp >> 1u) * 4u + (lane >> 3u);

  vec4 acc[TM][TN / 4];
  [[unroll]] for (uint i = 0u; i < TM; ++i)
    [[unroll]] for (uint j = 0u; j < TN / 4u; ++j) acc[i][j] = vec4(0.0);

  vec4 ra = fetch(abase, a_i, m0 + a_r, a_gk, pc.M, kend, a_rs, a_ks, a_fs);
  vec4 rb = fetch(bbase, b_i, n0 + b_r, b_gk, pc.N, kend, b_rs, b_ks, b_fs);
  if (akf) {
    [[unroll]] for (uint e = 0u; e < 4u; ++e) As[0][a_k + e][a_r >> 2][a_r & 3u] = ra[e];
  } else {
    As[0][a_k][a_r >> 2] = ra;
  }
  if (bkf) {
    [[unroll]] for (uint e = 0u; e < 4u; ++e) Bs[0][b_k + e][b_r >> 2][b_r & 3u] = rb[e];
  } else {
    Bs[0][b_k][b_r >> 2] = rb;
  }
  barrier();

  for (uint kt = 0u; kt < nk; ++kt) {
    const uint cur = kt & 1u, nxt = cur ^ 1u;
    // The next slice (zeros past kend, so the last iteration needs no branch).
    a_gk += BK;
    a_i += a_step;
    b_gk += BK;
    b_i += b_step;
    ra = fetch(abase, a_i, m0 + a_r, a_gk, pc.M, kend, a_rs, a_ks, a_fs);
    rb = fetch(bbase, b_i, n0 + b_r, b_gk, pc.N, kend, b_rs, b_ks, b_fs);

    [[unroll]] for (uint kk = 0u; kk < BK; ++kk) {
      vec4 af[TM / 4], bf[TN / 4];
      [[unroll]] for (uint g = 0u; g < TM / 4u; ++g) af[g] = As[cur][kk][g * TY + ty];
      [[unroll]] for (uint g = 0u; g < TN / 4u; ++g) bf[g] = Bs[cur][kk][g * TX + tx];
      [[unroll]] for (uint i = 0u; i < TM; ++i)
        [[unroll]] for (uint g = 0u; g < TN / 4u; ++g) acc[i][g] = fma(vec4(af[i >> 2][i & 3u]), bf[g], acc[i][g]);
    }

    if (akf) {
      [[unroll]] for (uint e = 0u; e < 4u; ++e) As[nxt][a_k + e][a_r >> 2][a_r & 3u] = ra[e];
    } else {
      As[nxt][a_k][a_r >> 2] = ra;
    }
    if (bkf) {
      [[unroll]] for (uint e = 0u; e < 4u; ++e) Bs[nxt][b_k + e][b_r >> 2][b_r & 3u] = rb[e];
    } else {
      Bs[nxt][b_k][b_r >> 2] = rb;
    }
    barrier();
  }

  // Epilogue: bias per column, 4-wide stores where the row of 4 is inside C and aligned.
  const bool partial = (pc.flags & F_PARTIAL) != 0u;
  const bool cvec = (pc.flags & F_C_VEC4) != 0u;
  const uint64_t cbase = pc.c + uint64_t(z) * pc.csb * (partial ? 4u : ES);
  const bool has_bias = pc.bias != 0ul && !partial;
  vec4 bv[TN / 4];
  [[unroll]] for (uint g = 0u; g < TN / 4u; ++g) bv[g] = has_bias ? load_bias(n0 + (g * TX + tx) * 4u) : vec4(0.0);
  [[unroll]] for (uint i = 0u; i < TM; ++i) {
    const uint row = m0 + ((i >> 2) * TY + ty) * 4u + (i & 3u);
    [[unroll]] for (uint g = 0u; g < TN / 4u; ++g) {
      const uint col = n0 + (g * TX + tx) * 4u;
      const vec4 v = acc[i][g] + bv[g];
      const uint ci = row * pc.ldc + col;
      if (row < pc.M) {
        if (cvec && col + 3u < pc.N) {
          store_c4(cbase, ci, v, partial);
        } else {
          [[unroll]] for (uint e = 0u; e < 4u; ++e)
            if (col + e < pc.N) store_c(cbase, ci + e, v[e], partial);
        }
      }
    }
  }
}
