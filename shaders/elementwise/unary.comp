#version 450
//! variants: f32 f16 bf16 i32 i64
// Unary elementwise ops and activations over a possibly strided input; p0/p1 carry parameters
// (clamp bounds, leaky slope, elu alpha, softplus beta/threshold, roswish alpha/beta).
// Op codes match src/ops/elementwise.h; transcendental ops exist only in the float variants.
#include "common/types.glsl"
#include "common/typed.glsl"
#include "common/mathx.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t out_;
  uint n;
  uint op;
  uint ndim;
  uint vec4_ok;  // 1: flat, n % 4 == 0 and 16-byte aligned (f32 only)
  float p0;
  float p1;
  uint shape[4];
  uint sx[4];
} pc;

#define OP_NEG 0u
#define OP_ABS 1u
#define OP_CLAMP 2u
#define OP_RELU 3u
#define OP_EXP 4u
#define OP_LOG 5u
#define OP_SQRT 6u
#define OP_RSQRT 7u
#define OP_SIN 8u
#define OP_COS 9u
#define OP_TANH 10u
#define OP_SIGMOID 11u
#define OP_LEAKY_RELU 12u
#define OP_ELU 13u
#define OP_GELU 14u
#define OP_GELU_TANH 15u
#define OP_SILU 16u
#define OP_SOFTPLUS 17u
#define OP_MISH 18u
#define OP_HARDSWISH 19u
#define OP_HARDSIGMOID 20u
#define OP_GCU 21u
#define OP_ROSWISH 22u

#if IS_FLOAT
float sigmoid(float v) { return 1.0 / (1.0 + exp(-v)); }
float stable_tanh(float v) {
  // GLSL tanh may overflow through exp for large |v| on some drivers.
  if (abs(v) > 15.0) return sign(v);
  return tanh(v);
}
float erf_approx(float v) {
  // Abramowitz-Stegun 7.1.26 is too coarse; use a rational approximation with |err| < 1.2e-7.
  float t = 1.0 / (1.0 + 0.5 * abs(v));
  float y = t * exp(-v * v - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
            t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
            t * (-0.82215223 + t * 0.17087277)))))))));
  return v >= 0.0 ? 1.0 - y : y - 1.0;
}
float softplus(float v, float beta, float threshold) {
  float bv = beta * v;
  if (bv > threshold) return v;
  return (max(bv, 0.0) + log1p_x(exp(-abs(bv)))) / beta;
}
#endif

CT apply(CT v) {
  CT r = v;
  switch (pc.op) {
    case OP_NEG: r = -v; break;
    case OP_ABS: r = abs(v); break;
#if IS_FLOAT
    case OP_CLAMP: r = min(max(v, pc.p0), pc.p1); break;
    case OP_RELU: r = v > 0.0 ? v : (isnan(v) ? v : 0.0); break;
    case OP_EXP: r = exp(v); break;
    case OP_LOG: r = log(v); break;
    case OP_SQRT: r = sqrt(v); break;
    case OP_RSQRT: r = inversesqrt(v); break;
    case OP_SIN: r = sin_r(v); break;
    case OP_COS: r = cos_r(v); break;
    case OP_TANH: r = stable_tanh(v); break;
    case OP_SIGMOID: r = sigmoid(v); break;
    case OP_LEAKY_RELU: r = v >= 0.0 ? v : v * pc.p0; break;
    case OP_ELU: r = v > 0.0 ? v : pc.p0 * expm1_x(v); break;
    case OP_GELU: r = 0.5 * v * (1.0 + erf_approx(v * 0.70710678118654752)); break;
    case OP_GELU_TANH: r = 0.5 * v * (1.0 + stable_tanh(0.79788456080286536 * (v + 0.044715 * v * v * v))); break;
    case OP_SILU: r = v * sigmoid(v); break;
    case OP_SOFTPLUS: r = softplus(v, pc.p0, pc.p1); break;
    case OP_MISH: r = v * stable_tanh(softplus(v, 1.0, 20.0)); break;
    case OP_HARDSWISH: r = v * clamp(v + 3.0, 0.0, 6.0) / 6.0; break;
    case OP_HARDSIGMOID: r = clamp(v / 6.0 + 0.5, 0.0, 1.0); break;
    case OP_GCU: r = v * cos_r(v); break;
    case OP_ROSWISH: r = (v + pc.p0) * sigmoid(pc.p1 * v) - 0.5 * pc.p0; break;
#else
    case OP_CLAMP: r = CT(clamp(float(v), pc.p0, pc.p1)); break;
    case OP_RELU: r = max(v, CT(0)); break;
#endif
    default: break;
  }
  return r;
}

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
#if defined(T_F32)
  if (pc.ndim == 0u && pc.vec4_ok != 0u) {  // flat and 16-byte aligned: four elements per thread
    if (i * 4u >= pc.n) return;
    vec4 v = LD4(pc.x, i);
    ST4(pc.out_, i, vec4(apply(v.x), apply(v.y), apply(v.z), apply(v.w)));
    return;
  }
#endif
  if (i >= pc.n) return;
  uint ix = i;
  if (pc.ndim > 0u) {
    uint rem = i;
    ix = 0u;
    for (int d = int(pc.ndim) - 1; d >= 0; --d) {
      ix += (rem % pc.shape[d]) * pc.sx[d];
      rem /= pc.shape[d];
    }
  }
  ST(pc.out_, i, apply(LD(pc.x, ix)));
}
