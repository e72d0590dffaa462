// Plasticity family: local learning rules that update a weight matrix in place: Hebbian with decay,
// Oja, Sanger (GHA), and trace-based pair/triplet STDP. Kernels live in shaders/plasticity/.
#include <cmath>
#include <string_view>

#include "autograd/autograd.h"
#include "ops/compose.h"
#include "ops/launch.h"

namespace grl {

namespace {

constexpr uint32_t kTileX = 128, kTileY = 32;  // TILE_C, TILE_R of shaders/plasticity/tile.glsl
constexpr uint32_t kMaxGroups = 65535;       // the minimum maxComputeWorkGroupCount Vulkan promises

struct StdpPush {
  uint64_t w, pre, post, x1, x2, y1, y2;
  uint32_t batch, n_pre, n_post, flags;
  float decay[4];
  float a_plus, a_minus, a3_plus, a3_minus, w_min, w_max, scale;
};
static_assert(sizeof(StdpPush) == 120);

struct TracePush {
  uint64_t pre, post, x1, x2, y1, y2;
  uint32_t n_pre, n_post, flags, pad_;
  float decay[4];
};
static_assert(sizeof(TracePush) == 80);

struct RatePush {
  uint64_t w, x, y, back;
  uint32_t batch, n_in, n_out, mode;
  float eta, scale, decay, pad_;
};
static_assert(sizeof(RatePush) == 64);

struct GramPush {
  uint64_t y, g;
  uint32_t batch, n;
};
static_assert(sizeof(GramPush) == 24);

const KernelSet& stdp_kernels() {
  static const KernelSet k("plasticity/stdp", {GRL_F32, GRL_F16, GRL_BF16});
  return k;
}
const KernelSet& trace_kernels() {
  static const KernelSet k("plasticity/stdp_trace", {GRL_F32, GRL_F16, GRL_BF16});
  return k;
}
const KernelSet& rate_kernels() {
  static const KernelSet k("plasticity/hebbian", {GRL_F32, GRL_F16, GRL_BF16});
  return k;
}
const KernelSet& gram_kernels() {
  static const KernelSet k("plasticity/gram", {GRL_F32, GRL_F16, GRL_BF16});
  return k;
}

// A tensor the rule writes in place: contiguous (the kernels index it flat) and outside autograd.
void check_inplace(const char* fn, const char* name, const Tensor& t) {
  if (!t.contiguous())
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' (shape %s) is not contiguous; it is updated in place, so pass a "
         "contiguous tensor (grl_contiguous makes one)", fn, name, t.shape.str().c_str());
  not_grad_in_place(fn, name, &t);
}

struct Named {
  const char* name;
  const Tensor* t;
};

bool overlaps(const Tensor& a, const Tensor& b) {
  if (!a.block() || a.block() != b.block()) return false;
  size_t alo = static_cast<size_t>(a.offset) * a.elsize(), ahi = alo + static_cast<size_t>(a.numel()) * a.elsize();
  size_t blo = static_cast<size_t>(b.offset) * b.elsize(), bhi = blo + static_cast<size_t>(b.numel()) * b.elsize();
  return alo < bhi && blo < ahi;
}

// Every in-place tensor must be disjoint from every other argument: one thread's write would
// otherwise be another's (or the next pass's) input.
void check_disjoint(const char* fn, std::initializer_list<Named> written, std::initializer_list<Named> all) {
  for (const Named& w : written) {
    if (!w.t) continue;
    for (const Named& o : all) {
      if (!o.t || o.t == w.t) {
        if (o.t == w.t && std::string_view(o.name) != w.name)
          fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' and '%s' are the same tensor; '%s' is updated in place, so "
               "pass separate tensors", fn, w.name, o.name, w.name);
        continue;
      }
      if (overlaps(*w.t, *o.t))
        fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' shares memory with '%s'; '%s' is updated in place, so pass "
             "separate tensors", fn, w.name, o.name, w.name);
    }
  }
}

void check_scalar(const char* fn, const char* name, double v, bool positive) {
  if (!std::isfinite(v) || v < 0 || (positive && v == 0))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' must be a finite number %s 0; got %g", fn, name,
         positive ? ">" : ">=", v);
}

