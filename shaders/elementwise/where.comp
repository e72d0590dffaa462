#version 450
//! variants: f32 f16 bf16 i32 i64 u8
// out = cond ? a : b with all three broadcast to the output.
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t cond;
  uint64_t a;
  uint64_t b;
  uint64_t out_;
  uint n;
  uint ndim;
  uint shape[4];
  uint sc[4];
  uint sa[4];
  uint sb[4];
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  uint ic = i, ia = i, ib = i;
  if (pc.ndim > 0u) {
    uint rem = i;
    ic = 0u; ia = 0u; ib = 0u;
    for (int d = int(pc.ndim) - 1; d >= 0; --d) {
      uint c = rem % pc.shape[d];
      rem /= pc.shape[d];
      ic += c * pc.sc[d];
      ia += c * pc.sa[d];
      ib += c * pc.sb[d];
    }
  }
  bool take_a = uint(U8Buf(pc.cond).v[ic]) != 0u;
  ST(pc.out_, i, take_a ? LD(pc.a, ia) : LD(pc.b, ib));
}
