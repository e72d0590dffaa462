// Memory family, cells and key-value part: place, grid and time cells, the theta-gamma phase code,
// key-value memory read / write, pooling and injection, with their backward rules.
#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/autograd.h"
#include "ops/compose.h"
#include "ops/launch.h"
#include "ops/memory_common.h"

namespace grl {

namespace mem {

uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }

void finite(const char* fn, const char* name, double v) {
  if (!std::isfinite(v)) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' must be finite, got %g", fn, name, v);
}

void at_least(const char* fn, const char* name, double v, double lo, bool strict) {
  if (!std::isfinite(v) || (strict ? v <= lo : v < lo))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' must be finite and %s %g, got %g", fn, name, strict ? ">" : ">=", lo, v);
}

void rank(const char* fn, const char* name, const Tensor& t, int32_t ndim, const char* what) {
  if (t.shape.ndim != ndim)
    fail(GRL_ERROR_SHAPE, "%s: '%s' must be %s, got shape %s", fn, name, what, t.shape.str().c_str());
}

void dim_is(const char* fn, const char* name, const Tensor& t, int axis, int64_t want, const char* what) {
  if (t.shape[axis] != want)
    fail(GRL_ERROR_SHAPE, "%s: '%s' has shape %s; dim %d must be %lld (%s)", fn, name, t.shape.str().c_str(), axis,
         static_cast<long long>(want), what);
}

// A floating operand joining a first one: same device, same dtype.
void joins(const char* fn, const char* name, const Tensor& t, const char* first, const Tensor& f) {
  same_device(fn, first, f, name, t);
  same_dtype(fn, first, f, name, t);
}

}  // namespace mem

using namespace mem;

