// Optimizers: options and parameter checks, state allocation, the step (one tick dispatch, then
// one fused update per parameter with a gradient), lr and scalar state, and state access.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "autograd/autograd.h"
#include "ops/launch.h"
#include "optim/optim.h"

using namespace grl;
using namespace grl::optim;

namespace grl::optim {

const char* kind_name(grl_optimizer_kind k) {
  switch (k) {
    case GRL_OPTIM_SGD: return "SGD";
    case GRL_OPTIM_ADAM: return "Adam";
    case GRL_OPTIM_ADAMW: return "AdamW";
    case GRL_OPTIM_RMSPROP: return "RMSprop";
    case GRL_OPTIM_ADAGRAD: return "Adagrad";
    case GRL_OPTIM_NLMS: return "NLMS";
    case GRL_OPTIM_NATURAL_GRADIENT: return "NaturalGradient";
    default: return "?";
  }
}

grl_optimizer_s& arg_optimizer(const char* fn, grl_optimizer opt) {
  if (!opt) fail(GRL_ERROR_NULL_ARGUMENT, "%s: argument 'opt' is NULL (expected a grl_optimizer)", fn);
  return *opt;
}

void read_header(grl_optimizer_s& o, uint32_t words[4]) {
  o.dev().download(o.sc->block(), 0, words, 4 * sizeof(uint32_t));
}

namespace {

uint32_t float_bits(double v) {
  float f = static_cast<float>(v);
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

}  // namespace

void write_scalars(grl_optimizer_s& o, uint32_t t, double lr, double mu) {
  uint32_t words[4] = {t, float_bits(lr), float_bits(mu), float_bits(mu)};
  o.dev().upload(o.sc->block(), 0, words, sizeof words);
  o.lr = lr;
}

}  // namespace grl::optim

namespace {

constexpr uint32_t kMaskWords = 18;
constexpr uint32_t kTickSpan = kMaskWords * 32;  // parameters one tick dispatch can mask
constexpr uint32_t kTickHeader = 1, kTickAll = 2;

struct TickPush {
  uint64_t sc;
  uint32_t first, count, kind, flags;
  float beta1_hi, beta1_lo, beta2_hi, beta2_lo;
  float lr_decay, mu_decay, mu_min, weight_decay;
  uint32_t mask[kMaskWords];
};
static_assert(sizeof(TickPush) == 128);

// Fields of the options that take a kind-dependent default when negative.
struct Defaults {
  double lr, weight_decay, eps;
};

Defaults defaults_of(grl_optimizer_kind k) {
  switch (k) {
    case GRL_OPTIM_SGD: return {0.01, 0.0, 0.0};
    case GRL_OPTIM_ADAM: return {1e-3, 0.0, 1e-8};
    case GRL_OPTIM_ADAMW: return {1e-3, 0.01, 1e-8};
    case GRL_OPTIM_RMSPROP: return {0.01, 0.0, 1e-8};
    case GRL_OPTIM_ADAGRAD: return {0.01, 0.0, 1e-10};
    case GRL_OPTIM_NLMS: return {0.5, 0.0, 1e-6};
    default: return {0.01, 0.0, 1e-8};
  }
}

// Names of st0..st2 per kind ("" where the kind has no such slot).
std::array<const char*, 3> slot_names(grl_optimizer_kind k) {
  switch (k) {
    case GRL_OPTIM_SGD: return {"momentum_buffer", "", ""};
    case GRL_OPTIM_ADAM:
    case GRL_OPTIM_ADAMW: return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    case GRL_OPTIM_RMSPROP: return {"square_avg", "momentum_buffer", "grad_avg"};
    case GRL_OPTIM_ADAGRAD: return {"sum", "", ""};
    case GRL_OPTIM_NATURAL_GRADIENT: return {"fisher", "", ""};
    default: return {"", "", ""};
  }
}

void check_finite(const char* fn, const char* field, double v) {
  if (!std::isfinite(v)) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->%s is %g; expected a finite value", fn, field, v);
}

void check_range(const char* fn, const char* field, double v, double lo, bool lo_open, double hi, bool hi_open,
                 const char* kind) {
  bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  if (!ok) {
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->%s is %g; %s expects a value in %s%g, %g%s", fn, field, v, kind,
         lo_open ? "(" : "[", lo, hi, hi_open ? ")" : "]");
  }
}

void check_bool(const char* fn, const char* field, uint32_t v) {
  if (v > 1) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->%s is %u; expected 0 or 1", fn, field, v);
}

// Applies the defaults and checks every field the kind reads.
grl_optimizer_options resolve(const char* fn, const grl_optimizer_options& in) {
  if (in.version != GRL_OPTIMIZER_OPTIONS_VERSION)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->version is %u; expected %u (start from GRL_OPTIMIZER_OPTIONS_INIT)",
         fn, in.version, GRL_OPTIMIZER_OPTIONS_VERSION);
  if (static_cast<int>(in.kind) < 0 || in.kind > GRL_OPTIM_NATURAL_GRADIENT)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->kind is %d; expected a grl_optimizer_kind (0..%d)", fn,
         static_cast<int>(in.kind), static_cast<int>(GRL_OPTIM_NATURAL_GRADIENT));
  grl_optimizer_options o = in;
  const grl_optimizer_kind k = o.kind;
  const char* kn = kind_name(k);
  Defaults d = defaults_of(k);
  const double inf = INFINITY;
  // NaN is not negative: it falls through to the range checks below and is reported there.
  if (o.lr < 0) o.lr = d.lr;
  if (o.weight_decay < 0) o.weight_decay = d.weight_decay;
  if (o.eps < 0) o.eps = d.eps;
  check_range(fn, k == GRL_OPTIM_NLMS ? "lr (the initial mu)" : "lr", o.lr, 0, true, inf, true, kn);
  check_range(fn, "weight_decay", o.weight_decay, 0, false, inf, true, kn);
  check_range(fn, "eps", o.eps, 0, false, inf, true, kn);
  if ((k == GRL_OPTIM_NLMS || k == GRL_OPTIM_NATURAL_GRADIENT) && o.weight_decay != 0)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->weight_decay is %g but %s has no weight decay (leave it -1 or 0)", fn,
         o.weight_decay, kn);
  switch (k) {
    case GRL_OPTIM_SGD:
      check_range(fn, "momentum", o.momentum, 0, false, inf, true, kn);
      check_finite(fn, "dampening", o.dampening);
      check_bool(fn, "nesterov", o.nesterov);
      if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
        fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->nesterov needs momentum > 0 and dampening 0 (momentum is %g, "
             "dampening %g)", fn, o.momentum, o.dampening);
      break;
    case GRL_OPTIM_ADAM:
    case GRL_OPTIM_ADAMW:
      check_range(fn, "beta1", o.beta1, 0, false, 1, true, kn);
      check_range(fn, "beta2", o.beta2, 0, false, 1, true, kn);
      check_bool(fn, "amsgrad", o.amsgrad);
      break;
    case GRL_OPTIM_RMSPROP:
      check_range(fn, "alpha", o.alpha, 0, false, 1, false, kn);
      check_range(fn, "momentum", o.momentum, 0, false, inf, true, kn);
      check_bool(fn, "centered", o.centered);
      break;
    case GRL_OPTIM_ADAGRAD:
      check_range(fn, "lr_decay", o.lr_decay, 0, false, inf, true, kn);
      check_range(fn, "initial_accumulator_value", o.initial_accumulator_value, 0, false, inf, true, kn);
      break;
    case GRL_OPTIM_NLMS:
      check_range(fn, "mu_decay", o.mu_decay, 0, true, 1, false, kn);
      check_range(fn, "mu_min", o.mu_min, 0, false, inf, true, kn);
      break;
    case GRL_OPTIM_NATURAL_GRADIENT:
      check_range(fn, "fisher_decay", o.fisher_decay, 0, false, 1, true, kn);
      break;
    default:
      break;
  }
  return o;
}

