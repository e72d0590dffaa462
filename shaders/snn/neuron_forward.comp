#version 450
//! variants: f32 f16 bf16
// Multi-step spiking neuron node: a thread owns a neuron and runs it through all T steps with its
// state in registers, writing the spikes, the final state and (for the backward) the charges.
// The inputs of four steps are loaded before they are used, so that each thread keeps four loads
// in flight (the state recurrence leaves no other parallelism inside a thread).
#include "common/types.glsl"
#include "common/typed.glsl"
#include "snn/neuron.glsl"

uint n;
float v, w, k;

void step_at(uint t, float x) {
  const uint64_t out_ = pc.p[4], trace = pc.p[5];
  const bool alif = pc.kind == KIND_ALIF;
  uint i = t * pc.N + n;
  float h = charge(v, w, x, k);
  if (HAS(F_SAVE)) {
    F32Buf(trace).v[i] = h;
    if (alif) F32Buf(trace).v[pc.T * pc.N + i] = w;  // w before the step, for tau's gradient
  }
  float s = spike_of(h);
  float vprev = v;
  v = reset_of(h, s);
  if (alif) w = w + pc.k_w * (pc.a * (vprev - pc.v_rest) - w) + pc.b * s;
  ST(out_, i, s);
}

void main() {
  n = flat_group() * 256u + gl_LocalInvocationID.x;
  if (n >= pc.N) return;
  const uint64_t x = pc.p[0];
  k = HAS(F_HAS_KP) ? sigmoid(LD(pc.p[3], n)) : pc.k;
  v = HAS(F_HAS_V0) ? LD(pc.p[1], n) : pc.v_rest;
  w = HAS(F_HAS_W0) ? LD(pc.p[2], n) : 0.0;
  uint t = 0u;
  for (; t + 4u <= pc.T; t += 4u) {
    float x0 = LD(x, t * pc.N + n), x1 = LD(x, (t + 1u) * pc.N + n);
    float x2 = LD(x, (t + 2u) * pc.N + n), x3 = LD(x, (t + 3u) * pc.N + n);
    step_at(t, x0);
    step_at(t + 1u, x1);
    step_at(t + 2u, x2);
    step_at(t + 3u, x3);
  }
  for (; t < pc.T; ++t) step_at(t, LD(x, t * pc.N + n));
  ST(pc.p[4], pc.T * pc.N + n, v);
  if (pc.kind == KIND_ALIF) ST(pc.p[4], (pc.T + 1u) * pc.N + n, w);
}
