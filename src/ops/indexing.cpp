// Indexing and shape family: embedding, index_select, gather, scatter_add, one_hot (kernels that
// check indices on the device), and concat, stack, split, pad, arange, full (views and copies),
// with the backward rules of the differentiable ones.
#include <cmath>
#include <string>
#include <vector>

#include "autograd/autograd.h"
#include "ops/compose.h"
#include "ops/launch.h"

namespace grl {

namespace {

struct SelectPush {
  uint64_t x, index, out, err;
  uint32_t n, inner, nidx, dim, idx64, tag;
};
static_assert(sizeof(SelectPush) == 56);

// Gather and scatter_add share one layout: 8-d index shape plus the strides of the other operand.
struct AxisPush {
  uint64_t data, index, out, err;
  uint32_t n, ndim, axis, dim, idx64, tag;
  uint32_t shape[8], stride[8];
};
static_assert(sizeof(AxisPush) == 120);

struct OneHotPush {
  uint64_t index, out, err;
  uint32_t n, classes, idx64, tag, dt, pad;
};
static_assert(sizeof(OneHotPush) == 48);

// Data-movement kernels are built per element width ("x8".."x64"), not per dtype: moving bits
// needs no arithmetic, so every dtype of a width shares one kernel and the copy is bit-exact.
class WidthKernels {
 public:
  WidthKernels(const char* k1, const char* k2, const char* k4, const char* k8) : k1_(k1), k2_(k2), k4_(k4), k8_(k8) {}
  const Kernel& get(size_t elsize) const {
    switch (elsize) {
      case 1: return k1_;
      case 2: return k2_;
      case 4: return k4_;
      default: return k8_;
    }
  }

