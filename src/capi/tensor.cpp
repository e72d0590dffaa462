// C ABI for tensors: creation, host transfers, metadata, views, copies and casts.
#include <algorithm>
#include <cstring>

#include "autograd/autograd.h"
#include "capi/api.h"
#include "ops/compose.h"

using namespace grl;

namespace {

void check_bytes(const char* fn, const Tensor& t, size_t nbytes) {
  size_t want = static_cast<size_t>(t.numel()) * t.elsize();
  if (nbytes != want)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: nbytes is %zu but the tensor (%s %s) holds %zu bytes", fn, nbytes,
         dtype_name(t.dtype), t.shape.str().c_str(), want);
}

// Copies host data into a tensor (any layout).
void upload_into(Tensor& t, const void* data) {
  size_t bytes = static_cast<size_t>(t.numel()) * t.elsize();
  if (bytes == 0) return;
  Device& dev = t.dev();
  if (t.contiguous()) {
    dev.upload(t.block(), static_cast<size_t>(t.offset) * t.elsize(), data, bytes);
    return;
  }
  TensorRef tmp = new_tensor(t.device(), t.dtype, t.shape);
  dev.upload(tmp->block(), 0, data, bytes);
  copy_into(t, *tmp);
}

int64_t prod(const Shape& s) { return s.numel(); }

namespace ag = grl::autograd;

// View and layout ops: the gradient is reshaped back to the input's shape.
void record_reshape_like(const char* name, Tensor& x, Tensor& out) {
  if (!ag::needs_grad({&x})) return;
  Shape in = x.shape;
  ag::record(name, out, {&x}, [in](Tensor& g) {
    std::vector<TensorRef> r;
    r.push_back(op::call(grl_reshape, &g, in.d.data(), in.ndim));
    return r;
  });
}

// Ops whose gradient passes through unchanged (dtype and broadcast are undone by the engine).
void record_identity(const char* name, Tensor& x, Tensor& out) {
  if (!ag::needs_grad({&x})) return;
  ag::record(name, out, {&x}, [](Tensor& g) {
    std::vector<TensorRef> r;
    r.push_back(TensorRef::retain(&g));
    return r;
  });
}

GRL_BACKWARD_RULE(reshape);
GRL_BACKWARD_RULE(transpose);
GRL_BACKWARD_RULE(permute);
GRL_BACKWARD_RULE(slice);
GRL_BACKWARD_RULE(expand);
GRL_BACKWARD_RULE(squeeze);
GRL_BACKWARD_RULE(unsqueeze);
GRL_BACKWARD_RULE(contiguous);
GRL_BACKWARD_RULE(clone);
GRL_BACKWARD_RULE(cast);

}  // namespace

extern "C" {

GRL_API grl_status grl_tensor_empty(grl_device device, grl_dtype dtype, const int64_t* shape, int32_t ndim,
                                    grl_tensor* out) {
  GRL_API_BEGIN();
  auto& d = arg_device(__func__, "device", device);
  arg_dtype(__func__, "dtype", dtype);
  Shape s = arg_shape(__func__, "shape", shape, ndim);
  GRL_CHECK_OUT(out);
  DeviceLock lock(d.impl->mutex());
  *out = new_tensor(&d, dtype, s).release();
  GRL_API_END();
}

GRL_API grl_status grl_tensor_zeros(grl_device device, grl_dtype dtype, const int64_t* shape, int32_t ndim,
                                    grl_tensor* out) {
  GRL_API_BEGIN();
  auto& d = arg_device(__func__, "device", device);
  arg_dtype(__func__, "dtype", dtype);
  Shape s = arg_shape(__func__, "shape", shape, ndim);
  GRL_CHECK_OUT(out);
  DeviceLock lock(d.impl->mutex());
  TensorRef t = new_tensor(&d, dtype, s);
  if (t->block()) d.impl->fill_zero(t->block(), 0, t->storage->nbytes);
  *out = t.release();
  GRL_API_END();
}

GRL_API grl_status grl_tensor_from_host(grl_device device, grl_dtype dtype, const int64_t* shape, int32_t ndim,
                                        const void* data, size_t nbytes, grl_tensor* out) {
  GRL_API_BEGIN();
  auto& d = arg_device(__func__, "device", device);
  arg_dtype(__func__, "dtype", dtype);
  Shape s = arg_shape(__func__, "shape", shape, ndim);
  GRL_CHECK_OUT(out);
  size_t want = static_cast<size_t>(prod(s)) * dtype_size(dtype);
  if (nbytes != want)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: nbytes is %zu but shape %s of %s needs %zu bytes", __func__, nbytes,
         s.str().c_str(), dtype_name(dtype), want);
  if (want) arg_not_null(__func__, "data", data);
  DeviceLock lock(d.impl->mutex());
  TensorRef t = new_tensor(&d, dtype, s);
  upload_into(*t, data);
  *out = t.release();
  GRL_API_END();
}

