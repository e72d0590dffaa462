#version 450
// Delta (threshold-crossing) encoder over x [T, n]: a thread per channel walks t with a
// reference that starts at 0 and jumps to x_t on each spike. Output [T, n] signed or [T, 2, n].
#include "common/types.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t out_;
  uint n;
  uint T;
  uint two;
  uint dt_in;
  uint dt_out;
  float thr;
} pc;

void main() {
  uint stride = gl_NumWorkGroups.x * 256u;
  for (uint i = gl_WorkGroupID.x * 256u + gl_LocalInvocationID.x; i < pc.n; i += stride) {
    float ref = 0.0;
    for (uint t = 0u; t < pc.T; ++t) {
      float v = load_as_float(pc.x, pc.dt_in, t * pc.n + i);
      float d = v - ref;
      float on = 0.0, off = 0.0;
      if (abs(d) >= pc.thr) {
        if (d > 0.0) on = 1.0; else off = 1.0;
        ref = v;
      }
      if (pc.two != 0u) {
        store_float(pc.out_, pc.dt_out, (2u * t) * pc.n + i, on);
        store_float(pc.out_, pc.dt_out, (2u * t + 1u) * pc.n + i, off);
      } else {
        store_float(pc.out_, pc.dt_out, t * pc.n + i, on - off);
      }
    }
  }
}
