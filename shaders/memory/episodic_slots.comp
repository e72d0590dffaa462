#version 450
// Episodic memory, least-used eviction: picks the slot of each of the K items of one write, in
// order, in one workgroup: a free slot while there is one, else the slot with the lowest usage
// count (ties: the oldest stamp) among those not written by this call (stamp < stamp0). The chosen
// slot's usage and stamp are set at once so later items of the call see it as taken.
#include "common/types.glsl"
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#define WG 256u
// Coherent: a slot claimed by one item must be seen by the scan of the next.
layout(buffer_reference, std430, buffer_reference_align = 4) coherent buffer CU32Buf { uint v[]; };
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t usage;  // [C] u32 counts
  uint64_t stamp;  // [C] u32 write stamps (0: never written)
  uint64_t slots;  // [K] u32 out
  uint K;
  uint C;
  uint size0;      // items stored before this call
  uint stamp0;     // stamp of the call's first item; item j gets stamp0 + j
} pc;

shared uvec3 red_[WG];

// Orders (usage, stamp) pairs; packed into one 64-bit key for a single min.
uint64_t key_of(uint s) {
  uint st = CU32Buf(pc.stamp).v[s];
  if (st >= pc.stamp0) return 0xffffffffffffffffUL;  // written by this call
  return (uint64_t(CU32Buf(pc.usage).v[s]) << 32) | uint64_t(st);
}

void main() {
  uint tid = gl_LocalInvocationID.x;
  for (uint j = 0u; j < pc.K; ++j) {
    uint slot;
    if (pc.size0 + j < pc.C) {
      slot = pc.size0 + j;
    } else {
      uint64_t best = 0xffffffffffffffffUL;
      uint bs = 0xffffffffu;
      for (uint s = tid; s < pc.C; s += WG) {
        uint64_t key = key_of(s);
        if (key < best) {
          best = key;
          bs = s;
        }
      }
      // Lexicographic min of (key high word, key low word, slot) with 32-bit subgroup ops.
      uint hi = uint(best >> 32), lo = uint(best);
      uint mh = subgroupMin(hi);
      uint ml = subgroupMin(hi == mh ? lo : 0xffffffffu);
      uint ms = subgroupMin(hi == mh && lo == ml ? bs : 0xffffffffu);
      if (subgroupElect()) red_[gl_SubgroupID] = uvec3(mh, ml, ms);
      barrier();
      uvec3 b = red_[0];
      for (uint i = 1u; i < gl_NumSubgroups; ++i) {
        uvec3 e = red_[i];
        if (e.x < b.x || (e.x == b.x && (e.y < b.y || (e.y == b.y && e.z < b.z)))) b = e;
      }
      uint s2 = b.z;
      slot = s2;
      barrier();
    }
    if (tid == 0u) {
      U32Buf(pc.slots).v[j] = slot;
      CU32Buf(pc.usage).v[slot] = 0u;
      CU32Buf(pc.stamp).v[slot] = pc.stamp0 + j;
    }
    // The next item's scan must see this slot's new stamp.
    memoryBarrierBuffer();
    barrier();
  }
}
