// The neuron nodes' push constants and one step of their dynamics, shared by the forward and the
// backward (which recomputes spikes and membranes from the saved charges). See grl_spiking_neuron.
#include "snn/surrogate.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t p[9];  // forward: x, v0, w0, kp, out, trace; backward: g, trace, x, v0, kp, gx, gv0, gw0, gk
  uint T;
  uint N;
  uint kind;      // 0 IF, 1 LIF, 2 ALIF
  uint flags;
  uint surrogate;
  float alpha;
  float k;        // 1 / tau when there is no tau_param
  float v_th;
  float v_reset;
  float v_rest;
  float k_w;
  float a;
  float b;
} pc;

#define F_DECAY_INPUT 1u
#define F_SOFT_RESET 2u
#define F_SOFT_SPIKE 4u
#define F_HAS_V0 8u
#define F_HAS_W0 16u
#define F_HAS_KP 32u
#define F_SAVE 64u
#define F_DETACH 128u
#define F_SPIKES_ONLY 256u  // backward: the gradient covers the spikes only (the state had no use)
#define HAS(f) ((pc.flags & (f)) != 0u)
#define KIND_IF 0u
#define KIND_ALIF 2u

float spike_of(float h) {
  precise float x = h - pc.v_th;
  if (HAS(F_SOFT_SPIKE)) return surrogate_g(pc.surrogate, pc.alpha, x);
  return x >= 0.0 ? 1.0 : 0.0;
}

float reset_of(float h, float s) {
  precise float r = HAS(F_SOFT_RESET) ? h - pc.v_th * s : h * (1.0 - s) + pc.v_reset * s;
  return r;
}

float charge(float v, float w, float x, float k) {
  precise float h;
  if (pc.kind == KIND_IF) {
    h = v + x;
  } else {
    float drive = pc.kind == KIND_ALIF ? x - w : x;
    if (HAS(F_DECAY_INPUT))
      h = v + k * (drive - (v - pc.v_rest));
    else
      h = v - k * (v - pc.v_rest) + drive;
  }
  return h;
}

float sigmoid(float z) { return 1.0 / (1.0 + exp(-z)); }
