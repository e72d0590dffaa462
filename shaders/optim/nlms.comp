#version 450
//! variants: f32 f16 bf16
// NLMS: p -= mu g / (||g||^2 + eps). st0 holds `parts` partial sums of squares of g
// (norm_partials.comp); every workgroup adds them up in the same order, so all see one norm.
// h: eps. Header: mu of this step.
#include "common/types.glsl"
#include "common/typed.glsl"
#include "optim/optim.glsl"
layout(local_size_x = 256) in;

shared float red[256];

void main() {
  uint lid = gl_LocalInvocationID.x;
  red[lid] = lid < pc.parts ? F32Buf(pc.st0).v[lid] : 0.0;
  barrier();
  for (uint s = 128u; s > 0u; s >>= 1) {
    if (lid < s) red[lid] += red[lid + s];
    barrier();
  }
  uint i = flat_group() * 256u + lid;
  if (i >= pc.n) return;
  float scale = sc_f(SC_MU_USED) / (red[0] + pc.h[0]);
  ST(pc.p, i, LD(pc.p, i) - scale * LD(pc.g, i));
}
