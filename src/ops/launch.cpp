// Kernel variant lookup and elementwise broadcast geometry.
#include "ops/launch.h"

namespace grl {

KernelSet::KernelSet(const char* base, std::initializer_list<grl_dtype> dtypes) : base_(base) {
  for (grl_dtype dt : dtypes) {
    names_[dt] = base_ + "." + dtype_name(dt);
    kernels_[dt] = std::make_unique<Kernel>(names_[dt].c_str());
  }
}

const Kernel& KernelSet::get(const char* fn, const char* arg, grl_dtype dt) const {
  if (!is_valid_dtype(dt) || !kernels_[dt]) {
    std::string list;
    for (int i = 0; i < GRL_DTYPE_COUNT; ++i)
      if (kernels_[i]) list += (list.empty() ? "" : ", ") + std::string(dtype_name(static_cast<grl_dtype>(i)));
    fail(GRL_ERROR_DTYPE, "%s: '%s' has dtype %s; this op takes %s", fn, arg, dtype_name(dt), list.c_str());
  }
  return *kernels_[dt];
}

Geometry elementwise_geometry(const Shape& out, std::initializer_list<const Tensor*> inputs) {
  Geometry g;
  bool flat = true;
  for (const Tensor* t : inputs)
    if (t && !(t->contiguous() && t->shape == out)) flat = false;
  if (flat) return g;
  const int nd = out.ndim;
  const int k = static_cast<int>(inputs.size());
  int64_t shape[8], st[4][8];
  int idx = 0;
  for (const Tensor* t : inputs) {
    for (int i = 0; i < nd; ++i) {
      int j = i - (nd - (t ? t->shape.ndim : 0));
      st[idx][i] = (!t || j < 0 || t->shape[j] == 1) ? 0 : t->stride[static_cast<size_t>(j)];
    }
    ++idx;
  }
  int m = 0;
  for (int i = 0; i < nd; ++i) {
    if (out[i] == 1) continue;
    bool merge = m > 0;
    for (int a = 0; a < k && merge; ++a)
      if (st[a][m - 1] != st[a][i] * out[i]) merge = false;
    if (merge) {
      shape[m - 1] *= out[i];
      for (int a = 0; a < k; ++a) st[a][m - 1] = st[a][i];
      continue;
    }
    shape[m] = out[i];
    for (int a = 0; a < k; ++a) st[a][m] = st[a][i];
    ++m;
  }
  if (m > 4) {
    g.fits = false;
    return g;
  }
  g.ndim = m == 0 ? 1 : m;  // a single element: one dim of size 1
  if (m == 0) {
    g.shape[0] = 1;
    return g;
  }
  for (int i = 0; i < m; ++i) {
    g.shape[static_cast<size_t>(i)] = static_cast<uint32_t>(shape[i]);
    for (int a = 0; a < k; ++a) g.stride[static_cast<size_t>(a)][static_cast<size_t>(i)] = static_cast<uint32_t>(st[a][i]);
  }
  return g;
}

TensorRef materialize(Tensor& x, const Shape& out) {
  TensorRef c = new_tensor(x.device(), x.dtype, out);
  copy_into(*c, x);
  return c;
}

void check_numel_u32(const char* fn, int64_t n) {
  if (n > static_cast<int64_t>(UINT32_MAX))
    fail(GRL_ERROR_UNSUPPORTED, "%s: %lld elements exceed the 2^32 limit of one kernel launch", fn,
         static_cast<long long>(n));
}

}  // namespace grl
