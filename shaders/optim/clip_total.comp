#version 450
// Second stage of clip_grad_norm: one workgroup folds every partial into the total norm and
// writes result[0] = total, result[1] = min(1, max_norm / (total + 1e-6)) (NaN stays NaN).
// mode as in norm_partials.comp.
#include "common/types.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t partials;
  uint64_t result;
  uint count;
  uint mode;
  float p;
  float max_norm;
} pc;

shared float red[256];

// Sum or max that keeps NaN (GLSL max may return the other operand).
float fold(bool is_max, float a, float b) {
  if (isnan(a) || isnan(b)) return a + b;
  return is_max ? max(a, b) : a + b;
}

void main() {
  uint lid = gl_LocalInvocationID.x;
  bool is_max = pc.mode == 2u;
  float acc = 0.0;
  for (uint i = lid; i < pc.count; i += 256u) {
    acc = fold(is_max, acc, F32Buf(pc.partials).v[i]);
  }
  red[lid] = acc;
  barrier();
  for (uint s = 128u; s > 0u; s >>= 1) {
    if (lid < s) {
      red[lid] = fold(is_max, red[lid], red[lid + s]);
    }
    barrier();
  }
  if (lid == 0u) {
    float s = red[0];
    float total = pc.mode == 0u ? sqrt(s) : pc.mode == 3u ? pow(s, 1.0 / pc.p) : s;
    if (pc.mode == 3u && s == 0.0) total = 0.0;
    float c = pc.max_norm / (total + 1e-6);
    F32Buf(pc.result).v[0] = total;
    F32Buf(pc.result).v[1] = c > 1.0 ? 1.0 : c;
  }
}