 private:
  Kernel k1_, k2_, k4_, k8_;
};

void index_dtype(const char* fn, const char* name, const Tensor& t) {
  if (t.dtype != GRL_I32 && t.dtype != GRL_I64)
    fail(GRL_ERROR_DTYPE, "%s: '%s' has dtype %s; index tensors must be i32 or i64 (cast with grl_cast)", fn, name,
         dtype_name(t.dtype));
}

int64_t prod(const Shape& s, int from, int to) {
  int64_t p = 1;
  for (int i = from; i < to; ++i) p *= s[i];
  return p;
}

uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }

// out[o, j, k] = x[o, index[j], k] with x seen as [outer, dim, inner] around `axis`.
TensorRef select_rows(const char* fn, Tensor& x, int axis, Tensor& index, const Shape& out_shape) {
  static const WidthKernels ks("indexing/select.x8", "indexing/select.x16", "indexing/select.x32",
                               "indexing/select.x64");
  check_numel_u32(fn, out_shape.numel());
  check_numel_u32(fn, x.numel());
  TensorRef out = new_tensor(x.device(), x.dtype, out_shape);
  if (out_shape.numel() == 0) return out;
  TensorRef xc = contiguous(x), ic = contiguous(index);
  Device& dev = x.dev();
  SelectPush pc{};
  pc.x = xc->address();
  pc.index = ic->address();
  pc.out = out->address();
  pc.err = dev.error_address();
  pc.n = u32(out_shape.numel());
  pc.inner = u32(prod(x.shape, axis + 1, x.shape.ndim));
  pc.nidx = u32(index.numel());
  pc.dim = u32(x.shape[axis]);
  pc.idx64 = index.dtype == GRL_I64;
  pc.tag = dev.error_tag(fn);
  dev.dispatch_1d(ks.get(x.elsize()), &pc, sizeof pc, groups_for(pc.n), {xc->block(), ic->block()},
                  {out->block(), dev.error_block()});
  return out;
}

// A 0-d operand of gather/scatter_add is handled as shape [1].
void kernel_shape(const Shape& s, uint32_t& ndim, uint32_t* shape) {
  ndim = s.ndim == 0 ? 1u : static_cast<uint32_t>(s.ndim);
  shape[0] = 1;
  for (int d = 0; d < s.ndim; ++d) shape[d] = u32(s[d]);
}

// torch's rule for gather/scatter: index fits in `other` on every dim except (when skip_axis) axis.
void index_fits(const char* fn, const Tensor& index, const char* other_name, const Tensor& other, int axis,
                bool skip_axis) {
  for (int d = 0; d < index.shape.ndim; ++d) {
    if (skip_axis && d == axis) continue;
    if (index.shape[d] > other.shape[d])
      fail(GRL_ERROR_SHAPE, "%s: 'index' %s is larger than '%s' %s in dim %d (%lld > %lld); index may not "
           "exceed it%s", fn, index.shape.str().c_str(), other_name, other.shape.str().c_str(), d,
           static_cast<long long>(index.shape[d]), static_cast<long long>(other.shape[d]),
           skip_axis ? " outside the gathered axis" : "");
  }
}

TensorRef gather(const char* fn, Tensor& x, int32_t axis_arg, Tensor& index) {
  static const WidthKernels ks("indexing/gather.x8", "indexing/gather.x16", "indexing/gather.x32",
                               "indexing/gather.x64");
  same_device(fn, "x", x, "index", index);
  index_dtype(fn, "index", index);
  int axis = arg_axis(fn, "axis", axis_arg, x.shape.ndim);
  if (index.shape.ndim != x.shape.ndim)
    fail(GRL_ERROR_SHAPE, "%s: 'index' %s has %d dims but x %s has %d; they must have the same number", fn,
         index.shape.str().c_str(), index.shape.ndim, x.shape.str().c_str(), x.shape.ndim);
  index_fits(fn, index, "x", x, axis, true);
  check_numel_u32(fn, index.numel());
  check_numel_u32(fn, x.numel());
  TensorRef out = new_tensor(x.device(), x.dtype, index.shape);
  if (index.numel() == 0) return out;
  TensorRef ic = contiguous(index);
  Device& dev = x.dev();
  AxisPush pc{};
  pc.data = x.address();
  pc.index = ic->address();
  pc.out = out->address();
  pc.err = dev.error_address();
  pc.n = u32(index.numel());
  kernel_shape(index.shape, pc.ndim, pc.shape);
  for (int d = 0; d < x.shape.ndim; ++d) pc.stride[d] = u32(x.stride[static_cast<size_t>(d)]);
  pc.axis = static_cast<uint32_t>(axis);
  pc.dim = x.shape.ndim ? u32(x.shape[axis]) : 1u;
  pc.idx64 = index.dtype == GRL_I64;
  pc.tag = dev.error_tag(fn);
  dev.dispatch_1d(ks.get(x.elsize()), &pc, sizeof pc, groups_for(pc.n), {x.block(), ic->block()},
                  {out->block(), dev.error_block()});
  return out;
}

const KernelSet& scatter_kernels() {
  static const KernelSet ks("indexing/scatter_add", {GRL_F32, GRL_F16, GRL_BF16, GRL_I32, GRL_I64});
  return ks;
}

// acc (contiguous; f32 when src is a float dtype) += src scattered at index along axis. Only the
// index-shaped corner of src takes part.
void scatter_into(const char* fn, const Kernel& k, Tensor& acc, int axis, Tensor& index, Tensor& src) {
  if (index.numel() == 0) return;
  // src restricted to the index's shape, contiguous, so one stride set (the accumulator's) fits the
  // push constants.
  TensorRef sv = make_view(src, index.shape, src.stride, src.offset);
  TensorRef sc = contiguous(*sv), ic = contiguous(index);
  Device& dev = acc.dev();
  AxisPush pc{};
  pc.data = sc->address();
  pc.index = ic->address();
  pc.out = acc.address();
  pc.err = dev.error_address();
  pc.n = u32(index.numel());
  kernel_shape(index.shape, pc.ndim, pc.shape);
  auto st = contiguous_strides(acc.shape);
  for (int d = 0; d < acc.shape.ndim; ++d) pc.stride[d] = u32(st[static_cast<size_t>(d)]);
  pc.axis = static_cast<uint32_t>(axis);
  pc.dim = acc.shape.ndim ? u32(acc.shape[axis]) : 1u;
  pc.idx64 = index.dtype == GRL_I64;
  pc.tag = dev.error_tag(fn);
  dev.dispatch_1d(k, &pc, sizeof pc, groups_for(pc.n), {sc->block(), ic->block(), acc.block()},
                  {acc.block(), dev.error_block()});
}

TensorRef scatter_add(const char* fn, Tensor& x, int32_t axis_arg, Tensor& index, Tensor& src) {
  same_device(fn, "x", x, "index", index);
  same_device(fn, "x", x, "src", src);
  index_dtype(fn, "index", index);
  same_dtype(fn, "x", x, "src", src);
  const Kernel& k = scatter_kernels().get(fn, "x", x.dtype);
  int axis = arg_axis(fn, "axis", axis_arg, x.shape.ndim);
  if (index.shape.ndim != x.shape.ndim || src.shape.ndim != x.shape.ndim)
    fail(GRL_ERROR_SHAPE, "%s: x %s, index %s and src %s must have the same number of dims", fn,
         x.shape.str().c_str(), index.shape.str().c_str(), src.shape.str().c_str());
  index_fits(fn, index, "x", x, axis, true);
  index_fits(fn, index, "src", src, axis, false);
  check_numel_u32(fn, x.numel());
  check_numel_u32(fn, index.numel());
  TensorRef out = new_tensor(x.device(), x.dtype, x.shape);
  // f16/bf16 accumulate in an f32 copy of x: 16-bit atomics do not exist, and the sum is better.
  bool widen = x.dtype == GRL_F16 || x.dtype == GRL_BF16;
  TensorRef acc = widen ? new_tensor(x.device(), GRL_F32, x.shape) : out;
  copy_into(*acc, x);
  scatter_into(fn, k, *acc, axis, index, src);
  if (widen) copy_into(*out, *acc);
  return out;
}

// ---- backward helpers ----
// Gradients of float inputs are built in an f32 accumulator (atomics need 32 bits) and returned
// as f32: the engine casts them to the input's dtype, which is the one rounding an f16/bf16
// gradient needs anyway.

// The backward of select_rows: zeros of x_shape (f32) with g[o, j, k] added at row index[j].
TensorRef index_add_rows(const char* fn, const Shape& x_shape, int axis, Tensor& index, Tensor& g) {
  static const KernelSet ks("indexing/index_add", {GRL_F32, GRL_F16, GRL_BF16});
  const Kernel& k = ks.get(fn, "grad", g.dtype);
  TensorRef acc = new_tensor(g.device(), GRL_F32, x_shape);
  fill(*acc, 0.0);
  if (g.numel() == 0 || x_shape.numel() == 0) return acc;
  TensorRef gc = contiguous(g), ic = contiguous(index);
  Device& dev = g.dev();
  SelectPush pc{};
  pc.x = gc->address();
  pc.index = ic->address();
  pc.out = acc->address();
  pc.err = dev.error_address();
  pc.n = u32(g.numel());
  pc.inner = u32(prod(x_shape, axis + 1, x_shape.ndim));
  pc.nidx = u32(index.numel());
  pc.dim = u32(x_shape[axis]);
  pc.idx64 = index.dtype == GRL_I64;
  pc.tag = dev.error_tag(fn);
  dev.dispatch_1d(k, &pc, sizeof pc, groups_for(pc.n), {gc->block(), ic->block(), acc->block()},
                  {acc->block(), dev.error_block()});
  return acc;
}

// The backward of gather: zeros of x_shape (f32) with g scattered at index along axis.
TensorRef scatter_grad(const char* fn, const Shape& x_shape, int axis, Tensor& index, Tensor& g) {
  const Kernel& k = scatter_kernels().get(fn, "grad", g.dtype);
  TensorRef acc = new_tensor(g.device(), GRL_F32, x_shape);
  fill(*acc, 0.0);
  scatter_into(fn, k, *acc, axis, index, g);
  return acc;
}

std::vector<TensorRef> one_grad(TensorRef g) {
  std::vector<TensorRef> r;
  r.push_back(std::move(g));
  return r;
}

bool any_requires_grad(const std::vector<Tensor*>& ts) {
  if (!autograd::grad_enabled()) return false;
  for (const Tensor* t : ts)
    if (autograd::requires_grad(t)) return true;
  return false;
}

TensorRef one_hot(const char* fn, Tensor& index, int64_t classes, grl_dtype dtype) {
  static const Kernel k("indexing/one_hot");
  index_dtype(fn, "indices", index);
  arg_dtype(fn, "dtype", dtype);
  if (classes < 1 || classes > static_cast<int64_t>(UINT32_MAX))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: num_classes is %lld; expected 1..%u", fn, static_cast<long long>(classes),
         UINT32_MAX);
  if (index.shape.ndim >= GRL_MAX_DIMS)
    fail(GRL_ERROR_SHAPE, "%s: 'indices' has %d dims; the result would exceed %d", fn, index.shape.ndim,
         GRL_MAX_DIMS);
  Shape s = index.shape;
  s[s.ndim++] = classes;
  check_numel_u32(fn, s.numel());
  TensorRef out = new_tensor(index.device(), dtype, s);
  if (s.numel() == 0) return out;
  TensorRef ic = contiguous(index);
  Device& dev = index.dev();
  OneHotPush pc{};
  pc.index = ic->address();
  pc.out = out->address();
  pc.err = dev.error_address();
  pc.n = u32(s.numel());
  pc.classes = u32(classes);
  pc.idx64 = index.dtype == GRL_I64;
  pc.tag = dev.error_tag(fn);
  pc.dt = dtype;
  dev.dispatch_1d(k, &pc, sizeof pc, groups_for(pc.n), {ic->block()}, {out->block(), dev.error_block()});
  return out;
}

