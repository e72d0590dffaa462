#version 450
// Contiguous device-to-device copy in 16-, 4- or 1-byte units (a compute copy is faster than
// vkCmdCopyBuffer on some drivers' compute queues).
#include "common/types.glsl"
layout(local_size_x = 256) in;
layout(buffer_reference, std430, buffer_reference_align = 16) buffer U32x4Buf { uvec4 v[]; };
layout(push_constant) uniform Push {
  uint64_t src;
  uint64_t dst;
  uint n;     // units
  uint unit;  // 16, 4 or 1
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  if (pc.unit == 16u)
    U32x4Buf(pc.dst).v[i] = U32x4Buf(pc.src).v[i];
  else if (pc.unit == 4u)
    U32Buf(pc.dst).v[i] = U32Buf(pc.src).v[i];
  else
    U8Buf(pc.dst).v[i] = U8Buf(pc.src).v[i];
}