namespace {

const std::initializer_list<grl_dtype> kFloats = {GRL_F32, GRL_F16, GRL_BF16};

// ---------------------------------------------------------------------------------------------
// Place and time cells (one Gaussian kernel, D = 1 for time cells)
// ---------------------------------------------------------------------------------------------
struct PlacePush {
  uint64_t x, c, s, out;
  uint32_t B, N, D;
  float sigma, max_rate, baseline;
};
static_assert(sizeof(PlacePush) == 56);

struct PlaceGradPush {
  uint64_t x, c, s, g, d0, d1;
  uint32_t B, N, D, mode;
  float sigma, max_rate;
};
static_assert(sizeof(PlaceGradPush) == 72);

constexpr int kMaxDim = 8;  // place_grad.comp keeps one position in registers

// rate[b, n] for x [B, D], c [N, D] (contiguous), s [N] or null; out has `shape` (B * N elements).
TensorRef gaussian_cells(const char* fn, Tensor& x, Tensor& c, Tensor* s, double sigma, double max_rate,
                         double baseline, int64_t B, int64_t N, int64_t D, const Shape& shape) {
  static const KernelSet ks("memory/place", kFloats);
  const Kernel& k = ks.get(fn, "input", x.dtype);
  check_numel_u32(fn, B * N);
  check_numel_u32(fn, B * D);
  TensorRef out = new_tensor(x.device(), x.dtype, shape);
  if (B * N == 0) return out;
  TensorRef xc = contiguous(x), cc = contiguous(c), sc;
  if (s) sc = contiguous(*s);
  PlacePush pc{xc->address(), cc->address(), s ? sc->address() : 0, out->address(), u32(B), u32(N), u32(D),
               static_cast<float>(sigma), static_cast<float>(max_rate), static_cast<float>(baseline)};
  x.dev().dispatch_1d(k, &pc, sizeof pc, groups_for(B * N), {xc->block(), cc->block(), s ? sc->block() : nullptr},
                      {out->block()});
  return out;
}

// Gradients of the Gaussian cells: dx with x's shape, dc with c's, ds [N] (when s is given); f32.
std::vector<TensorRef> gaussian_cells_grad(Tensor& x, Tensor& c, Tensor* s, double sigma, double max_rate, int64_t B,
                                           int64_t N, int64_t D, Tensor& g_in) {
  static const KernelSet ks("memory/place_grad", kFloats);
  const Kernel& k = ks.get("backward", "input", x.dtype);
  TensorRef g = g_in.dtype == x.dtype ? contiguous(g_in) : op::call(grl_cast, &g_in, x.dtype);
  g = contiguous(*g);
  TensorRef xc = contiguous(x), cc = contiguous(c), sc;
  if (s) sc = contiguous(*s);
  TensorRef dx = new_tensor(x.device(), GRL_F32, x.shape), dc = new_tensor(x.device(), GRL_F32, c.shape), ds;
  if (s) ds = new_tensor(x.device(), GRL_F32, s->shape);
  Device& dev = x.dev();
  Block* sb = s ? sc->block() : nullptr;
  PlaceGradPush pc{xc->address(), cc->address(), s ? sc->address() : 0, g->address(), dx->address(), 0, u32(B),
                   u32(N), u32(D), 0, static_cast<float>(sigma), static_cast<float>(max_rate)};
  if (B > 0) {
    if (N == 0)
      fill(*dx, 0.0);
    else
      dev.dispatch_1d(k, &pc, sizeof pc, groups_for(B), {xc->block(), cc->block(), sb, g->block()}, {dx->block()});
  }
  if (N > 0) {
    pc.mode = 1;
    pc.d0 = dc->address();
    pc.d1 = s ? ds->address() : 0;
    if (B == 0) {
      fill(*dc, 0.0);
      if (s) fill(*ds, 0.0);
    } else {
      dev.dispatch_1d(k, &pc, sizeof pc, groups_for(N), {xc->block(), cc->block(), sb, g->block()},
                      {dc->block(), s ? ds->block() : nullptr});
    }
  }
  return {dx, dc, ds};
}

void record_gaussian(const char* name, Tensor& out, Tensor& x, Tensor& c, Tensor* s, double sigma, double max_rate,
                     int64_t B, int64_t N, int64_t D) {
  if (!autograd::needs_grad({&x, &c, s})) return;
  TensorRef sx = autograd::saved(x), scn = autograd::saved(c), ss;
  if (s) ss = autograd::saved(*s);
  autograd::record(name, out, {&x, &c, s}, [sx, scn, ss, sigma, max_rate, B, N, D](Tensor& g) {
    return gaussian_cells_grad(*sx, *scn, ss.get(), sigma, max_rate, B, N, D, g);
  });
}

// ---------------------------------------------------------------------------------------------
// Grid cells, theta-gamma code
// ---------------------------------------------------------------------------------------------
struct GridPush {
  uint64_t x, spacing, orient, phase, out;
  uint32_t B, N;
  float max_rate;
  uint32_t pad;
};
static_assert(sizeof(GridPush) == 56);

struct GridGradPush {
  uint64_t x, spacing, orient, phase, g, dx;
  uint32_t B, N;
  float max_rate;
  uint32_t pad;
};
static_assert(sizeof(GridGradPush) == 64);

// Gradient of the grid cells w.r.t. the positions (f32 [B, 2]).
TensorRef grid_cells_grad(Tensor& x, Tensor& sp, Tensor& th, Tensor& ph, double max_rate, Tensor& g_in) {
  static const KernelSet ks("memory/grid_grad", kFloats);
  const Kernel& k = ks.get("backward", "positions", x.dtype);
  TensorRef g = g_in.dtype == x.dtype ? contiguous(g_in) : op::call(grl_cast, &g_in, x.dtype);
  g = contiguous(*g);
  TensorRef xc = contiguous(x), sc = contiguous(sp), tc = contiguous(th), pc_ = contiguous(ph);
  TensorRef dx = new_tensor(x.device(), GRL_F32, x.shape);
  int64_t B = x.shape[0], N = sp.shape[0];
  if (B == 0) return dx;
  if (N == 0) {
    fill(*dx, 0.0);
    return dx;
  }
  GridGradPush pc{xc->address(), sc->address(), tc->address(), pc_->address(), g->address(), dx->address(), u32(B),
                  u32(N), static_cast<float>(max_rate), 0};
  x.dev().dispatch_1d(k, &pc, sizeof pc, groups_for(B),
                      {xc->block(), sc->block(), tc->block(), pc_->block(), g->block()}, {dx->block()});
  return dx;
}

struct ThetaPush {
  uint64_t progress, phases, times;
  uint32_t total, n;
  float precession, period;
};
static_assert(sizeof(ThetaPush) == 40);

// ---------------------------------------------------------------------------------------------
// Key-value memory
// ---------------------------------------------------------------------------------------------
struct KvReadPush {
  uint64_t q, k, v, out, part, ml;
  uint32_t rows, per_batch, M, d, dv, col0;
  float scale;
  uint32_t groups_per_batch, splits, split_len;
};
static_assert(sizeof(KvReadPush) == 88);

struct KvCombinePush {
  uint64_t part, ml, out;
  uint32_t rows, dv, splits, pad;
};
static_assert(sizeof(KvCombinePush) == 40);

struct KvWritePush {
  uint64_t mem, index, rows, err;
  uint32_t n, D, M, idx64, tag;
  float alpha;
};
static_assert(sizeof(KvWritePush) == 56);

constexpr int64_t kKvColsPerGroup = 256;  // kv_read.comp: 64 threads x 4 columns
constexpr int64_t kKvRowsPerGroup = 8;    // kv_read.comp: ROWS
constexpr int64_t kKvTile = 64;           // kv_read.comp: slots per tile
// Fewer workgroups than this leave a large GPU idle (about 8 per SM on an H100): the slots are
// then split among workgroups (at least 2 tiles each) and the partial results merged.
constexpr int64_t kKvTargetGroups = 1024;
// Above this many scores (query rows x slots) the read goes through two matmuls and a softmax
// instead. Measured on an H100 (f32, d = 64, ms; fused / composed / PyTorch eager): 4096 x 4096:
// 4.69 / 0.21 / 0.27; 64 x 65536: 1.29 / 0.16 / 0.11; 256 x 4096: 0.33 / 0.04 / 0.09; 64 x 4096:
// 0.11 / 0.036 / 0.086; 256 batches of 1 x 256: 0.137 / 0.131 / 0.085. The fused kernel (no
// tensor cores) only ties on the smallest reads, where it saves the [rows, M] intermediate.
constexpr int64_t kKvFusedMaxScores = int64_t{1} << 16;

struct KvGeom {
  bool batched;
  int64_t rows, per_batch, M, d, dv;
  Shape out;
};

KvGeom kv_geometry(const char* fn, const Tensor& q, const Tensor& k, const Tensor& v) {
  float_dtype(fn, "q", q);
  joins(fn, "keys", k, "q", q);
  joins(fn, "values", v, "q", q);
  KvGeom g{};
  if (k.shape.ndim != 2 && k.shape.ndim != 3)
    fail(GRL_ERROR_SHAPE, "%s: 'keys' must be [M, d] or [B, M, d], got shape %s", fn, k.shape.str().c_str());
  g.batched = k.shape.ndim == 3;
  if (v.shape.ndim != k.shape.ndim)
    fail(GRL_ERROR_SHAPE, "%s: 'values' %s must have as many dims as 'keys' %s", fn, v.shape.str().c_str(),
         k.shape.str().c_str());
  int a = g.batched ? 1 : 0;
  g.M = k.shape[a];
  g.d = k.shape[a + 1];
  g.dv = v.shape[a + 1];
  if (g.M < 1) fail(GRL_ERROR_SHAPE, "%s: the memory needs at least one slot, 'keys' has shape %s", fn, k.shape.str().c_str());
  if (g.d < 1) fail(GRL_ERROR_SHAPE, "%s: the key dim must be >= 1, 'keys' has shape %s", fn, k.shape.str().c_str());
  if (v.shape[a] != g.M || (g.batched && v.shape[0] != k.shape[0]))
    fail(GRL_ERROR_SHAPE, "%s: 'values' %s must hold the slots of 'keys' %s", fn, v.shape.str().c_str(),
         k.shape.str().c_str());
  if (q.shape.ndim < 1 || q.shape[q.shape.ndim - 1] != g.d)
    fail(GRL_ERROR_SHAPE, "%s: 'q' %s must end in the key dim %lld of 'keys' %s", fn, q.shape.str().c_str(),
         static_cast<long long>(g.d), k.shape.str().c_str());
  if (g.batched && (q.shape.ndim != 3 || q.shape[0] != k.shape[0]))
    fail(GRL_ERROR_SHAPE, "%s: with batched 'keys' %s, 'q' must be [%lld, Q, %lld], got %s", fn, k.shape.str().c_str(),
         static_cast<long long>(k.shape[0]), static_cast<long long>(g.d), q.shape.str().c_str());
  g.rows = q.numel() / g.d;
  g.per_batch = g.batched ? q.shape[1] : g.rows;
  g.out = q.shape;
  g.out[g.out.ndim - 1] = g.dv;
  check_numel_u32(fn, q.numel());
  check_numel_u32(fn, k.numel());
  check_numel_u32(fn, v.numel());
  check_numel_u32(fn, g.rows * g.dv);
  return g;
}

TensorRef kv_read(const char* fn, Tensor& q, Tensor& k, Tensor& v, const KvGeom& g, double scale) {
  static const KernelSet ks("memory/kv_read", kFloats);
  const Kernel& kern = ks.get(fn, "q", q.dtype);
  TensorRef out = new_tensor(q.device(), q.dtype, g.out);
  if (g.rows == 0 || g.dv == 0) return out;
  if (g.rows * g.M > kKvFusedMaxScores) {
    autograd::GradMode no_grad(false);  // the caller records the read's own rule
    TensorRef qs = op::call(grl_mul_scalar, &q, scale);
    TensorRef kt = op::call(grl_transpose, &k, -1, -2);
    TensorRef sc = op::call(grl_matmul, qs.get(), kt.get());
    TensorRef p = op::call(grl_softmax, sc.get(), -1);
    return op::call(grl_matmul, p.get(), &v);
  }
  TensorRef qc = contiguous(q), kc = contiguous(k), vc = contiguous(v);
  int64_t per = g.per_batch, batches = g.rows / per;
  int64_t gpb = (per + kKvRowsPerGroup - 1) / kKvRowsPerGroup;
  int64_t chunks = (g.dv + kKvColsPerGroup - 1) / kKvColsPerGroup;
  int64_t base = batches * gpb * chunks;
  int64_t splits = 1, split_len = (g.M + kKvTile - 1) / kKvTile * kKvTile;
  if (base < kKvTargetGroups && g.M > 2 * kKvTile) {
    splits = std::min((kKvTargetGroups + base - 1) / base, (g.M + 2 * kKvTile - 1) / (2 * kKvTile));
    split_len = ((g.M + splits - 1) / splits + kKvTile - 1) / kKvTile * kKvTile;
    splits = (g.M + split_len - 1) / split_len;
  }
  Device& dev = q.dev();
  TensorRef part, ml;
  if (splits > 1) {
    check_numel_u32(fn, splits * g.rows * g.dv);
    part = new_tensor(q.device(), GRL_F32, Shape::of(std::vector<int64_t>{splits, g.rows, g.dv}));
    ml = new_tensor(q.device(), GRL_F32, Shape::of(std::vector<int64_t>{splits, g.rows, 2}));
  }
  KvReadPush pc{qc->address(), kc->address(), vc->address(), out->address(), part ? part->address() : 0,
                ml ? ml->address() : 0, u32(g.rows), u32(per), u32(g.M), u32(g.d), u32(g.dv), 0,
                static_cast<float>(scale), u32(gpb), u32(splits), u32(split_len)};
  // Column chunks of 256 as separate dispatches: the row groups and splits take the whole 2-d
  // grid of dispatch_1d.
  for (int64_t c0 = 0; c0 < g.dv; c0 += kKvColsPerGroup) {
    pc.col0 = u32(c0);
    if (splits > 1)
      dev.dispatch_1d(kern, &pc, sizeof pc, static_cast<uint64_t>(batches * gpb * splits),
                      {qc->block(), kc->block(), vc->block()}, {part->block(), ml->block()});
    else
      dev.dispatch_1d(kern, &pc, sizeof pc, static_cast<uint64_t>(batches * gpb), {qc->block(), kc->block(), vc->block()},
                      {out->block()});
  }
  if (splits > 1) {
    static const KernelSet kc_("memory/kv_combine", kFloats);
    KvCombinePush cp{part->address(), ml->address(), out->address(), u32(g.rows), u32(g.dv), u32(splits), 0};
    dev.dispatch_1d(kc_.get(fn, "q", q.dtype), &cp, sizeof cp, groups_for(g.rows * g.dv), {part->block(), ml->block()},
                    {out->block()});
  }
  return out;
}

TensorRef tr(Tensor& t) { return op::call(grl_transpose, &t, -1, -2); }
TensorRef mm(Tensor& a, Tensor& b) { return op::call(grl_matmul, &a, &b); }
TensorRef reshape2(Tensor& t, int64_t rows, int64_t cols) {
  int64_t s[2] = {rows, cols};
  return op::call(grl_reshape, &t, s, 2);
}

struct KvGradPush {
  uint64_t p, dp, ds;
  uint32_t rows, M;
  float scale;
  uint32_t pad;
};
static_assert(sizeof(KvGradPush) == 40);

// dS = scale P (dP - sum_m P dP) per row of the [..., M] weights (kv_grad_rows.comp): one read of
// P and dP and one write, where the composed ops would take five passes.
TensorRef kv_softmax_grad(Tensor& p_in, Tensor& dp_in, double scale) {
  static const KernelSet ks("memory/kv_grad_rows", kFloats);
  const Kernel& k = ks.get("backward", "q", p_in.dtype);
  TensorRef p = contiguous(p_in), dp = contiguous(dp_in);
  TensorRef ds = new_tensor(p->device(), p->dtype, p->shape);
  int64_t M = p->shape[p->shape.ndim - 1], rows = p->numel() / M;
  if (rows == 0) return ds;
  KvGradPush pc{p->address(), dp->address(), ds->address(), u32(rows), u32(M), static_cast<float>(scale), 0};
  p->dev().dispatch_1d(k, &pc, sizeof pc, static_cast<uint64_t>(rows), {p->block(), dp->block()}, {ds->block()});
  return ds;
}

// s = q k^T scale, P = softmax(s), out = P V: dV = P^T g, dP = g V^T, dS = P (dP - sum(P dP)),
// dq = dS K scale, dK = dS^T q scale. Shared memories flatten q's leading dims first. The scale
// goes on q (a [rows, d] pass) rather than on the [rows, M] scores.
std::vector<TensorRef> kv_read_grad(Tensor& q, Tensor& k, Tensor& v, const KvGeom& geo, double scale, Tensor& g) {
  TensorRef q2 = geo.batched ? TensorRef::retain(&q) : reshape2(q, geo.rows, geo.d);
  TensorRef g2 = geo.batched ? TensorRef::retain(&g) : reshape2(g, geo.rows, geo.dv);
  TensorRef kt = tr(k);
  TensorRef qs = op::call(grl_mul_scalar, q2.get(), scale);
  TensorRef s = mm(*qs, *kt);
  TensorRef p = op::call(grl_softmax, s.get(), -1);
  TensorRef pt = tr(*p);
  TensorRef dv = mm(*pt, *g2);
  TensorRef vt = tr(v);
  TensorRef dp = mm(*g2, *vt);
  TensorRef ds = kv_softmax_grad(*p, *dp, scale);
  TensorRef dq = mm(*ds, k);
  TensorRef dst = tr(*ds);
  TensorRef dk = mm(*dst, *q2);
  if (!geo.batched) dq = op::call(grl_reshape, dq.get(), q.shape.d.data(), q.shape.ndim);
  return {dq, dk, dv};
}

double kv_scale(const char* fn, double tau, int64_t d) {
  finite(fn, "tau", tau);
  return tau > 0 ? 1.0 / tau : 1.0 / std::sqrt(static_cast<double>(d));
}

TensorRef kv_read_recorded(const char* fn, Tensor& q, Tensor& k, Tensor& v, double tau) {
  KvGeom geo = kv_geometry(fn, q, k, v);
  double scale = kv_scale(fn, tau, geo.d);
  TensorRef out = kv_read(fn, q, k, v, geo, scale);
  if (autograd::needs_grad({&q, &k, &v})) {
    TensorRef sq = autograd::saved(q), sk = autograd::saved(k), sv = autograd::saved(v);
    autograd::record("kv_memory_read", *out, {&q, &k, &v},
                     [sq, sk, sv, geo, scale](Tensor& g) { return kv_read_grad(*sq, *sk, *sv, geo, scale, g); });
  }
  return out;
}

}  // namespace

