#version 450
// NLMS prediction, single filter (E = 1, no gate) or gated ensemble: out[r] = sum_e g_e (w_e . x_r
// + b_e), g = softmax(-sqrt(msq) / T). Eight rows per workgroup, 32 lanes per row striding over D;
// lane sums meet in a fixed shared-memory tree. Push layout matches PredictPush in online.cpp.
#include "common/types.glsl"
layout(local_size_x = 32, local_size_y = 8) in;
layout(push_constant) uniform Push {
  uint64_t x;    // [B, D]
  uint64_t w;    // [E, D]
  uint64_t b;    // [E] or 0
  uint64_t msq;  // [E] or 0 (single filter: gate 1)
  uint64_t out_; // [B]
  uint B;
  uint D;
  uint E;
  float inv_temp;
} pc;

shared float red[8][32];

void main() {
  uint lx = gl_LocalInvocationID.x, ly = gl_LocalInvocationID.y;
  uint row = flat_group() * 8u + ly;
  bool live = row < pc.B;
  // Gates: every thread computes the same softmax over the E experts (E is small).
  float zmax = -3.4e38;
  if (pc.msq != 0ul)
    for (uint e = 0u; e < pc.E; ++e) zmax = max(zmax, -sqrt(F32Buf(pc.msq).v[e]) * pc.inv_temp);
  float zsum = 0.0;
  if (pc.msq != 0ul)
    for (uint e = 0u; e < pc.E; ++e) zsum += exp(-sqrt(F32Buf(pc.msq).v[e]) * pc.inv_temp - zmax);
  float y = 0.0;
  for (uint e = 0u; e < pc.E; ++e) {
    float dot = 0.0;
    if (live)
      for (uint j = lx; j < pc.D; j += 32u) dot += F32Buf(pc.w).v[e * pc.D + j] * F32Buf(pc.x).v[row * pc.D + j];
    red[ly][lx] = dot;
    barrier();
    for (uint s = 16u; s > 0u; s >>= 1) {
      if (lx < s) red[ly][lx] += red[ly][lx + s];
      barrier();
    }
    float p = red[ly][0] + (pc.b != 0ul ? F32Buf(pc.b).v[e] : 0.0);
    float gate = pc.msq != 0ul ? exp(-sqrt(F32Buf(pc.msq).v[e]) * pc.inv_temp - zmax) / zsum : 1.0;
    y += gate * p;
    barrier();  // red is reused by the next expert
  }
  if (live && lx == 0u) F32Buf(pc.out_).v[row] = y;
}
