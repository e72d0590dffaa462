#version 450
//! variants: f32 f16 bf16
// Elementwise losses of a (input) and b (target) of one shape, with an optional third operand w
// (BCE weight, BCE-with-logits pos_weight, margin-ranking y) read in its own dtype, whole or
// repeating over the trailing dims. NONE writes every loss; otherwise each workgroup sums its
// grid-stride share (see store_total).
#include "common/types.glsl"
#include "common/typed.glsl"
#include "common/mathx.glsl"
#define WG 256
#include "loss/common.glsl"
#include "loss/pointwise.glsl"
layout(local_size_x = WG) in;
layout(push_constant) uniform Push {
  uint64_t a;
  uint64_t b;
  uint64_t w;
  uint64_t out_;
  uint64_t part;
  uint n;
  uint op;
  uint wmode;  // 0: no w, 1: w has a's shape, 2: w repeats every wlen elements
  uint wdt;
  uint wlen;
  uint reduce; // 0: NONE, 1: MEAN, 2: SUM
  float p0;    // beta, delta or margin
  float div;   // MEAN divisor
} pc;

void main() {
  const uint stride = gl_NumWorkGroups.x * WG;
  float acc = 0.0;
  for (uint i = gl_WorkGroupID.x * WG + gl_LocalInvocationID.x; i < pc.n; i += stride) {
    float wv = pc.wmode == 0u ? 1.0 : load_as_float(pc.w, pc.wdt, pc.wmode == 1u ? i : i % pc.wlen);
    float l = pointwise_loss(pc.op, LD(pc.a, i), LD(pc.b, i), wv, pc.wmode != 0u, pc.p0);
    if (pc.reduce == 0u) ST(pc.out_, i, l);
    else acc += l;
  }
  if (pc.reduce == 0u) return;
  store_total(wg_total(vec2(acc, 0.0)), pc.part, gl_WorkGroupID.x, pc.out_, uint64_t(0), 0u, pc.reduce == 1u, pc.div);
}
