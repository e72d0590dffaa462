// Tensor storage, geometry, views, and the two kernels every other op leans on: the strided
// converting copy and the constant fill.
#include "tensor/tensor.h"

#include <cmath>
#include <cstring>

namespace grl {

size_t dtype_size(grl_dtype dt) {
  switch (dt) {
    case GRL_F32: return 4;
    case GRL_F16: return 2;
    case GRL_BF16: return 2;
    case GRL_I32: return 4;
    case GRL_I64: return 8;
    case GRL_U8: return 1;
    default: return 0;
  }
}

const char* dtype_name(grl_dtype dt) {
  switch (dt) {
    case GRL_F32: return "f32";
    case GRL_F16: return "f16";
    case GRL_BF16: return "bf16";
    case GRL_I32: return "i32";
    case GRL_I64: return "i64";
    case GRL_U8: return "u8";
    default: return "?";
  }
}

bool is_float(grl_dtype dt) { return dt == GRL_F32 || dt == GRL_F16 || dt == GRL_BF16; }
bool is_valid_dtype(grl_dtype dt) { return static_cast<int>(dt) >= 0 && dt < GRL_DTYPE_COUNT; }

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < ndim; ++i) n *= d[static_cast<size_t>(i)];
  return n;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < ndim; ++i) s += (i ? ", " : "") + std::to_string(d[static_cast<size_t>(i)]);
  return s + "]";
}

bool Shape::operator==(const Shape& o) const {
  if (ndim != o.ndim) return false;
  for (int i = 0; i < ndim; ++i)
    if (d[static_cast<size_t>(i)] != o.d[static_cast<size_t>(i)]) return false;
  return true;
}

Shape Shape::of(std::span<const int64_t> dims) {
  Shape s;
  s.ndim = static_cast<int32_t>(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) s.d[i] = dims[i];
  return s;
}

Storage::Storage(grl_device_s* dev, size_t bytes) : owner(dev), block(nullptr), nbytes(bytes) {
  if (bytes) block = dev->impl->alloc(bytes);
  owner->refs.fetch_add(1);
}

Storage::~Storage() {
  {
    std::lock_guard<std::recursive_mutex> lock(owner->impl->mutex());
    owner->impl->free(block);
  }
  if (owner->refs.fetch_sub(1) == 1) delete owner;
}

TensorRef TensorRef::retain(Tensor* t) {
  if (t) t->refs.fetch_add(1);
  return TensorRef(t);
}

TensorRef::TensorRef(const TensorRef& o) : t_(o.t_) {
  if (t_) t_->refs.fetch_add(1);
}

TensorRef::~TensorRef() { tensor_release(t_); }

void tensor_release(Tensor* t) {
  if (t && t->refs.fetch_sub(1) == 1) delete t;
}

std::array<int64_t, GRL_MAX_DIMS> contiguous_strides(const Shape& s) {
  std::array<int64_t, GRL_MAX_DIMS> st{};
  int64_t acc = 1;
  for (int i = s.ndim - 1; i >= 0; --i) {
    st[static_cast<size_t>(i)] = acc;
    acc *= std::max<int64_t>(s[i], 1);
  }
  return st;
}

TensorRef new_tensor(grl_device_s* dev, grl_dtype dtype, const Shape& shape) {
  auto* t = new Tensor();
  TensorRef ref(t);
  t->dtype = dtype;
  t->shape = shape;
  t->stride = contiguous_strides(shape);
  t->storage = std::make_shared<Storage>(dev, static_cast<size_t>(shape.numel()) * dtype_size(dtype));
  if (dev->impl->capturing()) dev->impl->label(t->block(), shape.str() + " " + dtype_name(dtype));
  return ref;
}

TensorRef make_view(const Tensor& x, const Shape& shape, const std::array<int64_t, GRL_MAX_DIMS>& stride,
                    int64_t offset) {
  auto* t = new Tensor();
  TensorRef ref(t);
  t->dtype = x.dtype;
  t->shape = shape;
  t->stride = stride;
  t->offset = offset;
  t->storage = x.storage;
  return ref;
}

}  // namespace grl

uint64_t grl_tensor_s::address() const {
  if (!storage->block) return 0;
  return storage->block->address + static_cast<uint64_t>(offset) * elsize();
}

bool grl_tensor_s::contiguous() const {
  if (shape.numel() == 0) return true;  // no element to address: any strides describe it
  int64_t acc = 1;
  for (int i = shape.ndim - 1; i >= 0; --i) {
    if (shape[i] != 1 && stride[static_cast<size_t>(i)] != acc) return false;
    acc *= shape[i];
  }
  return true;
}

