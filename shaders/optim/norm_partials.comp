#version 450
//! variants: f32 f16 bf16
// First stage of vector norms without atomics, for up to 8 tensors of one dtype per launch:
// workgroup (w, k) folds elements w*256 + lid + j*G*256 of tensor k, G = min(ceil(n/256), 256),
// into out[base + k*span + w]; workgroups w >= G write 0, and workgroup 0 clears the slots from
// the grid's width up to span, so a second stage can read whole spans.
// mode 0: sum x^2, 1: sum |x|, 2: max |x|, 3: sum |x|^p.
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x[8];
  uint64_t out_;
  uint n[8];
  uint mode;
  float p;
  uint base;
  uint span;
} pc;

shared float red[256];

// Sum or max that keeps NaN (GLSL max may return the other operand).
float fold(bool is_max, float a, float b) {
  if (isnan(a) || isnan(b)) return a + b;
  return is_max ? max(a, b) : a + b;
}

float term(float v) {
  float a = abs(v);
  if (pc.mode == 0u) return v * v;
  if (pc.mode == 3u) return a == 0.0 ? 0.0 : pow(a, pc.p);
  return a;
}

void main() {
  uint lid = gl_LocalInvocationID.x;
  uint w = gl_WorkGroupID.x;
  uint k = gl_WorkGroupID.y;
  uint n = pc.n[k];
  uint64_t x = pc.x[k];
  uint groups = min((n + 255u) / 256u, 256u);
  bool is_max = pc.mode == 2u;
  float acc = 0.0;
  for (uint i = w * 256u + lid; i < n; i += groups * 256u) acc = fold(is_max, acc, term(LD(x, i)));
  red[lid] = acc;
  barrier();
  for (uint s = 128u; s > 0u; s >>= 1) {
    if (lid < s) red[lid] = fold(is_max, red[lid], red[lid + s]);
    barrier();
  }
  uint region = pc.base + k * pc.span;
  if (lid == 0u) F32Buf(pc.out_).v[region + w] = red[0];
  if (w == 0u)
    for (uint j = gl_NumWorkGroups.x + lid; j < pc.span; j += 256u) F32Buf(pc.out_).v[region + j] = 0.0;
}
