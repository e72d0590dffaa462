// Reduction kernels: the workgroup driver shared by every family (row-per-subgroup and tiled modes,
// subgroup butterflies and the shared-memory tree). Included last by each reduction .comp file.
//
// Before including this, a family defines:
//   struct State;  State st_init();  State st_combine(State a, State b);
//   State st_shuffle_xor(State s, uint mask);  void sh_put(uint i, State s);  State sh_get(uint i);
//   State st_load(uint i);  void st_save(uint i, State s);     partial states (src / dst)
//   void st_finish(uint i, State s);                           final value into pc.dst
//   void accumulate(inout State s, uint base, uint stride, uint r0, uint r1, uint step);
//     folds the input elements base + r * stride for r = r0, r0 + step, ... < r1.
// st_combine must not depend on argument order beyond rounding (ties are broken by content, e.g.
// the smaller index), because lanes and threads meet in a butterfly and a tree.

// Butterfly over the subgroup: every lane ends with the whole subgroup's state. Assumes a power of
// two subgroup size (every Vulkan implementation has one) but not which.
State subgroup_reduce(State s) {
  for (uint m = 1u; m < gl_SubgroupSize; m <<= 1u) s = st_combine(s, st_shuffle_xor(s, m));
  return s;
}

void reduce_range(inout State s, uint base, uint stride, uint r0, uint r1, uint step) {
  if ((pc.flags & FLAG_SRC_STATE) != 0u) {
    for (uint r = r0; r < r1; r += step) s = st_combine(s, st_load(base + r * stride));
  } else {
    accumulate(s, base, stride, r0, r1, step);
  }
}

void emit(uint state_index, uint out_index, State s) {
  if ((pc.flags & FLAG_DST_STATE) != 0u)
    st_save(state_index, s);
  else
    st_finish(out_index, s);
}

void main() {
  uint g = flat_group();
  if (g >= pc.ngroups) return;  // the 2-d grid of dispatch_1d may overshoot; whole workgroups leave

  if (pc.mode == MODE_ROWS) {
    // Short rows (inner == 1, one chunk): one subgroup per row, no shared memory, no barrier. The
    // row loop is subgroup-uniform, so whole subgroups enter the shuffles.
    uint first = g * pc.rows_per_group;
    uint last = min(first + pc.rows_per_group, pc.outer);
    for (uint row = first + gl_SubgroupID; row < last; row += gl_NumSubgroups) {
      State s = st_init();
      reduce_range(s, row * pc.rlen, 1u, gl_SubgroupInvocationID, pc.rlen, gl_SubgroupSize);
      s = subgroup_reduce(s);
      if (subgroupElect()) emit(row, row, s);
    }
    return;
  }

  // Tiled mode: workgroup (o, chunk, tile) covers TI adjacent inner columns and TR = 256 / TI
  // threads along the reduced axis. Consecutive threads read consecutive columns of one row
  // (coalesced); with TI == 1 (reducing the last axis) they read consecutive elements of the row.
  uint tile = g % pc.tiles;
  uint rest = g / pc.tiles;
  uint chunk = rest % pc.nchunks;
  uint o = rest / pc.nchunks;
  uint tid = gl_LocalInvocationID.x;
  uint ti_n = 1u << pc.ti_log2;
  uint tr_n = 256u >> pc.ti_log2;
  uint ti = tid & (ti_n - 1u);
  uint tr = tid >> pc.ti_log2;
  uint j = tile * ti_n + ti;
  uint r0 = chunk * pc.chunk;
  uint r1 = min(r0 + pc.chunk, pc.rlen);
  State s = st_init();
  if (j < pc.inner) reduce_range(s, o * pc.rlen * pc.inner + j, pc.inner, r0 + tr, r1, tr_n);
  uint state_index = (o * pc.nchunks + chunk) * pc.inner + j;
  uint out_index = o * pc.inner + j;

  if (pc.ti_log2 == 0u) {
    // One column: subgroups reduce in registers, then the first subgroup folds their results.
    s = subgroup_reduce(s);
    if (subgroupElect()) sh_put(gl_SubgroupID, s);
    barrier();
    if (gl_SubgroupID == 0u) {
      State t = st_init();
      for (uint k = gl_SubgroupInvocationID; k < gl_NumSubgroups; k += gl_SubgroupSize) t = st_combine(t, sh_get(k));
      t = subgroup_reduce(t);
      if (subgroupElect()) emit(state_index, out_index, t);
    }
  } else {
    // Several columns: a shared-memory tree over the TR threads of each column (which lanes form a
    // subgroup is not specified, so subgroups cannot be relied on to hold one column's threads).
    sh_put(tid, s);
    for (uint h = tr_n >> 1u; h > 0u; h >>= 1u) {
      barrier();
      if (tr < h) {
        s = st_combine(s, sh_get(tid + h * ti_n));
        sh_put(tid, s);
      }
    }
    if (tr == 0u && j < pc.inner) emit(state_index, out_index, s);
  }
}
