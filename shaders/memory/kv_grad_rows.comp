#version 450
//! variants: f32 f16 bf16
// Softmax part of the key-value read's backward, one workgroup per row of the [rows, M] weights:
// dS = scale * P * (dP - sum_m P dP), reading P and dP once each (the sum is kept per thread
// while it reads, so the second pass re-reads the row from cache) and writing dS once.
#include "common/types.glsl"
#include "common/typed.glsl"
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#define WG 256u
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t p;    // [rows, M]
  uint64_t dp;   // [rows, M]
  uint64_t ds;   // [rows, M]
  uint rows;
  uint M;
  float scale;
  uint pad;
} pc;

shared float red_[WG];

void main() {
  uint row = flat_group();
  if (row >= pc.rows) return;
  uint tid = gl_LocalInvocationID.x;
  uint base = row * pc.M;
  float s = 0.0;
  for (uint j = tid; j < pc.M; j += WG) s += float(LD(pc.p, base + j)) * float(LD(pc.dp, base + j));
  s = subgroupAdd(s);
  if (subgroupElect()) red_[gl_SubgroupID] = s;
  barrier();
  float tot = 0.0;
  for (uint i = 0u; i < gl_NumSubgroups; ++i) tot += red_[i];
  for (uint j = tid; j < pc.M; j += WG) {
    float p = float(LD(pc.p, base + j));
    ST(pc.ds, base + j, pc.scale * p * (float(LD(pc.dp, base + j)) - tot));
  }
}