// The tensors of the list argument "xs", checked to be non-NULL, on one device and of one dtype.
std::vector<Tensor*> tensor_list(const char* fn, const grl_tensor* xs, int32_t count) {
  arg_not_null(fn, "xs", xs);
  if (count < 1) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: count is %d; expected at least one tensor", fn, count);
  std::vector<Tensor*> ts;
  for (int32_t i = 0; i < count; ++i) {
    std::string name = "xs[" + std::to_string(i) + "]";
    ts.push_back(&arg_tensor(fn, name.c_str(), xs[i]));
    if (i == 0) continue;
    same_device(fn, "xs[0]", *ts[0], name.c_str(), *ts.back());
    same_dtype(fn, "xs[0]", *ts[0], name.c_str(), *ts.back());
  }
  return ts;
}

TensorRef concat(const char* fn, const std::vector<Tensor*>& ts, int32_t axis_arg) {
  const Tensor& first = *ts[0];
  if (first.shape.ndim == 0) fail(GRL_ERROR_SHAPE, "%s: xs[0] is 0-d; only tensors of >= 1 dims can be concatenated", fn);
  int axis = arg_axis(fn, "axis", axis_arg, first.shape.ndim);
  Shape s = first.shape;
  s[axis] = 0;
  for (size_t i = 0; i < ts.size(); ++i) {
    const Shape& si = ts[i]->shape;
    bool ok = si.ndim == first.shape.ndim;
    for (int d = 0; ok && d < si.ndim; ++d) ok = d == axis || si[d] == first.shape[d];
    if (!ok)
      fail(GRL_ERROR_SHAPE, "%s: xs[%zu] %s does not match xs[0] %s outside axis %d", fn, i, si.str().c_str(),
           first.shape.str().c_str(), axis);
    s[axis] += si[axis];
  }
  TensorRef out = new_tensor(first.device(), first.dtype, s);
  int64_t at = 0;
  for (Tensor* t : ts) {
    TensorRef part = make_view(*out, t->shape, out->stride, at * out->stride[static_cast<size_t>(axis)]);
    copy_into(*part, *t);
    at += t->shape[axis];
  }
  return out;
}

