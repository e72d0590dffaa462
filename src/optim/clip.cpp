// Gradient clipping and the multi-tensor norm stage it shares with NLMS: clip_grad_norm (total
// norm of all gradients computed on the device in two atomics-free stages, then every gradient
// scaled by the clip coefficient) and clip_grad_value; launches cover up to 8 tensors each.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "autograd/autograd.h"
#include "ops/launch.h"
#include "optim/optim.h"

using namespace grl;
using namespace grl::optim;

namespace {

struct NormPush {
  uint64_t x[kBatch];
  uint64_t out;
  uint32_t n[kBatch];
  uint32_t mode;
  float p;
  uint32_t base, span;
};
static_assert(sizeof(NormPush) == 120);

struct TotalPush {
  uint64_t partials, result;
  uint32_t count, mode;
  float p, max_norm;
};
static_assert(sizeof(TotalPush) == 32);

struct ClipPush {
  uint64_t x[kBatch];
  uint64_t coef;
  uint32_t n[kBatch];
  uint32_t op;
  float lo, hi;
  uint32_t pad;
};
static_assert(sizeof(ClipPush) == 120);

constexpr uint64_t kMaxGridX = 65535;  // the guaranteed minimum of maxComputeWorkGroupCount[0]

// Calls f(first, count) for runs of up to kBatch consecutive tensors of one dtype.
template <typename F>
void for_batches(const std::vector<Tensor*>& xs, F f) {
  for (size_t i = 0; i < xs.size();) {
    size_t j = i + 1;
    while (j < xs.size() && j - i < kBatch && xs[j]->dtype == xs[i]->dtype) ++j;
    f(i, j - i);
    i = j;
  }
}

// The block of xs[first + k], or null past the batch (dispatch takes a fixed list).
Block* block_at(const std::vector<Tensor*>& xs, size_t first, size_t count, size_t k) {
  return k < count ? xs[first + k]->block() : nullptr;
}

// The gradients of the parameters that have one (checked: one device, floating).
std::vector<Tensor*> grads_of(const char* fn, const grl_tensor* params, int32_t n) {
  if (n < 1) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: n_params is %d; expected at least 1 parameter", fn, n);
  arg_not_null(fn, "params", params);
  std::vector<Tensor*> gs;
  for (int32_t i = 0; i < n; ++i) {
    if (!params[i]) fail(GRL_ERROR_NULL_ARGUMENT, "%s: params[%d] is NULL (expected a grl_tensor)", fn, i);
    Tensor& p = *params[i];
    if (p.device() != params[0]->device())
      fail(GRL_ERROR_DEVICE_MISMATCH, "%s: params[%d] is on another device than params[0]", fn, i);
    if (!p.ag || !p.ag->grad) continue;
    Tensor& g = *p.ag->grad;
    if (!is_float(g.dtype))
      fail(GRL_ERROR_DTYPE, "%s: the gradient of params[%d] has dtype %s; expected f32, f16 or bf16", fn, i,
           dtype_name(g.dtype));
    check_numel_u32(fn, g.numel());
    // A gradient shared by two entries is clipped once (one launch must not update it twice).
    if (g.numel() > 0 && std::find(gs.begin(), gs.end(), &g) == gs.end()) gs.push_back(&g);
  }
  std::stable_sort(gs.begin(), gs.end(), [](const Tensor* a, const Tensor* b) { return a->dtype < b->dtype; });
  return gs;
}

// Contiguous stand-ins for gs (the gradients themselves where already contiguous).
std::vector<TensorRef> contiguous_all(const std::vector<Tensor*>& gs) {
  std::vector<TensorRef> cs;
  for (Tensor* g : gs) cs.push_back(contiguous(*g));
  return cs;
}

// Applies the clip kernel in place to gs through their contiguous stand-ins cs, then writes the
// stand-ins that are copies back into their strided gradients.
void clip_all(const char* fn, const std::vector<Tensor*>& gs, const std::vector<TensorRef>& cs, ClipPush pc,
              Block* coef) {
  static const KernelSet ks("optim/clip", {GRL_F32, GRL_F16, GRL_BF16});
  std::vector<Tensor*> xs;
  for (auto& c : cs) xs.push_back(c.get());
  Device& dev = gs.front()->dev();
  for_batches(xs, [&](size_t first, size_t count) {
    uint64_t gx = 1;
    for (size_t k = 0; k < kBatch; ++k) {
      pc.x[k] = k < count ? xs[first + k]->address() : 0;
      pc.n[k] = k < count ? static_cast<uint32_t>(xs[first + k]->numel()) : 0;
      gx = std::max(gx, groups_for(pc.n[k]));
    }
    auto b = [&](size_t k) { return block_at(xs, first, count, k); };
    dev.dispatch(ks.get(fn, "grad", xs[first]->dtype), &pc, sizeof pc, static_cast<uint32_t>(std::min(gx, kMaxGridX)),
                 static_cast<uint32_t>(count), 1, {coef}, {b(0), b(1), b(2), b(3), b(4), b(5), b(6), b(7)});
  });
  for (size_t i = 0; i < gs.size(); ++i)
    if (cs[i].get() != gs[i]) copy_into(*gs[i], *cs[i]);
}

}  // namespace

