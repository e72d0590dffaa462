// Body of the search distance kernels, included by dist.comp / dist_vec.comp (dense distances or
// keys) and select.comp / select_vec.comp (the fused scan), with scalar or 4-wide loads: 128
// queries x 128 base rows of dot products per step, tiled as linalg/gemm.glsl. The dense and the
// select kernels are separate so that the dense one carries neither the lists' shared memory nor
// the select epilogue's registers.
//
// Both operands are row-major with the k (feature) dim fastest, so each loader thread moves 4
// consecutive features of one row and stores them transposed ([k][row], rows padded by one vec4)
// into shared memory; the FMA loop is gemm.glsl's (8x8 micro tile per thread, double-buffered
// k-slices of 8, one barrier per slice).
//
// Epilogues. Every metric is turned into a key where smaller is nearer and the query's own term
// is left out (it does not change a query's ranking): L2: |b|^2 - 2 q.b; IP: -q.b; cosine:
// -q.b / max(|b|, eps). MODE 0 writes distances, MODE 1 keys (dense [Q, ldo]); SELECT scans a
// chunk of base rows 128 at a time and keeps each query's k best (key, position) in shared
// memory, then writes them as the chunk's candidates (chunk_rows <= 65408). Candidates reach the list through a
// per-query buffer: a thread pushes the keys that are not worse than the query's current k-th
// key; when a buffer is full the pushes left over wait for the owners to drain it (and for a
// tighter threshold) and are tried again. After the first few steps almost nothing passes the
// threshold, so the scan costs a compare per dot product.
#extension GL_EXT_control_flow_attributes : require
#include "common/types.glsl"
#include "common/typed.glsl"

layout(local_size_x = 256) in;

layout(buffer_reference, std430, buffer_reference_align = 8) buffer U32x2Buf { uvec2 v[]; };

layout(push_constant) uniform Push {
  uint64_t q;     // queries [Q, D]
  uint64_t b;     // base rows [N, D]
  uint64_t bn;    // per base row: |b|^2 (L2), 1 / max(|b|, eps) (cosine); unused for IP
  uint64_t qa;    // per query: |q|^2 (L2), 1 / max(|q|, eps) (cosine); MODE 0 only
  uint64_t okey;  // dense: f32 [Q, ldo]; SELECT: candidate keys f32 [Q][nchunk][k]
  uint64_t opos;  // SELECT: candidate positions u32 [Q][nchunk][k]
  uint Q;
  uint N;
  uint D;
  uint metric;    // 0 L2SQR, 1 L2, 2 IP, 3 cosine
  uint mode;      // dense kernels: 0 distances, 1 keys
  uint k;         // SELECT: list length (<= KMAX)
  uint chunk_rows;
  uint nchunk;    // chunks per query row of the candidate arrays
  uint chunk0;    // candidate chunk of this dispatch's first chunk
  uint pos0;      // position of base row 0
  uint ldo;
  uint flags;     // 1: MODE 0/1 may store 4 columns at once
} pc;

#if defined(T_F32)
#define ES 4u
#else
#define ES 2u
#endif

#define BM 128u
#define BN 128u
#define BK 8u
#define TM 8u
#define TN 8u
#define TX 16u
#define TY 16u
#define RS (BM / 4u + 1u)  // vec4 per padded shared row
#define KMAX 16u
#define CAP 16u            // candidate buffer entries per query
#define NONE 0xffffu       // empty list slot (chunk-relative positions are 16 bits)

// 30 KiB in all, under the 32 KiB that every Vulkan device offers. The operand tiles hold bits
// (uvec4) so that between steps they can hold the candidate buffers: keys in As, chunk-relative
// positions in Bs. List positions are chunk-relative and packed two to a word.
shared uvec4 As[2u * BK * RS];
shared uvec4 Bs[2u * BK * RS];
#if SELECT
shared float lkey[BM * KMAX];
shared uint lpos[BM * KMAX / 2u];
shared float thr[BM];
shared uint cnt[BM];
shared uint ovf[2];
#endif

