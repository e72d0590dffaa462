#version 450
//! variants: f32 f16 bf16
// Column statistics, first pass: workgroup (tile, chunk) covers 32 columns of rows [chunk *
// rows_per_chunk, ...). Each of its 8 row lanes runs Welford over every 8th row, then lane 0
// merges the 8 states in order (Chan et al.) and writes the chunk's mean and M2 (sum of squared
// deviations). Deterministic: the split depends only on N and D. Push layout: StatsPush.
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 32, local_size_y = 8) in;
layout(push_constant) uniform Push {
  uint64_t x;      // [N, D]
  uint64_t pmean;  // [nchunks, D] f32
  uint64_t pm2;    // [nchunks, D] f32
  uint N;
  uint D;
  uint rows_per_chunk;
  uint nchunks;
} pc;

shared float s_cnt[8][32];
shared float s_mean[8][32];
shared float s_m2[8][32];

void main() {
  uint lx = gl_LocalInvocationID.x, ly = gl_LocalInvocationID.y;
  uint col = gl_WorkGroupID.x * 32u + lx;
  uint chunk = gl_WorkGroupID.y;
  uint r0 = chunk * pc.rows_per_chunk;
  uint r1 = min(pc.N, r0 + pc.rows_per_chunk);
  float cnt = 0.0, mean = 0.0, m2 = 0.0;
  if (col < pc.D) {
    for (uint r = r0 + ly; r < r1; r += 8u) {
      float v = LD(pc.x, r * pc.D + col);
      cnt += 1.0;
      float d = v - mean;
      mean += d / cnt;
      m2 += d * (v - mean);
    }
  }
  s_cnt[ly][lx] = cnt;
  s_mean[ly][lx] = mean;
  s_m2[ly][lx] = m2;
  barrier();
  if (ly == 0u && col < pc.D) {
    for (uint k = 1u; k < 8u; ++k) {
      float cb = s_cnt[k][lx];
      if (cb == 0.0) continue;
      float n = cnt + cb;
      float d = s_mean[k][lx] - mean;
      mean += d * (cb / n);
      m2 += s_m2[k][lx] + d * d * (cnt * cb / n);
      cnt = n;
    }
    F32Buf(pc.pmean).v[chunk * pc.D + col] = mean;
    F32Buf(pc.pm2).v[chunk * pc.D + col] = m2;
  }
}