TensorRef stack(const char* fn, const std::vector<Tensor*>& ts, int32_t axis_arg) {
  const Tensor& first = *ts[0];
  int nd = first.shape.ndim;
  if (nd >= GRL_MAX_DIMS) fail(GRL_ERROR_SHAPE, "%s: the inputs have %d dims; stacking would exceed %d", fn, nd, GRL_MAX_DIMS);
  if (axis_arg < -(nd + 1) || axis_arg > nd)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'axis' = %d is out of range for stacking %d-d tensors (expected %d..%d)",
         fn, axis_arg, nd, -(nd + 1), nd);
  int axis = axis_arg < 0 ? axis_arg + nd + 1 : axis_arg;
  for (size_t i = 1; i < ts.size(); ++i)
    if (!(ts[i]->shape == first.shape))
      fail(GRL_ERROR_SHAPE, "%s: xs[%zu] %s differs from xs[0] %s; stacked tensors must have one shape", fn, i,
           ts[i]->shape.str().c_str(), first.shape.str().c_str());
  Shape s;
  s.ndim = nd + 1;
  for (int d = 0, j = 0; d <= nd; ++d) s[d] = d == axis ? static_cast<int64_t>(ts.size()) : first.shape[j++];
  TensorRef out = new_tensor(first.device(), first.dtype, s);
  std::array<int64_t, GRL_MAX_DIMS> st{};
  for (int d = 0, j = 0; d <= nd; ++d)
    if (d != axis) st[static_cast<size_t>(j++)] = out->stride[static_cast<size_t>(d)];
  for (size_t k = 0; k < ts.size(); ++k) {
    TensorRef part = make_view(*out, first.shape, st, static_cast<int64_t>(k) * out->stride[static_cast<size_t>(axis)]);
    copy_into(*part, *ts[k]);
  }
  return out;
}