// A weight matrix [n_out, n_in] of a floating dtype.
void check_weight(const char* fn, const Tensor& w) {
  float_dtype(fn, "w", w);
  if (w.shape.ndim != 2)
    fail(GRL_ERROR_SHAPE, "%s: 'w' must be 2-d [n_post, n_pre]; got shape %s", fn, w.shape.str().c_str());
  check_numel_u32(fn, w.numel());
  if (static_cast<uint64_t>((w.shape[1] + kTileX - 1) / kTileX) > kMaxGroups ||
      static_cast<uint64_t>((w.shape[0] + kTileY - 1) / kTileY) > kMaxGroups)
    fail(GRL_ERROR_UNSUPPORTED, "%s: 'w' of shape %s is too large for one launch (at most %u x %u)", fn,
         w.shape.str().c_str(), kMaxGroups * kTileY, kMaxGroups * kTileX);
}

// An activity/spike tensor [n] or [B, n] matching W's dtype, device and width n; returns B.
int64_t check_side(const char* fn, const char* name, const Tensor& t, const Tensor& w, int64_t n, const char* what) {
  same_device(fn, "w", w, name, t);
  same_dtype(fn, "w", w, name, t);
  if ((t.shape.ndim != 1 && t.shape.ndim != 2) || t.shape[t.shape.ndim - 1] != n)
    fail(GRL_ERROR_SHAPE, "%s: '%s' must be [%lld] or [B, %lld] (%s of 'w' of shape %s); got shape %s", fn, name,
         static_cast<long long>(n), static_cast<long long>(n), what, w.shape.str().c_str(), t.shape.str().c_str());
  check_numel_u32(fn, t.numel());
  return t.shape.ndim == 2 ? t.shape[0] : 1;
}

// A spike tensor [n] or [B, n] on W's device, in W's dtype or u8; returns B.
int64_t check_spikes(const char* fn, const char* name, const Tensor& t, const Tensor& w, int64_t n, const char* what) {
  same_device(fn, "w", w, name, t);
  if (t.dtype != w.dtype && t.dtype != GRL_U8)
    fail(GRL_ERROR_DTYPE, "%s: '%s' has dtype %s; spikes are in w's dtype (%s) or u8", fn, name, dtype_name(t.dtype),
         dtype_name(w.dtype));
  if ((t.shape.ndim != 1 && t.shape.ndim != 2) || t.shape[t.shape.ndim - 1] != n)
    fail(GRL_ERROR_SHAPE, "%s: '%s' must be [%lld] or [B, %lld] (%s of 'w' of shape %s); got shape %s", fn, name,
         static_cast<long long>(n), static_cast<long long>(n), what, w.shape.str().c_str(), t.shape.str().c_str());
  check_numel_u32(fn, t.numel());
  return t.shape.ndim == 2 ? t.shape[0] : 1;
}

void same_batch(const char* fn, const char* na, const Tensor& a, const char* nb, const Tensor& b) {
  if (a.shape.ndim != b.shape.ndim || (a.shape.ndim == 2 && a.shape[0] != b.shape[0]))
    fail(GRL_ERROR_SHAPE, "%s: '%s' (shape %s) and '%s' (shape %s) must both be 1-d, or 2-d with one batch size",
         fn, na, a.shape.str().c_str(), nb, b.shape.str().c_str());
}

// A trace state: f32 with its spike tensor's shape, on W's device, written in place.
void check_trace(const char* fn, const char* name, const Tensor& tr, const char* spikes_name, const Tensor& spikes) {
  same_device(fn, spikes_name, spikes, name, tr);
  if (tr.dtype != GRL_F32)
    fail(GRL_ERROR_DTYPE, "%s: '%s' has dtype %s; traces are f32", fn, name, dtype_name(tr.dtype));
  if (!(tr.shape == spikes.shape))
    fail(GRL_ERROR_SHAPE, "%s: '%s' must have the shape of '%s' %s; got %s", fn, name, spikes_name,
         spikes.shape.str().c_str(), tr.shape.str().c_str());
  check_inplace(fn, name, tr);
}

