#version 450
//! variants: f32 f16 bf16
// Backward of the gated linear units (glu.comp): from x [rows, 2h] split as [a, b] and the output
// gradient g [rows, h], both halves of dx in one pass: da = g * b * act'(a), db = g * act(a).
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t g;
  uint64_t dx;
  uint n;  // output elements, rows * h
  uint h;
  uint op;
  uint pad;
} pc;

#if defined(T_F32)
#define ESIZE 4u
#else
#define ESIZE 2u
#endif

#define OP_SWIGLU 0u
#define OP_GEGLU 1u
#define OP_REGLU 2u

// The forward's erf (glu.comp), so that db matches the forward's act(a) to the last bit.
float erf_nr(float v) {
  float t = 1.0 / (1.0 + 0.5 * abs(v));
  float y = t * exp(-v * v - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
            t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
            t * (-0.82215223 + t * 0.17087277)))))))));
  return v >= 0.0 ? 1.0 - y : y - 1.0;
}

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  uint r = i / pc.h, j = i - r * pc.h;
  uint64_t xr = pc.x + uint64_t(r) * (2u * pc.h) * ESIZE, dr = pc.dx + uint64_t(r) * (2u * pc.h) * ESIZE;
  float a = LD(xr, j);
  float b = LD(xr, j + pc.h);
  float gy = LD(pc.g + uint64_t(r) * pc.h * ESIZE, j);
  float act, dact;
  switch (pc.op) {
    case OP_SWIGLU: {
      float s = 1.0 / (1.0 + exp(-a));
      act = a * s;
      dact = s * (1.0 + a * (1.0 - s));
      break;
    }
    case OP_GEGLU: {
      float c = 0.5 * (1.0 + erf_nr(a * 0.70710678118654752));
      act = a * c;
      dact = c + a * 0.39894228040143268 * exp(-0.5 * a * a);
      break;
    }
    default:
      act = max(a, 0.0);
      dact = a > 0.0 ? 1.0 : 0.0;
      break;
  }
  ST(dr, j, gy * b * dact);
  ST(dr, j + pc.h, gy * act);
}
