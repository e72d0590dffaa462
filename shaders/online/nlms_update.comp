#version 450
// Sequential NLMS: workgroup e owns expert e's weights and walks the B samples in order, so each
// update sees the previous one (true NLMS, not a batch average). Thread t owns weights t, t + 256,
// ... (it alone reads and writes them, so only the two dot products need barriers: a subgroup sum,
// one shared slot per subgroup, one barrier; the subgroup size is not assumed). Per sample:
// e = target - (w . x + b); w += mu e x / (||x||^2 + eps); b += mu e; msq <- r msq + (1 - r) e^2;
// mu <- max(mu * decay, mu_min). Push layout matches UpdatePush in online.cpp.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common/types.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;       // [B, D]
  uint64_t target;  // [B]
  uint64_t w;       // [E, D] in place
  uint64_t b;       // [E] in place, or 0
  uint64_t mu;      // [E] in place
  uint64_t msq;     // [E] in place, or 0
  uint64_t err;     // [B, E] a-priori errors, or 0
  uint B;
  uint D;
  uint E;
  uint update_bias;
  float eps;
  float mu_decay;
  float mu_min;
  float rmse_decay;
} pc;

shared vec2 red_[256];

// (w . x, ||x||^2) over the workgroup; every thread gets the same sums.
vec2 wg_sum2(vec2 v) {
  v = subgroupAdd(v);
  if (subgroupElect()) red_[gl_SubgroupID] = v;
  barrier();
  vec2 r = vec2(0.0);
  for (uint i = gl_SubgroupInvocationID; i < gl_NumSubgroups; i += gl_SubgroupSize) r += red_[i];
  return subgroupAdd(r);
}

// The scalar part of one sample, the same in every thread: the error, the step mu e / (||x||^2 +
// eps) it returns, and the bias, msq and mu updates.
float sample_step(vec2 r, float t, uint n, uint e, inout float m, inout float bias, inout float s) {
  float err = t - (r.x + bias);
  float step = m * err / (r.y + pc.eps);
  if (pc.update_bias != 0u && pc.b != 0ul) bias += m * err;
  s = pc.rmse_decay * s + (1.0 - pc.rmse_decay) * (err * err);
  if (gl_LocalInvocationID.x == 0u && pc.err != 0ul) F32Buf(pc.err).v[n * pc.E + e] = err;
  m = max(m * pc.mu_decay, pc.mu_min);
  return step;
}

// Rows of up to 256 * KREG weights stay in registers for the whole call, and the next sample's
// x and target are loaded while the current sample is reduced, so a sample costs about one
// barrier round trip instead of two dependent memory latencies. Longer rows stream through
// memory (thread-owned weights, read and written per sample). Both paths add in the same order.
#define KREG 4u

void main() {
  uint lid = gl_LocalInvocationID.x;
  uint e = gl_WorkGroupID.x;
  uint wbase = e * pc.D;
  float m = F32Buf(pc.mu).v[e];
  float bias = pc.b != 0ul ? F32Buf(pc.b).v[e] : 0.0;
  float s = pc.msq != 0ul ? F32Buf(pc.msq).v[e] : 0.0;
  if (pc.D <= 256u * KREG) {
    float wr[KREG], xr[KREG], xn[KREG];
    for (uint k = 0u; k < KREG; ++k) {
      uint j = lid + k * 256u;
      wr[k] = 0.0;
      xr[k] = 0.0;
      if (j < pc.D) {
        wr[k] = F32Buf(pc.w).v[wbase + j];
        xr[k] = F32Buf(pc.x).v[j];  // the host dispatches only for B >= 1
      }
    }
    float t = F32Buf(pc.target).v[0];
    for (uint n = 0u; n < pc.B; ++n) {
      bool more = n + 1u < pc.B;
      float tn = 0.0;
      if (more) tn = F32Buf(pc.target).v[n + 1u];
      for (uint k = 0u; k < KREG; ++k) {
        uint j = lid + k * 256u;
        xn[k] = 0.0;
        if (more && j < pc.D) xn[k] = F32Buf(pc.x).v[(n + 1u) * pc.D + j];
      }
      float dot = 0.0, sq = 0.0;
      for (uint k = 0u; k < KREG; ++k) {
        dot += wr[k] * xr[k];
        sq += xr[k] * xr[k];
      }
      float step = sample_step(wg_sum2(vec2(dot, sq)), t, n, e, m, bias, s);
      for (uint k = 0u; k < KREG; ++k) wr[k] += step * xr[k];
      barrier();  // red_ is rewritten by the next sample
      for (uint k = 0u; k < KREG; ++k) xr[k] = xn[k];
      t = tn;
    }
    for (uint k = 0u; k < KREG; ++k) {
      uint j = lid + k * 256u;
      if (j < pc.D) F32Buf(pc.w).v[wbase + j] = wr[k];
    }
  } else {
    for (uint n = 0u; n < pc.B; ++n) {
      uint xbase = n * pc.D;
      float dot = 0.0, sq = 0.0;
      for (uint j = lid; j < pc.D; j += 256u) {
        float xv = F32Buf(pc.x).v[xbase + j];
        dot += F32Buf(pc.w).v[wbase + j] * xv;
        sq += xv * xv;
      }
      float step = sample_step(wg_sum2(vec2(dot, sq)), F32Buf(pc.target).v[n], n, e, m, bias, s);
      for (uint j = lid; j < pc.D; j += 256u)
        F32Buf(pc.w).v[wbase + j] += step * F32Buf(pc.x).v[xbase + j];
      barrier();  // red_ is rewritten by the next sample
    }
  }
  if (lid == 0u) {
    F32Buf(pc.mu).v[e] = m;
    if (pc.b != 0ul) F32Buf(pc.b).v[e] = bias;
    if (pc.msq != 0ul) F32Buf(pc.msq).v[e] = s;
  }
}
