// Online family: diagonal Fisher information, the EWC penalty (and its backward rule), the
// natural-gradient step, NLMS filters and gated NLMS ensembles, batch/running whitening and ZCA.
#include <grilly.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "autograd/autograd.h"
#include "ops/compose.h"
#include "ops/launch.h"

namespace grl {

namespace {

// shaders/online/pointwise.comp.
struct PointPush {
  uint64_t a, b, c, g, o1, o2, o3;
  uint32_t n, op;
  float p0, p1;
  uint32_t vec4_ok, pad;
};
static_assert(sizeof(PointPush) == 80);
constexpr uint32_t kOpFisher = 0, kOpNatGrad = 1, kOpEwcGrad = 2;

struct EwcPartialPush {
  uint64_t theta, star, fisher, partial;
  uint32_t n, groups;
};
static_assert(sizeof(EwcPartialPush) == 40);

struct EwcFinishPush {
  uint64_t partial, out;
  uint32_t groups;
  float half_lambda;
};
static_assert(sizeof(EwcFinishPush) == 24);

struct PredictPush {
  uint64_t x, w, b, msq, out;
  uint32_t B, D, E;
  float inv_temp;
};
static_assert(sizeof(PredictPush) == 56);

struct UpdatePush {
  uint64_t x, target, w, b, mu, msq, err;
  uint32_t B, D, E, update_bias;
  float eps, mu_decay, mu_min, rmse_decay;
};
static_assert(sizeof(UpdatePush) == 88);

struct StatsPush {
  uint64_t x, pmean, pm2;
  uint32_t N, D, rows_per_chunk, nchunks;
};
static_assert(sizeof(StatsPush) == 40);

struct FinishPush {
  uint64_t pmean, pm2, stats, rmean, rvar;
  uint32_t N, D, rows_per_chunk, nchunks;
  float momentum;
  uint32_t pad;
};
static_assert(sizeof(FinishPush) == 64);

struct ApplyPush {
  uint64_t x, mean, var, out;
  uint32_t n, D;
  float eps;
  uint32_t pad;
};
static_assert(sizeof(ApplyPush) == 48);

struct AffinePush {
  uint64_t m, out, s;
  uint32_t D;
  float a, b, sexp;
};
static_assert(sizeof(AffinePush) == 40);

// EWC partial sums: at most this many workgroups, each with at least 8 elements per thread.
constexpr int64_t kEwcMaxGroups = 1024;
constexpr int64_t kEwcPerGroup = 2048;
// Column statistics: aim at about this many workgroups in all, chunks of at least 64 rows.
constexpr int64_t kStatsTargetGroups = 2048;
constexpr int64_t kStatsMinRows = 64;

const KernelSet& pointwise_kernels() {
  static const KernelSet k("online/pointwise", {GRL_F32, GRL_F16, GRL_BF16});
  return k;
}

Shape shape_of(std::initializer_list<int64_t> dims) {
  Shape s;
  s.ndim = static_cast<int32_t>(dims.size());
  int i = 0;
  for (int64_t d : dims) s[i++] = d;
  return s;
}

void same_shape(const char* fn, const char* na, const Tensor& a, const char* nb, const Tensor& b) {
  if (!(a.shape == b.shape))
    fail(GRL_ERROR_SHAPE, "%s: '%s' has shape %s but '%s' has shape %s; expected equal shapes", fn, nb,
         b.shape.str().c_str(), na, a.shape.str().c_str());
}

// State updated in place is written through its flat layout, so views are refused.
void in_place(const char* fn, const char* name, const Tensor& t) {
  if (!t.contiguous())
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' is updated in place and must be contiguous (got a strided "
         "view of shape %s; pass a contiguous tensor, e.g. from grl_contiguous, and use it as the state)", fn,
         name, t.shape.str().c_str());
}

void need_f32(const char* fn, const char* name, const Tensor& t) {
  if (t.dtype != GRL_F32)
    fail(GRL_ERROR_DTYPE, "%s: '%s' has dtype %s; expected f32", fn, name, dtype_name(t.dtype));
}

constexpr double kInf = 1e300;  // "no upper bound" for check_range (finite values only)

void check_range(const char* fn, const char* name, double v, double lo, double hi, bool lo_open, bool hi_open) {
  bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  if (ok) return;
  if (hi >= kInf)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' is %g; expected a finite value %s %g", fn, name, v,
         lo_open ? ">" : ">=", lo);
  fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' is %g; expected a finite value in %c%g, %g%c", fn, name, v,
       lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']');
}

