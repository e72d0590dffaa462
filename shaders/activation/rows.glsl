// Row-per-workgroup helpers shared by softmax and the normalization kernels: loads and stores of
// 4-element packs (one 16-byte f32 or 8-byte f16/bf16 access) and workgroup reductions.
// Needs WG (the workgroup size) and one of T_F32 / T_F16 / T_BF16, after common/typed.glsl.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_EXT_control_flow_attributes : require

layout(buffer_reference, std430, buffer_reference_align = 8) buffer U32x2Buf { uvec2 v[]; };

#if defined(T_F32)
#define ESIZE 4u
#else
#define ESIZE 2u
#endif

#define NEG_INF uintBitsToFloat(0xff800000u)

// Pack p of a row: elements 4p .. 4p+3. The caller guarantees 4-element alignment of `base`.
vec4 load_pack(uint64_t base, uint p) {
#if defined(T_F32)
  return F32x4Buf(base).v[p];
#else
  uvec2 u = U32x2Buf(base).v[p];
#if defined(T_F16)
  return vec4(vec2(unpackFloat2x16(u.x)), vec2(unpackFloat2x16(u.y)));
#else
  return vec4(uintBitsToFloat(u.x << 16), uintBitsToFloat(u.x & 0xffff0000u), uintBitsToFloat(u.y << 16),
              uintBitsToFloat(u.y & 0xffff0000u));
#endif
#endif
}

void store_pack(uint64_t base, uint p, vec4 v) {
#if defined(T_F32)
  F32x4Buf(base).v[p] = v;
#elif defined(T_F16)
  U32x2Buf(base).v[p] = uvec2(packFloat2x16(f16vec2(v.xy)), packFloat2x16(f16vec2(v.zw)));
#else
  U32x2Buf(base).v[p] = uvec2(uint(f32_to_bf16(v.x)) | (uint(f32_to_bf16(v.y)) << 16),
                              uint(f32_to_bf16(v.z)) | (uint(f32_to_bf16(v.w)) << 16));
#endif
}

// Elements 4p .. 4p+3 of a row of n, `pad` past the end. `vec` (n % 4 == 0 and aligned rows) takes
// one wide access; otherwise each element is read on its own, so any length and offset work.
vec4 row_load(uint64_t base, uint p, uint n, bool vec, float pad) {
  uint e = p * 4u;
  if (vec) return e < n ? load_pack(base, p) : vec4(pad);
  vec4 r = vec4(pad);
  [[unroll]] for (uint j = 0u; j < 4u; ++j)
    if (e + j < n) r[j] = LD(base, e + j);
  return r;
}

void row_store(uint64_t base, uint p, uint n, bool vec, vec4 v) {
  uint e = p * 4u;
  if (vec) {
    if (e < n) store_pack(base, p, v);
    return;
  }
  [[unroll]] for (uint j = 0u; j < 4u; ++j)
    if (e + j < n) ST(base, e + j, v[j]);
}

// 1.0 for the elements of pack p that lie inside a row of n, else 0.0.
vec4 row_mask(uint p, uint n) { return vec4(lessThan(uvec4(p * 4u) + uvec4(0u, 1u, 2u, 3u), uvec4(n))); }

float sum4(vec4 v) { return (v.x + v.y) + (v.z + v.w); }
float max4(vec4 v) { return max(max(v.x, v.y), max(v.z, v.w)); }

// Workgroup reductions: a subgroup step, one shared slot per subgroup, one barrier, then every
// subgroup folds the slots (lanes split them, a subgroup op joins them). The subgroup size is not
// assumed (8 on lavapipe, 32 on NVIDIA, 64 on AMD), so there are WG slots. A kernel calls one of
// these once (or once per row, with a barrier before the slots are written again): they share the
// slots, and a single barrier keeps both the GPU's synchronisation and lavapipe's compile time
// (its barriers are coroutine splits) low.
shared vec4 red_[WG];

// Sum of x over the workgroup, two values at once.
vec2 wg_sum2(vec2 x) {
  x = subgroupAdd(x);
  if (subgroupElect()) red_[gl_SubgroupID].xy = x;
  barrier();
  vec2 r = vec2(0.0);
  for (uint i = gl_SubgroupInvocationID; i < gl_NumSubgroups; i += gl_SubgroupSize) r += red_[i].xy;
  return subgroupAdd(r);
}

// Softmax statistics: from each thread's max m and sum s of exp(x - m), the row's max M and sum
// of exp(x - M). A max of -inf carries no mass (and -inf - -inf would be NaN).
vec2 wg_max_sum(float m, float s) {
  float sm = subgroupMax(m);
  float ss = subgroupAdd(m == NEG_INF ? 0.0 : s * exp(m - sm));
  if (subgroupElect()) red_[gl_SubgroupID].xy = vec2(sm, ss);
  barrier();
  float gm = NEG_INF;
  for (uint i = gl_SubgroupInvocationID; i < gl_NumSubgroups; i += gl_SubgroupSize) gm = max(gm, red_[i].x);
  gm = subgroupMax(gm);
  float gs = 0.0;
  for (uint i = gl_SubgroupInvocationID; i < gl_NumSubgroups; i += gl_SubgroupSize) {
    vec2 e = red_[i].xy;
    if (e.x != NEG_INF) gs += e.y * exp(e.x - gm);
  }
  return vec2(gm, subgroupAdd(gs));
}

// Mean and sum of squared deviations (M2) of the row from each thread's count n, sum and M2 about
// its own mean, combined with Chan et al.'s pairwise update, which never subtracts large sums.
vec2 wg_mean_m2(float n, float sum, float m2) {
  float sn = subgroupAdd(n), ssum = subgroupAdd(sum);
  float smean = sn > 0.0 ? ssum / sn : 0.0;
  float d = n > 0.0 ? sum / n - smean : 0.0;
  float sm2 = subgroupAdd(m2 + n * d * d);
  if (subgroupElect()) red_[gl_SubgroupID].xyz = vec3(sn, ssum, sm2);
  barrier();
  vec2 t = vec2(0.0);
  for (uint i = gl_SubgroupInvocationID; i < gl_NumSubgroups; i += gl_SubgroupSize) t += red_[i].xy;
  t = subgroupAdd(t);
  float mean = t.y / t.x;
  float q = 0.0;
  for (uint i = gl_SubgroupInvocationID; i < gl_NumSubgroups; i += gl_SubgroupSize) {
    vec3 e = red_[i].xyz;
    float de = e.x > 0.0 ? e.y / e.x - mean : 0.0;
    q += e.z + e.x * de * de;
  }
  return vec2(mean, subgroupAdd(q));
}