vec4 acc[TM][TN / 4u];

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

// Features k..k+3 of one row (zeros outside the matrix).
vec4 fetch(uint64_t base, uint row, uint rows, uint k) {
  vec4 v = vec4(0.0);
  if (row >= rows) return v;
#if VEC4
  if (k < pc.D) v = load4(base, row * pc.D + k);
#else
  [[unroll]] for (uint e = 0u; e < 4u; ++e)
    if (k + e < pc.D) v[e] = float(LD(base, row * pc.D + k + e));
#endif
  return v;
}

void stash(uint buf, uint lr, uint lk, vec4 va, vec4 vb) {
  [[unroll]] for (uint e = 0u; e < 4u; ++e) {
    As[(buf * BK + lk + e) * RS + (lr >> 2)][lr & 3u] = floatBitsToUint(va[e]);
    Bs[(buf * BK + lk + e) * RS + (lr >> 2)][lr & 3u] = floatBitsToUint(vb[e]);
  }
}

// acc = Q[m0 .. m0+127] . B[n0 .. n0+127]^T (rows past Q or nrows read as zeros).
// The operand slice a thread moves next (held across calls so that the select kernel can fetch
// the next step's first slice while it works on the current step's candidates).
vec4 ra, rb;

void prefetch(uint m0, uint n0, uint nrows) {
  const uint t = gl_LocalInvocationIndex;
  ra = fetch(pc.q, m0 + (t >> 1), pc.Q, (t & 1u) * 4u);
  rb = fetch(pc.b, n0 + (t >> 1), nrows, (t & 1u) * 4u);
}

// acc = Q[m0 .. m0+127] . B[n0 .. n0+127]^T (rows past Q or nrows read as zeros), starting from
// the first slice already in ra, rb; the last slice's loads fetch the first slice of rows
// n_next instead (when n_next < nrows).
void dots(uint m0, uint n0, uint nrows, uint n_next, uint tx, uint ty) {
  const uint t = gl_LocalInvocationIndex;
  const uint lr = t >> 1, lk = (t & 1u) * 4u;
  const uint nk = (pc.D + BK - 1u) / BK;
  [[unroll]] for (uint i = 0u; i < TM; ++i)
    [[unroll]] for (uint j = 0u; j < TN / 4u; ++j) acc[i][j] = vec4(0.0);
  stash(0u, lr, lk, ra, rb);
  barrier();
  for (uint kt = 0u; kt < nk; ++kt) {
    const uint cur = kt & 1u, nxt = cur ^ 1u;
    const bool last = kt + 1u == nk;
    if (!last) {
      const uint kn = (kt + 1u) * BK + lk;
      ra = fetch(pc.q, m0 + lr, pc.Q, kn);
      rb = fetch(pc.b, n0 + lr, nrows, kn);
    } else if (n_next < nrows) {
      prefetch(m0, n_next, nrows);
    }
    [[unroll]] for (uint kk = 0u; kk < BK; ++kk) {
      vec4 af[TM / 4u], bf[TN / 4u];
      [[unroll]] for (uint g = 0u; g < TM / 4u; ++g) af[g] = uintBitsToFloat(As[(cur * BK + kk) * RS + g * TY + ty]);
      [[unroll]] for (uint g = 0u; g < TN / 4u; ++g) bf[g] = uintBitsToFloat(Bs[(cur * BK + kk) * RS + g * TX + tx]);
      [[unroll]] for (uint i = 0u; i < TM; ++i)
        [[unroll]] for (uint g = 0u; g < TN / 4u; ++g) acc[i][g] = fma(vec4(af[i >> 2][i & 3u]), bf[g], acc[i][g]);
    }
    if (!last) stash(nxt, lr, lk, ra, rb);
    barrier();
  }
}

uint row_of(uint i, uint ty) { return ((i >> 2) * TY + ty) * 4u + (i & 3u); }
uint col_of(uint g, uint tx) { return (g * TX + tx) * 4u; }

float base_term(uint col) {
  return (pc.metric != 2u && col < pc.N) ? F32Buf(pc.bn).v[col] : 0.0;
}

