#version 450
//! variants: f32 f16 bf16
// Softmax / log-softmax backward along a non-last axis of a contiguous [outer, len, inner] tensor,
// without a transposed copy, with softmax_cols.comp's layout: `segs` threads per column (o, i)
// walk it with stride `inner`, their partial sums (of g * y, or of g) joined through shared
// memory, then each thread writes its share. Formulas: softmax_grad_rows.glsl.
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t y;
  uint64_t g;
  uint64_t dx;
  uint cols;  // outer * inner
  uint len;
  uint inner;
  uint log_;
  uint segs;  // threads per column: a power of two <= 256
  uint pad;
} pc;

#if defined(T_F32)
#define ESIZE 4u
#else
#define ESIZE 2u
#endif

shared float part_[256];

void main() {
  uint cpw = 256u / pc.segs, tid = gl_LocalInvocationID.x;
  uint lc = tid % cpw, seg = tid / cpw;
  uint col = flat_group() * cpw + lc;
  bool live = col < pc.cols;  // dead threads still take part in the barrier
  bool lg = pc.log_ != 0u;
  uint o = live ? col / pc.inner : 0u, i = live ? col - o * pc.inner : 0u;
  uint64_t off = (uint64_t(o) * pc.len * pc.inner + i) * ESIZE + uint64_t(seg) * pc.inner * ESIZE;
  uint64_t step = uint64_t(pc.inner) * ESIZE * pc.segs;

  float s = 0.0;
  if (live) {
    uint64_t a = off;
    for (uint k = seg; k < pc.len; k += pc.segs, a += step) {
      float gv = LD(pc.g + a, 0);
      s += lg ? gv : gv * LD(pc.y + a, 0);
    }
  }
  part_[tid] = s;
  barrier();
  float t = 0.0;
  for (uint j = 0u; j < pc.segs; ++j) t += part_[j * cpw + lc];
  if (!live) return;
  uint64_t a = off;
  for (uint k = seg; k < pc.len; k += pc.segs, a += step) {
    float yv = LD(pc.y + a, 0), gv = LD(pc.g + a, 0);
    ST(pc.dx + a, 0, lg ? gv - exp(yv) * t : yv * (gv - t));
  }
}