GRL_API void grl_tensor_retain(grl_tensor tensor) {
  if (tensor) tensor->refs.fetch_add(1);
}

GRL_API void grl_tensor_release(grl_tensor tensor) { tensor_release(tensor); }

GRL_API grl_status grl_tensor_upload(grl_tensor tensor, const void* data, size_t nbytes) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "tensor", tensor);
  check_bytes(__func__, t, nbytes);
  if (nbytes) arg_not_null(__func__, "data", data);
  DeviceLock lock(t.dev().mutex());
  upload_into(t, data);
  GRL_API_END();
}

GRL_API grl_status grl_tensor_download(grl_tensor tensor, void* data, size_t nbytes) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "tensor", tensor);
  check_bytes(__func__, t, nbytes);
  if (nbytes) arg_not_null(__func__, "data", data);
  DeviceLock lock(t.dev().mutex());
  if (nbytes) {
    TensorRef c = contiguous(t);
    c->dev().download(c->block(), static_cast<size_t>(c->offset) * c->elsize(), data, nbytes);
  }
  t.dev().synchronize();  // reports errors found on the device by the kernels that produced it
  GRL_API_END();
}

GRL_API grl_status grl_tensor_fill_(grl_tensor tensor, double value) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "tensor", tensor);
  not_grad_in_place(__func__, "tensor", &t);
  DeviceLock lock(t.dev().mutex());
  fill(t, value);
  GRL_API_END();
}

GRL_API int32_t grl_tensor_ndim(grl_tensor t) { return t ? t->shape.ndim : 0; }

GRL_API int64_t grl_tensor_dim(grl_tensor t, int32_t axis) {
  if (!t) return 0;
  int nd = t->shape.ndim;
  if (axis < 0) axis += nd;
  return axis >= 0 && axis < nd ? t->shape[axis] : 0;
}

GRL_API int64_t grl_tensor_stride(grl_tensor t, int32_t axis) {
  if (!t) return 0;
  int nd = t->shape.ndim;
  if (axis < 0) axis += nd;
  return axis >= 0 && axis < nd ? t->stride[static_cast<size_t>(axis)] : 0;
}

GRL_API int64_t grl_tensor_numel(grl_tensor t) { return t ? t->numel() : 0; }
GRL_API grl_dtype grl_tensor_dtype(grl_tensor t) { return t ? t->dtype : GRL_F32; }
GRL_API uint32_t grl_tensor_is_contiguous(grl_tensor t) { return t && t->contiguous() ? 1u : 0u; }
GRL_API grl_device grl_tensor_device(grl_tensor t) { return t ? t->device() : nullptr; }

GRL_API grl_status grl_tensor_shape(grl_tensor tensor, int64_t* out) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "tensor", tensor);
  GRL_CHECK_OUT(out);
  for (int i = 0; i < t.shape.ndim; ++i) out[i] = t.shape[i];
  GRL_API_END();
}