GRL_BACKWARD_RULE(place_cells);
GRL_BACKWARD_RULE(grid_cells);
GRL_BACKWARD_RULE(time_cells);
GRL_BACKWARD_RULE(kv_memory_read);

}  // namespace grl

using namespace grl;
using namespace grl::mem;

extern "C" GRL_API grl_status grl_place_cells(grl_tensor positions, grl_tensor centers, grl_tensor sigmas, double sigma,
                                              double max_rate, double baseline, grl_tensor* out) {
  GRL_API_BEGIN();
  const char* fn = __func__;
  Tensor& x = arg_tensor(fn, "positions", positions);
  Tensor& c = arg_tensor(fn, "centers", centers);
  Tensor* s = opt_tensor(fn, "sigmas", sigmas);
  GRL_CHECK_OUT(out);
  float_dtype(fn, "positions", x);
  joins(fn, "centers", c, "positions", x);
  rank(fn, "positions", x, 2, "[B, D]");
  rank(fn, "centers", c, 2, "[N, D]");
  int64_t D = x.shape[1];
  if (D < 1 || D > kMaxDim)
    fail(GRL_ERROR_SHAPE, "%s: 'positions' %s must have 1 to %d coordinates per row, got %lld", fn,
         x.shape.str().c_str(), kMaxDim, static_cast<long long>(D));
  dim_is(fn, "centers", c, 1, D, "the coordinates of 'positions'");
  if (s) {
    joins(fn, "sigmas", *s, "positions", x);
    rank(fn, "sigmas", *s, 1, "[N] (one width per cell)");
    dim_is(fn, "sigmas", *s, 0, c.shape[0], "the number of cells");
  } else {
    at_least(fn, "sigma", sigma, 0.0, true);
  }
  at_least(fn, "max_rate", max_rate, 0.0, false);
  finite(fn, "baseline", baseline);
  DeviceLock lock(x.dev().mutex());
  int64_t B = x.shape[0], N = c.shape[0];
  Shape shape = Shape::of(std::vector<int64_t>{B, N});
  TensorRef r = gaussian_cells(fn, x, c, s, sigma, max_rate, baseline, B, N, D, shape);
  record_gaussian("place_cells", *r, x, c, s, sigma, max_rate, B, N, D);
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_grid_cells(grl_tensor positions, grl_tensor spacing, grl_tensor orientation,
                                             grl_tensor phase, double max_rate, grl_tensor* out) {
  GRL_API_BEGIN();
  const char* fn = __func__;
  Tensor& x = arg_tensor(fn, "positions", positions);
  Tensor& sp = arg_tensor(fn, "spacing", spacing);
  Tensor& th = arg_tensor(fn, "orientation", orientation);
  Tensor& ph = arg_tensor(fn, "phase", phase);
  GRL_CHECK_OUT(out);
  float_dtype(fn, "positions", x);
  joins(fn, "spacing", sp, "positions", x);
  joins(fn, "orientation", th, "positions", x);
  joins(fn, "phase", ph, "positions", x);
  rank(fn, "positions", x, 2, "[B, 2]");
  dim_is(fn, "positions", x, 1, 2, "grid cells live in 2-D");
  rank(fn, "spacing", sp, 1, "[N]");
  int64_t N = sp.shape[0];
  rank(fn, "orientation", th, 1, "[N]");
  dim_is(fn, "orientation", th, 0, N, "one per cell, as 'spacing'");
  rank(fn, "phase", ph, 2, "[N, 2]");
  dim_is(fn, "phase", ph, 0, N, "one per cell, as 'spacing'");
  dim_is(fn, "phase", ph, 1, 2, "a 2-D offset");
  at_least(fn, "max_rate", max_rate, 0.0, false);
  static const KernelSet ks("memory/grid", kFloats);
  const Kernel& k = ks.get(fn, "positions", x.dtype);
  int64_t B = x.shape[0];
  check_numel_u32(fn, B * N);
  DeviceLock lock(x.dev().mutex());
  TensorRef r = new_tensor(x.device(), x.dtype, Shape::of(std::vector<int64_t>{B, N}));
  if (B * N > 0) {
    TensorRef xc = contiguous(x), sc = contiguous(sp), tc = contiguous(th), pc_ = contiguous(ph);
    GridPush pc{xc->address(), sc->address(), tc->address(), pc_->address(), r->address(), u32(B), u32(N),
                static_cast<float>(max_rate), 0};
    x.dev().dispatch_1d(k, &pc, sizeof pc, groups_for(B * N), {xc->block(), sc->block(), tc->block(), pc_->block()},
                        {r->block()});
  }
  // Positions only: the spacing, orientation and phase are cell parameters, given, not learned.
  if (autograd::needs_grad({&x})) {
    TensorRef sx = autograd::saved(x), ssp = autograd::saved(sp), sth = autograd::saved(th), sph = autograd::saved(ph);
    autograd::record("grid_cells", *r, {&x}, [sx, ssp, sth, sph, max_rate](Tensor& g) {
      return std::vector<TensorRef>{grid_cells_grad(*sx, *ssp, *sth, *sph, max_rate, g)};
    });
  }
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_time_cells(grl_tensor t, grl_tensor preferred, grl_tensor sigmas, double max_rate,
                                             grl_tensor* out) {
  GRL_API_BEGIN();
  const char* fn = __func__;
  Tensor& x = arg_tensor(fn, "t", t);
  Tensor& c = arg_tensor(fn, "preferred", preferred);
  Tensor& s = arg_tensor(fn, "sigmas", sigmas);
  GRL_CHECK_OUT(out);
  float_dtype(fn, "t", x);
  joins(fn, "preferred", c, "t", x);
  joins(fn, "sigmas", s, "t", x);
  rank(fn, "preferred", c, 1, "[N]");
  rank(fn, "sigmas", s, 1, "[N]");
  dim_is(fn, "sigmas", s, 0, c.shape[0], "one width per preferred time");
  at_least(fn, "max_rate", max_rate, 0.0, false);
  if (x.shape.ndim >= GRL_MAX_DIMS)
    fail(GRL_ERROR_SHAPE, "%s: 't' %s has %d dims; the output adds one, at most %d in all", fn, x.shape.str().c_str(),
         x.shape.ndim, GRL_MAX_DIMS);
  DeviceLock lock(x.dev().mutex());
  int64_t B = x.numel(), N = c.shape[0];
  Shape shape = x.shape;
  shape[shape.ndim++] = N;
  TensorRef r = gaussian_cells(fn, x, c, &s, 1.0, max_rate, 0.0, B, N, 1, shape);
  record_gaussian("time_cells", *r, x, c, &s, 1.0, max_rate, B, N, 1);
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_time_cells_tuning(grl_device device, int64_t n, double t_min, double t_max,
                                                    uint32_t log_spaced, double weber, grl_dtype dtype,
                                                    grl_tensor* out_preferred, grl_tensor* out_sigmas) {
  GRL_API_BEGIN();
  const char* fn = __func__;
  grl_device_s& d = arg_device(fn, "device", device);
  arg_not_null(fn, "out_preferred", out_preferred);
  arg_not_null(fn, "out_sigmas", out_sigmas);
  if (n < 1) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'n' must be >= 1, got %lld", fn, static_cast<long long>(n));
  at_least(fn, "t_min", t_min, 0.0, true);
  if (!std::isfinite(t_max) || t_max < t_min)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 't_max' must be finite and >= t_min (%g), got %g", fn, t_min, t_max);
  if (log_spaced > 1)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'log_spaced' must be 0 or 1, got %u", fn, log_spaced);
  at_least(fn, "weber", weber, 0.0, true);
  arg_dtype(fn, "dtype", dtype);
  if (!is_float(dtype))
    fail(GRL_ERROR_DTYPE, "%s: 'dtype' must be f32, f16 or bf16, got %s", fn, dtype_name(dtype));
  check_numel_u32(fn, n);
  std::vector<float> ts(static_cast<size_t>(n)), ss(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double f = n == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(n - 1);
    double ti = log_spaced ? t_min * std::pow(t_max / t_min, f) : t_min + (t_max - t_min) * f;
    ts[static_cast<size_t>(i)] = static_cast<float>(ti);
    ss[static_cast<size_t>(i)] = static_cast<float>(weber * ti);
  }
  DeviceLock lock(d.impl->mutex());
  int64_t shape[1] = {n};
  TensorRef tp = op::call(grl_tensor_from_host, device, GRL_F32, shape, 1, static_cast<const void*>(ts.data()),
                          ts.size() * sizeof(float));
  TensorRef tsg = op::call(grl_tensor_from_host, device, GRL_F32, shape, 1, static_cast<const void*>(ss.data()),
                           ss.size() * sizeof(float));
  if (dtype != GRL_F32) {
    tp = op::call(grl_cast, tp.get(), dtype);
    tsg = op::call(grl_cast, tsg.get(), dtype);
  }
  *out_preferred = tp.release();
  *out_sigmas = tsg.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_theta_gamma_code(grl_tensor progress, double theta_period, double precession,
                                                   grl_tensor* out_phases, grl_tensor* out_times) {
  GRL_API_BEGIN();
  const char* fn = __func__;
  Tensor& p = arg_tensor(fn, "progress", progress);
  arg_not_null(fn, "out_phases", out_phases);
  arg_not_null(fn, "out_times", out_times);
  float_dtype(fn, "progress", p);
  if (p.shape.ndim < 1 || p.shape[p.shape.ndim - 1] < 1)
    fail(GRL_ERROR_SHAPE, "%s: 'progress' must be [..., n] with n >= 1 items, got shape %s", fn, p.shape.str().c_str());
  at_least(fn, "theta_period", theta_period, 0.0, true);
  finite(fn, "precession", precession);
  static const KernelSet ks("memory/theta_gamma", kFloats);
  const Kernel& k = ks.get(fn, "progress", p.dtype);
  check_numel_u32(fn, p.numel());
  DeviceLock lock(p.dev().mutex());
  TensorRef ph = new_tensor(p.device(), p.dtype, p.shape), tm = new_tensor(p.device(), p.dtype, p.shape);
  if (p.numel() > 0) {
    TensorRef pc_ = contiguous(p);
    ThetaPush pc{pc_->address(), ph->address(), tm->address(), u32(p.numel()), u32(p.shape[p.shape.ndim - 1]),
                 static_cast<float>(precession), static_cast<float>(theta_period)};
    p.dev().dispatch_1d(k, &pc, sizeof pc, groups_for(p.numel()), {pc_->block()}, {ph->block(), tm->block()});
  }
  *out_phases = ph.release();
  *out_times = tm.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_kv_memory_read(grl_tensor q, grl_tensor keys, grl_tensor values, double tau,
                                                 grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tq = arg_tensor(__func__, "q", q);
  Tensor& tk = arg_tensor(__func__, "keys", keys);
  Tensor& tv = arg_tensor(__func__, "values", values);
  GRL_CHECK_OUT(out);
  DeviceLock lock(tq.dev().mutex());
  TensorRef r = kv_read_recorded(__func__, tq, tk, tv, tau);
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_kv_memory_write_(grl_tensor memory, grl_tensor indices, grl_tensor rows, double alpha) {
  GRL_API_BEGIN();
  const char* fn = __func__;
  Tensor& m = arg_tensor(fn, "memory", memory);
  Tensor& idx = arg_tensor(fn, "indices", indices);
  Tensor& rw = arg_tensor(fn, "rows", rows);
  float_dtype(fn, "memory", m);
  joins(fn, "rows", rw, "memory", m);
  same_device(fn, "memory", m, "indices", idx);
  if (idx.dtype != GRL_I32 && idx.dtype != GRL_I64)
    fail(GRL_ERROR_DTYPE, "%s: 'indices' has dtype %s; index tensors must be i32 or i64", fn, dtype_name(idx.dtype));
  rank(fn, "memory", m, 2, "[M, D]");
  rank(fn, "indices", idx, 1, "[K]");
  rank(fn, "rows", rw, 2, "[K, D]");
  dim_is(fn, "rows", rw, 0, idx.shape[0], "one row per index");
  dim_is(fn, "rows", rw, 1, m.shape[1], "the row width of 'memory'");
  if (!m.contiguous())
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'memory' %s is written in place and must be contiguous", fn,
         m.shape.str().c_str());
  if (!(alpha >= 0.0 && alpha <= 1.0)) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'alpha' must be in [0, 1], got %g", fn, alpha);
  static const KernelSet ks("memory/kv_write", kFloats);
  const Kernel& k = ks.get(fn, "memory", m.dtype);
  check_numel_u32(fn, rw.numel());
  check_numel_u32(fn, m.numel());
  DeviceLock lock(m.dev().mutex());
  if (rw.numel() > 0) {
    Device& dev = m.dev();
    TensorRef ic = contiguous(idx), rc = contiguous(rw);
    KvWritePush pc{m.address(), ic->address(), rc->address(), dev.error_address(), u32(rw.numel()), u32(m.shape[1]),
                   u32(m.shape[0]), idx.dtype == GRL_I64, dev.error_tag(fn), static_cast<float>(alpha)};
    dev.dispatch_1d(k, &pc, sizeof pc, groups_for(rw.numel()), {ic->block(), rc->block(), m.block()},
                    {m.block(), dev.error_block()});
  }
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_memory_pool(grl_tensor x, grl_memory_pool_mode mode, grl_tensor w, double tau,
                                              grl_tensor* out) {
  GRL_API_BEGIN();
  const char* fn = __func__;
  Tensor& tx = arg_tensor(fn, "x", x);
  GRL_CHECK_OUT(out);
  float_dtype(fn, "x", tx);
  rank(fn, "x", tx, 3, "[B, n, d]");
  if (tx.shape[1] < 1) fail(GRL_ERROR_SHAPE, "%s: 'x' %s pools an empty set (n must be >= 1)", fn, tx.shape.str().c_str());
  DeviceLock lock(tx.dev().mutex());
  int32_t axis = 1;
  TensorRef r;
  switch (mode) {
    case GRL_MEMORY_POOL_MEAN: r = op::call(grl_mean, x, &axis, 1, 0u); break;
    case GRL_MEMORY_POOL_MAX: r = op::call(grl_max, x, &axis, 1, 0u); break;
    case GRL_MEMORY_POOL_ATTENTION: {
      Tensor& tw = arg_tensor(fn, "w", w);
      joins(fn, "w", tw, "x", tx);
      if (tw.shape.ndim != 1 || tw.shape[0] != tx.shape[2])
        fail(GRL_ERROR_SHAPE, "%s: 'w' must be [%lld] (the feature dim of 'x' %s), got %s", fn,
             static_cast<long long>(tx.shape[2]), tx.shape.str().c_str(), tw.shape.str().c_str());
      finite(fn, "tau", tau);
      int64_t qs[3] = {1, 1, tx.shape[2]}, es[3] = {tx.shape[0], 1, tx.shape[2]};
      TensorRef q1 = op::call(grl_reshape, w, qs, 3);
      TensorRef qe = op::call(grl_expand, q1.get(), es, 3);
      TensorRef o = kv_read_recorded(fn, *qe, tx, tx, tau);
      int64_t os[2] = {tx.shape[0], tx.shape[2]};
      r = op::call(grl_reshape, o.get(), os, 2);
      break;
    }
    default:
      fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'mode' must be GRL_MEMORY_POOL_MEAN, _MAX or _ATTENTION, got %d", fn,
           static_cast<int>(mode));
  }
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_memory_inject(grl_tensor h, grl_tensor m, grl_memory_inject_mode mode, grl_tensor gate,
                                                grl_tensor* out) {
  GRL_API_BEGIN();
  const char* fn = __func__;
  Tensor& th = arg_tensor(fn, "h", h);
  Tensor& tm = arg_tensor(fn, "m", m);
  GRL_CHECK_OUT(out);
  float_dtype(fn, "h", th);
  joins(fn, "m", tm, "h", th);
  if (mode < GRL_MEMORY_INJECT_CONCAT || mode > GRL_MEMORY_INJECT_RESIDUAL)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'mode' must be one of GRL_MEMORY_INJECT_CONCAT, _GATED, _MIX, _RESIDUAL, got %d",
         fn, static_cast<int>(mode));
  DeviceLock lock(th.dev().mutex());
  TensorRef r;
  if (mode == GRL_MEMORY_INJECT_CONCAT) {
    bool ok = th.shape.ndim >= 1 && th.shape.ndim == tm.shape.ndim;
    for (int i = 0; ok && i + 1 < th.shape.ndim; ++i) ok = th.shape[i] == tm.shape[i];
    if (!ok)
      fail(GRL_ERROR_SHAPE, "%s: concat needs 'h' %s and 'm' %s to agree on every dim but the last", fn,
           th.shape.str().c_str(), tm.shape.str().c_str());
    grl_tensor xs[2] = {h, m};
    r = op::call(grl_concat, xs, 2, -1);
  } else {
    if (!(th.shape == tm.shape))
      fail(GRL_ERROR_SHAPE, "%s: 'm' %s must have the shape of 'h' %s", fn, tm.shape.str().c_str(), th.shape.str().c_str());
    if (mode == GRL_MEMORY_INJECT_RESIDUAL) {
      r = op::call(grl_add, h, m);
    } else {
      Tensor& tg = arg_tensor(fn, "gate", gate);
      joins(fn, "gate", tg, "h", th);
      Shape b = broadcast(fn, "gate", tg.shape, "h", th.shape);
      if (!(b == th.shape))
        fail(GRL_ERROR_SHAPE, "%s: 'gate' %s must broadcast to the shape of 'h' %s", fn, tg.shape.str().c_str(),
             th.shape.str().c_str());
      if (mode == GRL_MEMORY_INJECT_GATED) {
        TensorRef sg = op::call(grl_sigmoid, gate);
        TensorRef t = op::call(grl_mul, sg.get(), m);
        r = op::call(grl_add, h, t.get());
      } else {  // g m + (1 - g) h = h + g (m - h)
        TensorRef dmh = op::call(grl_sub, m, h);
        TensorRef t = op::call(grl_mul, gate, dmh.get());
        r = op::call(grl_add, h, t.get());
      }
    }
  }
  *out = r.release();
  GRL_API_END();
}
