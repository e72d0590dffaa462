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
  uint pad2;
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

// The rule for one element: x (when read), and the values y, g, aux of its output element at o.
float rule(float x, uint o, float g) {
  switch (pc.op) {
    case G_VAR: return g * (x - F32Buf(pc.aux).v[o]) * pc.p0;
    case G_STD: {
      float y = LD(pc.y, o);
      return y == 0.0 ? 0.0 : g * (x - F32Buf(pc.aux).v[o]) * (pc.p0 / y);
    }
    case G_EXTREME: {
      float y = LD(pc.y, o);
      return (x == y || (isnan(x) && isnan(y))) ? g / F32Buf(pc.aux).v[o] : 0.0;
    }
    case G_NORM1: return g * sign(x);
    case G_NORM2: {
      float y = LD(pc.y, o);
      return y == 0.0 ? 0.0 : g * (x / y);
    }
    case G_NORMP: {
      float y = LD(pc.y, o);
      // (|x| / y)^(p-1) rather than |x|^(p-1) / y^(p-1): both powers can overflow f32 on their own.
      return (x == 0.0 || y == 0.0) ? 0.0 : g * sign(x) * pow(abs(x) / y, pc.p0);
    }
    case G_NORMINF: {
      float y = LD(pc.y, o);
      return (abs(x) == y || (isnan(x) && isnan(y))) ? g * sign(x) / F32Buf(pc.aux).v[o] : 0.0;
    }
    default: return g * exp(x - F32Buf(pc.aux).v[o]);  // G_LSE
  }
}

// A workgroup takes 256 * PER consecutive elements, each thread PER of them 256 apart (so every
// load and store of a subgroup stays contiguous); a thread steps its offsets along the innermost
// dim, so the divisions of strided_offset (the bulk of the work at one element per thread) mostly
// run once per thread.
#define PER 4u  // kGradPerThread in src/ops/reduction.cpp

void main() {
  uint i = flat_group() * (256u * PER) + gl_LocalInvocationID.x;
  if (i >= pc.n) return;
  uint last = pc.ndim == 0u ? 0u : pc.ndim - 1u;
  uint inner = pc.ndim == 0u ? 0xffffffffu : pc.shape[last];
  uint step_x = pc.ndim == 0u ? 256u : 256u * pc.sx[last];
  uint step_o = pc.ndim == 0u ? 256u : 256u * pc.so[last];
  uint c = i % inner;
  uint ox = strided_offset(i, pc.ndim, pc.shape, pc.sx);
  uint oo = strided_offset(i, pc.ndim, pc.shape, pc.so);
  for (uint k = 0u; k < PER; ++k, i += 256u) {
    if (i >= pc.n) return;
    if (k > 0u) {
      c += 256u;
      if (c < inner) {
        ox += step_x;
        oo += step_o;
      } else {
        c = i % inner;
        ox = strided_offset(i, pc.ndim, pc.shape, pc.sx);
        oo = strided_offset(i, pc.ndim, pc.shape, pc.so);
      }
    }
    float g = LD(pc.g, oo);
    float d;
    if (pc.op == G_SCALE)  // sum, mean: x is not read (pc.x is 0)
      d = g * pc.p0;
    else
      d = rule(LD(pc.x, ox), oo, g);
    ST(pc.dx, i, d);
  }
}