// ---- views ----

GRL_API grl_status grl_reshape(grl_tensor x, const int64_t* shape, int32_t ndim, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  if (ndim < 0 || ndim > GRL_MAX_DIMS)
    fail(GRL_ERROR_SHAPE, "%s: ndim is %d; expected 0..%d", __func__, ndim, GRL_MAX_DIMS);
  if (ndim > 0) arg_not_null(__func__, "shape", shape);
  Shape s;
  s.ndim = ndim;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < ndim; ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) fail(GRL_ERROR_SHAPE, "%s: only one dimension of 'shape' may be -1", __func__);
      infer = i;
      continue;
    }
    if (shape[i] < 0) fail(GRL_ERROR_SHAPE, "%s: shape[%d] = %lld; sizes must be >= 0 (or one -1)", __func__, i,
                           static_cast<long long>(shape[i]));
    s[i] = shape[i];
    known *= shape[i];
  }
  int64_t n = t.numel();
  if (infer >= 0) {
    if (known == 0 || n % known != 0)
      fail(GRL_ERROR_SHAPE, "%s: cannot infer the -1 dimension: %lld elements do not divide into %lld", __func__,
           static_cast<long long>(n), static_cast<long long>(known));
    s[infer] = n / known;
  }
  if (s.numel() != n)
    fail(GRL_ERROR_SHAPE, "%s: shape %s has %lld elements but x %s has %lld", __func__, s.str().c_str(),
         static_cast<long long>(s.numel()), t.shape.str().c_str(), static_cast<long long>(n));
  DeviceLock lock(t.dev().mutex());
  TensorRef src = contiguous(t);
  TensorRef r = make_view(*src, s, contiguous_strides(s), src->offset);
  record_reshape_like("reshape", t, *r);
  *out = r.release();
  GRL_API_END();
}

GRL_API grl_status grl_permute(grl_tensor x, const int32_t* axes, int32_t ndim, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  if (ndim != t.shape.ndim)
    fail(GRL_ERROR_SHAPE, "%s: 'axes' has %d entries but x has %d dims", __func__, ndim, t.shape.ndim);
  if (ndim) arg_not_null(__func__, "axes", axes);
  Shape s;
  s.ndim = ndim;
  std::array<int64_t, GRL_MAX_DIMS> st{};
  bool seen[GRL_MAX_DIMS] = {};
  for (int i = 0; i < ndim; ++i) {
    int a = arg_axis(__func__, "axes[i]", axes[i], ndim);
    if (seen[a]) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: axis %d appears twice in 'axes'", __func__, a);
    seen[a] = true;
    s[i] = t.shape[a];
    st[static_cast<size_t>(i)] = t.stride[static_cast<size_t>(a)];
  }
  TensorRef r = make_view(t, s, st, t.offset);
  if (ag::needs_grad({&t})) {
    std::vector<int32_t> inverse(static_cast<size_t>(ndim));
    for (int i = 0; i < ndim; ++i) inverse[static_cast<size_t>(axes[i] < 0 ? axes[i] + ndim : axes[i])] = i;
    ag::record("permute", *r, {&t}, [inverse](Tensor& g) {
      std::vector<TensorRef> res;
      res.push_back(op::call(grl_permute, &g, inverse.data(), static_cast<int32_t>(inverse.size())));
      return res;
    });
  }
  *out = r.release();
  GRL_API_END();
}

GRL_API grl_status grl_transpose(grl_tensor x, int32_t axis0, int32_t axis1, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  int nd = t.shape.ndim;
  int a = arg_axis(__func__, "axis0", axis0, nd), b = arg_axis(__func__, "axis1", axis1, nd);
  Shape s = t.shape;
  auto st = t.stride;
  if (nd > 0) {
    std::swap(s[a], s[b]);
    std::swap(st[static_cast<size_t>(a)], st[static_cast<size_t>(b)]);
  }
  TensorRef r = make_view(t, s, st, t.offset);
  if (ag::needs_grad({&t}))
    ag::record("transpose", *r, {&t}, [a, b](Tensor& g) {
      std::vector<TensorRef> res;
      res.push_back(op::call(grl_transpose, &g, a, b));
      return res;
    });
  *out = r.release();
  GRL_API_END();
}