namespace grl::optim {

void norm_partials(const char* fn, const std::vector<Tensor*>& xs, Tensor& out, uint32_t base, NormMode mode, float p) {
  static const KernelSet ks("optim/norm_partials", {GRL_F32, GRL_F16, GRL_BF16});
  if (xs.empty()) return;
  Device& dev = xs.front()->dev();
  for_batches(xs, [&](size_t first, size_t count) {
    NormPush pc{};
    uint64_t gx = 1;
    for (size_t k = 0; k < count; ++k) {
      pc.x[k] = xs[first + k]->address();
      pc.n[k] = static_cast<uint32_t>(xs[first + k]->numel());
      gx = std::max(gx, std::min<uint64_t>(groups_for(pc.n[k]), kSpan));
    }
    pc.out = out.address();
    pc.mode = mode;
    pc.p = p;
    pc.base = base + static_cast<uint32_t>(first) * kSpan;
    pc.span = kSpan;
    auto b = [&](size_t k) { return block_at(xs, first, count, k); };
    dev.dispatch(ks.get(fn, "grad", xs[first]->dtype), &pc, sizeof pc, static_cast<uint32_t>(gx),
                 static_cast<uint32_t>(count), 1, {b(0), b(1), b(2), b(3), b(4), b(5), b(6), b(7)}, {out.block()});
  });
}

}  // namespace grl::optim

extern "C" {

GRL_API grl_status grl_clip_grad_norm(const grl_tensor* params, int32_t n_params, double max_norm, double norm_type,
                                      grl_tensor* out) {
  GRL_API_BEGIN();
  std::vector<Tensor*> gs = grads_of(__func__, params, n_params);
  if (!(max_norm >= 0))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: max_norm is %g; expected a value >= 0", __func__, max_norm);
  NormMode mode;
  if (norm_type == 2.0)
    mode = kSumSquares;
  else if (norm_type == 1.0)
    mode = kSumAbs;
  else if (norm_type == INFINITY)
    mode = kMaxAbs;
  else if (std::isfinite(norm_type) && norm_type > 0)
    mode = kSumPow;
  else
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: norm_type is %g; expected a p > 0 or INFINITY", __func__, norm_type);
  grl_device_s* dev = params[0]->device();
  DeviceLock lock(dev->impl->mutex());
  Device& d = *dev->impl;
  int64_t two = 2;
  TensorRef result = new_tensor(dev, GRL_F32, Shape::of(std::span<const int64_t>(&two, 1)));
  if (gs.empty()) {
    const float none[2] = {0.f, 1.f};  // no gradient: norm 0
    d.upload(result->block(), 0, none, sizeof none);
  } else {
    static const Kernel total("optim/clip_total");
    int64_t count = static_cast<int64_t>(gs.size()) * kSpan;
    TensorRef partials = new_tensor(dev, GRL_F32, Shape::of(std::span<const int64_t>(&count, 1)));
    std::vector<TensorRef> cs = contiguous_all(gs);
    std::vector<Tensor*> xs;
    for (auto& c : cs) xs.push_back(c.get());
    norm_partials(__func__, xs, *partials, 0, mode, static_cast<float>(norm_type));
    TotalPush tp{partials->address(), result->address(), static_cast<uint32_t>(count), mode,
                 static_cast<float>(norm_type), static_cast<float>(max_norm)};
    d.dispatch(total, &tp, sizeof tp, 1, 1, 1, {partials->block()}, {result->block()});
    ClipPush cp{};
    cp.coef = result->address();
    cp.op = 0;
    clip_all(__func__, gs, cs, cp, result->block());
  }
  if (out) *out = make_view(*result, Shape{}, contiguous_strides(Shape{}), 0).release();
  GRL_API_END();
}

GRL_API grl_status grl_clip_grad_value(const grl_tensor* params, int32_t n_params, double clip_value) {
  GRL_API_BEGIN();
  std::vector<Tensor*> gs = grads_of(__func__, params, n_params);
  if (!(clip_value >= 0))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: clip_value is %g; expected a value >= 0", __func__, clip_value);
  DeviceLock lock(params[0]->dev().mutex());
  if (gs.empty()) return GRL_OK;
  ClipPush cp{};
  cp.op = 1;
  cp.lo = -static_cast<float>(clip_value);
  cp.hi = static_cast<float>(clip_value);
  clip_all(__func__, gs, contiguous_all(gs), cp, nullptr);
  GRL_API_END();
}

}  // extern "C"
