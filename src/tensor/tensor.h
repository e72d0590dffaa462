// Handles behind the C ABI (grl_device_s, grl_tensor_s), tensor storage, shapes and strides, and
// the intrusive reference used by the core to hold tensors safely while an op runs.
#pragma once
#include <grilly.h>

#include <array>
#include <atomic>
#include <memory>
#include <span>
#include <string>

#include "runtime/device.h"
#include "runtime/live.h"

namespace grl::autograd {
struct Meta;
}

struct grl_device_s {
  std::atomic<int64_t> refs{1};
  grl::LiveHandle<grl::HandleKind::device> live;
  std::unique_ptr<grl::Device> impl;
};

namespace grl {

size_t dtype_size(grl_dtype dt);
const char* dtype_name(grl_dtype dt);
bool is_float(grl_dtype dt);
bool is_valid_dtype(grl_dtype dt);

struct Shape {
  int32_t ndim = 0;
  std::array<int64_t, GRL_MAX_DIMS> d{};
  int64_t numel() const;
  int64_t operator[](int i) const { return d[static_cast<size_t>(i)]; }
  int64_t& operator[](int i) { return d[static_cast<size_t>(i)]; }
  std::span<const int64_t> span() const { return {d.data(), static_cast<size_t>(ndim)}; }
  std::string str() const;  // "[2, 3]"
  bool operator==(const Shape& o) const;
  static Shape of(std::span<const int64_t> dims);
};

// Device memory shared by a tensor and its views; returns its block to the pool when the last
// one goes away (from any thread).
struct Storage {
  grl_device_s* owner;  // holds a reference
  Block* block;         // null for empty tensors
  size_t nbytes;
  Storage(grl_device_s* dev, size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

}  // namespace grl

struct grl_tensor_s {
  std::atomic<int64_t> refs{1};
  grl::LiveHandle<grl::HandleKind::tensor> live;
  std::shared_ptr<grl::Storage> storage;
  grl_dtype dtype = GRL_F32;
  grl::Shape shape;
  std::array<int64_t, GRL_MAX_DIMS> stride{};  // in elements
  int64_t offset = 0;                          // in elements
  std::shared_ptr<grl::autograd::Meta> ag;     // autograd state; null outside autograd

  grl::Device& dev() const { return *storage->owner->impl; }
  grl_device_s* device() const { return storage->owner; }
  grl::Block* block() const { return storage->block; }
  int64_t numel() const { return shape.numel(); }
  size_t elsize() const { return grl::dtype_size(dtype); }
  uint64_t address() const;  // device address of element 0 (0 for empty tensors)
  bool contiguous() const;
};

namespace grl {

using Tensor = grl_tensor_s;

// Intrusive owning pointer to a tensor handle.
class TensorRef {
 public:
  TensorRef() = default;
  explicit TensorRef(Tensor* adopt) : t_(adopt) {}  // takes over one reference
  static TensorRef retain(Tensor* t);
  TensorRef(const TensorRef& o);
  TensorRef(TensorRef&& o) noexcept : t_(o.t_) { o.t_ = nullptr; }
  TensorRef& operator=(TensorRef o) noexcept {
    std::swap(t_, o.t_);
    return *this;
  }
  ~TensorRef();
  Tensor* get() const { return t_; }
  Tensor* operator->() const { return t_; }
  Tensor& operator*() const { return *t_; }
  explicit operator bool() const { return t_ != nullptr; }
  Tensor* release() {  // hands the reference to the caller (the C `out` parameter)
    Tensor* t = t_;
    t_ = nullptr;
    return t;
  }

 private:
  Tensor* t_ = nullptr;
};

void tensor_release(Tensor* t);

// Contiguous strides for a shape.
std::array<int64_t, GRL_MAX_DIMS> contiguous_strides(const Shape& s);
// A new contiguous tensor (uninitialised contents).
TensorRef new_tensor(grl_device_s* dev, grl_dtype dtype, const Shape& shape);
// A view sharing x's storage with the given geometry.
TensorRef make_view(const Tensor& x, const Shape& shape, const std::array<int64_t, GRL_MAX_DIMS>& stride,
                    int64_t offset);
// x if contiguous (another reference), else a contiguous copy.
TensorRef contiguous(Tensor& x);
// Strided/broadcast copy with dtype conversion: dst (contiguous or not) <- src broadcast to dst.
void copy_into(Tensor& dst, Tensor& src);
// Fills with a constant (any dtype).
void fill(Tensor& t, double value);

}  // namespace grl