GRL_API grl_status grl_slice(grl_tensor x, int32_t axis, int64_t start, int64_t end, int64_t step,
                             grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  if (t.shape.ndim == 0) fail(GRL_ERROR_SHAPE, "%s: cannot slice a 0-d tensor", __func__);
  int a = arg_axis(__func__, "axis", axis, t.shape.ndim);
  if (step <= 0) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: step is %lld; expected > 0", __func__, static_cast<long long>(step));
  int64_t n = t.shape[a];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape s = t.shape;
  auto st = t.stride;
  s[a] = (end - start + step - 1) / step;
  st[static_cast<size_t>(a)] *= step;
  TensorRef r = make_view(t, s, st, t.offset + start * t.stride[static_cast<size_t>(a)]);
  if (ag::needs_grad({&t})) {
    Shape in = t.shape;
    ag::record("slice", *r, {&t}, [in, a, start, end, step](Tensor& g) {
      // The gradient is zero outside the slice: scatter g into zeros of the input's shape.
      TensorRef full = op::call(grl_tensor_zeros, g.device(), g.dtype, in.d.data(), in.ndim);
      TensorRef view = op::call(grl_slice, full.get(), a, start, end, step);
      copy_into(*view, g);
      std::vector<TensorRef> res;
      res.push_back(full);
      return res;
    });
  }
  *out = r.release();
  GRL_API_END();
}

GRL_API grl_status grl_expand(grl_tensor x, const int64_t* shape, int32_t ndim, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  if (ndim < t.shape.ndim || ndim > GRL_MAX_DIMS)
    fail(GRL_ERROR_SHAPE, "%s: target has %d dims; expected %d..%d (x is %s)", __func__, ndim, t.shape.ndim,
         GRL_MAX_DIMS, t.shape.str().c_str());
  if (ndim) arg_not_null(__func__, "shape", shape);
  Shape s;
  s.ndim = ndim;
  std::array<int64_t, GRL_MAX_DIMS> st{};
  int lead = ndim - t.shape.ndim;
  for (int i = 0; i < ndim; ++i) {
    int j = i - lead;
    int64_t want = shape[i];
    if (j < 0) {
      if (want < 0) fail(GRL_ERROR_SHAPE, "%s: shape[%d] = -1 is only allowed for existing dims", __func__, i);
      s[i] = want;
      st[static_cast<size_t>(i)] = 0;
      continue;
    }
    int64_t have = t.shape[j];
    if (want == -1) want = have;
    if (want != have && have != 1)
      fail(GRL_ERROR_SHAPE, "%s: cannot expand dim %d of size %lld to %lld (x is %s)", __func__, j,
           static_cast<long long>(have), static_cast<long long>(want), t.shape.str().c_str());
    s[i] = want;
    st[static_cast<size_t>(i)] = (have == 1 && want != 1) ? 0 : t.stride[static_cast<size_t>(j)];
  }
  TensorRef r = make_view(t, s, st, t.offset);
  record_identity("expand", t, *r);
  *out = r.release();
  GRL_API_END();
}

GRL_API grl_status grl_squeeze(grl_tensor x, int32_t axis, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  int a = arg_axis(__func__, "axis", axis, t.shape.ndim);
  if (t.shape.ndim == 0 || t.shape[a] != 1)
    fail(GRL_ERROR_SHAPE, "%s: dim %d of x %s has size %lld; only size-1 dims can be squeezed", __func__, a,
         t.shape.str().c_str(), static_cast<long long>(t.shape.ndim ? t.shape[a] : 0));
  Shape s;
  std::array<int64_t, GRL_MAX_DIMS> st{};
  for (int i = 0; i < t.shape.ndim; ++i) {
    if (i == a) continue;
    st[static_cast<size_t>(s.ndim)] = t.stride[static_cast<size_t>(i)];
    s[s.ndim++] = t.shape[i];
  }
  TensorRef r = make_view(t, s, st, t.offset);
  record_reshape_like("squeeze", t, *r);
  *out = r.release();
  GRL_API_END();
}

