#version 450
// Search labels: the merge's positions become ids, one dispatch per base tile rewriting the
// positions that fall in it (reads positions, writes labels, so no label is mapped twice).
#include "common/types.glsl"

layout(local_size_x = 256) in;

layout(push_constant) uniform Push {
  uint64_t pos;     // i64 [n] positions
  uint64_t labels;  // i64 [n] ids
  uint64_t ids;     // i64 [rows] of this tile
  uint n;
  uint rows;
  uint64_t p0;      // position of the tile's first row
} pc;

void main() {
  const uint i = flat_group() * 256u + gl_LocalInvocationIndex;
  if (i >= pc.n) return;
  const int64_t p = I64Buf(pc.pos).v[i] - int64_t(pc.p0);
  if (p >= 0l && p < int64_t(pc.rows)) I64Buf(pc.labels).v[i] = I64Buf(pc.ids).v[uint(p)];
}
