// Workgroup top-k of small k (<= KMAX, <= WG) over a row scanned in strided loops: a threshold
// from the threads' maxima first (tk_threshold), then each thread keeps its own best k (value
// desc, index asc) of the values reaching it in shared memory, then k rounds of a workgroup
// argmax over the threads' heads pick the row's best k. Ties go to the lower index; NaN counts as
// -inf. Needs WG and KMAX; a thread's list lives at [j * WG + tid] so the threads hit distinct
// banks.
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_EXT_control_flow_attributes : require

#define TOPK_NONE 0xffffffffu
shared float tk_v_[KMAX * WG];
shared uint tk_i_[KMAX * WG];
shared float tk_rv_[WG];
shared uint tk_ri_[WG];
shared float tk_m_[WG];     // per-thread maxima for the threshold
shared float tk_thr_;
shared float res_v_[KMAX];  // the row's top k, best first
shared uint res_i_[KMAX];

bool tk_better(float a, uint ia, float b, uint ib) { return a > b || (a == b && ia < ib); }

// This thread's k-th entry once its list is full, in registers: most candidates fail against it.
float tk_last_v = uintBitsToFloat(0xff800000u);
uint tk_last_i = TOPK_NONE;

// A lower bound of the row's k-th largest value (k <= WG) from each thread's maximum m: the k-th
// largest of the maxima (k elements reach it). Elements below it cannot be in the top k, so the
// scan pushes only the few that reach it and the lists stay short.
float tk_threshold(float m, uint k) {
  uint tid = gl_LocalInvocationID.x;
  if (isnan(m)) m = uintBitsToFloat(0xff800000u);
  tk_m_[tid] = m;
  barrier();
  uint rank = 0u;
  for (uint i = 0u; i < WG; ++i) {
    float o = tk_m_[i];
    rank += (o > m || (o == m && i < tid)) ? 1u : 0u;
  }
  if (rank == k - 1u) tk_thr_ = m;
  barrier();
  return tk_thr_;
}

// Inserts (v, i) into this thread's list of cnt entries (at most k kept).
void tk_push(float v, uint i, uint k, inout uint cnt) {
  uint tid = gl_LocalInvocationID.x;
  if (isnan(v)) v = uintBitsToFloat(0xff800000u);
  if (cnt == k && !tk_better(v, i, tk_last_v, tk_last_i)) return;
  uint p = cnt < k ? cnt : k - 1u;
  while (p > 0u && tk_better(v, i, tk_v_[(p - 1u) * WG + tid], tk_i_[(p - 1u) * WG + tid])) {
    tk_v_[p * WG + tid] = tk_v_[(p - 1u) * WG + tid];
    tk_i_[p * WG + tid] = tk_i_[(p - 1u) * WG + tid];
    --p;
  }
  tk_v_[p * WG + tid] = v;
  tk_i_[p * WG + tid] = i;
  if (cnt < k) ++cnt;
  if (cnt == k) {
    tk_last_v = tk_v_[(k - 1u) * WG + tid];
    tk_last_i = tk_i_[(k - 1u) * WG + tid];
  }
}

// k rounds of argmax over the threads' heads; fills res_v_/res_i_ (TOPK_NONE past the row's end).
// Returns how many of this thread's entries were taken (its winners are its first `head`).
uint tk_merge(uint k, uint cnt) {
  uint tid = gl_LocalInvocationID.x;
  uint head = 0u;
  for (uint r = 0u; r < k; ++r) {
    float v = uintBitsToFloat(0xff800000u);
    uint ix = TOPK_NONE;
    if (head < cnt) {
      v = tk_v_[head * WG + tid];
      ix = tk_i_[head * WG + tid];
    }
    float sm = subgroupMax(v);
    uint si = subgroupMin(v == sm ? ix : TOPK_NONE);
    if (subgroupElect()) {
      tk_rv_[gl_SubgroupID] = sm;
      tk_ri_[gl_SubgroupID] = si;
    }
    barrier();
    float bv = tk_rv_[0];
    uint bi = tk_ri_[0];
    for (uint s = 1u; s < gl_NumSubgroups; ++s)
      if (tk_better(tk_rv_[s], tk_ri_[s], bv, bi)) {
        bv = tk_rv_[s];
        bi = tk_ri_[s];
      }
    if (ix == bi && bi != TOPK_NONE) ++head;
    if (tid == 0u) {
      res_v_[r] = bv;
      res_i_[r] = bi;
    }
    barrier();
  }
  return head;
}
