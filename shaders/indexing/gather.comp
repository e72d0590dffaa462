#version 450
//! variants: x8 x16 x32 x64
// torch.gather: out (index-shaped, contiguous) takes x at the index's coordinates with the
// coordinate along `axis` replaced by the index value. x is read through its strides (views need
// no copy); an index outside [0, dim) is reported and its output is zero.
#include "common/types.glsl"
#include "indexing/common.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t index;
  uint64_t out_;
  uint64_t err;
  uint n;
  uint ndim;
  uint axis;
  uint dim;
  uint idx64;
  uint tag;
  uint shape[8];    // the index's shape
  uint xstride[8];  // x's strides, in elements
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  int64_t idx = load_index(pc.index, pc.idx64, i);
  if (idx < 0 || idx >= int64_t(pc.dim)) {
    report_index(pc.err, pc.tag, idx);
    RST(pc.out_, i, RAW(0));
    return;
  }
  uint rem = i, off = 0u;
  for (int d = int(pc.ndim) - 1; d >= 0; --d) {
    uint c = rem % pc.shape[d];
    rem /= pc.shape[d];
    off += (uint(d) == pc.axis ? uint(idx) : c) * pc.xstride[d];
  }
  RST(pc.out_, i, RLD(pc.x, off));
}
