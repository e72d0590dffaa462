#version 450
//! variants: f32 f16 bf16
// One exponential-synapse step in place: I <- I * decay + weight * s over contiguous I and s of
// one shape (decay = exp(-dt / tau_syn), computed on the host in double).
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t cur;
  uint64_t spk;
  uint n;
  uint vec4_ok;  // 1: f32, n % 4 == 0 and both addresses 16-byte aligned
  float decay;
  float weight;
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
#if defined(T_F32)
  if (pc.vec4_ok != 0u) {
    if (i * 4u >= pc.n) return;
    ST4(pc.cur, i, LD4(pc.cur, i) * pc.decay + pc.weight * LD4(pc.spk, i));
    return;
  }
#endif
  if (i >= pc.n) return;
  ST(pc.cur, i, LD(pc.cur, i) * pc.decay + pc.weight * LD(pc.spk, i));
}