// The key of a dot product (smaller is nearer); NaN becomes +inf so that it still ranks.
float key_of(float dot, float bt) {
  float key = pc.metric == 2u ? -dot : (pc.metric == 3u ? -dot * bt : bt - 2.0 * dot);
  return isnan(key) ? uintBitsToFloat(0x7f800000u) : key;
}

float distance_of(float dot, float bt, float qt) {
  if (pc.metric == 2u) return dot;
  if (pc.metric == 3u) return dot * bt * qt;
  const float d2 = max(qt + bt - 2.0 * dot, 0.0);
  return pc.metric == 1u ? sqrt(d2) : d2;
}

void dense(uint tx, uint ty) {
  const uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
  prefetch(m0, n0, pc.N);
  dots(m0, n0, pc.N, 0xffffffffu, tx, ty);
  vec4 bt[TN / 4u];
  [[unroll]] for (uint g = 0u; g < TN / 4u; ++g) {
    const uint c = n0 + col_of(g, tx);
    bt[g] = vec4(base_term(c), base_term(c + 1u), base_term(c + 2u), base_term(c + 3u));
  }
  const bool v4 = (pc.flags & 1u) != 0u;
  [[unroll]] for (uint i = 0u; i < TM; ++i) {
    const uint row = m0 + row_of(i, ty);
    if (row >= pc.Q) continue;
    const float qt = (pc.mode == 0u && pc.metric != 2u) ? F32Buf(pc.qa).v[row] : 0.0;
    [[unroll]] for (uint g = 0u; g < TN / 4u; ++g) {
      const uint col = n0 + col_of(g, tx);
      vec4 v;
      [[unroll]] for (uint e = 0u; e < 4u; ++e)
        v[e] = pc.mode == 0u ? distance_of(acc[i][g][e], bt[g][e], qt) : key_of(acc[i][g][e], bt[g][e]);
      const uint oi = row * pc.ldo + col;
      if (v4 && col + 3u < pc.N) {
        F32x4Buf(pc.okey).v[oi >> 2] = v;
      } else {
        [[unroll]] for (uint e = 0u; e < 4u; ++e)
          if (col + e < pc.N) F32Buf(pc.okey).v[oi + e] = v[e];
      }
    }
  }
}

#if SELECT
uint get_pos(uint i) {
  const uint w = lpos[i >> 1];
  return (i & 1u) != 0u ? w >> 16 : w & 0xffffu;
}

// Only the list's owner touches the word (a list starts on an even slot), so no race.
void set_pos(uint i, uint p) {
  const uint w = lpos[i >> 1];
  lpos[i >> 1] = (i & 1u) != 0u ? (w & 0xffffu) | (p << 16) : (w & 0xffff0000u) | p;
}

// Owner of query slot `s`: moves its buffered candidates into its sorted list of k.
void drain(uint s) {
  const uint n = min(cnt[s], CAP);
  const uint lb = s * KMAX;
  for (uint c = 0u; c < n; ++c) {
    const uint f = s * CAP + c;
    const float kv = uintBitsToFloat(As[f >> 2][f & 3u]);
    const uint p = Bs[f >> 2][f & 3u];
    uint j = pc.k - 1u;
    if (!(kv < lkey[lb + j] || (kv == lkey[lb + j] && p < get_pos(lb + j)))) continue;
    while (j > 0u) {
      const float pk = lkey[lb + j - 1u];
      const uint pp = get_pos(lb + j - 1u);
      if (!(kv < pk || (kv == pk && p < pp))) break;
      lkey[lb + j] = pk;
      set_pos(lb + j, pp);
      --j;
    }
    lkey[lb + j] = kv;
    set_pos(lb + j, p);
  }
  cnt[s] = 0u;
  thr[s] = lkey[lb + pc.k - 1u];
}

