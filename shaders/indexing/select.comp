#version 450
//! variants: x8 x16 x32 x64
// Row selection for index_select and embedding: out[o, j, k] = x[o, index[j], k] over a contiguous
// x viewed as [outer, dim, inner]; an index outside [0, dim) is reported and its row is zero.
#include "common/types.glsl"
#include "indexing/common.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t index;
  uint64_t out_;
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
    RST(pc.out_, i, RAW(0));
    return;
  }
  RST(pc.out_, i, RLD(pc.x, (o * pc.dim + uint(idx)) * pc.inner + k));
}