// Update-kernel flags and constants (the h[] of each kernel in shaders/optim/).
void set_constants(grl_optimizer_s& s) {
  const grl_optimizer_options& o = s.o;
  auto f = [](double v) { return static_cast<float>(v); };
  uint32_t fl = o.weight_decay != 0 ? kWeightDecay : 0;
  switch (o.kind) {
    case GRL_OPTIM_SGD:
      s.h[0] = f(o.momentum), s.h[1] = f(1.0 - o.dampening), s.h[2] = f(o.weight_decay);
      if (o.momentum != 0) fl |= kMomentum;
      if (o.nesterov) fl |= kNesterov;
      break;
    case GRL_OPTIM_ADAM:
    case GRL_OPTIM_ADAMW:
      s.h[0] = f(o.beta1), s.h[1] = f(o.beta2), s.h[2] = f(o.eps), s.h[3] = f(o.weight_decay);
      s.h[4] = f(1.0 - o.beta1), s.h[5] = f(1.0 - o.beta2);
      if (o.amsgrad) fl |= kAmsgrad;
      if (o.kind == GRL_OPTIM_ADAMW) fl = (fl & ~kWeightDecay) | kDecoupled;
      break;
    case GRL_OPTIM_RMSPROP:
      s.h[0] = f(o.alpha), s.h[1] = f(1.0 - o.alpha), s.h[2] = f(o.eps), s.h[3] = f(o.weight_decay);
      s.h[4] = f(o.momentum);
      if (o.momentum > 0) fl |= kMomentum;
      if (o.centered) fl |= kCentered;
      break;
    case GRL_OPTIM_ADAGRAD:
      s.h[0] = f(o.eps), s.h[1] = f(o.weight_decay);
      break;
    case GRL_OPTIM_NLMS:
      s.h[0] = f(o.eps);
      break;
    case GRL_OPTIM_NATURAL_GRADIENT:
      s.h[0] = f(o.fisher_decay), s.h[1] = f(1.0 - o.fisher_decay), s.h[2] = f(o.eps);
      break;
    default:
      break;
  }
  s.flags = fl;
}