TensorRef pad(const char* fn, Tensor& x, const int64_t* pads, int32_t npads, double value) {
  int nd = x.shape.ndim;
  if (npads < 0 || npads % 2 != 0 || npads > 2 * nd)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: npads is %d; expected an even count from 0 to %d (2 per dim of x %s)", fn,
         npads, 2 * nd, x.shape.str().c_str());
  if (npads) arg_not_null(fn, "pads", pads);
  Shape s = x.shape, len = x.shape;
  int64_t src_off = x.offset, dst_start[GRL_MAX_DIMS] = {};
  for (int k = 0; k < npads / 2; ++k) {
    int d = nd - 1 - k;
    int64_t lo = pads[2 * k], hi = pads[2 * k + 1];
    s[d] = x.shape[d] + lo + hi;
    if (s[d] < 0)
      fail(GRL_ERROR_SHAPE, "%s: pads (%lld, %lld) on dim %d of size %lld leave a negative size %lld", fn,
           static_cast<long long>(lo), static_cast<long long>(hi), d, static_cast<long long>(x.shape[d]),
           static_cast<long long>(s[d]));
    int64_t crop_lo = lo < 0 ? -lo : 0, crop_hi = hi < 0 ? -hi : 0;
    len[d] = std::max<int64_t>(0, x.shape[d] - crop_lo - crop_hi);
    src_off += std::min(crop_lo, x.shape[d]) * x.stride[static_cast<size_t>(d)];
    dst_start[d] = lo > 0 ? lo : 0;
  }
  check_numel_u32(fn, s.numel());
  TensorRef out = new_tensor(x.device(), x.dtype, s);
  // Only the border needs the value; a pure crop is a single copy.
  if (len.numel() < s.numel()) fill(*out, value);
  if (len.numel() > 0) {
    int64_t dst_off = 0;
    for (int d = 0; d < nd; ++d) dst_off += dst_start[d] * out->stride[static_cast<size_t>(d)];
    TensorRef src = make_view(x, len, x.stride, src_off);
    TensorRef dst = make_view(*out, len, out->stride, dst_off);
    copy_into(*dst, *src);
  }
  return out;
}

TensorRef arange(const char* fn, grl_device_s& d, double start, double end, double step, grl_dtype dtype) {
  arg_dtype(fn, "dtype", dtype);
  if (!std::isfinite(start) || !std::isfinite(end) || !std::isfinite(step) || step == 0)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: expected finite start, end and a non-zero finite step; got start = %g, "
         "end = %g, step = %g", fn, start, end, step);
  double count = std::ceil((end - start) / step);
  if (!(count > 0)) count = 0;
  if (count > static_cast<double>(UINT32_MAX))
    fail(GRL_ERROR_UNSUPPORTED, "%s: %g elements exceed the 2^32 limit of one tensor op", fn, count);
  int64_t n = static_cast<int64_t>(count);
  Shape s;
  s.ndim = 1;
  s[0] = n;
  TensorRef out = new_tensor(&d, dtype, s);
  if (n == 0) return out;
  // Values are computed in double on the host (start + i * step, as numpy does) and converted on
  // the device like grl_cast: floats go through f32, integers through i64 (truncating).
  TensorRef host = is_float(dtype) && dtype != GRL_F32 ? new_tensor(&d, GRL_F32, s)
                   : (!is_float(dtype) && dtype != GRL_I64) ? new_tensor(&d, GRL_I64, s)
                                                            : out;
  if (is_float(dtype)) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(start + static_cast<double>(i) * step);
    d.impl->upload(host->block(), 0, v.data(), v.size() * sizeof(float));
  } else {
    std::vector<int64_t> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      double x = start + static_cast<double>(i) * step;
      if (!(std::abs(x) < 9.2e18))
        fail(GRL_ERROR_INVALID_ARGUMENT, "%s: value %g does not fit a 64-bit integer", fn, x);
      v[static_cast<size_t>(i)] = static_cast<int64_t>(x);
    }
    d.impl->upload(host->block(), 0, v.data(), v.size() * sizeof(int64_t));
  }
  if (host.get() != out.get()) copy_into(*out, *host);
  return out;
}

}  // namespace