// The in-place updates (not the EWC gradient) take four f32 elements per thread with 16-byte
// accesses when the count and every operand's address allow it.
void dispatch_pointwise(const Kernel& k, PointPush& pc, Tensor& anchor, std::initializer_list<Block*> reads,
                        std::initializer_list<Block*> writes) {
  pc.vec4_ok = pc.op != kOpEwcGrad && anchor.dtype == GRL_F32 && pc.n % 4 == 0 && pc.a % 16 == 0 &&
               pc.b % 16 == 0 && (pc.op != kOpNatGrad || pc.c % 16 == 0);
  anchor.dev().dispatch_1d(k, &pc, sizeof pc, groups_for(pc.vec4_ok ? pc.n / 4 : pc.n), reads, writes);
}

// ---- EWC ----

std::vector<TensorRef> ewc_backward(Tensor& g, Tensor& theta, Tensor& star, Tensor& fisher, double lambda,
                                    std::array<bool, 3> need) {
  const Kernel& k = pointwise_kernels().get("backward", "theta", theta.dtype);
  TensorRef go = g.dtype == theta.dtype ? contiguous(g) : op::call(grl_cast, &g, theta.dtype);
  std::vector<TensorRef> r(3);
  for (size_t i = 0; i < 3; ++i)
    if (need[i]) r[i] = new_tensor(theta.device(), theta.dtype, theta.shape);
  if (theta.numel() == 0) return r;
  TensorRef ct = contiguous(theta), cs = contiguous(star), cf = contiguous(fisher);
  PointPush pc{};
  pc.a = ct->address();
  pc.b = cs->address();
  pc.c = cf->address();
  pc.g = go->address();
  pc.o1 = r[0] ? r[0]->address() : 0;
  pc.o2 = r[1] ? r[1]->address() : 0;
  pc.o3 = r[2] ? r[2]->address() : 0;
  pc.n = static_cast<uint32_t>(theta.numel());
  pc.op = kOpEwcGrad;
  pc.p0 = static_cast<float>(lambda);
  dispatch_pointwise(k, pc, theta, {ct->block(), cs->block(), cf->block(), go->block()},
                     {r[0] ? r[0]->block() : nullptr, r[1] ? r[1]->block() : nullptr, r[2] ? r[2]->block() : nullptr});
  return r;
}

TensorRef ewc_forward(const char* fn, Tensor& theta, Tensor& star, Tensor& fisher, double lambda) {
  static const KernelSet kp("online/ewc_partial", {GRL_F32, GRL_F16, GRL_BF16});
  static const KernelSet kf("online/ewc_finish", {GRL_F32, GRL_F16, GRL_BF16});
  const Kernel& partial_k = kp.get(fn, "theta", theta.dtype);
  const Kernel& finish_k = kf.get(fn, "theta", theta.dtype);
  check_numel_u32(fn, theta.numel());
  TensorRef out = new_tensor(theta.device(), theta.dtype, Shape{});
  const int64_t n = theta.numel();
  if (n == 0) {
    fill(*out, 0.0);
    return out;
  }
  TensorRef ct = contiguous(theta), cs = contiguous(star), cf = contiguous(fisher);
  const int64_t groups = std::min(kEwcMaxGroups, static_cast<int64_t>(groups_for(n, kEwcPerGroup)));
  TensorRef partial = new_tensor(theta.device(), GRL_F32, shape_of({groups}));
  EwcPartialPush pp{ct->address(), cs->address(), cf->address(), partial->address(), static_cast<uint32_t>(n),
                    static_cast<uint32_t>(groups)};
  theta.dev().dispatch(partial_k, &pp, sizeof pp, static_cast<uint32_t>(groups), 1, 1,
                       {ct->block(), cs->block(), cf->block()}, {partial->block()});
  EwcFinishPush fp{partial->address(), out->address(), static_cast<uint32_t>(groups), static_cast<float>(0.5 * lambda)};
  theta.dev().dispatch(finish_k, &fp, sizeof fp, 1, 1, 1, {partial->block()}, {out->block()});
  return out;
}

// ---- NLMS ----

// x as [B, D]: a 1-d x is one sample.
struct Samples {
  int64_t B, D;
  bool single;
};

Samples samples_of(const char* fn, const Tensor& x) {
  need_f32(fn, "x", x);
  if (x.shape.ndim == 1) return {1, x.shape[0], true};
  if (x.shape.ndim == 2) return {x.shape[0], x.shape[1], false};
  fail(GRL_ERROR_SHAPE, "%s: 'x' has shape %s; expected [B, D] or [D]", fn, x.shape.str().c_str());
}

// A [B] (or 0-d / [1] for one sample) f32 vector.
void check_targets(const char* fn, const Tensor& t, const Samples& s) {
  need_f32(fn, "target", t);
  bool ok = s.single ? (t.shape.ndim == 0 || (t.shape.ndim == 1 && t.shape[0] == 1))
                     : (t.shape.ndim == 1 && t.shape[0] == s.B);
  if (!ok)
    fail(GRL_ERROR_SHAPE, "%s: 'target' has shape %s; expected %s (one per row of x)", fn, t.shape.str().c_str(),
         s.single ? "[] or [1]" : shape_of({s.B}).str().c_str());
}

