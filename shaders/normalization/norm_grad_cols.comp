#version 450
//! variants: f32 f16 bf16
// Weight and bias gradients of layer norm / RMS norm: column sums over rows of g * xhat (dweight)
// and g (dbias), xhat = (x - mean) * rstd from the forward's saved statistics. Workgroup
// (column block, chunk) sums one chunk of rows for 256 consecutive columns, so neighbouring
// threads read neighbouring addresses; the f32 partial sums [chunks, n] are added up by the caller
// when there is more than one chunk.
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t g;
  uint64_t stats;  // f32 [rows, 2]: mean (0 for RMS norm) and rstd
  uint64_t dw;     // f32 [chunks, n] or 0
  uint64_t db;     // f32 [chunks, n] or 0
  uint rows;
  uint n;
  uint chunk;   // rows per chunk
  uint blocks;  // column blocks of 256
} pc;

#if defined(T_F32)
#define ESIZE 4u
#else
#define ESIZE 2u
#endif

void main() {
  uint fg = flat_group();
  uint blk = fg % pc.blocks, part = fg / pc.blocks;
  uint c = blk * 256u + gl_LocalInvocationID.x;
  if (c >= pc.n) return;  // no barriers here
  uint r0 = part * pc.chunk, r1 = min(r0 + pc.chunk, pc.rows);
  uint64_t a = (uint64_t(r0) * pc.n + c) * ESIZE, step = uint64_t(pc.n) * ESIZE;
  float sw = 0.0, sb = 0.0;
  for (uint r = r0; r < r1; ++r, a += step) {
    float gv = LD(pc.g + a, 0);
    sw += gv * (LD(pc.x + a, 0) - F32Buf(pc.stats).v[2u * r]) * F32Buf(pc.stats).v[2u * r + 1u];
    sb += gv;
  }
  uint64_t o = (uint64_t(part) * pc.n + c) * 4u;
  if (pc.dw != 0ul) F32Buf(pc.dw + o).v[0] = sw;
  if (pc.db != 0ul) F32Buf(pc.db + o).v[0] = sb;
}
