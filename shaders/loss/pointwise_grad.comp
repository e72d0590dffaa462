#version 450
//! variants: f32 f16 bf16
// Backward of the elementwise losses: the input's and (when asked) the target's gradient, and
// margin ranking's y, scaled by the loss's gradient (one value for MEAN / SUM, or per element).
#include "common/types.glsl"
#include "common/typed.glsl"
#include "common/mathx.glsl"
#include "loss/pointwise.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t a;
  uint64_t b;
  uint64_t w;
  uint64_t g;
  uint64_t da;  // 0 when not needed, as db and dw
  uint64_t db;
  uint64_t dw;  // written in w's dtype (wdt)
  uint n;
  uint op;
  uint wmode;
  uint wdt;
  uint wlen;
  uint gscalar;  // 1: g holds one value (MEAN / SUM)
  float p0;
  float scale;   // 1 / divisor for MEAN, else 1
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  float gv = (pc.gscalar != 0u ? LD(pc.g, 0u) : LD(pc.g, i)) * pc.scale;
  float wv = pc.wmode == 0u ? 1.0 : load_as_float(pc.w, pc.wdt, pc.wmode == 1u ? i : i % pc.wlen);
  vec3 d = pointwise_grad(pc.op, LD(pc.a, i), LD(pc.b, i), wv, pc.wmode != 0u, pc.p0) * gv;
  if (pc.da != uint64_t(0)) ST(pc.da, i, d.x);
  if (pc.db != uint64_t(0)) ST(pc.db, i, d.y);
  if (pc.dw != uint64_t(0)) store_float(pc.dw, pc.wdt, i, d.z);
}
