#version 450
//! variants: f32 f16 bf16
// Backward through time of the neuron node in one pass: a thread owns a neuron and walks the T
// steps in reverse, carrying the adjoints of v and w, from the saved charges h (spikes and the
// membranes before each step are recomputed from them). The charges and output gradients of four
// steps are loaded before they are used, to keep several loads in flight per thread.
#include "common/types.glsl"
#include "common/typed.glsl"
#include "snn/neuron.glsl"

uint n;
float k, v0, lv, lw, gk;

// Step t with its charge h, the gradient gsp of its spike output and hp, the charge of step t - 1
// (read only for tau's gradient, when t > 0).
void step_back(uint t, float h, float gsp, float hp) {
  const uint64_t trace = pc.p[1], x = pc.p[2];
  const bool alif = pc.kind == KIND_ALIF;
  const bool decay = HAS(F_DECAY_INPUT);
  const bool is_if = pc.kind == KIND_IF;
  uint i = t * pc.N + n;
  float s = spike_of(h);
  float sg = surrogate_dg(pc.surrogate, pc.alpha, h - pc.v_th);
  float dvdh, dvds;
  if (HAS(F_SOFT_RESET)) {
    dvdh = 1.0;
    dvds = -pc.v_th;
  } else {
    dvdh = 1.0 - s;
    dvds = pc.v_reset - h;
  }
  if (HAS(F_DETACH)) dvds = 0.0;
  float gs = gsp + (alif ? lw * pc.b : 0.0);
  float gh = lv * dvdh + (gs + lv * dvds) * sg;
  ST(pc.p[5], i, gh * ((is_if || !decay) ? 1.0 : k));
  if (HAS(F_HAS_KP)) {
    float vprev = t > 0u ? reset_of(hp, spike_of(hp)) : v0;
    float dhdk;
    if (decay) {
      float drive = LD(x, i);
      if (alif) drive -= F32Buf(trace).v[pc.T * pc.N + i];
      dhdk = drive - (vprev - pc.v_rest);
    } else {
      dhdk = -(vprev - pc.v_rest);
    }
    gk += gh * dhdk;
  }
  float lv_next = gh * (is_if ? 1.0 : 1.0 - k) + (alif ? lw * pc.k_w * pc.a : 0.0);
  lw = alif ? gh * (decay ? -k : -1.0) + lw * (1.0 - pc.k_w) : 0.0;
  lv = lv_next;
}

void main() {
  n = flat_group() * 256u + gl_LocalInvocationID.x;
  if (n >= pc.N) return;
  const uint64_t g = pc.p[0], trace = pc.p[1];
  const bool alif = pc.kind == KIND_ALIF;
  const bool want_k = HAS(F_HAS_KP);
  k = want_k ? sigmoid(LD(pc.p[4], n)) : pc.k;
  v0 = HAS(F_HAS_V0) ? LD(pc.p[3], n) : pc.v_rest;
  const bool state_grad = !HAS(F_SPIKES_ONLY);
  lv = state_grad ? LD(g, pc.T * pc.N + n) : 0.0;  // dL/dv after the last step
  lw = alif && state_grad ? LD(g, (pc.T + 1u) * pc.N + n) : 0.0;
  gk = 0.0;
  const uint N = pc.N;
  int t = int(pc.T) - 1;
  for (; t >= 3; t -= 4) {
    uint i = uint(t) * N + n;
    float h0 = F32Buf(trace).v[i], h1 = F32Buf(trace).v[i - N];
    float h2 = F32Buf(trace).v[i - 2u * N], h3 = F32Buf(trace).v[i - 3u * N];
    float g0 = LD(g, i), g1 = LD(g, i - N), g2 = LD(g, i - 2u * N), g3 = LD(g, i - 3u * N);
    float hp3 = (want_k && t > 3) ? F32Buf(trace).v[i - 4u * N] : 0.0;
    step_back(uint(t), h0, g0, h1);
    step_back(uint(t - 1), h1, g1, h2);
    step_back(uint(t - 2), h2, g2, h3);
    step_back(uint(t - 3), h3, g3, hp3);
  }
  for (; t >= 0; --t) {
    uint i = uint(t) * N + n;
    float hp = (want_k && t > 0) ? F32Buf(trace).v[i - N] : 0.0;
    step_back(uint(t), F32Buf(trace).v[i], LD(g, i), hp);
  }
  if (pc.p[6] != 0ul) ST(pc.p[6], n, lv);
  if (alif && pc.p[7] != 0ul) ST(pc.p[7], n, lw);
  if (want_k && pc.p[8] != 0ul) ST(pc.p[8], n, gk * k * (1.0 - k));
}