// An f32 per-expert vector: [E], or (single filter, E = 1) any one-element tensor.
void check_per_expert(const char* fn, const char* name, const Tensor& t, int64_t E, bool single, bool state) {
  need_f32(fn, name, t);
  bool ok = single ? t.numel() == 1 : (t.shape.ndim == 1 && t.shape[0] == E);
  if (!ok)
    fail(GRL_ERROR_SHAPE, "%s: '%s' has shape %s; expected %s", fn, name, t.shape.str().c_str(),
         single ? "one element" : shape_of({E}).str().c_str());
  if (state) in_place(fn, name, t);
}

void check_options(const char* fn, const grl_nlms_options& o) {
  if (o.version != GRL_NLMS_OPTIONS_VERSION)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'opts->version' is %u; expected GRL_NLMS_OPTIONS_VERSION (%u)", fn,
         o.version, GRL_NLMS_OPTIONS_VERSION);
  check_range(fn, "opts->eps", o.eps, 0, kInf, true, false);
  check_range(fn, "opts->mu_decay", o.mu_decay, 0, 1, true, false);
  check_range(fn, "opts->mu_min", o.mu_min, 0, kInf, false, false);
  check_range(fn, "opts->rmse_decay", o.rmse_decay, 0, 1, false, true);
  if (o.update_bias > 1)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'opts->update_bias' is %u; expected 0 or 1", fn, o.update_bias);
}

TensorRef nlms_predict(const char* fn, Tensor& x, Tensor& w, Tensor* b, Tensor* msq, double temperature,
                       bool ensemble) {
  Samples s = samples_of(fn, x);
  need_f32(fn, "w", w);
  same_device(fn, "x", x, "w", w);
  int64_t E = 1;
  if (ensemble) {
    if (w.shape.ndim != 2 || w.shape[1] != s.D || w.shape[0] < 1)
      fail(GRL_ERROR_SHAPE, "%s: 'w' has shape %s; expected [E, %lld] with E >= 1 (x has shape %s)", fn,
           w.shape.str().c_str(), static_cast<long long>(s.D), x.shape.str().c_str());
    E = w.shape[0];
  } else if (w.shape.ndim != 1 || w.shape[0] != s.D) {
    fail(GRL_ERROR_SHAPE, "%s: 'w' has shape %s; expected [%lld] (x has shape %s)", fn, w.shape.str().c_str(),
         static_cast<long long>(s.D), x.shape.str().c_str());
  }
  if (b) {
    same_device(fn, "x", x, "b", *b);
    check_per_expert(fn, "b", *b, E, !ensemble, false);
  }
  if (msq) {
    same_device(fn, "x", x, "msq", *msq);
    check_per_expert(fn, "msq", *msq, E, false, false);
    check_range(fn, "temperature", temperature, 0, kInf, true, false);
  }
  check_numel_u32(fn, x.numel());
  check_numel_u32(fn, w.numel());
  TensorRef out = new_tensor(x.device(), GRL_F32, s.single ? Shape{} : shape_of({s.B}));
  if (s.B == 0) return out;
  static const Kernel k("online/nlms_predict");
  TensorRef cx = contiguous(x), cw = contiguous(w);
  TensorRef cb = b ? contiguous(*b) : TensorRef(), cm = msq ? contiguous(*msq) : TensorRef();
  PredictPush pc{};
  pc.x = cx->address();
  pc.w = cw->address();
  pc.b = cb ? cb->address() : 0;
  pc.msq = cm ? cm->address() : 0;
  pc.out = out->address();
  pc.B = static_cast<uint32_t>(s.B);
  pc.D = static_cast<uint32_t>(s.D);
  pc.E = static_cast<uint32_t>(E);
  pc.inv_temp = msq ? static_cast<float>(1.0 / temperature) : 0.f;
  x.dev().dispatch_1d(k, &pc, sizeof pc, groups_for(s.B, 8),
                      {cx->block(), cw->block(), cb ? cb->block() : nullptr, cm ? cm->block() : nullptr},
                      {out->block()});
  return out;
}