bool slot_used(const grl_optimizer_options& o, int slot) {
  switch (o.kind) {
    case GRL_OPTIM_SGD: return slot == 0 && o.momentum != 0;
    case GRL_OPTIM_ADAM:
    case GRL_OPTIM_ADAMW: return slot < 2 || o.amsgrad;
    case GRL_OPTIM_RMSPROP: return slot == 0 || (slot == 1 && o.momentum > 0) || (slot == 2 && o.centered);
    case GRL_OPTIM_ADAGRAD:
    case GRL_OPTIM_NATURAL_GRADIENT: return slot == 0;
    default: return false;
  }
}

void check_params(const char* fn, const grl_tensor* params, int32_t n) {
  if (n < 1) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: n_params is %d; expected at least 1 parameter", fn, n);
  arg_not_null(fn, "params", params);
  for (int32_t i = 0; i < n; ++i) {
    if (!params[i]) fail(GRL_ERROR_NULL_ARGUMENT, "%s: params[%d] is NULL (expected a grl_tensor)", fn, i);
    const Tensor& p = *params[i];
    if (!is_float(p.dtype))
      fail(GRL_ERROR_DTYPE, "%s: params[%d] has dtype %s; expected a floating dtype (f32, f16 or bf16)", fn, i,
           dtype_name(p.dtype));
    if (p.device() != params[0]->device())
      fail(GRL_ERROR_DEVICE_MISMATCH, "%s: params[%d] is on another device than params[0]; an optimizer's "
           "parameters share one device", fn, i);
    if (p.ag && p.ag->grad_fn)
      fail(GRL_ERROR_INVALID_ARGUMENT, "%s: params[%d] was produced by '%s'; only leaves can be optimized", fn, i,
           p.ag->grad_fn->name);
    if (!p.contiguous())
      fail(GRL_ERROR_INVALID_ARGUMENT, "%s: params[%d] (shape %s) is not contiguous; optimizers update parameters "
           "in place, so pass contiguous tensors", fn, i, p.shape.str().c_str());
    check_numel_u32(fn, p.numel());
    size_t lo = static_cast<size_t>(p.offset) * p.elsize(), hi = lo + static_cast<size_t>(p.numel()) * p.elsize();
    for (int32_t j = 0; j < i; ++j) {
      const Tensor& q = *params[j];
      if (&q == &p)
        fail(GRL_ERROR_INVALID_ARGUMENT, "%s: params[%d] and params[%d] are the same tensor; pass each parameter "
             "once", fn, j, i);
      size_t qlo = static_cast<size_t>(q.offset) * q.elsize(), qhi = qlo + static_cast<size_t>(q.numel()) * q.elsize();
      if (p.block() && p.block() == q.block() && lo < qhi && qlo < hi)
        fail(GRL_ERROR_INVALID_ARGUMENT, "%s: params[%d] and params[%d] share memory; pass each parameter once", fn,
             j, i);
    }
  }
}

