#version 450
// Temporal decoders over spikes [T, n]: out[i] = sum_t w_t s[t, i] with a thread per channel
// (grid-stride) walking t. Weights: the rate window (1 / w on the last w steps), exponential
// exp(-(T - 1 - t) / tau), or a [T] tensor. With grad = 1 it writes the spikes' gradient
// w_t g[i] over [T, n] instead (a thread per element).
#include "common/types.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t s;      // forward: spikes [T, n]; grad: g [n]
  uint64_t w;      // [T] weights (mode 2)
  uint64_t out_;   // forward: [n]; grad: [T, n]
  uint n;
  uint T;
  uint mode;       // 0 rate window, 1 exponential, 2 tensor
  uint dt_in;
  uint dt_w;
  uint dt_out;
  uint t0;         // rate: first step of the window
  float scale;     // rate: 1 / window
  float inv_tau;   // exponential
  uint grad;
} pc;

float weight_of(uint t) {
  if (pc.mode == 0u) return t >= pc.t0 ? pc.scale : 0.0;
  if (pc.mode == 1u) return exp(-float(pc.T - 1u - t) * pc.inv_tau);
  return load_as_float(pc.w, pc.dt_w, t);
}

void main() {
  uint stride = gl_NumWorkGroups.x * 256u;
  uint first = gl_WorkGroupID.x * 256u + gl_LocalInvocationID.x;
  if (pc.grad != 0u) {
    uint total = pc.T * pc.n;
    for (uint e = first; e < total; e += stride) {
      uint t = e / pc.n, i = e - t * pc.n;
      store_float(pc.out_, pc.dt_out, e, weight_of(t) * load_as_float(pc.s, pc.dt_in, i));
    }
    return;
  }
  for (uint i = first; i < pc.n; i += stride) {
    float acc = 0.0;
    if (pc.mode == 0u) {
      // Four loads in flight per thread; each partial sum keeps its own order (deterministic).
      float a1 = 0.0, a2 = 0.0, a3 = 0.0;
      uint t = pc.t0;
      if (pc.dt_in == DT_F32) {  // the common case without the per-load dtype switch
        for (; t + 4u <= pc.T; t += 4u) {
          acc += F32Buf(pc.s).v[t * pc.n + i];
          a1 += F32Buf(pc.s).v[(t + 1u) * pc.n + i];
          a2 += F32Buf(pc.s).v[(t + 2u) * pc.n + i];
          a3 += F32Buf(pc.s).v[(t + 3u) * pc.n + i];
        }
      }
      for (; t + 4u <= pc.T; t += 4u) {
        acc += load_as_float(pc.s, pc.dt_in, t * pc.n + i);
        a1 += load_as_float(pc.s, pc.dt_in, (t + 1u) * pc.n + i);
        a2 += load_as_float(pc.s, pc.dt_in, (t + 2u) * pc.n + i);
        a3 += load_as_float(pc.s, pc.dt_in, (t + 3u) * pc.n + i);
      }
      for (; t < pc.T; ++t) acc += load_as_float(pc.s, pc.dt_in, t * pc.n + i);
      acc = ((acc + a1) + (a2 + a3)) * pc.scale;
    } else {
      for (uint t = 0u; t < pc.T; ++t) acc += weight_of(t) * load_as_float(pc.s, pc.dt_in, t * pc.n + i);
    }
    store_float(pc.out_, pc.dt_out, i, acc);
  }
}
