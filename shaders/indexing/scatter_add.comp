#version 450
//! variants: f32 f16 bf16 i32 i64
// torch.scatter_add into an accumulator that already holds x: one thread per index element adds
// src there atomically, so repeated indices are race-free. Floats accumulate in an f32 buffer
// with a compare-and-swap loop on the bits (float atomics are optional in Vulkan); i64 uses two
// 32-bit atomic adds with an explicit carry, which needs no 64-bit atomics.
#include "common/types.glsl"
#include "common/typed.glsl"
#include "indexing/common.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t src;  // contiguous, index-shaped, of the variant's dtype
  uint64_t index;
  uint64_t acc;  // f32 for the float variants, else x's dtype; contiguous with x's shape
  uint64_t err;
  uint n;
  uint ndim;
  uint axis;
  uint dim;
  uint idx64;
  uint tag;
  uint shape[8];    // the index's shape
  uint astride[8];  // the accumulator's strides
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  int64_t idx = load_index(pc.index, pc.idx64, i);
  if (idx < 0 || idx >= int64_t(pc.dim)) {
    report_index(pc.err, pc.tag, idx);  // the contribution is dropped
    return;
  }
  uint rem = i, off = 0u;
  for (int d = int(pc.ndim) - 1; d >= 0; --d) {
    uint c = rem % pc.shape[d];
    rem /= pc.shape[d];
    off += (uint(d) == pc.axis ? uint(idx) : c) * pc.astride[d];
  }
  CT v = LD(pc.src, i);
#if IS_FLOAT
  uint old = U32Buf(pc.acc).v[off];
  for (;;) {
    uint want = floatBitsToUint(uintBitsToFloat(old) + v);
    uint seen = atomicCompSwap(U32Buf(pc.acc).v[off], old, want);
    if (seen == old) break;
    old = seen;
  }
#elif defined(T_I32)
  atomicAdd(I32Buf(pc.acc).v[off], v);
#else
  // The low word's carry is known from its old value, so the 64-bit sum comes out exact (mod 2^64)
  // whatever the interleaving; nobody reads the words before the dispatch ends.
  uint lo = uint(uint64_t(v));
  uint hi = uint(uint64_t(v) >> 32);
  uint prev = atomicAdd(U32Buf(pc.acc).v[2u * off], lo);
  uint carry = (prev + lo < prev) ? 1u : 0u;
  atomicAdd(U32Buf(pc.acc).v[2u * off + 1u], hi + carry);
#endif
}
