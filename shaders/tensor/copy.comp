#version 450
// Strided copy with dtype conversion: dst[i] = convert(src[i]) over up to 8 dims, where either side
// may be a view (a stride of 0 broadcasts).
#include "common/types.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t src;
  uint64_t dst;
  uint n;
  uint ndim;
  uint src_dt;
  uint dst_dt;
  uint shape[8];
  uint src_stride[8];
  uint dst_stride[8];
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  uint rem = i, so = 0u, dof = 0u;
  for (int d = int(pc.ndim) - 1; d >= 0; --d) {
    uint c = rem % pc.shape[d];
    rem /= pc.shape[d];
    so += c * pc.src_stride[d];
    dof += c * pc.dst_stride[d];
  }
  if (dt_is_int(pc.src_dt)) {
    store_int(pc.dst, pc.dst_dt, dof, load_as_int(pc.src, pc.src_dt, so));
  } else {
    store_float(pc.dst, pc.dst_dt, dof, load_as_float(pc.src, pc.src_dt, so));
  }
}
