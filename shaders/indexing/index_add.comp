#version 450
//! variants: f32 f16 bf16
// Backward of select (index_select, embedding): acc[o, index[j], k] += g[o, j, k] over an f32
// accumulator [outer, dim, inner]. One thread per element of g; repeated indices meet on one
// accumulator element, so the add is a compare-and-swap loop on the bits (float atomics are
// optional in Vulkan). An index outside [0, dim) is reported and its contribution dropped.
#include "common/types.glsl"
#include "common/typed.glsl"
#include "indexing/common.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t g;    // contiguous [outer, nidx, inner], of the variant's dtype
  uint64_t index;
  uint64_t acc;  // f32, contiguous [outer, dim, inner], zeroed
  uint64_t err;
  uint n;
  uint inner;
  uint nidx;
  uint dim;
  uint idx64;
  uint tag;
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  uint k = i % pc.inner;
  uint t = i / pc.inner;
  uint j = t % pc.nidx;
  uint o = t / pc.nidx;
  int64_t idx = load_index(pc.index, pc.idx64, j);
  if (idx < 0 || idx >= int64_t(pc.dim)) {
    report_index(pc.err, pc.tag, idx);
    return;
  }
  uint off = (o * pc.dim + uint(idx)) * pc.inner + k;
  float v = LD(pc.g, i);
  uint old = U32Buf(pc.acc).v[off];
  for (;;) {
    uint want = floatBitsToUint(uintBitsToFloat(old) + v);
    uint seen = atomicCompSwap(U32Buf(pc.acc).v[off], old, want);
    if (seen == old) break;
    old = seen;
  }
}
