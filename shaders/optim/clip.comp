#version 450
//! variants: f32 f16 bf16
// In-place gradient clipping of up to 8 tensors of one dtype per launch (tensor gl_WorkGroupID.y,
// grid-stride over gl_NumWorkGroups.x): op 0 multiplies by the coefficient clip_total.comp left
// at coef[1]; op 1 clamps to [lo, hi] (NaN stays NaN, as torch.clamp).
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x[8];
  uint64_t coef;
  uint n[8];
  uint op;
  float lo;
  float hi;
} pc;

void main() {
  uint k = gl_WorkGroupID.y;
  uint n = pc.n[k];
  uint64_t x = pc.x[k];
  float c = pc.op == 0u ? F32Buf(pc.coef).v[1] : 0.0;
  for (uint i = gl_WorkGroupID.x * 256u + gl_LocalInvocationID.x; i < n; i += gl_NumWorkGroups.x * 256u) {
    float v = LD(x, i);
    if (pc.op == 0u)
      v *= c;
    else
      v = v < pc.lo ? pc.lo : (v > pc.hi ? pc.hi : v);
    ST(x, i, v);
  }
}
