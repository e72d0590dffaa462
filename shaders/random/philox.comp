#version 450
// Counter-based random numbers: element i draws Philox-4x32-10 at counter (offset + i) with the
// seed as key, then maps the words to uniform, normal, bernoulli or a dropout mask. The recipe is
// documented in include/grilly.h ("Random numbers"); src/ops/random.cpp has the mode codes.
#include "common/types.glsl"
#include "random/philox.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;       // dropout input (contiguous, dtype dt)
  uint64_t out_;    // contiguous, dtype dt
  uint64_t offset;  // counter of element 0
  uint key0;
  uint key1;
  uint n;
  uint mode;
  uint dt;
  uint threshold;   // bernoulli / dropout: 1 (dropout: drop) when (w0 >> 8) < threshold
  float a;          // uniform: low;   normal: mean; dropout: survivor scale
  float b;          // uniform: high - low; normal: std
  float hi;         // uniform: float(high)
  float below;      // uniform: the largest float below float(high)
} pc;

#define MODE_UNIFORM 0u
#define MODE_NORMAL 1u
#define MODE_BERNOULLI 2u
#define MODE_DROPOUT 3u

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  uint64_t c = pc.offset + uint64_t(i);
  uvec4 w = philox4x32_10(uvec4(uint(c), uint(c >> 32), 0u, 0u), uvec2(pc.key0, pc.key1));
  const float inv24 = 1.0 / 16777216.0;
  // `precise` keeps the products and sums unfused, so every device rounds the same way.
  precise float r;
  switch (pc.mode) {
    case MODE_UNIFORM: {
      float u = float(w.x >> 8) * inv24;
      r = pc.a + pc.b * u;
      if (r >= pc.hi) r = pc.below;  // rounding can reach `high`; the interval is half-open
      break;
    }
    case MODE_NORMAL: {
      float u1 = float((w.x >> 8) + 1u) * inv24;  // (0, 1]: log never sees 0
      float u2 = float(w.y >> 8) * inv24;         // [0, 1)
      float z = sqrt(-2.0 * log(u1)) * cos(6.2831853071795865 * u2);
      r = pc.a + pc.b * z;
      break;
    }
    case MODE_BERNOULLI:
      r = (w.x >> 8) < pc.threshold ? 1.0 : 0.0;
      break;
    default: {
      float v = load_as_float(pc.x, pc.dt, i);
      r = (w.x >> 8) < pc.threshold ? 0.0 : v * pc.a;
      break;
    }
  }
  store_float(pc.out_, pc.dt, i, r);
}
