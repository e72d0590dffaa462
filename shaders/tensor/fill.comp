#version 450
// Fills a contiguous tensor of any dtype with one value.
#include "common/types.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t dst;
  int64_t ivalue;
  float fvalue;
  uint n;
  uint dt;
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  if (dt_is_int(pc.dt))
    store_int(pc.dst, pc.dt, i, pc.ivalue);
  else
    store_float(pc.dst, pc.dt, i, pc.fvalue);
}