TensorRef zeros_f32(grl_device_s* dev, const Shape& shape) {
  TensorRef t = new_tensor(dev, GRL_F32, shape);
  if (t->block()) t->dev().fill_zero(t->block(), 0, static_cast<size_t>(t->numel()) * 4);
  return t;
}

const Kernel& update_kernel(grl_optimizer_kind k, grl_dtype dt) {
  static const KernelSet sgd("optim/sgd", {GRL_F32, GRL_F16, GRL_BF16});
  static const KernelSet adam("optim/adam", {GRL_F32, GRL_F16, GRL_BF16});
  static const KernelSet rmsprop("optim/rmsprop", {GRL_F32, GRL_F16, GRL_BF16});
  static const KernelSet adagrad("optim/adagrad", {GRL_F32, GRL_F16, GRL_BF16});
  static const KernelSet nlms("optim/nlms", {GRL_F32, GRL_F16, GRL_BF16});
  static const KernelSet natural("optim/natural_gradient", {GRL_F32, GRL_F16, GRL_BF16});
  const char* fn = "grl_optimizer_step";
  switch (k) {
    case GRL_OPTIM_SGD: return sgd.get(fn, "param", dt);
    case GRL_OPTIM_ADAM:
    case GRL_OPTIM_ADAMW: return adam.get(fn, "param", dt);
    case GRL_OPTIM_RMSPROP: return rmsprop.get(fn, "param", dt);
    case GRL_OPTIM_ADAGRAD: return adagrad.get(fn, "param", dt);
    case GRL_OPTIM_NLMS: return nlms.get(fn, "param", dt);
    default: return natural.get(fn, "param", dt);
  }
}

void split_double(double v, float& hi, float& lo) {
  hi = static_cast<float>(v);
  lo = static_cast<float>(v - static_cast<double>(hi));
}

// One or more tick dispatches: every parameter's record is visited once; the header advances in
// the first. With every parameter stepped (the usual case) one dispatch covers them all.
void tick(grl_optimizer_s& s, const std::vector<bool>& stepped) {
  static const Kernel k("optim/tick");
  const uint32_t n = static_cast<uint32_t>(s.params.size());
  bool all = true;
  for (bool b : stepped) all = all && b;
  TickPush pc{};
  pc.sc = s.sc->address();
  pc.kind = static_cast<uint32_t>(s.o.kind);
  split_double(s.o.beta1, pc.beta1_hi, pc.beta1_lo);
  split_double(s.o.beta2, pc.beta2_hi, pc.beta2_lo);
  pc.lr_decay = static_cast<float>(s.o.lr_decay);
  pc.mu_decay = static_cast<float>(s.o.mu_decay);
  pc.mu_min = static_cast<float>(s.o.mu_min);
  pc.weight_decay = static_cast<float>(s.o.weight_decay);
  Block* b = s.sc->block();
  if (all) {
    pc.first = 0, pc.count = n, pc.flags = kTickHeader | kTickAll;
    s.dev().dispatch(k, &pc, sizeof pc, 1, 1, 1, {b}, {b});
    return;
  }
  for (uint32_t first = 0; first < n; first += kTickSpan) {
    pc.first = first;
    pc.count = std::min(kTickSpan, n - first);
    pc.flags = first == 0 ? kTickHeader : 0;
    std::memset(pc.mask, 0, sizeof pc.mask);
    bool any = false;
    for (uint32_t j = 0; j < pc.count; ++j)
      if (stepped[first + j]) pc.mask[j / 32] |= 1u << (j % 32), any = true;
    if (any || first == 0) s.dev().dispatch(k, &pc, sizeof pc, 1, 1, 1, {b}, {b});
  }
}

