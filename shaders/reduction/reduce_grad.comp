#version 450
//! variants: f32 f16 bf16
// Backward of the reductions in one pass over x: dx[i] = g[o] * d y[o] / d x[i], where o is the
// output element that x[i] folds into. Layout matches GradPush in src/ops/reduction.cpp.
#include "common/types.glsl"
#include "common/typed.glsl"
#include "common/strided.glsl"

// x is read through its own strides; y, g and aux are output-sized and contiguous, read through
// broadcast strides (0 along the reduced axes) over the coalesced shape of x. y and g have the
// dtype of x, aux is f32 (the mean, the count of ties, or the f32 logsumexp).
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t x;
  uint64_t y;
  uint64_t g;
  uint64_t aux;
  uint64_t dx;
  uint n;
  uint op;
  uint ndim;
  uint pad;
  float p0;
  float p1;
  uvec4 shape;
  uvec4 sx;
  uvec4 so;  // strides of y, g and aux
} pc;

// Op codes match GradOp in src/ops/reduction.cpp.
#define G_SCALE 0u     // sum, mean: g p0
#define G_VAR 1u       // g (x - mean) p0, p0 = 2 / (N - correction)
#define G_STD 2u       // g (x - mean) p0 / y, p0 = 1 / (N - correction); 0 where y = 0
#define G_EXTREME 3u   // max, min: g / count where x is the result (ties share), else 0
#define G_NORM1 4u     // g sign(x)
#define G_NORM2 5u     // g x / y; 0 where y = 0
#define G_NORMP 6u     // g sign(x) (|x| / y)^p0, p0 = p - 1; 0 where x = 0 or y = 0
#define G_NORMINF 7u   // g sign(x) / count where |x| is the result, else 0
#define G_LSE 8u       // g exp(x - lse)

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  uint o = strided_offset(i, pc.ndim, pc.shape, pc.so);
  float g = LD(pc.g, o);
  float d = 0.0;
  if (pc.op == G_SCALE) {
    d = g * pc.p0;
  } else {
    float x = LD(pc.x, strided_offset(i, pc.ndim, pc.shape, pc.sx));
    switch (pc.op) {
      case G_VAR: d = g * (x - F32Buf(pc.aux).v[o]) * pc.p0; break;
      case G_STD: {
        float y = LD(pc.y, o);
        d = y == 0.0 ? 0.0 : g * (x - F32Buf(pc.aux).v[o]) * (pc.p0 / y);
        break;
      }
      case G_EXTREME: {
        float y = LD(pc.y, o);
        d = (x == y || (isnan(x) && isnan(y))) ? g / F32Buf(pc.aux).v[o] : 0.0;
        break;
      }
      case G_NORM1: d = g * sign(x); break;
      case G_NORM2: {
        float y = LD(pc.y, o);
        d = y == 0.0 ? 0.0 : g * (x / y);
        break;
      }
      case G_NORMP: {
        float y = LD(pc.y, o);
        // (|x| / y)^(p-1) rather than |x|^(p-1) / y^(p-1): both powers can overflow f32 on their own.
        d = (x == 0.0 || y == 0.0) ? 0.0 : g * sign(x) * pow(abs(x) / y, pc.p0);
        break;
      }
      case G_NORMINF: {
        float y = LD(pc.y, o);
        d = (abs(x) == y || (isnan(x) && isnan(y))) ? g * sign(x) / F32Buf(pc.aux).v[o] : 0.0;
        break;
      }
      default: d = g * exp(x - F32Buf(pc.aux).v[o]); break;  // G_LSE
    }
  }
  ST(pc.dx, i, d);
}
