#version 450
//! variants: f32 f16 bf16
// Backward of the unary ops and activations: dx = g * f'(x), with the op codes and parameters
// of elementwise/unary.comp. x and g are contiguous with the same shape.
#include "common/types.glsl"
#include "common/typed.glsl"
#include "common/mathx.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t g;
  uint64_t out_;
  uint n;
  uint op;
  float p0;
  float p1;
} pc;

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

float sigmoid(float v) { return 1.0 / (1.0 + exp(-v)); }
float stable_tanh(float v) { return abs(v) > 15.0 ? sign(v) : tanh(v); }
float erf_approx(float v) {
  float t = 1.0 / (1.0 + 0.5 * abs(v));
  float y = t * exp(-v * v - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
            t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
            t * (-0.82215223 + t * 0.17087277)))))))));
  return v >= 0.0 ? 1.0 - y : y - 1.0;
}
float softplus(float v) { return max(v, 0.0) + log1p_x(exp(-abs(v))); }

float derivative(float v) {
  switch (pc.op) {
    case OP_ABS: return sign(v);
    case OP_CLAMP: return (v >= pc.p0 && v <= pc.p1) ? 1.0 : 0.0;
    case OP_RELU: return v > 0.0 ? 1.0 : 0.0;
    case OP_EXP: return exp(v);
    case OP_LOG: return 1.0 / v;
    case OP_SQRT: return 0.5 * inversesqrt(v);
    case OP_RSQRT: return -0.5 * inversesqrt(v) / v;
    case OP_SIN: return cos_r(v);
    case OP_COS: return -sin_r(v);
    case OP_TANH: { float t = stable_tanh(v); return 1.0 - t * t; }
    case OP_SIGMOID: { float s = sigmoid(v); return s * (1.0 - s); }
    case OP_LEAKY_RELU: return v > 0.0 ? 1.0 : pc.p0;
    case OP_ELU: return v > 0.0 ? 1.0 : pc.p0 * exp(v);
    case OP_GELU: return 0.5 * (1.0 + erf_approx(v * 0.70710678118654752)) + v * 0.39894228040143268 * exp(-0.5 * v * v);
    case OP_GELU_TANH: {
      float k = 0.79788456080286536;
      float t = stable_tanh(k * (v + 0.044715 * v * v * v));
      return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * k * (1.0 + 3.0 * 0.044715 * v * v);
    }
    case OP_SILU: { float s = sigmoid(v); return s * (1.0 + v * (1.0 - s)); }
    case OP_SOFTPLUS: { float bv = pc.p0 * v; return bv > pc.p1 ? 1.0 : sigmoid(bv); }
    case OP_MISH: { float t = stable_tanh(softplus(v)); return t + v * (1.0 - t * t) * sigmoid(v); }
    case OP_HARDSWISH: return v < -3.0 ? 0.0 : (v > 3.0 ? 1.0 : v / 3.0 + 0.5);
    case OP_HARDSIGMOID: return (v > -3.0 && v < 3.0) ? 1.0 / 6.0 : 0.0;
    case OP_GCU: return cos_r(v) - v * sin_r(v);
    case OP_ROSWISH: { float s = sigmoid(pc.p1 * v); return s + (v + pc.p0) * pc.p1 * s * (1.0 - s); }
    default: return 0.0;
  }
}

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  ST(pc.out_, i, LD(pc.g, i) * derivative(LD(pc.x, i)));
}