namespace grl {

namespace {
struct CopyPush {
  uint64_t src, dst;
  uint32_t n, ndim, src_dt, dst_dt;
  uint32_t shape[8], src_stride[8], dst_stride[8];
};
static_assert(sizeof(CopyPush) == 128);

struct FillPush {
  uint64_t dst;
  int64_t ivalue;
  float fvalue;
  uint32_t n, dt;
  uint32_t pad;
};
}  // namespace

void copy_into(Tensor& dst, Tensor& src) {
  static const Kernel kCopy("tensor/copy");
  Device& dev = dst.dev();
  int64_t n = dst.numel();
  if (n == 0) return;
  if (n > UINT32_MAX) fail(GRL_ERROR_UNSUPPORTED, "copy of %lld elements exceeds 2^32", static_cast<long long>(n));
  // Whole contiguous same-dtype copies move raw bytes in the widest aligned unit.
  if (dst.dtype == src.dtype && dst.contiguous() && src.contiguous() && src.shape == dst.shape) {
    static const Kernel kBytes("tensor/copy_bytes");
    uint64_t bytes = static_cast<uint64_t>(n) * dst.elsize();
    uint64_t a = src.address(), b = dst.address();
    uint32_t unit = ((a | b | bytes) % 16 == 0) ? 16 : ((a | b | bytes) % 4 == 0) ? 4 : 1;
    uint64_t units = bytes / unit;
    if (units > UINT32_MAX) fail(GRL_ERROR_UNSUPPORTED, "copy of %llu bytes is too large", static_cast<unsigned long long>(bytes));
    struct {
      uint64_t src, dst;
      uint32_t n, unit;
    } pc{a, b, static_cast<uint32_t>(units), unit};
    dev.dispatch_1d(kBytes, &pc, sizeof pc, (units + 255) / 256, {src.block()}, {dst.block()});
    return;
  }
  CopyPush pc{};
  pc.src = src.address();
  pc.dst = dst.address();
  pc.n = static_cast<uint32_t>(n);
  pc.src_dt = src.dtype;
  pc.dst_dt = dst.dtype;
  // Align src to dst's rank (broadcast: missing leading dims and size-1 dims get stride 0), then
  // merge adjacent dims that are contiguous in both, to keep the index arithmetic short.
  int nd = dst.shape.ndim, lead = nd - src.shape.ndim;
  int64_t shape[8], ss[8], ds[8];
  for (int i = 0; i < nd; ++i) {
    shape[i] = dst.shape[i];
    ds[i] = dst.stride[static_cast<size_t>(i)];
    int j = i - lead;
    ss[i] = (j < 0 || src.shape[j] == 1) ? 0 : src.stride[static_cast<size_t>(j)];
  }
  int m = 0;
  for (int i = 0; i < nd; ++i) {
    if (shape[i] == 1) continue;
    if (m > 0 && ss[m - 1] == ss[i] * shape[i] && ds[m - 1] == ds[i] * shape[i]) {
      shape[m - 1] *= shape[i];
      ss[m - 1] = ss[i];
      ds[m - 1] = ds[i];
      continue;
    }
    shape[m] = shape[i], ss[m] = ss[i], ds[m] = ds[i];
    ++m;
  }
  pc.ndim = static_cast<uint32_t>(m);
  for (int i = 0; i < m; ++i) {
    pc.shape[i] = static_cast<uint32_t>(shape[i]);
    pc.src_stride[i] = static_cast<uint32_t>(ss[i]);
    pc.dst_stride[i] = static_cast<uint32_t>(ds[i]);
  }
  dev.dispatch_1d(kCopy, &pc, sizeof pc, (static_cast<uint64_t>(n) + 255) / 256, {src.block()}, {dst.block()});
}

TensorRef contiguous(Tensor& x) {
  if (x.contiguous()) return TensorRef::retain(&x);
  TensorRef out = new_tensor(x.device(), x.dtype, x.shape);
  copy_into(*out, x);
  return out;
}

void fill(Tensor& t, double value) {
  static const Kernel kFill("tensor/fill");
  int64_t n = t.numel();
  if (n == 0) return;
  if (!t.contiguous()) {
    TensorRef one = new_tensor(t.device(), t.dtype, Shape{});
    fill(*one, value);
    copy_into(t, *one);
    return;
  }
  FillPush pc{};
  pc.dst = t.address();
  pc.ivalue = std::isfinite(value) ? static_cast<int64_t>(value) : 0;
  pc.fvalue = static_cast<float>(value);
  pc.n = static_cast<uint32_t>(n);
  pc.dt = t.dtype;
  t.dev().dispatch_1d(kFill, &pc, sizeof pc, (static_cast<uint64_t>(n) + 255) / 256, {}, {t.block()});
}

}  // namespace grl