// Runs the sequential update; returns the a-priori errors ([B], 0-d, [B, E] or [E]).
TensorRef nlms_update(const char* fn, Tensor& w, Tensor* b, Tensor& mu, Tensor* msq, Tensor& x, Tensor& target,
                      const grl_nlms_options* opts, bool ensemble) {
  grl_nlms_options o = GRL_NLMS_OPTIONS_INIT;
  if (opts) o = *opts;
  check_options(fn, o);
  Samples s = samples_of(fn, x);
  check_targets(fn, target, s);
  need_f32(fn, "w", w);
  in_place(fn, "w", w);
  same_device(fn, "x", x, "w", w);
  same_device(fn, "x", x, "mu", mu);
  same_device(fn, "x", x, "target", target);
  int64_t E = 1;
  if (ensemble) {
    if (w.shape.ndim != 2 || w.shape[1] != s.D || w.shape[0] < 1)
      fail(GRL_ERROR_SHAPE, "%s: 'w' has shape %s; expected [E, %lld] with E >= 1 (x has shape %s)", fn,
           w.shape.str().c_str(), static_cast<long long>(s.D), x.shape.str().c_str());
    E = w.shape[0];
  } else if (w.shape.ndim != 1 || w.shape[0] != s.D) {
    fail(GRL_ERROR_SHAPE, "%s: 'w' has shape %s; expected [%lld] (x has shape %s)", fn, w.shape.str().c_str(),
         static_cast<long long>(s.D), x.shape.str().c_str());
  }
  check_per_expert(fn, "mu", mu, E, !ensemble, true);
  if (b) {
    same_device(fn, "x", x, "b", *b);
    check_per_expert(fn, "b", *b, E, !ensemble, true);
  }
  if (msq) {
    same_device(fn, "x", x, "msq", *msq);
    check_per_expert(fn, "msq", *msq, E, false, true);
  }
  check_numel_u32(fn, x.numel());
  check_numel_u32(fn, w.numel());
  check_numel_u32(fn, s.B * E);
  Shape es = ensemble ? (s.single ? shape_of({E}) : shape_of({s.B, E})) : (s.single ? Shape{} : shape_of({s.B}));
  TensorRef err = new_tensor(x.device(), GRL_F32, es);
  if (s.B == 0) return err;
  static const Kernel k("online/nlms_update");
  TensorRef cx = contiguous(x), ct = contiguous(target);
  UpdatePush pc{};
  pc.x = cx->address();
  pc.target = ct->address();
  pc.w = w.address();
  pc.b = b ? b->address() : 0;
  pc.mu = mu.address();
  pc.msq = msq ? msq->address() : 0;
  pc.err = err->address();
  pc.B = static_cast<uint32_t>(s.B);
  pc.D = static_cast<uint32_t>(s.D);
  pc.E = static_cast<uint32_t>(E);
  pc.update_bias = o.update_bias;
  pc.eps = static_cast<float>(o.eps);
  pc.mu_decay = static_cast<float>(o.mu_decay);
  pc.mu_min = static_cast<float>(o.mu_min);
  pc.rmse_decay = static_cast<float>(o.rmse_decay);
  Block* bb = b ? b->block() : nullptr;
  Block* mb = msq ? msq->block() : nullptr;
  x.dev().dispatch(k, &pc, sizeof pc, static_cast<uint32_t>(E), 1, 1,
                   {cx->block(), ct->block(), w.block(), bb, mu.block(), mb},
                   {w.block(), bb, mu.block(), mb, err->block()});
  return err;
}

// ---- Whitening ----

struct Rows {
  int64_t N, D;
};

Rows rows_of(const char* fn, const Tensor& x) {
  if (x.shape.ndim != 2)
    fail(GRL_ERROR_SHAPE, "%s: 'x' has shape %s; expected [N, D]", fn, x.shape.str().c_str());
  return {x.shape[0], x.shape[1]};
}

void check_feature_vector(const char* fn, const char* name, const Tensor& t, int64_t D) {
  need_f32(fn, name, t);
  if (t.shape.ndim != 1 || t.shape[0] != D)
    fail(GRL_ERROR_SHAPE, "%s: '%s' has shape %s; expected [%lld] (one per column of x)", fn, name,
         t.shape.str().c_str(), static_cast<long long>(D));
}

