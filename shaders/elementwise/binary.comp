#version 450
//! variants: f32 f16 bf16 i32 i64 u8
// Broadcasting binary ops (arithmetic, min/max, comparisons to U8 masks), also with a scalar as
// the right operand. Op codes match src/ops/elementwise.cpp.
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t a;
  uint64_t b;
  uint64_t out_;
  int64_t iscalar;
  float fscalar;
  uint n;
  uint op;
  uint ndim;
  uint scalar;   // 1: b is the scalar operand
  uint vec4_ok;  // 1: flat, n % 4 == 0 and 16-byte aligned (f32 arithmetic only)
  uint shape[4];
  uint sa[4];
  uint sb[4];
} pc;

#define OP_ADD 0u
#define OP_SUB 1u
#define OP_MUL 2u
#define OP_DIV 3u
#define OP_POW 4u
#define OP_MIN 5u
#define OP_MAX 6u
#define OP_RSUB 7u
#define OP_RDIV 8u
#define OP_RPOW 9u
#define OP_EQ 10u
#define OP_NE 11u
#define OP_LT 12u
#define OP_LE 13u
#define OP_GT 14u
#define OP_GE 15u

#if IS_FLOAT
CT do_pow(CT x, CT y) {
  if (y == 0.0) return 1.0;
  if (y == 2.0) return x * x;
  if (x < 0.0 && y == floor(y)) {  // integral powers of negatives are defined
    float r = pow(-x, y);
    return mod(y, 2.0) == 1.0 ? -r : r;
  }
  return pow(x, y);
}
CT do_div(CT x, CT y) { return x / y; }
#else
CT do_pow(CT x, CT y) {
  if (y < CT(0)) return (x == CT(1)) ? CT(1) : ((x == CT(-1)) ? ((y % CT(2)) == CT(0) ? CT(1) : CT(-1)) : CT(0));
  CT r = CT(1);
  CT base = x;
  CT e = y;
  while (e > CT(0)) {
    if ((e % CT(2)) == CT(1)) r *= base;
    base *= base;
    e /= CT(2);
  }
  return r;
}
CT do_div(CT x, CT y) { return y == CT(0) ? CT(0) : x / y; }  // integer division truncates
#endif

CT arith(CT x, CT y) {
  switch (pc.op) {
    case OP_ADD: return x + y;
    case OP_SUB: return x - y;
    case OP_MUL: return x * y;
    case OP_DIV: return do_div(x, y);
    case OP_POW: return do_pow(x, y);
    case OP_MIN: return min(x, y);
    case OP_MAX: return max(x, y);
    case OP_RSUB: return y - x;
    case OP_RDIV: return do_div(y, x);
    default: return do_pow(y, x);
  }
}

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
#if defined(T_F32)
  if (pc.vec4_ok != 0u) {
    if (i * 4u >= pc.n) return;
    vec4 x = LD4(pc.a, i);
    vec4 y = pc.scalar != 0u ? vec4(pc.fscalar) : LD4(pc.b, i);
    ST4(pc.out_, i, vec4(arith(x.x, y.x), arith(x.y, y.y), arith(x.z, y.z), arith(x.w, y.w)));
    return;
  }
#endif
  if (i >= pc.n) return;
  uint ia = i, ib = i;
  if (pc.ndim > 0u) {
    uint rem = i;
    ia = 0u;
    ib = 0u;
    for (int d = int(pc.ndim) - 1; d >= 0; --d) {
      uint c = rem % pc.shape[d];
      rem /= pc.shape[d];
      ia += c * pc.sa[d];
      ib += c * pc.sb[d];
    }
  }
  CT x = LD(pc.a, ia);
#if IS_FLOAT
  CT y = pc.scalar != 0u ? CT(pc.fscalar) : LD(pc.b, ib);
#else
  CT y = pc.scalar != 0u ? CT(pc.iscalar) : LD(pc.b, ib);
#endif
  if (pc.op >= OP_EQ) {
    bool r;
    switch (pc.op) {
      case OP_EQ: r = x == y; break;
      case OP_NE: r = x != y; break;
      case OP_LT: r = x < y; break;
      case OP_LE: r = x <= y; break;
      case OP_GT: r = x > y; break;
      default: r = x >= y; break;
    }
    U8Buf(pc.out_).v[i] = uint8_t(r ? 1u : 0u);
    return;
  }
  ST(pc.out_, i, arith(x, y));
}
