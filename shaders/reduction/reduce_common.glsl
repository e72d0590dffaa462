// Reduction kernels: the push constants shared by every reduction family, subgroup shuffles of
// 64-bit values, and partial-state accessors. Included first by each reduction .comp file.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
#include "common/types.glsl"
#include "common/typed.glsl"

// The input is a contiguous [outer, rlen, inner] view; the output is [outer, inner]. When a
// reduction is split into `nchunks` chunks of `chunk` elements along rlen, the first dispatch
// writes partial states [outer, nchunks, inner] and a second one reduces those (src2/dst2 hold the
// second state array of families with two, e.g. argmax indices; families that save a per-output
// value for the backward write it to dst2). Layout matches ReducePush in src/ops/reduction.cpp.
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t src;
  uint64_t dst;
  uint64_t src2;
  uint64_t dst2;
  uint outer;
  uint rlen;
  uint inner;
  uint chunk;
  uint nchunks;
  uint tiles;           // ceil(inner / TI), TI = 1 << ti_log2 columns per workgroup
  uint ti_log2;
  uint mode;
  uint rows_per_group;  // MODE_ROWS: rows handed to one workgroup (its subgroups share them)
  uint ngroups;
  uint flags;
  uint op;
  uint out_dt;
  float p0;
  float p1;
  uint line_len;        // rlen of the input itself (a second pass sees rlen = nchunks)
} pc;

#define MODE_TILE 0u
#define MODE_ROWS 1u
#define FLAG_SRC_STATE 1u
#define FLAG_DST_STATE 2u
#define FLAG_OUT_F32 4u  // the final value goes out as f32 whatever the input dtype (backward helpers)

// Floating dtypes accumulate in f32, integers in i64.
#if IS_FLOAT
#define ACC float
#else
#define ACC int64_t
#endif

// Subgroup operations are only guaranteed on 32-bit types without shaderSubgroupExtendedTypes,
// so 64-bit values travel as two words.
float shuffle_xor(float v, uint m) { return subgroupShuffleXor(v, m); }
uint shuffle_xor(uint v, uint m) { return subgroupShuffleXor(v, m); }
int64_t shuffle_xor(int64_t v, uint m) {
  return int64_t(packUint2x32(subgroupShuffleXor(unpackUint2x32(uint64_t(v)), m)));
}

#if IS_FLOAT
ACC acc_at(uint64_t p, uint i) { return F32Buf(p).v[i]; }
void acc_put(uint64_t p, uint i, ACC v) { F32Buf(p).v[i] = v; }
#else
ACC acc_at(uint64_t p, uint i) { return I64Buf(p).v[i]; }
void acc_put(uint64_t p, uint i, ACC v) { I64Buf(p).v[i] = v; }
#endif

// The input index of the first element of output i's line (valid in either pass).
uint line_start(uint i) { return (i / pc.inner) * (pc.line_len * pc.inner) + i % pc.inner; }
// The output index of the line whose elements accumulate() folds from `base` (first pass only).
uint line_output(uint base) {
  uint line = pc.rlen * pc.inner;
  return (base / line) * pc.inner + base % line;
}

float f_inf() { return uintBitsToFloat(0x7f800000u); }
float f_nan() { return uintBitsToFloat(0x7fc00000u); }
