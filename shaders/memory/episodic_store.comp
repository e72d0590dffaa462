#version 450
// Episodic memory write: copies item j's key and value rows into its slot, one thread per element
// of the wider row. Slots come from episodic_slots.comp (least-used) or, for FIFO eviction, from
// the ring position (first + j) % C; the FIFO path also sets usage and stamp here. The first
// thread of an item also stores its key's norm.
#include "common/types.glsl"
layout(local_size_x = 256) in;
layout(push_constant) uniform Push {
  uint64_t keys;    // [K, dk] f32
  uint64_t values;  // [K, dv] f32
  uint64_t mkeys;   // [C, dk]
  uint64_t mvalues; // [C, dv]
  uint64_t slots;   // [K] u32, or 0: ring positions
  uint64_t usage;
  uint64_t stamp;
  uint64_t norms;   // [C] f32 key norms (for cosine reads)
  uint K;
  uint C;
  uint dk;
  uint dv;
  uint first;       // ring position of item 0
  uint stamp0;
} pc;

void main() {
  uint i = flat_group() * 256u + gl_LocalInvocationID.x;
  uint w = max(pc.dk, pc.dv);
  if (i >= pc.K * w) return;
  uint j = i / w, c = i % w;
  uint slot = pc.slots != 0ul ? U32Buf(pc.slots).v[j] : (pc.first + j) % pc.C;
  if (c < pc.dk) F32Buf(pc.mkeys).v[slot * pc.dk + c] = F32Buf(pc.keys).v[j * pc.dk + c];
  if (c < pc.dv) F32Buf(pc.mvalues).v[slot * pc.dv + c] = F32Buf(pc.values).v[j * pc.dv + c];
  if (c == 0u) {
    float n2 = 0.0;
    for (uint e = 0u; e < pc.dk; ++e) n2 += F32Buf(pc.keys).v[j * pc.dk + e] * F32Buf(pc.keys).v[j * pc.dk + e];
    F32Buf(pc.norms).v[slot] = sqrt(n2);
  }
  if (c == 0u && pc.slots == 0ul) {
    U32Buf(pc.usage).v[slot] = 0u;
    U32Buf(pc.stamp).v[slot] = pc.stamp0 + j;
  }
}