GRL_BACKWARD_RULE(embedding);
GRL_BACKWARD_RULE(index_select);
GRL_BACKWARD_RULE(gather);
GRL_BACKWARD_RULE(scatter_add);
GRL_BACKWARD_RULE(concat);
GRL_BACKWARD_RULE(stack);
GRL_BACKWARD_RULE(split);
GRL_BACKWARD_RULE(pad);

}  // namespace grl

using namespace grl;

extern "C" {

GRL_API grl_status grl_embedding(grl_tensor weight, grl_tensor indices, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& w = arg_tensor(__func__, "weight", weight);
  Tensor& ix = arg_tensor(__func__, "indices", indices);
  GRL_CHECK_OUT(out);
  same_device(__func__, "weight", w, "indices", ix);
  index_dtype(__func__, "indices", ix);
  if (w.shape.ndim != 2)
    fail(GRL_ERROR_SHAPE, "%s: 'weight' %s has %d dims; expected [num_embeddings, embedding_dim]", __func__,
         w.shape.str().c_str(), w.shape.ndim);
  if (ix.shape.ndim >= GRL_MAX_DIMS)
    fail(GRL_ERROR_SHAPE, "%s: 'indices' has %d dims; the result would exceed %d", __func__, ix.shape.ndim,
         GRL_MAX_DIMS);
  Shape s = ix.shape;
  s[s.ndim++] = w.shape[1];
  DeviceLock lock(w.dev().mutex());
  TensorRef r = select_rows(__func__, w, 0, ix, s);
  if (autograd::needs_grad({&w})) {
    // The indices get no gradient; each weight row gets the sum of the rows of g that picked it.
    TensorRef si = autograd::saved(ix);
    Shape ws = w.shape;
    autograd::record("embedding", *r, {&w}, [si, ws](Tensor& g) {
      return one_grad(index_add_rows("grl_embedding backward", ws, 0, *si, g));
    });
  }
  *out = r.release();
  GRL_API_END();
}

GRL_API grl_status grl_index_select(grl_tensor x, int32_t axis, grl_tensor index, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "x", x);
  Tensor& ix = arg_tensor(__func__, "index", index);
  GRL_CHECK_OUT(out);
  same_device(__func__, "x", t, "index", ix);
  index_dtype(__func__, "index", ix);
  if (t.shape.ndim == 0) fail(GRL_ERROR_SHAPE, "%s: x is 0-d; expected a tensor of >= 1 dims", __func__);
  int a = arg_axis(__func__, "axis", axis, t.shape.ndim);
  if (ix.shape.ndim != 1)
    fail(GRL_ERROR_SHAPE, "%s: 'index' %s has %d dims; expected a 1-d index", __func__, ix.shape.str().c_str(),
         ix.shape.ndim);
  Shape s = t.shape;
  s[a] = ix.shape[0];
  DeviceLock lock(t.dev().mutex());
  TensorRef r = select_rows(__func__, t, a, ix, s);
  if (autograd::needs_grad({&t})) {
    TensorRef si = autograd::saved(ix);
    Shape xs = t.shape;
    autograd::record("index_select", *r, {&t}, [si, xs, a](Tensor& g) {
      return one_grad(index_add_rows("grl_index_select backward", xs, a, *si, g));
    });
  }
  *out = r.release();
  GRL_API_END();
}

GRL_API grl_status grl_gather(grl_tensor x, int32_t axis, grl_tensor index, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "x", x);
  Tensor& ix = arg_tensor(__func__, "index", index);
  GRL_CHECK_OUT(out);
  DeviceLock lock(t.dev().mutex());
  TensorRef r = gather(__func__, t, axis, ix);
  if (autograd::needs_grad({&t})) {
    TensorRef si = autograd::saved(ix);
    Shape xs = t.shape;
    int a = arg_axis(__func__, "axis", axis, t.shape.ndim);
    autograd::record("gather", *r, {&t}, [si, xs, a](Tensor& g) {
      return one_grad(scatter_grad("grl_gather backward", xs, a, *si, g));
    });
  }
  *out = r.release();
  GRL_API_END();
}

