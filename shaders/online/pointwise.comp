#version 450
//! variants: f32 f16 bf16
// Elementwise online-learning updates over big state, arithmetic in f32: the Fisher update
// (in place), the natural-gradient step (in place) and the EWC penalty's gradients. Op codes and
// the push layout match PointPush in src/ops/online.cpp.
#include "common/types.glsl"
#include "common/typed.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t a;
  uint64_t b;
  uint64_t c;
  uint64_t g;   // EWC gradient: the 0-d output gradient
  uint64_t o1;  // outputs; 0 where not wanted
  uint64_t o2;
  uint64_t o3;
  uint n;
  uint op;
  float p0;
  float p1;
  uint vec4_ok;  // f32, n % 4 == 0, 16-byte aligned operands: one 16-byte access per operand
} pc;

#define OP_FISHER 0u   // a = F (in place), b = g: F <- p0 F + p1 g^2
#define OP_NATGRAD 1u  // a = theta (in place), b = g, c = F: theta -= p0 g / (F + p1)
#define OP_EWC_GRAD 2u // a = theta, b = theta*, c = F: o1 = p0 F d go, o2 = -o1, o3 = p0/2 d^2 go

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
#if defined(T_F32)
  if (pc.vec4_ok != 0u) {
    if (i * 4u >= pc.n) return;
    vec4 g = LD4(pc.b, i);
    if (pc.op == OP_FISHER) ST4(pc.a, i, pc.p0 * LD4(pc.a, i) + pc.p1 * (g * g));
    else ST4(pc.a, i, LD4(pc.a, i) - pc.p0 * (g / (LD4(pc.c, i) + pc.p1)));
    return;
  }
#endif
  if (i >= pc.n) return;
  if (pc.op == OP_FISHER) {
    float g = LD(pc.b, i);
    ST(pc.a, i, pc.p0 * LD(pc.a, i) + pc.p1 * (g * g));
  } else if (pc.op == OP_NATGRAD) {
    float g = LD(pc.b, i);
    ST(pc.a, i, LD(pc.a, i) - pc.p0 * (g / (LD(pc.c, i) + pc.p1)));
  } else {
    float go = LD(pc.g, 0);
    float d = LD(pc.a, i) - LD(pc.b, i);
    float gt = pc.p0 * LD(pc.c, i) * d * go;
    if (pc.o1 != 0ul) ST(pc.o1, i, gt);
    if (pc.o2 != 0ul) ST(pc.o2, i, -gt);
    if (pc.o3 != 0ul) ST(pc.o3, i, 0.5 * pc.p0 * d * d * go);
  }
}