void check_options(const char* fn, const grl_stdp_options& o) {
  if (o.version != GRL_STDP_OPTIONS_VERSION)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->version is %u; expected GRL_STDP_OPTIONS_VERSION (%u): start from "
         "GRL_STDP_OPTIONS_INIT", fn, o.version, GRL_STDP_OPTIONS_VERSION);
  check_scalar(fn, "opts->dt", o.dt, true);
  check_scalar(fn, "opts->tau_plus", o.tau_plus, true);
  check_scalar(fn, "opts->tau_minus", o.tau_minus, true);
  check_scalar(fn, "opts->a_plus", o.a_plus, false);
  check_scalar(fn, "opts->a_minus", o.a_minus, false);
  if (o.trace_mode != GRL_STDP_ALL_TO_ALL && o.trace_mode != GRL_STDP_NEAREST)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->trace_mode is %d; expected GRL_STDP_ALL_TO_ALL (0) or "
         "GRL_STDP_NEAREST (1)", fn, static_cast<int>(o.trace_mode));
  if (o.bound != GRL_STDP_BOUND_NONE && o.bound != GRL_STDP_BOUND_HARD && o.bound != GRL_STDP_BOUND_SOFT)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->bound is %d; expected GRL_STDP_BOUND_NONE (0), _HARD (1) or "
         "_SOFT (2)", fn, static_cast<int>(o.bound));
  if (o.bound != GRL_STDP_BOUND_NONE && (!std::isfinite(o.w_min) || !std::isfinite(o.w_max) || o.w_min > o.w_max))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->w_min and opts->w_max must be finite with w_min <= w_max; got "
         "%g and %g", fn, o.w_min, o.w_max);
  if (o.batch_reduction != GRL_REDUCTION_MEAN && o.batch_reduction != GRL_REDUCTION_SUM)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->batch_reduction is %d; expected GRL_REDUCTION_MEAN (1) or "
         "GRL_REDUCTION_SUM (2)", fn, static_cast<int>(o.batch_reduction));
  if (o.triplet > 1) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->triplet is %u; expected 0 or 1", fn, o.triplet);
  if (o.triplet) {
    check_scalar(fn, "opts->tau_x", o.tau_x, true);
    check_scalar(fn, "opts->tau_y", o.tau_y, true);
    check_scalar(fn, "opts->a3_plus", o.a3_plus, false);
    check_scalar(fn, "opts->a3_minus", o.a3_minus, false);
  }
}

void stdp_step(const char* fn, Tensor& w, Tensor& pre, Tensor& post, Tensor& x1, Tensor& y1, Tensor* x2, Tensor* y2,
               const grl_stdp_options& o) {
  const int64_t n_post = w.shape[0], n_pre = w.shape[1];
  const int64_t batch = pre.shape.ndim == 2 ? pre.shape[0] : 1;
  TensorRef cpre = contiguous(pre), cpost = contiguous(post);
  const bool triplet = o.triplet != 0;
  const float d_x1 = static_cast<float>(std::exp(-o.dt / o.tau_plus));
  const float d_y1 = static_cast<float>(std::exp(-o.dt / o.tau_minus));
  const float d_x2 = triplet ? static_cast<float>(std::exp(-o.dt / o.tau_x)) : 0.f;
  const float d_y2 = triplet ? static_cast<float>(std::exp(-o.dt / o.tau_y)) : 0.f;
  Block* bx2 = triplet ? x2->block() : nullptr;
  Block* by2 = triplet ? y2->block() : nullptr;
  Device& dev = w.dev();
  if (w.numel() > 0 && batch > 0) {
    StdpPush pc{};
    pc.w = w.address();
    pc.pre = cpre->address();
    pc.post = cpost->address();
    pc.x1 = x1.address();
    pc.y1 = y1.address();
    pc.x2 = triplet ? x2->address() : 0;
    pc.y2 = triplet ? y2->address() : 0;
    pc.batch = static_cast<uint32_t>(batch);
    pc.n_pre = static_cast<uint32_t>(n_pre);
    pc.n_post = static_cast<uint32_t>(n_post);
    pc.flags = static_cast<uint32_t>(o.bound) | (triplet ? 4u : 0u) | (pre.dtype == GRL_U8 ? 8u : 0u) |
               (post.dtype == GRL_U8 ? 16u : 0u);
    pc.decay[0] = d_x1;
    pc.decay[1] = d_y1;
    pc.decay[2] = d_x2;
    pc.decay[3] = d_y2;
    pc.a_plus = static_cast<float>(o.a_plus);
    pc.a_minus = static_cast<float>(o.a_minus);
    pc.a3_plus = triplet ? static_cast<float>(o.a3_plus) : 0.f;
    pc.a3_minus = triplet ? static_cast<float>(o.a3_minus) : 0.f;
    pc.w_min = static_cast<float>(o.w_min);
    pc.w_max = static_cast<float>(o.w_max);
    pc.scale = o.batch_reduction == GRL_REDUCTION_MEAN ? static_cast<float>(1.0 / static_cast<double>(batch)) : 1.f;
    const Kernel& k = stdp_kernels().get(fn, "w", w.dtype);
    dev.dispatch(k, &pc, sizeof pc, static_cast<uint32_t>((n_pre + kTileX - 1) / kTileX),
                 static_cast<uint32_t>((n_post + kTileY - 1) / kTileY), 1,
                 {cpre->block(), cpost->block(), x1.block(), y1.block(), bx2, by2}, {w.block()});
  }
  const int64_t total = x1.numel() + y1.numel();
  check_numel_u32(fn, total);
  if (total == 0) return;
  TracePush tp{};
  tp.pre = cpre->address();
  tp.post = cpost->address();
  tp.x1 = x1.address();
  tp.y1 = y1.address();
  tp.x2 = triplet ? x2->address() : 0;
  tp.y2 = triplet ? y2->address() : 0;
  tp.n_pre = static_cast<uint32_t>(x1.numel());
  tp.n_post = static_cast<uint32_t>(y1.numel());
  tp.flags = (o.trace_mode == GRL_STDP_NEAREST ? 1u : 0u) | (triplet ? 2u : 0u) | (pre.dtype == GRL_U8 ? 4u : 0u) |
             (post.dtype == GRL_U8 ? 8u : 0u);
  tp.decay[0] = d_x1;
  tp.decay[1] = d_y1;
  tp.decay[2] = d_x2;
  tp.decay[3] = d_y2;
  const Kernel& kt = trace_kernels().get(fn, "w", w.dtype);
  dev.dispatch_1d(kt, &tp, sizeof tp, groups_for(total), {cpre->block(), cpost->block()},
                  {x1.block(), y1.block(), bx2, by2});
}