void step(grl_optimizer_s& s) {
  const char* fn = "grl_optimizer_step";
  const size_t n = s.params.size();
  std::vector<bool> stepped(n, false);
  for (size_t i = 0; i < n; ++i) {
    Tensor& p = *s.params[i];
    Tensor* g = p.ag && p.ag->grad ? p.ag->grad.get() : nullptr;
    if (!g) continue;
    if (g->device() != p.device())
      fail(GRL_ERROR_DEVICE_MISMATCH, "%s: the gradient of parameter %zu is on another device", fn, i);
    if (g->dtype != p.dtype)
      fail(GRL_ERROR_DTYPE, "%s: the gradient of parameter %zu has dtype %s but the parameter has %s", fn, i,
           dtype_name(g->dtype), dtype_name(p.dtype));
    if (!(g->shape == p.shape))
      fail(GRL_ERROR_SHAPE, "%s: the gradient of parameter %zu has shape %s but the parameter has %s", fn, i,
           g->shape.str().c_str(), p.shape.str().c_str());
    stepped[i] = true;
  }
  Device& dev = s.dev();
  if (dev.capturing()) {  // names for grl_graph_summary
    dev.label(s.sc->block(), "optimizer scalars");
    for (size_t i = 0; i < n; ++i) {
      if (!stepped[i]) continue;
      const Tensor& p = *s.params[i];
      std::string what = p.shape.str() + " " + dtype_name(p.dtype);
      dev.label(p.block(), "param " + std::to_string(i) + " " + what);
      dev.label(p.ag->grad->block(), "grad " + std::to_string(i) + " " + what);
      for (size_t k = 0; k < 3; ++k)
        if (const TensorRef& t = s.state[i].slot[k])
          dev.label(t->block(), std::to_string(i) + "." + slot_names(s.o.kind)[k]);
    }
  }
  tick(s, stepped);
  // Parameters to update, by dtype (NLMS launches the norms of one dtype together).
  std::vector<size_t> order;
  std::vector<TensorRef> grads(n);
  for (size_t i = 0; i < n; ++i)
    if (stepped[i] && s.params[i]->numel() > 0) {
      order.push_back(i);
      grads[i] = contiguous(*s.params[i]->ag->grad);
    }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return s.params[a]->dtype < s.params[b]->dtype; });
  if (s.o.kind == GRL_OPTIM_NLMS) {
    std::vector<Tensor*> xs;
    for (size_t i : order) xs.push_back(grads[i].get());
    norm_partials(fn, xs, *s.partials, 0, kSumSquares, 2.f);
  }
  for (size_t j = 0; j < order.size(); ++j) {
    const size_t i = order[j];
    Tensor& p = *s.params[i];
    Tensor& g = *grads[i];
    ParamState& st = s.state[i];
    UpdatePush pc{};
    pc.p = p.address();
    pc.g = g.address();
    pc.sc = s.sc->address();
    pc.n = static_cast<uint32_t>(p.numel());
    pc.rec = kHeaderWords + kRecordWords * static_cast<uint32_t>(i);
    pc.flags = s.flags;
    std::memcpy(pc.h, s.h, sizeof pc.h);
    Block* sb[3] = {nullptr, nullptr, nullptr};
    uint64_t* addr[3] = {&pc.st0, &pc.st1, &pc.st2};
    for (size_t k = 0; k < 3; ++k)
      if (st.slot[k]) sb[k] = st.slot[k]->block(), *addr[k] = st.slot[k]->address();
    Block* parts = nullptr;
    if (s.o.kind == GRL_OPTIM_NLMS) {
      pc.st0 = s.partials->address() + static_cast<uint64_t>(j) * kSpan * sizeof(float);
      pc.parts = static_cast<uint32_t>(std::min<uint64_t>(groups_for(pc.n), kSpan));
      parts = s.partials->block();
    }
    dev.dispatch_1d(update_kernel(s.o.kind, p.dtype), &pc, sizeof pc, groups_for(pc.n),
                    {g.block(), s.sc->block(), parts}, {p.block(), sb[0], sb[1], sb[2]});
  }
}

void not_capturing(const char* fn, grl_optimizer_s& s) {
  if (s.dev().capturing())
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: the device is capturing a graph; read or change the optimizer's scalars "
         "between replays (captured steps read them from the optimizer's device buffer)", fn);
}

