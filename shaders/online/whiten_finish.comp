#version 450
// Column statistics, second pass: merges the chunks' (mean, M2) in chunk order into the batch
// mean and population variance (stats [2, D]), and updates the running statistics in place as
// BatchNorm does (unbiased variance). Push layout: FinishPush in online.cpp.
#include "common/types.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t pmean;
  uint64_t pm2;
  uint64_t stats;  // [2, D]: mean, then population variance
  uint64_t rmean;  // running statistics [D] or 0
  uint64_t rvar;
  uint N;
  uint D;
  uint rows_per_chunk;
  uint nchunks;
  float momentum;
} pc;

void main() {
  uint col = flat_group() * 256u + gl_LocalInvocationID.x;
  if (col >= pc.D) return;
  float cnt = 0.0, mean = 0.0, m2 = 0.0;
  for (uint c = 0u; c < pc.nchunks; ++c) {
    float cb = float(min(pc.N - c * pc.rows_per_chunk, pc.rows_per_chunk));
    float n = cnt + cb;
    float d = F32Buf(pc.pmean).v[c * pc.D + col] - mean;
    mean += d * (cb / n);
    m2 += F32Buf(pc.pm2).v[c * pc.D + col] + d * d * (cnt * cb / n);
    cnt = n;
  }
  F32Buf(pc.stats).v[col] = mean;
  F32Buf(pc.stats).v[pc.D + col] = m2 / cnt;
  if (pc.rmean != 0ul) {
    F32Buf(pc.rmean).v[col] = (1.0 - pc.momentum) * F32Buf(pc.rmean).v[col] + pc.momentum * mean;
    F32Buf(pc.rvar).v[col] = (1.0 - pc.momentum) * F32Buf(pc.rvar).v[col] + pc.momentum * (m2 / (cnt - 1.0));
  }
}