enum class Rate : uint32_t { Hebbian = 0, Oja = 1, Sanger = 2 };

void rate_rule(const char* fn, Rate mode, grl_tensor w_, grl_tensor x_, grl_tensor y_, double eta, double decay) {
  Tensor& w = arg_tensor(fn, "w", w_);
  Tensor& x = arg_tensor(fn, "x", x_);
  Tensor* y = opt_tensor(fn, "y", y_);
  check_weight(fn, w);
  check_inplace(fn, "w", w);
  const int64_t n_out = w.shape[0], n_in = w.shape[1];
  const int64_t batch = check_side(fn, "x", x, w, n_in, "n_pre = dim 1");
  if (y) {
    check_side(fn, "y", *y, w, n_out, "n_post = dim 0");
    same_batch(fn, "x", x, "y", *y);
  }
  check_disjoint(fn, {{"w", &w}}, {{"w", &w}, {"x", &x}, {"y", y}});
  check_scalar(fn, "eta", eta, false);
  check_scalar(fn, "decay", decay, false);
  DeviceLock lock(w.dev().mutex());
  if (w.numel() == 0 || batch == 0) return;
  autograd::GradMode no_grad(false);
  TensorRef ty = y ? contiguous(*y) : op::call(grl_linear, &x, &w, static_cast<grl_tensor>(nullptr));
  TensorRef tx = contiguous(x);
  Device& dev = w.dev();
  RatePush pc{};
  pc.w = w.address();
  pc.x = tx->address();
  pc.y = ty->address();
  pc.batch = static_cast<uint32_t>(batch);
  pc.n_in = static_cast<uint32_t>(n_in);
  pc.n_out = static_cast<uint32_t>(n_out);
  pc.mode = static_cast<uint32_t>(mode);
  pc.eta = static_cast<float>(eta);
  pc.scale = static_cast<float>(1.0 / static_cast<double>(batch));
  pc.decay = static_cast<float>(decay);
  const uint32_t gx = static_cast<uint32_t>((n_in + kTileX - 1) / kTileX);
  const uint32_t gy = static_cast<uint32_t>((n_out + kTileY - 1) / kTileY);
  const Kernel& k = rate_kernels().get(fn, "w", w.dtype);
  TensorRef back;
  if (mode == Rate::Sanger) {
    // P = LT(sum_b y_b y_b^T) W in f32, before W changes; the weight kernel is then in place.
    check_numel_u32(fn, n_out * n_out);
    const uint32_t gg = static_cast<uint32_t>((n_out + 15) / 16);
    if (gg > kMaxGroups)
      fail(GRL_ERROR_UNSUPPORTED, "%s: %lld output neurons exceed one launch of the Sanger rule", fn,
           static_cast<long long>(n_out));
    TensorRef gram = new_tensor(w.device(), GRL_F32, Shape::of(std::array<int64_t, 2>{n_out, n_out}));
    GramPush gp{ty->address(), gram->address(), static_cast<uint32_t>(batch), static_cast<uint32_t>(n_out)};
    dev.dispatch(gram_kernels().get(fn, "w", w.dtype), &gp, sizeof gp, gg, gg, 1, {ty->block()}, {gram->block()});
    TensorRef w32 = w.dtype == GRL_F32 ? TensorRef::retain(&w) : op::call(grl_cast, &w, GRL_F32);
    back = op::call(grl_matmul, gram.get(), w32.get());
    pc.back = back->address();
  }
  dev.dispatch(k, &pc, sizeof pc, gx, gy, 1, {w.block(), tx->block(), ty->block(), back ? back->block() : nullptr},
               {w.block()});
}

}  // namespace

}  // namespace grl

