#version 450
//! variants: f32 f16 bf16
// Softmax / log-softmax along a non-last axis of a contiguous [outer, len, inner] tensor, without a
// transposed copy. Columns (o, i) are numbered o * inner + i; a workgroup owns 256 / segs
// consecutive ones, and each column is walked by `segs` threads with stride `inner` (neighbouring threads read
// neighbouring addresses), their running (max, sum) joined through shared memory, then each
// thread writes its share. Splitting a column keeps the GPU busy when there are few columns.
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t out_;
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
#define NEG_INF uintBitsToFloat(0xff800000u)

shared vec2 part_[256];

void main() {
  uint cpw = 256u / pc.segs, tid = gl_LocalInvocationID.x;
  uint lc = tid % cpw, seg = tid / cpw;
  uint col = flat_group() * cpw + lc;
  bool live = col < pc.cols;  // dead threads still take part in the barrier
  uint o = live ? col / pc.inner : 0u, i = live ? col - o * pc.inner : 0u;
  // Addresses advance in 64 bits, so element indices stay small for any tensor size.
  uint64_t off = (uint64_t(o) * pc.len * pc.inner + i) * ESIZE;
  uint64_t step = uint64_t(pc.inner) * ESIZE * pc.segs, start = uint64_t(seg) * pc.inner * ESIZE;
  uint64_t xc = pc.x + off + start, oc = pc.out_ + off + start;

  float m = NEG_INF, s = 0.0;
  if (live) {
    uint64_t a = xc;
    for (uint k = seg; k < pc.len; k += pc.segs, a += step) {
      float v = LD(a, 0);
      if (v > m) {
        s = s * exp(m - v) + 1.0;  // m = -inf first: exp(-inf) = 0
        m = v;
      } else if (m != NEG_INF) {
        s += exp(v - m);
      }
    }
  }
  part_[tid] = vec2(m, s);
  barrier();
  float gm = NEG_INF, gs = 0.0;
  for (uint j = 0u; j < pc.segs; ++j) gm = max(gm, part_[j * cpw + lc].x);
  for (uint j = 0u; j < pc.segs; ++j) {
    vec2 e = part_[j * cpw + lc];
    if (e.x != NEG_INF) gs += e.y * exp(e.x - gm);
  }
  if (!live) return;
  // log: (x - m) - log(s); x - (m + log(s)) would round m + log(s) at m's magnitude.
  float c = pc.log_ != 0u ? log(gs) : 1.0 / gs;
  uint64_t a = xc, b = oc;
  for (uint k = seg; k < pc.len; k += pc.segs, a += step, b += step) {
    float v = LD(a, 0) - gm;
    ST(b, 0, pc.log_ != 0u ? v - c : exp(v) * c);
  }
}