GRL_API grl_status grl_scatter_add(grl_tensor x, int32_t axis, grl_tensor index, grl_tensor src, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "x", x);
  Tensor& ix = arg_tensor(__func__, "index", index);
  Tensor& s = arg_tensor(__func__, "src", src);
  GRL_CHECK_OUT(out);
  DeviceLock lock(t.dev().mutex());
  TensorRef r = scatter_add(__func__, t, axis, ix, s);
  if (autograd::needs_grad({&t, &s})) {
    // x passes g through; src[p] landed on out[p with p[axis] = index[p]], so it reads g there
    // (a gather), and src outside the index's corner took no part (zero gradient).
    TensorRef si = autograd::saved(ix);
    Shape src_shape = s.shape;
    int a = arg_axis(__func__, "axis", axis, t.shape.ndim);
    bool src_grad = autograd::requires_grad(&s);
    autograd::record("scatter_add", *r, {&t, &s}, [si, src_shape, a, src_grad](Tensor& g) {
      std::vector<TensorRef> grads;
      grads.push_back(TensorRef::retain(&g));
      if (!src_grad) {  // a constant src: skip the gather
        grads.emplace_back();
        return grads;
      }
      TensorRef gs = gather("grl_scatter_add backward", g, a, *si);
      if (!(gs->shape == src_shape)) {
        TensorRef full = new_tensor(g.device(), g.dtype, src_shape);
        fill(*full, 0.0);
        TensorRef corner = make_view(*full, gs->shape, full->stride, 0);
        copy_into(*corner, *gs);
        gs = full;
      }
      grads.push_back(gs);
      return grads;
    });
  }
  *out = r.release();
  GRL_API_END();
}

GRL_API grl_status grl_concat(const grl_tensor* xs, int32_t count, int32_t axis, grl_tensor* out) {
  GRL_API_BEGIN();
  std::vector<Tensor*> ts = tensor_list(__func__, xs, count);
  GRL_CHECK_OUT(out);
  DeviceLock lock(ts[0]->dev().mutex());
  TensorRef r = concat(__func__, ts, axis);
  if (any_requires_grad(ts)) {
    // Each input's gradient is its slab of g: a view, no copy.
    int a = arg_axis(__func__, "axis", axis, ts[0]->shape.ndim);
    std::vector<Shape> shapes;
    for (Tensor* t : ts) shapes.push_back(t->shape);
    autograd::record_n("concat", *r, ts, [shapes, a](Tensor& g) {
      std::vector<TensorRef> grads;
      int64_t at = 0;
      for (const Shape& s : shapes) {
        grads.push_back(make_view(g, s, g.stride, g.offset + at * g.stride[static_cast<size_t>(a)]));
        at += s[a];
      }
      return grads;
    });
  }
  *out = r.release();
  GRL_API_END();
}

GRL_API grl_status grl_stack(const grl_tensor* xs, int32_t count, int32_t axis, grl_tensor* out) {
  GRL_API_BEGIN();
  std::vector<Tensor*> ts = tensor_list(__func__, xs, count);
  GRL_CHECK_OUT(out);
  DeviceLock lock(ts[0]->dev().mutex());
  TensorRef r = stack(__func__, ts, axis);
  if (any_requires_grad(ts)) {
    // Input k's gradient is g at index k of the new axis: a view, no copy.
    int a = axis < 0 ? axis + r->shape.ndim : axis;
    Shape in = ts[0]->shape;
    size_t count = ts.size();
    autograd::record_n("stack", *r, ts, [in, a, count](Tensor& g) {
      std::array<int64_t, GRL_MAX_DIMS> st{};
      for (int d = 0, j = 0; d < g.shape.ndim; ++d)
        if (d != a) st[static_cast<size_t>(j++)] = g.stride[static_cast<size_t>(d)];
      std::vector<TensorRef> grads;
      for (size_t k = 0; k < count; ++k)
        grads.push_back(make_view(g, in, st, g.offset + static_cast<int64_t>(k) * g.stride[static_cast<size_t>(a)]));
      return grads;
    });
  }
  *out = r.release();
  GRL_API_END();
}