void check_lr(const char* fn, double lr) {
  if (!std::isfinite(lr) || lr < 0)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: lr is %g; expected a finite value >= 0", fn, lr);
}

}  // namespace

// A state tensor's position, checked against grl_optimizer_state_count.
static size_t state_index(const char* fn, const grl_optimizer_s& s, int32_t index) {
  if (index < 0 || static_cast<size_t>(index) >= s.names.size())
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: index is %d; the optimizer has %zu state tensors (grl_optimizer_state_count)",
         fn, index, s.names.size());
  return static_cast<size_t>(index);
}

extern "C" {

GRL_API grl_status grl_optimizer_create(const grl_tensor* params, int32_t n_params, const grl_optimizer_options* opts,
                                        grl_optimizer* out) {
  GRL_API_BEGIN();
  GRL_CHECK_OUT(out);
  arg_not_null(__func__, "opts", opts);
  grl_optimizer_options o = resolve(__func__, *opts);
  check_params(__func__, params, n_params);
  grl_device_s* dev = params[0]->device();
  DeviceLock lock(dev->impl->mutex());
  auto s = std::make_unique<grl_optimizer_s>();
  s->o = o;
  set_constants(*s);
  const size_t n = static_cast<size_t>(n_params);
  int64_t words = kHeaderWords + kRecordWords * static_cast<int64_t>(n);
  s->sc = new_tensor(dev, GRL_I32, Shape::of(std::span<const int64_t>(&words, 1)));
  std::vector<uint32_t> init(static_cast<size_t>(words), 0);
  float lr = static_cast<float>(o.lr), mu = o.kind == GRL_OPTIM_NLMS ? lr : 0.f;
  std::memcpy(&init[kWordLr], &lr, 4);
  std::memcpy(&init[kWordMu], &mu, 4);
  std::memcpy(&init[kWordMuUsed], &mu, 4);
  dev->impl->upload(s->sc->block(), 0, init.data(), init.size() * 4);
  s->lr = o.lr;
  if (o.kind == GRL_OPTIM_NLMS) {
    int64_t np = static_cast<int64_t>(n) * kSpan;
    s->partials = new_tensor(dev, GRL_F32, Shape::of(std::span<const int64_t>(&np, 1)));
  }
  auto names = slot_names(o.kind);
  for (size_t i = 0; i < n; ++i) {
    Tensor& p = *params[i];
    s->params.push_back(TensorRef::retain(&p));
    ParamState st;
    int64_t one = 1;
    Shape s1 = Shape::of(std::span<const int64_t>(&one, 1));
    st.step = make_view(*s->sc, s1, contiguous_strides(s1), kHeaderWords + kRecordWords * static_cast<int64_t>(i));
    s->names.push_back(std::to_string(i) + ".step");
    s->tensors.push_back(st.step);
    for (int j = 0; j < 3; ++j) {
      if (!slot_used(o, j)) continue;
      TensorRef t = zeros_f32(dev, p.shape);
      if (o.kind == GRL_OPTIM_ADAGRAD && o.initial_accumulator_value != 0) fill(*t, o.initial_accumulator_value);
      s->names.push_back(std::to_string(i) + "." + names[static_cast<size_t>(j)]);
      s->tensors.push_back(t);
      st.slot[static_cast<size_t>(j)] = std::move(t);
    }
    s->state.push_back(std::move(st));
  }
  *out = s.release();
  GRL_API_END();
}

GRL_API void grl_optimizer_retain(grl_optimizer opt) {
  if (opt) opt->refs.fetch_add(1);
}

GRL_API void grl_optimizer_release(grl_optimizer opt) {
  if (opt && opt->refs.fetch_sub(1) == 1) delete opt;
}

GRL_API grl_status grl_optimizer_step(grl_optimizer opt) {
  GRL_API_BEGIN();
  auto& s = arg_optimizer(__func__, opt);
  DeviceLock lock(s.dev().mutex());
  step(s);
  GRL_API_END();
}

GRL_API grl_status grl_optimizer_zero_grad(grl_optimizer opt) {
  GRL_API_BEGIN();
  auto& s = arg_optimizer(__func__, opt);
  DeviceLock lock(s.dev().mutex());
  for (auto& p : s.params)
    if (p->ag) p->ag->grad = TensorRef();
  GRL_API_END();
}

GRL_API grl_status grl_optimizer_set_lr(grl_optimizer opt, double lr) {
  GRL_API_BEGIN();
  auto& s = arg_optimizer(__func__, opt);
  check_lr(__func__, lr);
  DeviceLock lock(s.dev().mutex());
  not_capturing(__func__, s);
  uint32_t bits = float_bits(lr);
  s.dev().upload(s.sc->block(), kWordLr * 4, &bits, 4);
  if (s.o.kind == GRL_OPTIM_NLMS) s.dev().upload(s.sc->block(), kWordMu * 4, &bits, 4);
  s.lr = lr;
  GRL_API_END();
}

GRL_API grl_status grl_optimizer_get_lr(grl_optimizer opt, double* out) {
  GRL_API_BEGIN();
  auto& s = arg_optimizer(__func__, opt);
  GRL_CHECK_OUT(out);
  DeviceLock lock(s.dev().mutex());
  *out = s.lr;
  GRL_API_END();
}

GRL_API grl_status grl_optimizer_step_count(grl_optimizer opt, int64_t* out) {
  GRL_API_BEGIN();
  auto& s = arg_optimizer(__func__, opt);
  GRL_CHECK_OUT(out);
  DeviceLock lock(s.dev().mutex());
  not_capturing(__func__, s);
  uint32_t w[4];
  read_header(s, w);
  *out = w[kWordT];
  GRL_API_END();
}

GRL_API grl_status grl_optimizer_state_count(grl_optimizer opt, int32_t* out) {
  GRL_API_BEGIN();
  auto& s = arg_optimizer(__func__, opt);
  GRL_CHECK_OUT(out);
  *out = static_cast<int32_t>(s.names.size());
  GRL_API_END();
}

GRL_API grl_status grl_optimizer_state_name(grl_optimizer opt, int32_t index, const char** out) {
  GRL_API_BEGIN();
  auto& s = arg_optimizer(__func__, opt);
  GRL_CHECK_OUT(out);
  *out = s.names[state_index(__func__, s, index)].c_str();
  GRL_API_END();
}

GRL_API grl_status grl_optimizer_state_tensor(grl_optimizer opt, int32_t index, grl_tensor* out) {
  GRL_API_BEGIN();
  auto& s = arg_optimizer(__func__, opt);
  GRL_CHECK_OUT(out);
  *out = TensorRef(s.tensors[state_index(__func__, s, index)]).release();
  GRL_API_END();
}

GRL_API grl_status grl_optimizer_get_scalars(grl_optimizer opt, double* out) {
  GRL_API_BEGIN();
  auto& s = arg_optimizer(__func__, opt);
  GRL_CHECK_OUT(out);
  DeviceLock lock(s.dev().mutex());
  not_capturing(__func__, s);
  uint32_t w[4];
  read_header(s, w);
  float mu;
  std::memcpy(&mu, &w[kWordMu], 4);
  out[0] = static_cast<double>(w[kWordT]);
  out[1] = s.lr;
  out[2] = mu;
  GRL_API_END();
}

GRL_API grl_status grl_optimizer_set_scalars(grl_optimizer opt, const double* values) {
  GRL_API_BEGIN();
  auto& s = arg_optimizer(__func__, opt);
  arg_not_null(__func__, "values", values);
  if (!(values[0] >= 0 && values[0] <= UINT32_MAX) || values[0] != std::floor(values[0]))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: values[0] (the step count) is %g; expected an integer in 0..%u", __func__,
         values[0], UINT32_MAX);
  if (!std::isfinite(values[1]) || values[1] < 0)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: values[1] (the lr) is %g; expected a finite value >= 0", __func__,
         values[1]);
  if (!std::isfinite(values[2]) || values[2] < 0)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: values[2] (the NLMS mu) is %g; expected a finite value >= 0", __func__,
         values[2]);
  DeviceLock lock(s.dev().mutex());
  not_capturing(__func__, s);
  write_scalars(s, static_cast<uint32_t>(values[0]), values[1], values[2]);
  GRL_API_END();
}

}  // extern "C"
