// Spike-matmul body shared by the 8-row and 32-row kernels (ROWS set by the includer): out [B, N]
// = S [B, K] @ W [K, N] skipping silent inputs. A workgroup owns ROWS rows and 128 columns (a
// column per thread) and walks k in chunks of 128: the chunk's spikes go to shared memory, the k
// where any of the ROWS rows is nonzero are compacted in ascending order into a list, and only
// those rows of W are read (coalesced across the workgroup, four loads in flight per thread).
// Each output sums in ascending k, so results are deterministic.
#include "common/types.glsl"
#include "common/typed.glsl"
#define CHUNK 128u
#define RV (ROWS / 4u)
layout(local_size_x = 128) in;
layout(push_constant) uniform Push {
  uint64_t s;   // [B, K], u8 or W's dtype
  uint64_t w;   // [K, N]
  uint64_t out_;
  uint B;
  uint K;
  uint N;
  uint s_u8;    // 0: W's dtype, 1: u8, 2: u8 read as 32-bit words (K % 4 == 0, aligned)
} pc;

shared vec4 sp[RV][CHUNK];  // the ROWS values of one k as ROWS / 4 vec4
shared uint mask[CHUNK / 32u];
shared uint list[CHUNK];

float wload(uint k, uint col) { return float(LD(pc.w, k * pc.N + col)); }

void main() {
  uint lid = gl_LocalInvocationID.x;
  uint row0 = gl_WorkGroupID.y * ROWS;
  // Each thread owns COLS columns 128 apart; threads past the last column read column N - 1 and
  // drop the result: no branch in the loop.
  uint colr[COLS];
  for (uint c = 0u; c < COLS; ++c) colr[c] = min(gl_WorkGroupID.x * (CHUNK * COLS) + c * CHUNK + lid, pc.N - 1u);
  vec4 acc[COLS][RV];
  for (uint c = 0u; c < COLS; ++c)
    for (uint q = 0u; q < RV; ++q) acc[c][q] = vec4(0.0);
  for (uint k0 = 0u; k0 < pc.K; k0 += CHUNK) {
    if (lid < CHUNK / 32u) mask[lid] = 0u;
    barrier();
    uint k = k0 + lid;
    bool hit = false;
    if (pc.s_u8 == 2u) {
      // u8 spikes with K % 4 == 0: 32-bit loads of four k each (a row of the chunk is 32 words).
      for (uint h = 0u; h < ROWS * (CHUNK / 4u) / CHUNK; ++h) {
        uint widx = lid + h * CHUNK, r = widx / (CHUNK / 4u), kw = widx % (CHUNK / 4u);
        uint row = row0 + r, kb = k0 + 4u * kw;
        uint word = 0u;
        if (row < pc.B && kb < pc.K) word = U32Buf(pc.s).v[(row * pc.K + kb) / 4u];
        for (uint j = 0u; j < 4u; ++j) sp[r / 4u][4u * kw + j][r % 4u] = float((word >> (8u * j)) & 255u);
      }
      barrier();
      for (uint q = 0u; q < RV; ++q) hit = hit || any(notEqual(sp[q][lid], vec4(0.0)));
    } else {
      for (uint q = 0u; q < RV; ++q) {
        vec4 v = vec4(0.0);
        for (uint c = 0u; c < 4u; ++c) {
          uint row = row0 + 4u * q + c;
          if (row < pc.B && k < pc.K) {
            uint e = row * pc.K + k;
            if (pc.s_u8 != 0u)
              v[c] = float(uint(U8Buf(pc.s).v[e]));
            else
              v[c] = float(LD(pc.s, e));
          }
        }
        sp[q][lid] = v;
        hit = hit || any(notEqual(v, vec4(0.0)));
      }
    }
    if (hit) atomicOr(mask[lid >> 5], 1u << (lid & 31u));
    barrier();
    uint before = 0u;
    for (uint wd = 0u; wd < (lid >> 5); ++wd) before += bitCount(mask[wd]);
    if (hit) list[before + bitCount(mask[lid >> 5] & ((1u << (lid & 31u)) - 1u))] = lid;
    uint cnt = 0u;
    for (uint wd = 0u; wd < CHUNK / 32u; ++wd) cnt += bitCount(mask[wd]);
    barrier();
    uint j = 0u;
    for (; j + 4u <= cnt; j += 4u) {
      uint a = list[j], b = list[j + 1u], c = list[j + 2u], d = list[j + 3u];
      float wa[COLS], wb[COLS], wc[COLS], wdd[COLS];
      for (uint x = 0u; x < COLS; ++x) {
        wa[x] = wload(k0 + a, colr[x]);
        wb[x] = wload(k0 + b, colr[x]);
        wc[x] = wload(k0 + c, colr[x]);
        wdd[x] = wload(k0 + d, colr[x]);
      }
      for (uint q = 0u; q < RV; ++q) {
        vec4 sa = sp[q][a], sb = sp[q][b], sc = sp[q][c], sd = sp[q][d];
        for (uint x = 0u; x < COLS; ++x) {
          acc[x][q] += sa * wa[x];
          acc[x][q] += sb * wb[x];
          acc[x][q] += sc * wc[x];
          acc[x][q] += sd * wdd[x];
        }
      }
    }
    for (; j < cnt; ++j) {
      uint a = list[j];
      for (uint x = 0u; x < COLS; ++x) {
        float wa = wload(k0 + a, colr[x]);
        for (uint q = 0u; q < RV; ++q) acc[x][q] += sp[q][a] * wa;
      }
    }
    barrier();
  }
  for (uint x = 0u; x < COLS; ++x) {
    uint col = gl_WorkGroupID.x * (CHUNK * COLS) + x * CHUNK + lid;
    if (col >= pc.N) break;
    for (uint q = 0u; q < RV; ++q)
      for (uint c = 0u; c < 4u; ++c) {
        uint row = row0 + 4u * q + c;
        if (row < pc.B) ST(pc.out_, row * pc.N + col, acc[x][q][c]);
      }
  }
}