// Column means and population variances of a contiguous [N, D] x (N >= 1) as f32 [2, D], and the
// BatchNorm update of the running statistics when given.
TensorRef column_stats(const char* fn, Tensor& x, Tensor* rmean, Tensor* rvar, double momentum) {
  static const KernelSet ks("online/whiten_stats", {GRL_F32, GRL_F16, GRL_BF16});
  static const Kernel kf("online/whiten_finish");
  const Kernel& k = ks.get(fn, "x", x.dtype);
  const int64_t N = x.shape[0], D = x.shape[1];
  const int64_t tiles = (D + 31) / 32;
  if (tiles > 65535)
    fail(GRL_ERROR_UNSUPPORTED, "%s: 'x' has %lld columns; at most %d are supported", fn, static_cast<long long>(D),
         65535 * 32);
  int64_t nchunks = std::max<int64_t>(1, std::min((N + kStatsMinRows - 1) / kStatsMinRows,
                                                  std::max<int64_t>(1, kStatsTargetGroups / tiles)));
  nchunks = std::min<int64_t>(nchunks, 65535);
  const int64_t rpc = (N + nchunks - 1) / nchunks;
  nchunks = (N + rpc - 1) / rpc;
  TensorRef cx = contiguous(x);
  TensorRef pmean = new_tensor(x.device(), GRL_F32, shape_of({nchunks, D}));
  TensorRef pm2 = new_tensor(x.device(), GRL_F32, shape_of({nchunks, D}));
  TensorRef stats = new_tensor(x.device(), GRL_F32, shape_of({2, D}));
  StatsPush sp{cx->address(), pmean->address(), pm2->address(), static_cast<uint32_t>(N), static_cast<uint32_t>(D),
               static_cast<uint32_t>(rpc), static_cast<uint32_t>(nchunks)};
  x.dev().dispatch(k, &sp, sizeof sp, static_cast<uint32_t>(tiles), static_cast<uint32_t>(nchunks), 1, {cx->block()},
                   {pmean->block(), pm2->block()});
  FinishPush fp{};
  fp.pmean = pmean->address();
  fp.pm2 = pm2->address();
  fp.stats = stats->address();
  fp.rmean = rmean ? rmean->address() : 0;
  fp.rvar = rvar ? rvar->address() : 0;
  fp.N = static_cast<uint32_t>(N);
  fp.D = static_cast<uint32_t>(D);
  fp.rows_per_chunk = static_cast<uint32_t>(rpc);
  fp.nchunks = static_cast<uint32_t>(nchunks);
  fp.momentum = static_cast<float>(momentum);
  Block* rm = rmean ? rmean->block() : nullptr;
  Block* rv = rvar ? rvar->block() : nullptr;
  x.dev().dispatch_1d(kf, &fp, sizeof fp, groups_for(D), {pmean->block(), pm2->block(), rm, rv},
                      {stats->block(), rm, rv});
  return stats;
}

// out = (x - mean) / sqrt(var + eps) with f32 statistics at device addresses (in the given blocks).
TensorRef standardize(const char* fn, Tensor& x, uint64_t mean, uint64_t var, Block* mean_block, Block* var_block,
                      double eps) {
  static const KernelSet ks("online/whiten_apply", {GRL_F32, GRL_F16, GRL_BF16});
  const Kernel& k = ks.get(fn, "x", x.dtype);
  TensorRef out = new_tensor(x.device(), x.dtype, x.shape);
  if (x.numel() == 0) return out;
  TensorRef cx = contiguous(x);
  ApplyPush pc{cx->address(), mean, var, out->address(), static_cast<uint32_t>(x.numel()),
               static_cast<uint32_t>(x.shape[1]), static_cast<float>(eps), 0};
  x.dev().dispatch_1d(k, &pc, sizeof pc, groups_for(x.numel()), {cx->block(), mean_block, var_block}, {out->block()});
  return out;
}

// out = (a M + b I) * s^sexp (M, s optional).
TensorRef diag_affine(Tensor* m, int64_t D, float a, float b, Tensor* s, float sexp, grl_device_s* dev) {
  static const Kernel k("online/diag_affine");
  TensorRef out = new_tensor(dev, GRL_F32, shape_of({D, D}));
  AffinePush pc{m ? m->address() : 0, out->address(), s ? s->address() : 0, static_cast<uint32_t>(D), a, b, sexp};
  out->dev().dispatch_1d(k, &pc, sizeof pc, groups_for(D * D), {m ? m->block() : nullptr, s ? s->block() : nullptr},
                         {out->block()});
  return out;
}

// W = (scale * S + eps I)^(-1/2) by the coupled Newton-Schulz iteration (see grilly.h).
TensorRef inverse_sqrt(Tensor& S, double scale, double eps, int32_t iterations) {
  autograd::GradMode off(false);
  const int64_t D = S.shape[0];
  grl_device_s* dev = S.device();
  if (D == 0) return new_tensor(dev, GRL_F32, shape_of({0, 0}));
  TensorRef cs = contiguous(S);
  TensorRef A = diag_affine(cs.get(), D, static_cast<float>(scale), static_cast<float>(eps), nullptr, 0.f, dev);
  TensorRef c = op::call(grl_norm, A.get(), 2.0, static_cast<const int32_t*>(nullptr), 0, 0u);
  TensorRef Y = diag_affine(A.get(), D, 1.f, 0.f, c.get(), -1.f, dev);
  TensorRef Z = diag_affine(nullptr, D, 0.f, 1.f, nullptr, 0.f, dev);
  for (int32_t it = 0; it < iterations; ++it) {
    TensorRef P = op::call(grl_matmul, Z.get(), Y.get());
    TensorRef T = diag_affine(P.get(), D, -0.5f, 1.5f, nullptr, 0.f, dev);
    Y = op::call(grl_matmul, Y.get(), T.get());
    Z = op::call(grl_matmul, T.get(), Z.get());
  }
  return diag_affine(Z.get(), D, 1.f, 0.f, c.get(), -0.5f, dev);
}

