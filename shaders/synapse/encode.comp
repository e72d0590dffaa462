#version 450
// Rate (Poisson) and latency encoders: x [n] -> spikes [T, n]. A thread per input (grid-stride
// over n) writes a chunk of steps, so each input is read once per chunk. Poisson draws Philox at
// counter offset + t * n + i with grl_bernoulli's recipe; latency fires once at step floor(t + 0.5).
#include "common/types.glsl"
#include "random/philox.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t out_;
  uint64_t offset;
  uint key0;
  uint key1;
  uint n;
  uint T;
  uint mode;     // 0 poisson, 1 latency linear, 2 latency log
  uint dt_in;
  uint dt_out;
  uint tchunk;   // steps per workgroup row of the grid (y)
  float scale;   // poisson: rate -> probability factor
  float tau;     // log latency
  float theta;   // log latency
  float tmax;    // linear latency: T - 1
} pc;

void main() {
  uint t0 = gl_WorkGroupID.y * pc.tchunk;
  uint t1 = min(pc.T, t0 + pc.tchunk);
  uint stride = gl_NumWorkGroups.x * 256u;
  for (uint i = gl_WorkGroupID.x * 256u + gl_LocalInvocationID.x; i < pc.n; i += stride) {
    float v = load_as_float(pc.x, pc.dt_in, i);
    if (pc.mode == 0u) {
      precise float p = v * pc.scale;
      if (!(p > 0.0)) p = 0.0;  // NaN and negatives: never
      p = min(p, 1.0);
      uint thr = uint(ceil(p * 16777216.0));
      for (uint t = t0; t < t1; ++t) {
        uint e = t * pc.n + i;
        uint64_t c = pc.offset + uint64_t(e);
        uvec4 w = philox4x32_10(uvec4(uint(c), uint(c >> 32), 0u, 0u), uvec2(pc.key0, pc.key1));
        store_float(pc.out_, pc.dt_out, e, (w.x >> 8) < thr ? 1.0 : 0.0);
      }
    } else {
      float k = -1.0;  // the firing step; -1: none
      if (!isnan(v)) {
        float xc = clamp(v, 0.0, 1.0);
        if (pc.mode == 1u) {
          precise float tl = pc.tmax * (1.0 - xc);
          k = floor(tl + 0.5);
        } else if (xc > pc.theta) {
          precise float tg = pc.tau * log(xc / (xc - pc.theta));
          k = floor(tg + 0.5);
        }
      }
      for (uint t = t0; t < t1; ++t) store_float(pc.out_, pc.dt_out, t * pc.n + i, float(t) == k ? 1.0 : 0.0);
    }
  }
}
