#version 450
//! variants: f32 f16 bf16
// One leaky integrate-and-fire step in place on the membrane (and refractory counters), writing the
// spikes. f32 with aligned flat operands takes four neurons per thread with 16-byte accesses.
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t v;
  uint64_t r;    // 0: no refractory counters
  uint64_t in_;
  uint64_t spk;
  float k;       // dt / tau_mem
  float v_rest;
  float v_reset;
  float v_th;
  float r_m;
  float dt;
  float t_ref;
  uint n;
  uint flags;    // bit 0: refractory counters, bit 1: u8 spikes, bit 2: vec4 path
  uint ndim;     // 0: the input is flat like v; else its broadcast geometry below
  uint shape[4];
  uint si[4];
} pc;

#define HAS_R ((pc.flags & 1u) != 0u)
#define SPK_U8 ((pc.flags & 2u) != 0u)

uint input_offset(uint i) {
  if (pc.ndim == 0u) return i;
  uint off = 0u;
  for (int d = int(pc.ndim) - 1; d >= 0; --d) {
    off += (i % pc.shape[d]) * pc.si[d];
    i /= pc.shape[d];
  }
  return off;
}

// Returns the spike (0 / 1) and updates v (and r) in registers.
float lif(inout float v, inout float r, float x) {
  if (r > 0.0) {
    r = max(r - pc.dt, 0.0);
    v = pc.v_reset;
    return 0.0;
  }
  v = v + pc.k * (pc.r_m * x - (v - pc.v_rest));
  if (v >= pc.v_th) {
    v = pc.v_reset;
    r = pc.t_ref;
    return 1.0;
  }
  return 0.0;
}

void step_one(uint i) {
  float v = LD(pc.v, i);
  float r = HAS_R ? LD(pc.r, i) : 0.0;
  float s = lif(v, r, LD(pc.in_, input_offset(i)));
  ST(pc.v, i, v);
  if (HAS_R) ST(pc.r, i, r);
  if (SPK_U8)
    U8Buf(pc.spk).v[i] = uint8_t(s);
  else
    ST(pc.spk, i, s);
}

#if defined(T_F32)
// Steps the quad q of neurons, given its loaded state, and stores it.
void quad_step(uint q, vec4 v, vec4 x, vec4 r) {
  vec4 s;
  s.x = lif(v.x, r.x, x.x);
  s.y = lif(v.y, r.y, x.y);
  s.z = lif(v.z, r.z, x.z);
  s.w = lif(v.w, r.w, x.w);
  ST4(pc.v, q, v);
  if (HAS_R) ST4(pc.r, q, r);
  if (SPK_U8)
    U32Buf(pc.spk).v[q] = uint(s.x) | (uint(s.y) << 8) | (uint(s.z) << 16) | (uint(s.w) << 24);
  else
    ST4(pc.spk, q, s);
}
#endif

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
#if defined(T_F32)
  if ((pc.flags & 4u) != 0u) {
    // Thread q owns the quads (4 neurons each) q and q + h, h = ceil(nq / 2): both quads' loads
    // are issued before either is computed, which keeps more bytes in flight per thread, and the
    // lanes of a subgroup still touch consecutive quads. The thread after the last pair takes the
    // tail of n % 4 neurons.
    uint nq = pc.n >> 2;
    uint h = (nq + 1u) >> 1;
    if (i < h) {
      uint q1 = i + h;
      bool two = q1 < nq;
      vec4 v0 = LD4(pc.v, i), x0 = LD4(pc.in_, i);
      vec4 r0 = HAS_R ? LD4(pc.r, i) : vec4(0.0);
      vec4 v1 = vec4(0.0), x1 = vec4(0.0), r1 = vec4(0.0);
      if (two) {
        v1 = LD4(pc.v, q1);
        x1 = LD4(pc.in_, q1);
        if (HAS_R) r1 = LD4(pc.r, q1);
      }
      quad_step(i, v0, x0, r0);
      if (two) quad_step(q1, v1, x1, r1);
    } else if (i == h) {
      for (uint j = nq * 4u; j < pc.n; ++j) step_one(j);
    }
    return;
  }
#endif
  if (i >= pc.n) return;
  step_one(i);
}
