// Shared pieces of the loss kernels: team reductions (a team of lanes shares one row) and the
// workgroup total that either becomes the loss itself or one partial for loss/finish.comp.
// Needs WG (the workgroup size), after common/types.glsl and common/typed.glsl.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_shuffle : require

#define NEG_INF uintBitsToFloat(0xff800000u)

// Packs of 4 elements (one 16-byte f32 or 8-byte f16/bf16 access): pack p of `base` holds
// elements 4p .. 4p+3; the host checks the 4-element alignment.
layout(buffer_reference, std430, buffer_reference_align = 8) buffer LossU32x2 { uvec2 v[]; };
#if defined(T_F32)
vec4 load4(uint64_t base, uint p) { return F32x4Buf(base).v[p]; }
void store4(uint64_t base, uint p, vec4 v) { F32x4Buf(base).v[p] = v; }
#elif defined(T_F16)
vec4 load4(uint64_t base, uint p) {
  uvec2 u = LossU32x2(base).v[p];
  return vec4(vec2(unpackFloat2x16(u.x)), vec2(unpackFloat2x16(u.y)));
}
void store4(uint64_t base, uint p, vec4 v) {
  LossU32x2(base).v[p] = uvec2(packFloat2x16(f16vec2(v.xy)), packFloat2x16(f16vec2(v.zw)));
}
#else
vec4 load4(uint64_t base, uint p) {
  uvec2 u = LossU32x2(base).v[p];
  return vec4(uintBitsToFloat(u.x << 16), uintBitsToFloat(u.x & 0xffff0000u), uintBitsToFloat(u.y << 16),
              uintBitsToFloat(u.y & 0xffff0000u));
}
void store4(uint64_t base, uint p, vec4 v) {
  LossU32x2(base).v[p] = uvec2(uint(f32_to_bf16(v.x)) | (uint(f32_to_bf16(v.y)) << 16),
                               uint(f32_to_bf16(v.z)) | (uint(f32_to_bf16(v.w)) << 16));
}
#endif
float max4(vec4 v) { return max(max(v.x, v.y), max(v.z, v.w)); }
float sum4(vec4 v) { return (v.x + v.y) + (v.z + v.w); }

// Teams of T lanes (a power of two) own one row each. A team no larger than a subgroup reduces
// with butterfly shuffles: subgroups hold consecutive invocations, so an aligned team never
// straddles two. Larger teams (whole subgroups; the host asks for the whole workgroup, but a
// driver may pick a smaller subgroup than it reported) go through shared memory with one barrier
// per reduction: a kernel that loops over rows alternates the sum slots (`slot` 0 / 1) or
// puts a team_max between two team_sums, so no slot is rewritten while another lane reads it.
shared float tmax_[WG];
shared vec4 tsum_[2 * WG];

float team_max(float v, uint T) {
  if (T <= gl_SubgroupSize) {
    for (uint o = T >> 1; o > 0u; o >>= 1) v = max(v, subgroupShuffleXor(v, o));
    return v;
  }
  v = subgroupMax(v);
  if (subgroupElect()) tmax_[gl_SubgroupID] = v;
  barrier();
  // The team's subgroups are consecutive: fold their slots.
  uint first = (gl_LocalInvocationID.x & ~(T - 1u)) / gl_SubgroupSize, count = T / gl_SubgroupSize;
  float r = NEG_INF;
  for (uint i = 0u; i < count; ++i) r = max(r, tmax_[first + i]);
  return r;
}

vec4 team_sum(vec4 v, uint T, uint slot) {
  if (T <= gl_SubgroupSize) {
    for (uint o = T >> 1; o > 0u; o >>= 1) v += subgroupShuffleXor(v, o);
    return v;
  }
  v = subgroupAdd(v);
  if (subgroupElect()) tsum_[slot * WG + gl_SubgroupID] = v;
  barrier();
  uint first = (gl_LocalInvocationID.x & ~(T - 1u)) / gl_SubgroupSize, count = T / gl_SubgroupSize;
  vec4 r = vec4(0.0);
  for (uint i = 0u; i < count; ++i) r += tsum_[slot * WG + first + i];
  return r;
}

// (loss sum, counted items) of the whole workgroup, in every invocation.
shared vec2 total_[WG];
vec2 wg_total(vec2 v) {
  v = subgroupAdd(v);
  if (subgroupElect()) total_[gl_SubgroupID] = v;
  barrier();
  vec2 r = vec2(0.0);
  for (uint i = gl_SubgroupInvocationID; i < gl_NumSubgroups; i += gl_SubgroupSize) r += total_[i];
  return subgroupAdd(r);
}

// Invocation 0 stores the workgroup's total: as partial {sum, count} number `group` of `part`, or,
// when part is 0 (one workgroup did all the work), as the reduced loss: the sum, or for a mean the
// sum over `div` (div < 0: over the count). aux, if set, receives the count at aux_index (the
// backward of a mean over non-ignored targets needs it).
void store_total(vec2 t, uint64_t part, uint group, uint64_t out_, uint64_t aux, uint aux_index, bool mean,
                 float div) {
  if (gl_LocalInvocationID.x != 0u) return;
  if (part != uint64_t(0)) {
    F32Buf(part).v[2u * group] = t.x;
    F32Buf(part).v[2u * group + 1u] = t.y;
    return;
  }
  ST(out_, 0u, mean ? t.x / (div < 0.0 ? t.y : div) : t.x);
  if (aux != uint64_t(0)) F32Buf(aux).v[aux_index] = t.y;
}

// Index tensors are i32 or i64; the flag comes from a push constant, so the branch is uniform.
int64_t load_target(uint64_t base, bool i64, uint j) {
  return i64 ? I64Buf(base).v[j] : int64_t(I32Buf(base).v[j]);
}

// Records the first bad index in the device's error block {code, tag, value_lo, value_hi} (see
// Device::check_device_errors); the compare-and-swap on word 0 elects one writer.
void report_index(uint64_t err, uint tag, int64_t idx) {
  if (atomicCompSwap(U32Buf(err).v[0], 0u, 1u) == 0u) {
    U32Buf(err).v[1] = tag;
    U32Buf(err).v[2] = uint(uint64_t(idx));
    U32Buf(err).v[3] = uint(uint64_t(idx) >> 32);
  }
}
