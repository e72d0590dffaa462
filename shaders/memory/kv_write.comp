#version 450
//! variants: f32 f16 bf16
// In-place slot write of a memory [M, D]: memory[idx[j]] <- (1 - alpha) memory[idx[j]] + alpha
// rows[j], one thread per element of rows; alpha = 1 stores rows[j] exactly (no blend rounding).
#include "common/types.glsl"
#include "common/typed.glsl"
#include "indexing/common.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t mem;
  uint64_t index;
  uint64_t rows;
  uint64_t err;
  uint n;      // K * D
  uint D;
  uint M;
  uint idx64;
  uint tag;
  float alpha;
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  uint j = i / pc.D, c = i % pc.D;
  int64_t idx = load_index(pc.index, pc.idx64, j);
  if (idx < 0 || idx >= int64_t(pc.M)) {
    if (c == 0u) report_index(pc.err, pc.tag, idx);
    return;
  }
  uint o = uint(idx) * pc.D + c;
  float v = float(LD(pc.rows, i));
  if (pc.alpha != 1.0) v = (1.0 - pc.alpha) * float(LD(pc.mem, o)) + pc.alpha * v;
  ST(pc.mem, o, v);
}