void check_zca_params(const char* fn, double eps, int32_t iterations) {
  check_range(fn, "eps", eps, 0, kInf, true, false);
  if (iterations < 1 || iterations > 100)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'iterations' is %d; expected 1 .. 100 (30 is the default)", fn,
         iterations);
}

}  // namespace

GRL_BACKWARD_RULE(ewc_penalty);

}  // namespace grl

using namespace grl;

extern "C" GRL_API grl_status grl_fisher_info_update_(grl_tensor fisher, grl_tensor grad, grl_fisher_mode mode,
                                                      double decay, double scale) {
  GRL_API_BEGIN();
  Tensor& f = arg_tensor(__func__, "fisher", fisher);
  Tensor& g = arg_tensor(__func__, "grad", grad);
  same_device(__func__, "fisher", f, "grad", g);
  const Kernel& k = pointwise_kernels().get(__func__, "fisher", f.dtype);
  same_dtype(__func__, "fisher", f, "grad", g);
  same_shape(__func__, "fisher", f, "grad", g);
  in_place(__func__, "fisher", f);
  float p0, p1;
  if (mode == GRL_FISHER_EMA) {
    check_range(__func__, "decay", decay, 0, 1, false, false);
    p0 = static_cast<float>(decay);
    p1 = static_cast<float>(1.0 - decay);
  } else if (mode == GRL_FISHER_ACCUMULATE) {
    check_range(__func__, "scale", scale, 0, kInf, false, false);
    p0 = 1.f;
    p1 = static_cast<float>(scale);
  } else {
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'mode' is %d; expected GRL_FISHER_EMA (0) or GRL_FISHER_ACCUMULATE (1)",
         __func__, static_cast<int>(mode));
  }
  check_numel_u32(__func__, f.numel());
  DeviceLock lock(f.dev().mutex());
  if (f.numel() > 0) {
    TensorRef cg = contiguous(g);
    PointPush pc{};
    pc.a = f.address();
    pc.b = cg->address();
    pc.n = static_cast<uint32_t>(f.numel());
    pc.op = kOpFisher;
    pc.p0 = p0;
    pc.p1 = p1;
    dispatch_pointwise(k, pc, f, {f.block(), cg->block()}, {f.block()});
  }
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_ewc_penalty(grl_tensor theta, grl_tensor theta_star, grl_tensor fisher,
                                              double lambda, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "theta", theta);
  Tensor& s = arg_tensor(__func__, "theta_star", theta_star);
  Tensor& f = arg_tensor(__func__, "fisher", fisher);
  GRL_CHECK_OUT(out);
  same_device(__func__, "theta", t, "theta_star", s);
  same_device(__func__, "theta", t, "fisher", f);
  same_dtype(__func__, "theta", t, "theta_star", s);
  same_dtype(__func__, "theta", t, "fisher", f);
  same_shape(__func__, "theta", t, "theta_star", s);
  same_shape(__func__, "theta", t, "fisher", f);
  check_range(__func__, "lambda", lambda, 0, kInf, false, false);
  DeviceLock lock(t.dev().mutex());
  TensorRef r = ewc_forward(__func__, t, s, f, lambda);
  if (autograd::needs_grad({&t, &s, &f})) {
    std::array<bool, 3> need{autograd::requires_grad(&t), autograd::requires_grad(&s), autograd::requires_grad(&f)};
    TensorRef st = autograd::saved(t), ss = autograd::saved(s), sf = autograd::saved(f);
    autograd::record("ewc_penalty", *r, {&t, &s, &f}, [st, ss, sf, lambda, need](Tensor& g) {
      return ewc_backward(g, *st, *ss, *sf, lambda, need);
    });
  }
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_natural_gradient_step_(grl_tensor theta, grl_tensor grad, grl_tensor fisher,
                                                         double lr, double eps) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "theta", theta);
  Tensor& g = arg_tensor(__func__, "grad", grad);
  Tensor& f = arg_tensor(__func__, "fisher", fisher);
  same_device(__func__, "theta", t, "grad", g);
  same_device(__func__, "theta", t, "fisher", f);
  const Kernel& k = pointwise_kernels().get(__func__, "theta", t.dtype);
  same_dtype(__func__, "theta", t, "grad", g);
  same_dtype(__func__, "theta", t, "fisher", f);
  same_shape(__func__, "theta", t, "grad", g);
  same_shape(__func__, "theta", t, "fisher", f);
  in_place(__func__, "theta", t);
  check_range(__func__, "lr", lr, 0, kInf, false, false);
  check_range(__func__, "eps", eps, 0, kInf, true, false);
  check_numel_u32(__func__, t.numel());
  DeviceLock lock(t.dev().mutex());
  if (t.numel() > 0) {
    TensorRef cg = contiguous(g), cf = contiguous(f);
    PointPush pc{};
    pc.a = t.address();
    pc.b = cg->address();
    pc.c = cf->address();
    pc.n = static_cast<uint32_t>(t.numel());
    pc.op = kOpNatGrad;
    pc.p0 = static_cast<float>(lr);
    pc.p1 = static_cast<float>(eps);
    dispatch_pointwise(k, pc, t, {t.block(), cg->block(), cf->block()}, {t.block()});
  }
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_nlms_predict(grl_tensor x, grl_tensor w, grl_tensor b, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  Tensor& tw = arg_tensor(__func__, "w", w);
  Tensor* tb = opt_tensor(__func__, "b", b);
  GRL_CHECK_OUT(out);
  DeviceLock lock(tx.dev().mutex());
  TensorRef r = nlms_predict(__func__, tx, tw, tb, nullptr, 1.0, false);
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_nlms_update_(grl_tensor w, grl_tensor b, grl_tensor mu, grl_tensor x,
                                               grl_tensor target, const grl_nlms_options* opts, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tw = arg_tensor(__func__, "w", w);
  Tensor* tb = opt_tensor(__func__, "b", b);
  Tensor& tm = arg_tensor(__func__, "mu", mu);
  Tensor& tx = arg_tensor(__func__, "x", x);
  Tensor& tt = arg_tensor(__func__, "target", target);
  DeviceLock lock(tx.dev().mutex());
  TensorRef r = nlms_update(__func__, tw, tb, tm, nullptr, tx, tt, opts, false);
  if (out) *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_nlms_ensemble_predict(grl_tensor x, grl_tensor w, grl_tensor b, grl_tensor msq,
                                                        double temperature, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  Tensor& tw = arg_tensor(__func__, "w", w);
  Tensor* tb = opt_tensor(__func__, "b", b);
  Tensor& tq = arg_tensor(__func__, "msq", msq);
  GRL_CHECK_OUT(out);
  DeviceLock lock(tx.dev().mutex());
  TensorRef r = nlms_predict(__func__, tx, tw, tb, &tq, temperature, true);
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_nlms_ensemble_update_(grl_tensor w, grl_tensor b, grl_tensor mu, grl_tensor msq,
                                                        grl_tensor x, grl_tensor target, const grl_nlms_options* opts,
                                                        grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tw = arg_tensor(__func__, "w", w);
  Tensor* tb = opt_tensor(__func__, "b", b);
  Tensor& tm = arg_tensor(__func__, "mu", mu);
  Tensor& tq = arg_tensor(__func__, "msq", msq);
  Tensor& tx = arg_tensor(__func__, "x", x);
  Tensor& tt = arg_tensor(__func__, "target", target);
  DeviceLock lock(tx.dev().mutex());
  TensorRef r = nlms_update(__func__, tw, tb, tm, &tq, tx, tt, opts, true);
  if (out) *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_whiten_batch(grl_tensor x, grl_tensor running_mean, grl_tensor running_var,
                                               double momentum, double eps, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  Tensor* rm = opt_tensor(__func__, "running_mean", running_mean);
  Tensor* rv = opt_tensor(__func__, "running_var", running_var);
  GRL_CHECK_OUT(out);
  Rows r = rows_of(__func__, tx);
  if ((rm == nullptr) != (rv == nullptr))
    fail(GRL_ERROR_NULL_ARGUMENT, "%s: '%s' is NULL but '%s' is not; pass both running statistics or neither",
         __func__, rm ? "running_var" : "running_mean", rm ? "running_mean" : "running_var");
  if (rm) {
    same_device(__func__, "x", tx, "running_mean", *rm);
    same_device(__func__, "x", tx, "running_var", *rv);
    check_feature_vector(__func__, "running_mean", *rm, r.D);
    check_feature_vector(__func__, "running_var", *rv, r.D);
    in_place(__func__, "running_mean", *rm);
    in_place(__func__, "running_var", *rv);
    check_range(__func__, "momentum", momentum, 0, 1, false, false);
    if (r.N == 1)
      fail(GRL_ERROR_SHAPE, "%s: 'x' has one row (shape %s); updating running_var needs N >= 2 (unbiased variance)",
           __func__, tx.shape.str().c_str());
  }
  check_range(__func__, "eps", eps, 0, kInf, false, false);
  static const KernelSet ks("online/whiten_apply", {GRL_F32, GRL_F16, GRL_BF16});
  ks.get(__func__, "x", tx.dtype);
  check_numel_u32(__func__, tx.numel());
  DeviceLock lock(tx.dev().mutex());
  TensorRef res;
  if (r.N == 0 || r.D == 0) {
    res = new_tensor(tx.device(), tx.dtype, tx.shape);
  } else {
    TensorRef stats = column_stats(__func__, tx, rm, rv, momentum);
    res = standardize(__func__, tx, stats->address(), stats->address() + static_cast<uint64_t>(r.D) * 4,
                      stats->block(), stats->block(), eps);
  }
  *out = res.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_whiten_apply(grl_tensor x, grl_tensor mean, grl_tensor var, double eps,
                                               grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  Tensor& tm = arg_tensor(__func__, "mean", mean);
  Tensor& tv = arg_tensor(__func__, "var", var);
  GRL_CHECK_OUT(out);
  Rows r = rows_of(__func__, tx);
  same_device(__func__, "x", tx, "mean", tm);
  same_device(__func__, "x", tx, "var", tv);
  check_feature_vector(__func__, "mean", tm, r.D);
  check_feature_vector(__func__, "var", tv, r.D);
  check_range(__func__, "eps", eps, 0, kInf, false, false);
  check_numel_u32(__func__, tx.numel());
  DeviceLock lock(tx.dev().mutex());
  TensorRef cm = contiguous(tm), cv = contiguous(tv);
  TensorRef res = standardize(__func__, tx, cm->address(), cv->address(), cm->block(), cv->block(), eps);
  *out = res.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_zca_from_covariance(grl_tensor cov, double eps, int32_t iterations,
                                                      grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& c = arg_tensor(__func__, "cov", cov);
  GRL_CHECK_OUT(out);
  need_f32(__func__, "cov", c);
  if (c.shape.ndim != 2 || c.shape[0] != c.shape[1])
    fail(GRL_ERROR_SHAPE, "%s: 'cov' has shape %s; expected a square [D, D] matrix", __func__, c.shape.str().c_str());
  check_zca_params(__func__, eps, iterations);
  check_numel_u32(__func__, c.numel());
  DeviceLock lock(c.dev().mutex());
  TensorRef w = inverse_sqrt(c, 1.0, eps, iterations);
  *out = w.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_zca_fit(grl_tensor x, double eps, int32_t iterations, grl_tensor* out_mean,
                                          grl_tensor* out_whitening) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  arg_not_null(__func__, "out_mean", out_mean);
  arg_not_null(__func__, "out_whitening", out_whitening);
  need_f32(__func__, "x", tx);
  Rows r = rows_of(__func__, tx);
  if (r.N < 1)
    fail(GRL_ERROR_SHAPE, "%s: 'x' has shape %s; a covariance needs N >= 1 rows", __func__, tx.shape.str().c_str());
  check_zca_params(__func__, eps, iterations);
  check_numel_u32(__func__, tx.numel());
  check_numel_u32(__func__, r.D * r.D);
  DeviceLock lock(tx.dev().mutex());
  autograd::GradMode off(false);
  TensorRef mean, w;
  if (r.D == 0) {
    mean = new_tensor(tx.device(), GRL_F32, shape_of({0}));
    w = new_tensor(tx.device(), GRL_F32, shape_of({0, 0}));
  } else {
    TensorRef stats = column_stats(__func__, tx, nullptr, nullptr, 0.0);
    mean = make_view(*stats, shape_of({r.D}), contiguous_strides(shape_of({r.D})), 0);
    TensorRef xc = op::call(grl_sub, &tx, mean.get());
    TensorRef xt = op::call(grl_transpose, xc.get(), 0, 1);
    TensorRef S = op::call(grl_matmul, xt.get(), xc.get());
    w = inverse_sqrt(*S, 1.0 / static_cast<double>(r.N), eps, iterations);
  }
  *out_mean = mean.release();
  *out_whitening = w.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_zca_apply(grl_tensor x, grl_tensor mean, grl_tensor whitening, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  Tensor& tm = arg_tensor(__func__, "mean", mean);
  Tensor& tw = arg_tensor(__func__, "whitening", whitening);
  GRL_CHECK_OUT(out);
  need_f32(__func__, "x", tx);
  Rows r = rows_of(__func__, tx);
  same_device(__func__, "x", tx, "mean", tm);
  same_device(__func__, "x", tx, "whitening", tw);
  check_feature_vector(__func__, "mean", tm, r.D);
  need_f32(__func__, "whitening", tw);
  if (tw.shape.ndim != 2 || tw.shape[0] != r.D || tw.shape[1] != r.D)
    fail(GRL_ERROR_SHAPE, "%s: 'whitening' has shape %s; expected [%lld, %lld] (x has shape %s)", __func__,
         tw.shape.str().c_str(), static_cast<long long>(r.D), static_cast<long long>(r.D), tx.shape.str().c_str());
  DeviceLock lock(tx.dev().mutex());
  // Composed of sub and matmul, so gradients flow through their rules.
  TensorRef xc = op::call(grl_sub, &tx, &tm);
  TensorRef res = op::call(grl_matmul, xc.get(), &tw);
  *out = res.release();
  GRL_API_END();
}
