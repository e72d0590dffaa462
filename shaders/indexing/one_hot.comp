#version 450
// one_hot: out[r, c] = (index[r] == c) in any output dtype; an index outside [0, classes) is
// reported and its whole row is zero.
#include "common/types.glsl"
#include "indexing/common.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t index;
  uint64_t out_;
  uint64_t err;
  uint n;
  uint classes;
  uint idx64;
  uint tag;
  uint dt;
  uint pad;
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  uint c = i % pc.classes;
  int64_t idx = load_index(pc.index, pc.idx64, i / pc.classes);
  bool bad = idx < 0 || idx >= int64_t(pc.classes);
  if (bad && c == 0u) report_index(pc.err, pc.tag, idx);
  store_int(pc.out_, pc.dt, i, (!bad && idx == int64_t(c)) ? int64_t(1) : int64_t(0));
}
