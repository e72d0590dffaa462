// Shared pieces of the indexing kernels: raw element access by element width (data movement is
// bit-exact and needs no per-dtype kernel), index loads and the device-side out-of-range report.
#if defined(T_X8)
#define RAW uint8_t
#define RLD(p, i) U8Buf(p).v[i]
#define RST(p, i, x) U8Buf(p).v[i] = (x)
#elif defined(T_X16)
#define RAW uint16_t
#define RLD(p, i) U16Buf(p).v[i]
#define RST(p, i, x) U16Buf(p).v[i] = (x)
#elif defined(T_X32)
#define RAW uint
#define RLD(p, i) U32Buf(p).v[i]
#define RST(p, i, x) U32Buf(p).v[i] = (x)
#elif defined(T_X64)
#define RAW int64_t
#define RLD(p, i) I64Buf(p).v[i]
#define RST(p, i, x) I64Buf(p).v[i] = (x)
#endif

// Index tensors are i32 or i64; the flag comes from a push constant, so the branch is uniform.
int64_t load_index(uint64_t base, uint idx64, uint j) {
  return idx64 != 0u ? I64Buf(base).v[j] : int64_t(I32Buf(base).v[j]);
}

// Records the first bad index in the device's error block {code, tag, value_lo, value_hi}
// (see Device::check_device_errors): the compare-and-swap on word 0 elects one writer.
void report_index(uint64_t err, uint tag, int64_t idx) {
  if (atomicCompSwap(U32Buf(err).v[0], 0u, 1u) == 0u) {
    U32Buf(err).v[1] = tag;
    U32Buf(err).v[2] = uint(uint64_t(idx));
    U32Buf(err).v[3] = uint(uint64_t(idx) >> 32);
  }
}
