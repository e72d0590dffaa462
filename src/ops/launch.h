// Shared launch helpers for op families: kernel variant lookup by dtype, the broadcast geometry of
// elementwise kernels (coalesced to at most 4 dims), and workgroup counts.
#pragma once
#include <array>
#include <initializer_list>
#include <string>

#include "capi/api.h"

namespace grl {

// Kernel lookup for "<family>/<name>.<dtype>", cached per (name, dtype) at the call site:
//   static KernelSet k("elementwise/binary", {GRL_F32, GRL_F16});  ...  k.get(fn, x.dtype)
class KernelSet {
 public:
  KernelSet(const char* base, std::initializer_list<grl_dtype> dtypes);
  // The kernel for dtype, or a GRL_ERROR_DTYPE naming the op and the dtypes it takes.
  const Kernel& get(const char* fn, const char* arg, grl_dtype dt) const;

 private:
  std::string base_;
  std::array<std::unique_ptr<Kernel>, GRL_DTYPE_COUNT> kernels_;
  std::array<std::string, GRL_DTYPE_COUNT> names_;
};

// Geometry of an elementwise launch over a contiguous output of shape `out`: each input's strides
// aligned to the output (0 where broadcast) and adjacent dims merged. ndim 0 means every input is
// contiguous with the output's shape (flat indexing).
struct Geometry {
  int ndim = 0;
  std::array<uint32_t, 4> shape{};
  std::array<std::array<uint32_t, 4>, 4> stride{};  // [input][dim]
  bool fits = true;                                 // false: more than 4 dims remain
};
Geometry elementwise_geometry(const Shape& out, std::initializer_list<const Tensor*> inputs);

// An input prepared for an elementwise kernel: the tensor itself, or a broadcast-materialised
// contiguous copy when the geometry needs more than 4 dims.
TensorRef materialize(Tensor& x, const Shape& out);

inline uint64_t groups_for(int64_t n, int64_t per_group = 256) {
  return static_cast<uint64_t>((n + per_group - 1) / per_group);
}

// Element-count limit of the flat 32-bit indexing used by kernels.
void check_numel_u32(const char* fn, int64_t n);

}  // namespace grl
