#version 450
//! variants: f32 f16 bf16
// Backward of the top-k + L2 normalisation, one thread per row, into a zeroed f32 dz: at the kept
// positions dz = (g - y (y . g)) / n when n = ||t|| exceeds eps, else g / eps (the clamp is then
// a constant); elsewhere 0.
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t y;      // [rows, H]
  uint64_t g;      // [rows, H]
  uint64_t index;  // [rows, k] i32
  uint64_t norm;   // [rows] f32
  uint64_t dz;     // [rows, H] f32, zeroed
  uint rows;
  uint H;
  uint k;
  float eps;
} pc;

void main() {
  uint row = flat_group() * 256u + gl_LocalInvocationID.x;
  if (row >= pc.rows) return;
  uint base = row * pc.H;
  float n = F32Buf(pc.norm).v[row];
  float yg = 0.0;
  if (n > pc.eps)
    for (uint r = 0u; r < pc.k; ++r) {
      uint j = uint(I32Buf(pc.index).v[row * pc.k + r]);
      yg += float(LD(pc.y, base + j)) * float(LD(pc.g, base + j));
    }
  for (uint r = 0u; r < pc.k; ++r) {
    uint j = uint(I32Buf(pc.index).v[row * pc.k + r]);
    F32Buf(pc.dz).v[base + j] = (float(LD(pc.g, base + j)) - float(LD(pc.y, base + j)) * yg) / n;
  }
}
