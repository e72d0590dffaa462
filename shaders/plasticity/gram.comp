#version 450
//! variants: f32 f16 bf16
// G[i, k] = sum_b y_bi y_bk for k <= i (f32, zero above the diagonal): the LT(y y^T) factor of
// Sanger's rule; the back-projection P = G W is then one matrix product.
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 16, local_size_y = 16) in;
layout(push_constant) uniform Push {
  uint64_t y;    // [B, n]
  uint64_t g;    // f32 [n, n]
  uint batch;
  uint n;
} pc;

void main() {
  const uint k = gl_GlobalInvocationID.x, i = gl_GlobalInvocationID.y;
  if (i >= pc.n || k >= pc.n) return;
  float acc = 0.0;
  if (k <= i)
    for (uint b = 0u; b < pc.batch; ++b) acc += float(LD(pc.y, b * pc.n + i)) * float(LD(pc.y, b * pc.n + k));
  F32Buf(pc.g).v[i * pc.n + k] = acc;
}
