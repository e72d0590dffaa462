#version 450
//! variants: f32 f16 bf16
// Top-k along rows: one workgroup per row finds the k best by radix selection over 64-bit keys
// (an order-preserving image of the value above the complement of the position), collects them
// and sorts them in shared memory. Also merges the search candidates (positions from a payload
// array, distances finished per metric).
//
// Key: hi = ord(v) (largest) or ~ord(v) (smallest), lo = ~position, so every key is distinct and
// "k largest keys" is exactly "k best values, lower position first on ties". Each pass histograms
// the next 8 bits among the keys that match the prefix found so far and picks the bucket that
// holds the k-th key; it stops as soon as that bucket's keys are exactly the ones still needed
// (usually after 3 or 4 passes; ties on the value go on into the position bits). Few long rows
// are split into segments (one workgroup each) whose k best are merged by a second launch.
#extension GL_EXT_control_flow_attributes : require
#include "common/types.glsl"
#include "common/typed.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Push {
  uint64_t x;     // values [rows, ldx]
  uint64_t pos;   // 0, or u32 positions laid out as x (they replace the index)
  uint64_t vals;  // [rows, ldo] in x's dtype (f32 when post != 0)
  uint64_t idx;   // [rows, ldo] i64, or u32 (flag 4)
  uint64_t aux;   // per row: |q|^2 (post 1, 2), 1 / max(|q|, eps) (post 4)
  uint n;
  uint k;
  uint rows;
  uint flags;     // 1: largest; 2: positions from pos; 4: u32 indices
  uint ldx;
  uint ldo;
  uint pos_base;  // added to every index written
  uint post;      // 0: values as they are; 1: L2SQR max(v + aux, 0); 2: L2; 3: IP -v; 4: cosine -v aux
  uint seg_len;   // 0, or: row r * nseg + s is segment s of row r of x (seg_len elements, the last
  uint nseg;      // one up to n), positions counted from the row's start
  uint aux_ld;    // flag 8: values are re-read from aux (the original rows, this row stride)
  uint pad;
} pc;

#define KMAX 2048u

shared uint hist[256];
shared uint64_t sel[KMAX];
shared uint nsel;
shared uint64_t sprefix;
shared uint64_t smask;
shared uint sneed;
shared uint sdone;

uint ord(float v) {
  if (isnan(v)) return 0xffffffffu;
  const uint u = v == 0.0 ? 0u : floatBitsToUint(v);
  return (u & 0x80000000u) != 0u ? ~u : (u | 0x80000000u);
}

float unord(uint o) {
  if (o == 0xffffffffu) return uintBitsToFloat(0x7fc00000u);
  return uintBitsToFloat((o & 0x80000000u) != 0u ? (o & 0x7fffffffu) : ~o);
}

uint64_t key_at(uint base, uint i, uint p0, bool largest, bool payload) {
  const uint o = ord(float(LD(pc.x, base + i)));
  const uint p = payload ? U32Buf(pc.pos).v[base + i] : p0 + i;
  return (uint64_t(largest ? o : ~o) << 32) | uint64_t(~p);
}

void main() {
  const uint row = flat_group();
  if (row >= pc.rows) return;
  const uint t = gl_LocalInvocationIndex;
  const bool largest = (pc.flags & 1u) != 0u;
  const bool payload = (pc.flags & 2u) != 0u;
  uint xb = row * pc.ldx, n = pc.n, p0 = 0u;
  if (pc.seg_len != 0u) {
    const uint r = row / pc.nseg, s = row % pc.nseg;
    p0 = s * pc.seg_len;
    xb = r * pc.ldx + p0;
    n = s + 1u == pc.nseg ? pc.n - p0 : pc.seg_len;
  }
  if (t == 0u) {
    sprefix = 0ul;
    smask = 0ul;
    sneed = pc.k;
    sdone = pc.k == n ? 1u : 0u;
    nsel = 0u;
  }
  barrier();
  for (int shift = 56; shift >= 0; shift -= 8) {
    if (sdone != 0u) break;
    hist[t] = 0u;
    const uint64_t P = sprefix, M = smask;
    barrier();
    for (uint i = t; i < n; i += 256u) {
      const uint64_t key = key_at(xb, i, p0, largest, payload);
      if ((key & M) == P) atomicAdd(hist[uint(key >> shift) & 255u], 1u);
    }
    barrier();
    if (t == 0u) {
      const uint need = sneed;
      uint cum = 0u;
      for (int d = 255; d >= 0; --d) {
        const uint h = hist[d];
        if (cum + h >= need) {
          sprefix = P | (uint64_t(d) << shift);
          smask = M | (uint64_t(255u) << shift);
          sneed = need - cum;
          if (h == need - cum) sdone = 1u;
          break;
        }
        cum += h;
      }
    }
    barrier();
  }
  // Every key whose masked prefix is at least the k-th key's: exactly k of them.
  const uint64_t P = sprefix, M = smask;
  for (uint i = t; i < n; i += 256u) {
    const uint64_t key = key_at(xb, i, p0, largest, payload);
    if ((key & M) >= P) sel[atomicAdd(nsel, 1u)] = key;
  }
  uint kp = 1u;
  while (kp < pc.k) kp <<= 1;
  barrier();
  for (uint i = pc.k + t; i < kp; i += 256u) sel[i] = 0ul;
  barrier();
  // Bitonic sort, descending.
  for (uint size = 2u; size <= kp; size <<= 1) {
    for (uint stride = size >> 1; stride > 0u; stride >>= 1) {
      for (uint i = t; i < kp / 2u; i += 256u) {
        const uint lo = 2u * i - (i & (stride - 1u));
        const uint hi = lo + stride;
        const uint64_t a = sel[lo], b = sel[hi];
        const bool desc = (lo & size) == 0u;
        if ((a < b) == desc) {
          sel[lo] = b;
          sel[hi] = a;
        }
      }
      barrier();
    }
  }
  const uint ob = row * pc.ldo;
  for (uint j = t; j < pc.k; j += 256u) {
    const uint64_t key = sel[j];
    const uint hi = uint(key >> 32);
    const uint p = ~uint(key);
    float v;
    if ((pc.flags & 8u) != 0u) {
      v = float(LD(pc.aux, row * pc.aux_ld + p));  // the element itself, -0 included
    } else if (payload) {
      v = unord(largest ? hi : ~hi);
    } else {
      v = float(LD(pc.x, xb + p - p0));
    }
    if (pc.post != 0u) {
      const float a = pc.post == 3u ? 0.0 : F32Buf(pc.aux).v[row];
      if (pc.post == 1u || pc.post == 2u) {
        v = max(v + a, 0.0);
        if (pc.post == 2u) v = sqrt(v);
      } else if (pc.post == 3u) {
        v = -v;
      } else {
        v = -v * a;
      }
    }
    ST(pc.vals, ob + j, v);
    if ((pc.flags & 4u) != 0u) {
      U32Buf(pc.idx).v[ob + j] = p + pc.pos_base;
    } else {
      I64Buf(pc.idx).v[ob + j] = int64_t(uint64_t(p) + uint64_t(pc.pos_base));
    }
  }
}
