#version 450
//! variants: f32 f16 bf16
// Theta-gamma phase code: item i of n (the last axis) fires at theta phase
// mod(2 pi i / n - precession * progress, 2 pi) and at time theta_period * phase / (2 pi).
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t progress;
  uint64_t phases;
  uint64_t times;
  uint total;
  uint n;
  float precession;
  float period;
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.total) return;
  const float TWO_PI = 6.283185307179586;
  uint item = i % pc.n;
  // In turns (fractions of a cycle) so the wrap is exact for the unshifted code.
  float turns = float(item) / float(pc.n) - pc.precession * float(LD(pc.progress, i)) / TWO_PI;
  turns -= floor(turns);
  if (turns >= 1.0) turns = 0.0;
  ST(pc.phases, i, turns * TWO_PI);
  ST(pc.times, i, turns * pc.period);
}
