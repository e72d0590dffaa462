#version 450
//! variants: f32 f16 bf16
// The exponential synapse over a [T, n] sequence, a thread per channel walking t: forward
// y_t = decay y_{t-1} + weight x_t (y_{-1} = init or 0), or the backward scan lambda_t = g_t +
// decay lambda_{t+1} writing weight lambda_t and, when asked, decay lambda_0 (the state gradient).
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;       // [T, n]: spikes (forward) or the output gradient (reverse)
  uint64_t init;    // forward: [n] initial state, 0 for zeros
  uint64_t out_;    // [T, n]
  uint64_t final_;  // reverse: [n] gradient of the initial state, 0 when not needed
  uint n;
  uint T;
  uint reverse;
  float decay;
  float weight;
  uint pad;
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  if (pc.reverse == 0u) {
    float y = pc.init != 0ul ? float(LD(pc.init, i)) : 0.0;
    for (uint t = 0u; t < pc.T; ++t) {
      uint e = t * pc.n + i;
      y = pc.decay * y + pc.weight * float(LD(pc.x, e));
      ST(pc.out_, e, y);
    }
  } else {
    float y = 0.0;
    for (uint t = pc.T; t > 0u; --t) {
      uint e = (t - 1u) * pc.n + i;
      y = pc.decay * y + float(LD(pc.x, e));
      ST(pc.out_, e, pc.weight * y);
    }
    if (pc.final_ != 0ul) ST(pc.final_, i, pc.decay * y);
  }
}
