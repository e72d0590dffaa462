// Offsets of a strided operand for a flat (row-major) output index, for up to 4 coalesced dims.
// shape/stride come from push constants; ndim 0 means contiguous (offset = index).
uint strided_offset(uint idx, uint ndim, uvec4 shape, uvec4 stride) {
  if (ndim == 0u) return idx;
  uint off = 0u;
  for (int d = int(ndim) - 1; d >= 0; --d) {
    uint s = shape[d];
    off += (idx % s) * stride[d];
    idx /= s;
  }
  return off;
}