using namespace grl;

extern "C" GRL_API grl_status grl_hebbian_update_(grl_tensor w, grl_tensor x, grl_tensor y, double eta, double decay) {
  GRL_API_BEGIN();
  rate_rule(__func__, Rate::Hebbian, w, x, y, eta, decay);
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_oja_update_(grl_tensor w, grl_tensor x, grl_tensor y, double eta) {
  GRL_API_BEGIN();
  rate_rule(__func__, Rate::Oja, w, x, y, eta, 0.0);
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_sanger_update_(grl_tensor w, grl_tensor x, grl_tensor y, double eta) {
  GRL_API_BEGIN();
  rate_rule(__func__, Rate::Sanger, w, x, y, eta, 0.0);
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_stdp_step_(grl_tensor w, grl_tensor pre_spikes, grl_tensor post_spikes,
                                             grl_tensor pre_trace, grl_tensor post_trace, grl_tensor pre_slow,
                                             grl_tensor post_slow, const grl_stdp_options* opts) {
  GRL_API_BEGIN();
  const char* fn = __func__;
  Tensor& tw = arg_tensor(fn, "w", w);
  Tensor& pre = arg_tensor(fn, "pre_spikes", pre_spikes);
  Tensor& post = arg_tensor(fn, "post_spikes", post_spikes);
  Tensor& x1 = arg_tensor(fn, "pre_trace", pre_trace);
  Tensor& y1 = arg_tensor(fn, "post_trace", post_trace);
  const grl_stdp_options o = opts ? *opts : grl_stdp_options GRL_STDP_OPTIONS_INIT;
  check_options(fn, o);
  Tensor* x2 = nullptr;
  Tensor* y2 = nullptr;
  if (o.triplet) {
    if (!pre_slow || !post_slow)
      fail(GRL_ERROR_NULL_ARGUMENT, "%s: '%s' is NULL; opts->triplet = 1 needs the slow traces pre_slow and "
           "post_slow", fn, pre_slow ? "post_slow" : "pre_slow");
    x2 = &arg_tensor(fn, "pre_slow", pre_slow);
    y2 = &arg_tensor(fn, "post_slow", post_slow);
  }
  check_weight(fn, tw);
  check_inplace(fn, "w", tw);
  check_spikes(fn, "pre_spikes", pre, tw, tw.shape[1], "n_pre = dim 1");
  check_spikes(fn, "post_spikes", post, tw, tw.shape[0], "n_post = dim 0");
  same_batch(fn, "pre_spikes", pre, "post_spikes", post);
  check_trace(fn, "pre_trace", x1, "pre_spikes", pre);
  check_trace(fn, "post_trace", y1, "post_spikes", post);
  if (o.triplet) {
    check_trace(fn, "pre_slow", *x2, "pre_spikes", pre);
    check_trace(fn, "post_slow", *y2, "post_spikes", post);
  }
  std::initializer_list<Named> all = {{"w", &tw}, {"pre_spikes", &pre}, {"post_spikes", &post}, {"pre_trace", &x1},
                                      {"post_trace", &y1}, {"pre_slow", x2}, {"post_slow", y2}};
  check_disjoint(fn, {{"w", &tw}, {"pre_trace", &x1}, {"post_trace", &y1}, {"pre_slow", x2}, {"post_slow", y2}}, all);
  DeviceLock lock(tw.dev().mutex());
  stdp_step(fn, tw, pre, post, x1, y1, x2, y2, o);
  GRL_API_END();
}