void select_chunks(uint tx, uint ty) {
  const uint t = gl_LocalInvocationIndex;
  const uint m0 = gl_WorkGroupID.x * BM;
  const uint chunk = gl_WorkGroupID.y;
  const uint cbeg = chunk * pc.chunk_rows;
  const uint cend = min(pc.N, cbeg + pc.chunk_rows);
  const float inf = uintBitsToFloat(0x7f800000u);
  for (uint i = t; i < BM * KMAX; i += 256u) lkey[i] = inf;
  for (uint i = t; i < BM * KMAX / 2u; i += 256u) lpos[i] = 0xffffffffu;
  if (t < BM) {
    thr[t] = inf;
    cnt[t] = 0u;
  }
  if (t < 2u) ovf[t] = 0u;
  barrier();
  uint round = 0u;
  const float nan = uintBitsToFloat(0x7fc00000u);
  prefetch(m0, cbeg, cend);
  for (uint n0 = cbeg; n0 < cend; n0 += BN) {
    dots(m0, n0, cend, n0 + BN, tx, ty);
    // Keys in place; NaN (which passes no threshold) marks items outside the matrix and items
    // already pushed.
    [[unroll]] for (uint g = 0u; g < TN / 4u; ++g) {
      const uint c = n0 + col_of(g, tx);
      const vec4 bt = vec4(base_term(c), base_term(c + 1u), base_term(c + 2u), base_term(c + 3u));
      [[unroll]] for (uint i = 0u; i < TM; ++i) {
        const bool row_ok = m0 + row_of(i, ty) < pc.Q;
        [[unroll]] for (uint e = 0u; e < 4u; ++e)
          acc[i][g][e] = (row_ok && c + e < cend) ? key_of(acc[i][g][e], bt[e]) : nan;
      }
    }
    for (;;) {
      bool more = false;
      [[unroll]] for (uint i = 0u; i < TM; ++i) {
        const uint s = row_of(i, ty);
        const float th = thr[s];
        // One test per row first: after the first steps almost no row has a candidate.
        bool hit = false;
        [[unroll]] for (uint g = 0u; g < TN / 4u; ++g)
          hit = hit || any(lessThanEqual(acc[i][g], vec4(th)));
        if (!hit) continue;
        [[unroll]] for (uint g = 0u; g < TN / 4u; ++g) {
          [[unroll]] for (uint e = 0u; e < 4u; ++e) {
            const float kv = acc[i][g][e];
            if (!(kv <= th)) continue;
            const uint slot = atomicAdd(cnt[s], 1u);
            if (slot < CAP) {
              const uint f = s * CAP + slot;
              As[f >> 2][f & 3u] = floatBitsToUint(kv);
              Bs[f >> 2][f & 3u] = n0 + col_of(g, tx) + e - cbeg;
              acc[i][g][e] = nan;
            } else {
              more = true;
            }
          }
        }
      }
      if (more) ovf[round & 1u] = 1u;
      barrier();
      if (t < BM) drain(t);
      if (t == 0u) ovf[(round + 1u) & 1u] = 0u;
      const bool again = ovf[round & 1u] != 0u;
      barrier();
      ++round;
      if (!again) break;
    }
  }
  if (t < BM && m0 + t < pc.Q) {
    const uint o = ((m0 + t) * pc.nchunk + pc.chunk0 + chunk) * pc.k;
    for (uint j = 0u; j < pc.k; ++j) {
      const uint p = get_pos(t * KMAX + j);
      F32Buf(pc.okey).v[o + j] = lkey[t * KMAX + j];
      U32Buf(pc.opos).v[o + j] = p == NONE ? 0xffffffffu : pc.pos0 + cbeg + p;
    }
  }
}

#endif

void main() {
  // A warp covers 4 x 8 threads, so its fragment reads touch 4 distinct vec4 of A and 8 of B.
  const uint t = gl_LocalInvocationIndex;
  const uint lane = t & 31u, warp = t >> 5u;
  const uint tx = (warp & 1u) * 8u + (lane & 7u);
  const uint ty = (warp >> 1u) * 4u + (lane >> 3u);
#if SELECT
  select_chunks(tx, ty);
#else
  dense(tx, ty);
#endif
}
