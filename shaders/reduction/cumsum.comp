#version 450
//! variants: f32 f16 bf16 i32 i64
// Inclusive (or exclusive) prefix sums along the middle axis of an [outer, rlen, inner] view, in f32
// for float dtypes and i64 for integers. Long axes are cut into `nseg` segments: a totals pass, an
// exclusive scan of the totals (this kernel again), then a scan that starts from each segment's carry.
// FLAG_REVERSE scans every line from its end (the backward of cumsum): positions along rlen are
// mirrored when the input and output are addressed, so segments and carries keep their order.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_shuffle_relative : require
#include "common/types.glsl"
#include "common/typed.glsl"

layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t src;
  uint64_t dst;
  uint64_t carry;  // [outer, nseg, inner] segment offsets, or 0
  uint outer;
  uint rlen;
  uint inner;
  uint seg;        // segment length along rlen
  uint nseg;
  uint mode;
  uint phase;
  uint flags;
  uint ngroups;
  uint units_per_group;  // MODE_ROWS: (row, segment) units per workgroup, one subgroup each
} pc;

#define MODE_ROWS 0u  // inner == 1: a subgroup scans a row segment, 4 * S elements per subgroup scan
#define MODE_COLS 1u  // inner > 1: a thread walks one column segment; neighbours read neighbours
#define PHASE_TOTALS 0u
#define PHASE_SCAN 1u
#define FLAG_SRC_ACC 1u   // src holds accumulator values (the totals), not the input dtype
#define FLAG_DST_ACC 2u
#define FLAG_EXCLUSIVE 4u
#define FLAG_REVERSE 8u

#if IS_FLOAT
#define ACC float
ACC acc_at(uint64_t p, uint i) { return F32Buf(p).v[i]; }
void acc_put(uint64_t p, uint i, ACC v) { F32Buf(p).v[i] = v; }
#else
#define ACC int64_t
ACC acc_at(uint64_t p, uint i) { return I64Buf(p).v[i]; }
void acc_put(uint64_t p, uint i, ACC v) { I64Buf(p).v[i] = v; }
#endif

ACC load_x(uint i) {
  if ((pc.flags & FLAG_SRC_ACC) != 0u) return acc_at(pc.src, i);
  return ACC(LD(pc.src, i));
}
void store_y(uint i, ACC v) {
  if ((pc.flags & FLAG_DST_ACC) != 0u) {
    acc_put(pc.dst, i, v);
  } else {
#if IS_FLOAT
    ST(pc.dst, i, v);
#else
    I64Buf(pc.dst).v[i] = v;  // integer cumsums return i64
#endif
  }
}

// Subgroup scans. 64-bit values are not guaranteed in subgroup arithmetic without
// shaderSubgroupExtendedTypes, so integers scan through shuffles of two words.
#if IS_FLOAT
ACC sg_inclusive(ACC v) { return subgroupInclusiveAdd(v); }
ACC sg_sum(ACC v) { return subgroupAdd(v); }
ACC sg_up(ACC v, uint d) { return subgroupShuffleUp(v, d); }
ACC sg_read(ACC v, uint lane) { return subgroupShuffle(v, lane); }
#else
ACC sg_up(ACC v, uint d) { return int64_t(packUint2x32(subgroupShuffleUp(unpackUint2x32(uint64_t(v)), d))); }
ACC sg_read(ACC v, uint lane) { return int64_t(packUint2x32(subgroupShuffle(unpackUint2x32(uint64_t(v)), lane))); }
ACC sg_inclusive(ACC v) {
  for (uint d = 1u; d < gl_SubgroupSize; d <<= 1u) {
    ACC t = sg_up(v, d);
    if (gl_SubgroupInvocationID >= d) v += t;
  }
  return v;
}
ACC sg_sum(ACC v) {
  for (uint m = 1u; m < gl_SubgroupSize; m <<= 1u)
    v += int64_t(packUint2x32(subgroupShuffleXor(unpackUint2x32(uint64_t(v)), m)));
  return v;
}
#endif

bool exclusive() { return (pc.flags & FLAG_EXCLUSIVE) != 0u; }
// Position along the scanned axis of the r-th element in scan order.
uint pos(uint r) { return (pc.flags & FLAG_REVERSE) != 0u ? pc.rlen - 1u - r : r; }