GRL_API grl_status grl_unsqueeze(grl_tensor x, int32_t axis, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  int nd = t.shape.ndim;
  if (nd >= GRL_MAX_DIMS) fail(GRL_ERROR_SHAPE, "%s: x already has %d dims (the maximum)", __func__, nd);
  if (axis < -(nd + 1) || axis > nd)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'axis' = %d is out of range (expected %d..%d)", __func__, axis, -(nd + 1), nd);
  int a = axis < 0 ? axis + nd + 1 : axis;
  Shape s;
  s.ndim = nd + 1;
  std::array<int64_t, GRL_MAX_DIMS> st{};
  for (int i = 0, j = 0; i < nd + 1; ++i) {
    if (i == a) {
      s[i] = 1;
      st[static_cast<size_t>(i)] = j < nd ? t.stride[static_cast<size_t>(j)] * t.shape[j] : 1;
    } else {
      s[i] = t.shape[j];
      st[static_cast<size_t>(i)] = t.stride[static_cast<size_t>(j)];
      ++j;
    }
  }
  TensorRef r = make_view(t, s, st, t.offset);
  record_reshape_like("unsqueeze", t, *r);
  *out = r.release();
  GRL_API_END();
}

GRL_API grl_status grl_contiguous(grl_tensor x, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  DeviceLock lock(t.dev().mutex());
  TensorRef r = contiguous(t);
  if (r.get() == &t && ag::needs_grad({&t})) r = make_view(t, t.shape, t.stride, t.offset);  // own node
  record_identity("contiguous", t, *r);
  *out = r.release();
  GRL_API_END();
}

GRL_API grl_status grl_clone(grl_tensor x, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  DeviceLock lock(t.dev().mutex());
  TensorRef c = new_tensor(t.device(), t.dtype, t.shape);
  copy_into(*c, t);
  record_identity("clone", t, *c);
  *out = c.release();
  GRL_API_END();
}

GRL_API grl_status grl_cast(grl_tensor x, grl_dtype dtype, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "x", x);
  arg_dtype(__func__, "dtype", dtype);
  GRL_CHECK_OUT(out);
  DeviceLock lock(t.dev().mutex());
  TensorRef c = new_tensor(t.device(), dtype, t.shape);
  copy_into(*c, t);
  if (is_float(dtype)) record_identity("cast", t, *c);
  *out = c.release();
  GRL_API_END();
}

GRL_API grl_status grl_copy_(grl_tensor dst, grl_tensor src) {
  GRL_API_BEGIN();
  Tensor& d = arg_tensor(__func__, "dst", dst);
  Tensor& s = arg_tensor(__func__, "src", src);
  same_device(__func__, "dst", d, "src", s);
  not_grad_in_place(__func__, "dst", &d);
  Shape b = broadcast(__func__, "dst", d.shape, "src", s.shape);
  if (!(b == d.shape))
    fail(GRL_ERROR_SHAPE, "%s: src %s does not broadcast to dst %s", __func__, s.shape.str().c_str(),
         d.shape.str().c_str());
  DeviceLock lock(d.dev().mutex());
  if (d.storage == s.storage) {  // overlapping source: go through a copy
    TensorRef tmp = new_tensor(s.device(), s.dtype, s.shape);
    copy_into(*tmp, s);
    copy_into(d, *tmp);
  } else {
    copy_into(d, s);
  }
  GRL_API_END();
}

}  // extern "C"
