#version 450
//! variants: f32 f16 bf16
// Second step of a reduced loss computed by several workgroups: one workgroup adds their partial
// {sum, count} pairs and writes the sum or the mean in the loss's dtype (see store_total).
#include "common/types.glsl"
#include "common/typed.glsl"
#define WG 256
#include "loss/common.glsl"
layout(local_size_x = WG) in;
layout(push_constant) uniform Push {
  uint64_t part;
  uint64_t out_;
  uint64_t aux;
  uint n;          // partials
  uint aux_index;
  uint mean;
  float div;       // mean divisor; < 0: the summed count
} pc;

void main() {
  vec2 acc = vec2(0.0);
  for (uint i = gl_LocalInvocationID.x; i < pc.n; i += WG)
    acc += vec2(F32Buf(pc.part).v[2u * i], F32Buf(pc.part).v[2u * i + 1u]);
  store_total(wg_total(acc), uint64_t(0), 0u, pc.out_, pc.aux, pc.aux_index, pc.mean != 0u, pc.div);
}