// One subgroup-wide step over 4 * S positions starting at r: lane l holds the four consecutive
// values v of positions r + 4l .. r + 4l + 3 (zero past r1), so a single subgroup scan serves 4 * S
// elements. Stores what lies inside the segment and returns the new carry.
ACC scan_step(ACC carry, ACC v[4], uint base, uint r, uint r1) {
  ACC p1 = v[0] + v[1], p2 = p1 + v[2], p3 = p2 + v[3];
  ACC incl = sg_inclusive(p3);
  ACC before = sg_up(incl, 1u);
  if (gl_SubgroupInvocationID == 0u) before = ACC(0);
  ACC c = carry + before;  // everything ahead of this lane's four values
  bool ex = exclusive();
  ACC y[4] = ACC[4](c + (ex ? ACC(0) : v[0]), c + (ex ? v[0] : p1), c + (ex ? p1 : p2), c + (ex ? p2 : p3));
  uint i = r + 4u * gl_SubgroupInvocationID;
  for (uint k = 0u; k < 4u; ++k)
    if (i + k < r1) store_y(base + pos(i + k), y[k]);
  return carry + sg_read(incl, gl_SubgroupSize - 1u);
}

void rows(uint g) {
  uint units = pc.outer * pc.nseg;
  uint first = g * pc.units_per_group;
  uint last = min(first + pc.units_per_group, units);
  uint S = gl_SubgroupSize, lane = gl_SubgroupInvocationID;
  for (uint u = first + gl_SubgroupID; u < last; u += gl_NumSubgroups) {
    uint row = u / pc.nseg, sg = u % pc.nseg;
    uint base = row * pc.rlen;
    uint r0 = sg * pc.seg, r1 = min(r0 + pc.seg, pc.rlen);
    if (pc.phase == PHASE_TOTALS) {
      ACC t = ACC(0);
      for (uint r = r0 + lane; r < r1; r += S) t += load_x(base + pos(r));
      t = sg_sum(t);
      if (subgroupElect()) acc_put(pc.dst, u, t);
      continue;
    }
    ACC carry = pc.carry != 0ul ? acc_at(pc.carry, u) : ACC(0);
    // Two steps' loads are issued before either is scanned, to keep loads in flight.
    for (uint r = r0; r < r1; r += 8u * S) {
      uint i = r + 4u * lane, n = r1 - min(i, r1), m = r1 - min(i + 4u * S, r1);
      ACC a[4], b[4];
      for (uint k = 0u; k < 4u; ++k) {
        a[k] = k < n ? load_x(base + pos(i + k)) : ACC(0);
        b[k] = k < m ? load_x(base + pos(i + 4u * S + k)) : ACC(0);
      }
      carry = scan_step(carry, a, base, r, r1);
      if (r + 4u * S < r1) carry = scan_step(carry, b, base, r + 4u * S, r1);
    }
  }
}

// Stores element i of a column walk and returns the running sum including it.
ACC col_step(uint i, ACC acc, ACC v) {
  ACC next = acc + v;
  store_y(i, exclusive() ? acc : next);
  return next;
}

void cols(uint g) {
  uint t = g * 256u + gl_LocalInvocationID.x;
  if (t >= pc.outer * pc.nseg * pc.inner) return;
  uint j = t % pc.inner, u = t / pc.inner;
  uint o = u / pc.nseg, sg = u % pc.nseg;
  uint r0 = sg * pc.seg, r1 = min(r0 + pc.seg, pc.rlen);
  uint base = o * pc.rlen * pc.inner + j;
  if (pc.phase == PHASE_TOTALS) {
    ACC s = ACC(0);
    for (uint r = r0; r < r1; ++r) s += load_x(base + pos(r) * pc.inner);
    acc_put(pc.dst, t, s);
    return;
  }
  ACC acc = pc.carry != 0ul ? acc_at(pc.carry, t) : ACC(0);
  uint r = r0;
  for (; r < r1 && r1 - r > 3u; r += 4u) {
    uint i0 = base + pos(r) * pc.inner, i1 = base + pos(r + 1u) * pc.inner;
    uint i2 = base + pos(r + 2u) * pc.inner, i3 = base + pos(r + 3u) * pc.inner;
    ACC a0 = load_x(i0);
    ACC a1 = load_x(i1);
    ACC a2 = load_x(i2);
    ACC a3 = load_x(i3);
    acc = col_step(i0, acc, a0);
    acc = col_step(i1, acc, a1);
    acc = col_step(i2, acc, a2);
    acc = col_step(i3, acc, a3);
  }
  for (; r < r1; ++r) {
    uint i = base + pos(r) * pc.inner;
    acc = col_step(i, acc, load_x(i));
  }
}

void main() {
  uint g = flat_group();
  if (g >= pc.ngroups) return;
  if (pc.mode == MODE_ROWS)
    rows(g);
  else
    cols(g);
}
