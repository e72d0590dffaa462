#version 450
//! variants: f32 f16 bf16
// Trace STDP, second pass of a step: decays every trace and adds this step's spikes (all-to-all:
// +1, nearest: set to 1). Threads [0, n_pre) own presynaptic traces, the rest postsynaptic ones.
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t pre;
  uint64_t post;
  uint64_t x1;
  uint64_t x2;
  uint64_t y1;
  uint64_t y2;
  uint n_pre;   // B * n_pre
  uint n_post;  // B * n_post
  uint flags;   // bit 0: nearest; bit 1: triplet; bits 2, 3: pre, post spikes u8
  uint pad_;
  float decay[4];  // x1, y1, x2, y2
} pc;

void main() {
  uint t = flat_group() * 256u + gl_LocalInvocationID.x;
  if (t >= pc.n_pre + pc.n_post) return;
  const bool is_pre = t < pc.n_pre;
  const uint q = is_pre ? t : t - pc.n_pre;
  const uint64_t sp = is_pre ? pc.pre : pc.post;
  const bool u8 = (pc.flags & (is_pre ? 4u : 8u)) != 0u;
  const float s = (u8 ? uint(U8Buf(sp).v[q]) != 0u : LD(sp, q) != 0.0) ? 1.0 : 0.0;
  const bool nearest = (pc.flags & 1u) != 0u;
  const uint64_t fast = is_pre ? pc.x1 : pc.y1;
  float v = F32Buf(fast).v[q] * pc.decay[is_pre ? 0 : 1];
  F32Buf(fast).v[q] = nearest ? (s != 0.0 ? 1.0 : v) : v + s;
  if ((pc.flags & 2u) != 0u) {
    const uint64_t slow = is_pre ? pc.x2 : pc.y2;
    float u = F32Buf(slow).v[q] * pc.decay[is_pre ? 2 : 3];
    F32Buf(slow).v[q] = nearest ? (s != 0.0 ? 1.0 : u) : u + s;
  }
}
