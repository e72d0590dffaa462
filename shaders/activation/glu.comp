#version 450
//! variants: f32 f16 bf16
// Gated linear units over the last axis of a contiguous [rows, 2h] input split as [a, b]:
// out[r, j] = act(a[r, j]) * b[r, j] with act silu (SwiGLU), exact gelu (GeGLU) or relu (ReGLU).
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t out_;
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

// erf through the complementary error function of Numerical Recipes (erfcc, fractional error
// below 1.2e-7), as in elementwise/unary.comp.
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
  // 64-bit row addresses keep the element indices small (below 2^31) for any tensor size.
  uint64_t xr = pc.x + uint64_t(r) * (2u * pc.h) * ESIZE, orow = pc.out_ + uint64_t(r) * pc.h * ESIZE;
  float a = LD(xr, j);
  float b = LD(xr, j + pc.h);
  float g;
  switch (pc.op) {
    case OP_SWIGLU: g = a / (1.0 + exp(-a)); break;
    case OP_GEGLU: g = 0.5 * a * (1.0 + erf_nr(a * 0.70710678118654752)); break;
    default: g = max(a, 0.0); break;
  }
  ST(orow, j, g * b);
}
