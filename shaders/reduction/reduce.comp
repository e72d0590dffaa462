#version 450
//! variants: f32 f16 bf16 i32 i64
// Sum, mean, max, min and p-norms over the [outer, rlen, inner] view: one accumulator per thread
// (f32 for float dtypes, i64 for integers). Op codes match ReduceOp in src/ops/reduction.cpp.
// The two counting ops serve the backward of max, min and the INFINITY norm: how many elements of
// each line equal its result (src2, one value per output), so that ties share the gradient.
#include "reduction/reduce_common.glsl"

#define OP_SUM 0u
#define OP_MEAN 1u
#define OP_MAX 2u
#define OP_MIN 3u
#define OP_NORM1 4u
#define OP_NORM2 5u
#define OP_NORMP 6u    // p0 = p, p1 = 1 / p
#define OP_NORMINF 7u
#define OP_NORM0 8u
#define OP_COUNT_EQ 9u      // elements equal to src2[line] (NaN equals NaN)
#define OP_COUNT_ABS_EQ 10u // elements whose |x| equals src2[line]

struct State {
  ACC v;
};
shared ACC sh_v[256];

State st_init() {
  State s;
#if IS_FLOAT
  s.v = pc.op == OP_MAX ? -f_inf() : (pc.op == OP_MIN ? f_inf() : 0.0);
#else
  s.v = pc.op == OP_MAX ? (-9223372036854775807l - 1l) : (pc.op == OP_MIN ? 9223372036854775807l : 0l);
#endif
  return s;
}

ACC c_add(ACC a, ACC b) { return a + b; }
#if IS_FLOAT
// NaN wins both ways, as in PyTorch (a plain max() leaves NaN handling undefined).
ACC c_max(ACC a, ACC b) { return (isnan(a) || a >= b) ? a : b; }
ACC c_min(ACC a, ACC b) { return (isnan(a) || a <= b) ? a : b; }
float x_abs(float v) { return abs(v); }
float x_sq(float v) { return v * v; }
float x_powp(float v) { return v == 0.0 ? 0.0 : pow(abs(v), pc.p0); }
float x_nz(float v) { return v != 0.0 ? 1.0 : 0.0; }  // NaN counts as nonzero
float g_ref;  // the line's result, for the counting ops
float x_eq(float v) { return (v == g_ref || (isnan(v) && isnan(g_ref))) ? 1.0 : 0.0; }
float x_abs_eq(float v) { return (abs(v) == g_ref || (isnan(v) && isnan(g_ref))) ? 1.0 : 0.0; }
#else
ACC c_max(ACC a, ACC b) { return max(a, b); }
ACC c_min(ACC a, ACC b) { return min(a, b); }
#endif
ACC x_id(ACC v) { return v; }

State st_combine(State a, State b) {
  switch (pc.op) {
    case OP_MAX:
    case OP_NORMINF: a.v = c_max(a.v, b.v); break;
    case OP_MIN: a.v = c_min(a.v, b.v); break;
    default: a.v += b.v; break;
  }
  return a;
}
State st_shuffle_xor(State s, uint m) {
  s.v = shuffle_xor(s.v, m);
  return s;
}
void sh_put(uint i, State s) { sh_v[i] = s.v; }
State sh_get(uint i) {
  State s;
  s.v = sh_v[i];
  return s;
}
State st_load(uint i) {
  State s;
  s.v = acc_at(pc.src, i);
  return s;
}
void st_save(uint i, State s) { acc_put(pc.dst, i, s.v); }

void st_finish(uint i, State s) {
#if IS_FLOAT
  float v = s.v;
  if (pc.op == OP_MEAN) v *= pc.p0;
  else if (pc.op == OP_NORM2) v = sqrt(v);
  else if (pc.op == OP_NORMP) v = v == 0.0 ? 0.0 : pow(v, pc.p1);
  if ((pc.flags & FLAG_OUT_F32) != 0u)
    F32Buf(pc.dst).v[i] = v;
  else
    ST(pc.dst, i, v);
#else
  if (pc.out_dt == DT_I64)
    I64Buf(pc.dst).v[i] = s.v;
  else
    I32Buf(pc.dst).v[i] = int(s.v);
#endif
}

// The op switch sits outside the element loop so the loop body is branch-free. Four independent
// loads are issued before they are folded, to keep several memory requests in flight per thread.
#define LOADX(i) ACC(LD(pc.src, (i)))
#define RUN(XF, COMB)                                                                  \
  {                                                                                    \
    uint r = r0;                                                                       \
    for (; r < r1 && r1 - r > 3u * step; r += 4u * step) {                             \
      ACC a0 = XF(LOADX(base + r * stride));                                           \
      ACC a1 = XF(LOADX(base + (r + step) * stride));                                  \
      ACC a2 = XF(LOADX(base + (r + 2u * step) * stride));                             \
      ACC a3 = XF(LOADX(base + (r + 3u * step) * stride));                             \
      s.v = COMB(s.v, COMB(COMB(a0, a1), COMB(a2, a3)));                               \
    }                                                                                  \
    for (; r < r1; r += step) s.v = COMB(s.v, XF(LOADX(base + r * stride)));          \
  }

void accumulate(inout State s, uint base, uint stride, uint r0, uint r1, uint step) {
  switch (pc.op) {
    case OP_MAX: RUN(x_id, c_max) break;
    case OP_MIN: RUN(x_id, c_min) break;
#if IS_FLOAT
    case OP_NORM1: RUN(x_abs, c_add) break;
    case OP_NORM2: RUN(x_sq, c_add) break;
    case OP_NORMP: RUN(x_powp, c_add) break;
    case OP_NORMINF: RUN(x_abs, c_max) break;
    case OP_NORM0: RUN(x_nz, c_add) break;
    case OP_COUNT_EQ:
      g_ref = LD(pc.src2, line_output(base));
      RUN(x_eq, c_add) break;
    case OP_COUNT_ABS_EQ:
      g_ref = LD(pc.src2, line_output(base));
      RUN(x_abs_eq, c_add) break;
#endif
    default: RUN(x_id, c_add) break;  // sum, mean
  }
}

#include "reduction/reduce_main.glsl"