GRL_API grl_status grl_split(grl_tensor x, const int64_t* sizes, int32_t count, int32_t axis, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "x", x);
  arg_not_null(__func__, "sizes", sizes);
  GRL_CHECK_OUT(out);
  if (t.shape.ndim == 0) fail(GRL_ERROR_SHAPE, "%s: x is 0-d; expected a tensor of >= 1 dims", __func__);
  int a = arg_axis(__func__, "axis", axis, t.shape.ndim);
  if (count < 1) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: count is %d; expected at least 1", __func__, count);
  int64_t total = 0;
  for (int32_t i = 0; i < count; ++i) {
    if (sizes[i] < 0)
      fail(GRL_ERROR_SHAPE, "%s: sizes[%d] = %lld; sizes must be >= 0", __func__, i, static_cast<long long>(sizes[i]));
    total += sizes[i];
  }
  if (total != t.shape[a])
    fail(GRL_ERROR_SHAPE, "%s: sizes sum to %lld but axis %d of x %s has size %lld", __func__,
         static_cast<long long>(total), a, t.shape.str().c_str(), static_cast<long long>(t.shape[a]));
  std::vector<TensorRef> parts;
  int64_t at = 0;
  for (int32_t i = 0; i < count; ++i) {
    Shape s = t.shape;
    s[a] = sizes[i];
    parts.push_back(make_view(t, s, t.stride, t.offset + at * t.stride[static_cast<size_t>(a)]));
    at += sizes[i];
  }
  if (autograd::needs_grad({&t})) {
    // Each piece is a slice of x: its gradient is g padded with zeros back to x's shape.
    int nd = t.shape.ndim;
    at = 0;
    for (int32_t i = 0; i < count; ++i) {
      std::vector<int64_t> pads(static_cast<size_t>(2 * (nd - a)), 0);
      size_t k = static_cast<size_t>(nd - 1 - a);
      pads[2 * k] = at;
      pads[2 * k + 1] = total - at - sizes[i];
      at += sizes[i];
      autograd::record("split", *parts[static_cast<size_t>(i)], {&t}, [pads](Tensor& g) {
        return one_grad(pad("grl_split backward", g, pads.data(), static_cast<int32_t>(pads.size()), 0.0));
      });
    }
  }
  for (int32_t i = 0; i < count; ++i) out[i] = parts[static_cast<size_t>(i)].release();
  GRL_API_END();
}

GRL_API grl_status grl_pad(grl_tensor x, const int64_t* pads, int32_t npads, double value, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  DeviceLock lock(t.dev().mutex());
  TensorRef r = pad(__func__, t, pads, npads, value);
  if (autograd::needs_grad({&t})) {
    // Padding with the negated pads crops the border off again (and pads back what was cropped).
    std::vector<int64_t> neg(static_cast<size_t>(npads));
    for (int32_t i = 0; i < npads; ++i) neg[static_cast<size_t>(i)] = -pads[i];
    autograd::record("pad", *r, {&t}, [neg](Tensor& g) {
      return one_grad(pad("grl_pad backward", g, neg.data(), static_cast<int32_t>(neg.size()), 0.0));
    });
  }
  *out = r.release();
  GRL_API_END();
}

GRL_API grl_status grl_one_hot(grl_tensor indices, int64_t num_classes, grl_dtype dtype, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& ix = arg_tensor(__func__, "indices", indices);
  GRL_CHECK_OUT(out);
  DeviceLock lock(ix.dev().mutex());
  *out = one_hot(__func__, ix, num_classes, dtype).release();
  GRL_API_END();
}

GRL_API grl_status grl_arange(grl_device device, double start, double end, double step, grl_dtype dtype,
                              grl_tensor* out) {
  GRL_API_BEGIN();
  auto& d = arg_device(__func__, "device", device);
  GRL_CHECK_OUT(out);
  DeviceLock lock(d.impl->mutex());
  *out = arange(__func__, d, start, end, step, dtype).release();
  GRL_API_END();
}

GRL_API grl_status grl_full(grl_device device, const int64_t* shape, int32_t ndim, double value, grl_dtype dtype,
                            grl_tensor* out) {
  GRL_API_BEGIN();
  auto& d = arg_device(__func__, "device", device);
  Shape s = arg_shape(__func__, "shape", shape, ndim);
  arg_dtype(__func__, "dtype", dtype);
  GRL_CHECK_OUT(out);
  DeviceLock lock(d.impl->mutex());
  TensorRef t = new_tensor(&d, dtype, s);
  fill(*t, value);
  *out = t.release();
  GRL_API_END();
}

}  // extern "C"
