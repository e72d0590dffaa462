// Loss family, forward and backward: elementwise losses (mse ... margin_ranking), the fused
// cross_entropy / nll_loss kernels, and row losses over pairs (cosine, triplet, contrastive).
#include <cmath>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "autograd/autograd.h"
#include "ops/compose.h"
#include "ops/launch.h"

namespace grl {

namespace {

constexpr uint32_t kWG = 256;
// A reduced loss runs on at most this many workgroups (grid-stride loops), so its second step
// (loss/finish.comp, one workgroup) adds few partials.
constexpr uint64_t kMaxReduceGroups = 1024;
constexpr uint64_t kMaxGroups = 65535;

// ---- push constants (layouts of shaders/loss/*.comp) ----------------------------------------

struct CrossEntropyPush {
  uint64_t x, target, out, part, aux, err;
  int64_t ignore_index;
  uint32_t rows, C, inner, team_log2, flags, tag;
  float smoothing;
  uint32_t pad;
};
static_assert(sizeof(CrossEntropyPush) == 88);

struct CrossEntropyGradPush {
  uint64_t x, target, aux, g, dx, dtarget;
  int64_t ignore_index;
  uint32_t n, C, inner, rows, flags;
  float smoothing;
};
static_assert(sizeof(CrossEntropyGradPush) == 80);

struct FinishPush {
  uint64_t part, out, aux;
  uint32_t n, aux_index, mean;
  float div;
};
static_assert(sizeof(FinishPush) == 40);

struct PointwisePush {
  uint64_t a, b, w, out, part;
  uint32_t n, op, wmode, wdt, wlen, reduce;
  float p0, div;
};
static_assert(sizeof(PointwisePush) == 72);

struct PointwiseGradPush {
  uint64_t a, b, w, g, da, db, dw;
  uint32_t n, op, wmode, wdt, wlen, gscalar;
  float p0, scale;
};
static_assert(sizeof(PointwiseGradPush) == 88);

struct PairRowsPush {
  uint64_t a, b, c, y, out, part, stats;
  uint32_t rows, D, team_log2, op, ydt, reduce;
  float margin, p;
};
static_assert(sizeof(PairRowsPush) == 88);

struct PairRowsGradPush {
  uint64_t a, b, c, y, stats, g, da, db, dc;
  uint32_t n, D, op, ydt, gscalar;
  float scale, margin, p;
};
static_assert(sizeof(PairRowsGradPush) == 104);

// Flags of cross_entropy*.comp.
constexpr uint32_t kCeI64 = 1, kCeProb = 2, kCeNll = 4, kCeNone = 8, kCeMean = 16, kCeVec = 32;

// Op codes of loss/pointwise.glsl and loss/pair_rows.glsl.
enum class Pointwise : uint32_t { Mse = 0, L1 = 1, SmoothL1 = 2, Huber = 3, Bce = 4, BceLogits = 5, Kl = 6,
                                  KlLog = 7, Margin = 8 };
enum class PairRows : uint32_t { Cosine = 0, Triplet = 1, Contrastive = 2 };

const KernelSet& finish_kernels() {
  static const KernelSet k("loss/finish", {GRL_F32, GRL_F16, GRL_BF16});
  return k;
}

uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }
uint64_t addr(const TensorRef& t) { return t ? t->address() : 0; }
Block* blk(const TensorRef& t) { return t ? t->block() : nullptr; }

void check_reduction(const char* fn, grl_reduction r) {
  if (r != GRL_REDUCTION_NONE && r != GRL_REDUCTION_MEAN && r != GRL_REDUCTION_SUM)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'reduction' = %d; expected GRL_REDUCTION_NONE (0), MEAN (1) or SUM (2)",
         fn, static_cast<int>(r));
}

void finite_arg(const char* fn, const char* name, double v) {
  if (!std::isfinite(v)) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' = %g; expected a finite number", fn, name, v);
}

void same_shape(const char* fn, const char* na, const Tensor& a, const char* nb, const Tensor& b) {
  if (!(a.shape == b.shape))
    fail(GRL_ERROR_SHAPE, "%s: '%s' has shape %s but '%s' has shape %s; they must have the same shape", fn, na,
         a.shape.str().c_str(), nb, b.shape.str().c_str());
}

// Lanes per row of `len` units (elements, or packs of 4): enough for about four units each, at
// most a subgroup; rows longer than 16 units per lane of a subgroup take the whole workgroup.
// Strided rows (classes `inner` apart) take one lane per row, so neighbouring lanes read
// neighbouring positions.
uint32_t team_log2(const Device& dev, int64_t len, bool strided) {
  if (strided) return 0;
  const int64_t sg = std::max<uint32_t>(dev.info().subgroup_size, 1);
  if (len > 16 * sg) return 8;  // kWG = 256 lanes
  uint32_t lg = 0;
  while ((int64_t{1} << lg) < sg && (int64_t{4} << lg) < len) ++lg;
  return lg;
}

// The output of a loss over `items` work items (elements or rows) and the workgroups that compute
// it: NONE gives one value per item (item_shape), MEAN / SUM a 0-d tensor, through f32 partial
// {sum, count} pairs when several workgroups share the work.
struct LossLaunch {
  TensorRef out, part;
  uint32_t groups = 0;
};

LossLaunch loss_launch(Tensor& like, grl_dtype dt, const Shape& item_shape, grl_reduction red, uint64_t groups) {
  LossLaunch l;
  l.out = new_tensor(like.device(), dt, red == GRL_REDUCTION_NONE ? item_shape : Shape{});
  l.groups = static_cast<uint32_t>(std::min(groups, red == GRL_REDUCTION_NONE ? kMaxGroups : kMaxReduceGroups));
  if (red != GRL_REDUCTION_NONE && l.groups > 1)
    l.part = new_tensor(like.device(), GRL_F32, Shape::of(std::vector<int64_t>{2 * int64_t{l.groups}}));
  return l;
}

// The value of a reduction over nothing: the mean divides 0 by div (NaN when div is 0 too).
void fill_empty(LossLaunch& l, grl_reduction red, double div) {
  if (red == GRL_REDUCTION_NONE) return;
  fill(*l.out, red == GRL_REDUCTION_SUM ? 0.0 : (div == 0 ? std::numeric_limits<double>::quiet_NaN() : 0.0));
}

// Second step: adds the partials into the loss (div < 0: the mean divides by the summed count,
// which also goes to aux[aux_index] when aux is given).
void finish(const char* fn, LossLaunch& l, grl_reduction red, float div, const TensorRef& aux, uint32_t aux_index) {
  if (!l.part) return;
  FinishPush pc{};
  pc.part = l.part->address();
  pc.out = l.out->address();
  pc.aux = addr(aux);
  pc.n = l.groups;
  pc.aux_index = aux_index;
  pc.mean = red == GRL_REDUCTION_MEAN;
  pc.div = div;
  l.out->dev().dispatch(finish_kernels().get(fn, "input", l.out->dtype), &pc, sizeof pc, 1, 1, 1, {l.part->block()},
                        {l.out->block(), blk(aux)});
}

// g for a backward kernel: contiguous, in the loss's dtype (the kernels read it as that dtype).
TensorRef grad_input(Tensor& g, grl_dtype dt) {
  TensorRef r = g.dtype == dt ? TensorRef::retain(&g) : op::call(grl_cast, &g, dt);
  return contiguous(*r);
}

std::vector<TensorRef> grads(std::initializer_list<TensorRef> list) { return std::vector<TensorRef>(list); }

// A loss over no elements still records its rule, so a backward through it works and gives the
// (empty) floating inputs empty gradients.
void record_empty(const char* rule, Tensor& out, std::span<Tensor* const> inputs) {
  if (!autograd::grad_enabled()) return;
  std::vector<std::pair<Shape, grl_dtype>> want;
  for (Tensor* t : inputs)
    want.emplace_back(t ? t->shape : Shape{}, t && autograd::requires_grad(t) ? t->dtype : GRL_DTYPE_COUNT);
  TensorRef keep = autograd::saved(out);  // keeps the device alive for the closure
  autograd::record_n(rule, out, inputs, [want, keep](Tensor&) {
    std::vector<TensorRef> r;
    for (const auto& [shape, dt] : want)
      r.push_back(dt == GRL_DTYPE_COUNT ? TensorRef() : new_tensor(keep->device(), dt, shape));
    return r;
  });
}

// ---- cross_entropy / nll_loss -------------------------------------------------------------------

struct ClassGeometry {
  int64_t N = 1, C = 1, inner = 1;
  Shape item;  // input's shape without the class axis
};

ClassGeometry class_geometry(const char* fn, const Tensor& x) {
  ClassGeometry g;
  if (x.shape.ndim == 0)
    fail(GRL_ERROR_SHAPE, "%s: 'input' is 0-d; expected [C], [N, C] or [N, C, d1, ...] (classes on axis 1)", fn);
  if (x.shape.ndim == 1) {
    g.C = x.shape[0];
  } else {
    g.N = x.shape[0];
    g.C = x.shape[1];
    g.item.ndim = 0;
    g.item[g.item.ndim++] = g.N;
    for (int d = 2; d < x.shape.ndim; ++d) {
      g.inner *= x.shape[d];
      g.item[g.item.ndim++] = x.shape[d];
    }
  }
  return g;
}

TensorRef class_loss(const char* fn, const char* rule, Tensor& x, Tensor& target, int64_t ignore_index,
                     double smoothing, grl_reduction red, bool nll) {
  float_dtype(fn, "input", x);
  same_device(fn, "input", x, "target", target);
  check_reduction(fn, red);
  if (!(smoothing >= 0.0 && smoothing <= 1.0))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'label_smoothing' = %g; expected a value in [0, 1]", fn, smoothing);
  ClassGeometry geo = class_geometry(fn, x);
  const bool prob = is_float(target.dtype);
  if (prob) {
    if (nll || target.dtype != x.dtype)
      fail(GRL_ERROR_DTYPE, "%s: 'target' has dtype %s; expected class indices (i32 or i64)%s", fn,
           dtype_name(target.dtype),
           nll ? "" : format(" or probabilities of input's dtype (%s)", dtype_name(x.dtype)).c_str());
    if (!(target.shape == x.shape))
      fail(GRL_ERROR_SHAPE, "%s: 'target' (probabilities) has shape %s but 'input' has shape %s; they must have the "
           "same shape", fn, target.shape.str().c_str(), x.shape.str().c_str());
  } else {
    if (target.dtype != GRL_I32 && target.dtype != GRL_I64)
      fail(GRL_ERROR_DTYPE, "%s: 'target' has dtype %s; expected class indices (i32 or i64)%s", fn,
           dtype_name(target.dtype),
           nll ? "" : format(" or probabilities of input's dtype (%s)", dtype_name(x.dtype)).c_str());
    if (!(target.shape == geo.item))
      fail(GRL_ERROR_SHAPE, "%s: 'target' has shape %s but 'input' has shape %s; class indices must have shape %s "
           "(input without its class axis)", fn, target.shape.str().c_str(), x.shape.str().c_str(),
           geo.item.str().c_str());
  }
  const int64_t rows = geo.N * geo.inner;
  if (geo.C == 0 && rows > 0)
    fail(GRL_ERROR_SHAPE, "%s: 'input' has shape %s, with no classes on its class axis", fn, x.shape.str().c_str());
  check_numel_u32(fn, x.numel());

  Device& dev = x.dev();
  const bool want_grad = autograd::needs_grad({&x, &target});
  if (rows == 0) {
    LossLaunch l = loss_launch(x, x.dtype, geo.item, red, 1);
    fill_empty(l, red, 0);
    Tensor* in[] = {&x, &target};
    record_empty(rule, *l.out, in);
    return l.out;
  }
  TensorRef xc = contiguous(x), tc = contiguous(target);
  // Rows of packs of 4 (wide loads) when they are contiguous and aligned.
  const uint64_t align = 4 * x.elsize();
  const bool vec = geo.inner == 1 && geo.C % 4 == 0 && xc->address() % align == 0 &&
                   (!prob || tc->address() % align == 0);
  const uint32_t lg = nll ? 0 : team_log2(dev, vec ? geo.C / 4 : geo.C, geo.inner > 1);
  const uint64_t per_group = kWG >> lg;
  LossLaunch l = loss_launch(x, x.dtype, geo.item, red, (static_cast<uint64_t>(rows) + per_group - 1) / per_group);
  // Saved for the backward: each position's log-sum-exp, the count of counted positions and,
  // for soft targets, each position's sum of target weights.
  TensorRef aux;
  if (want_grad)
    aux = new_tensor(x.device(), GRL_F32, Shape::of(std::vector<int64_t>{rows + 1 + (prob ? rows : 0)}));
  uint32_t flags = (target.dtype == GRL_I64 ? kCeI64 : 0) | (prob ? kCeProb : 0) | (nll ? kCeNll : 0) |
                   (red == GRL_REDUCTION_NONE ? kCeNone : 0) | (red == GRL_REDUCTION_MEAN ? kCeMean : 0) |
                   (vec ? kCeVec : 0);
  static const KernelSet ks("loss/cross_entropy", {GRL_F32, GRL_F16, GRL_BF16});
  CrossEntropyPush pc{};
  pc.x = xc->address();
  pc.target = tc->address();
  pc.out = l.out->address();
  pc.part = addr(l.part);
  pc.aux = addr(aux);
  pc.err = prob ? 0 : dev.error_address();
  pc.ignore_index = ignore_index;
  pc.rows = u32(rows);
  pc.C = u32(geo.C);
  pc.inner = u32(geo.inner);
  pc.team_log2 = lg;
  pc.flags = flags;
  pc.tag = prob ? 0 : dev.error_tag(fn);
  pc.smoothing = static_cast<float>(smoothing);
  dev.dispatch(ks.get(fn, "input", x.dtype), &pc, sizeof pc, l.groups, 1, 1, {xc->block(), tc->block()},
               {l.out->block(), blk(l.part), blk(aux), prob ? nullptr : dev.error_block()});
  finish(fn, l, red, -1.0f, aux, u32(rows));

  if (want_grad) {
    const bool target_grad = prob && autograd::requires_grad(&target);
    TensorRef sx = autograd::saved(*xc), st = autograd::saved(*tc);
    const CrossEntropyGradPush base{0, 0, 0, 0, 0, 0, ignore_index, u32(x.numel()), u32(geo.C), u32(geo.inner),
                                    u32(rows), flags, static_cast<float>(smoothing)};
    autograd::record(rule, *l.out, {&x, &target}, [sx, st, aux, base, target_grad](Tensor& g) {
      static const KernelSet kg("loss/cross_entropy_grad", {GRL_F32, GRL_F16, GRL_BF16});
      TensorRef gc = grad_input(g, sx->dtype);
      TensorRef dx = new_tensor(sx->device(), sx->dtype, sx->shape);
      TensorRef dt = target_grad ? new_tensor(sx->device(), st->dtype, st->shape) : TensorRef();
      CrossEntropyGradPush pc = base;
      pc.x = sx->address();
      pc.target = st->address();
      pc.aux = aux->address();
      pc.g = gc->address();
      pc.dx = dx->address();
      pc.dtarget = addr(dt);
      // Contiguous rows take 4 elements per invocation.
      const uint64_t groups = groups_for(pc.n, pc.inner == 1 ? 4 * kWG : kWG);
      sx->dev().dispatch_1d(kg.get("backward", "input", sx->dtype), &pc, sizeof pc, groups,
                            {sx->block(), st->block(), aux->block(), gc->block()}, {dx->block(), blk(dt)});
      return grads({dx, dt});
    });
  }
  return l.out;
}

// ---- elementwise losses -------------------------------------------------------------------------

// The optional third operand of an elementwise loss, as the kernels read it: the tensor itself
// (a's shape), a block repeating over a's trailing dims, or a broadcast copy.
struct Operand {
  TensorRef t;
  uint32_t mode = 0, len = 0;
};

Operand third_operand(const char* fn, const char* name, Tensor* w, const char* a_name, Tensor& a, bool any_dtype) {
  Operand o;
  if (!w) return o;
  same_device(fn, a_name, a, name, *w);
  if (!any_dtype && w->dtype != a.dtype)
    fail(GRL_ERROR_DTYPE, "%s: '%s' has dtype %s but '%s' has dtype %s (cast one with grl_cast)", fn, name,
         dtype_name(w->dtype), a_name, dtype_name(a.dtype));
  bool fits = w->shape.ndim <= a.shape.ndim;
  for (int d = 0; fits && d < w->shape.ndim; ++d) {
    int64_t wd = w->shape[d], ad = a.shape[a.shape.ndim - w->shape.ndim + d];
    fits = wd == ad || wd == 1;
  }
  if (!fits)
    fail(GRL_ERROR_SHAPE, "%s: '%s' has shape %s, which does not broadcast to '%s' %s", fn, name,
         w->shape.str().c_str(), a_name, a.shape.str().c_str());
  int lead = 0;
  while (lead < w->shape.ndim && w->shape[lead] == 1) ++lead;
  bool suffix = true;
  for (int d = lead; d < w->shape.ndim; ++d)
    suffix = suffix && w->shape[d] == a.shape[a.shape.ndim - w->shape.ndim + d];
  if (w->shape.numel() == a.numel()) {
    o.t = contiguous(*w);
    o.mode = 1;
  } else if (suffix) {
    o.t = contiguous(*w);
    o.mode = 2;
    o.len = u32(w->numel());
  } else {
    o.t = materialize(*w, a.shape);
    o.mode = 1;
  }
  return o;
}

struct PointwiseNames {
  const char* a = "input";
  const char* b = "target";
  const char* w = "weight";
};

// div: the MEAN divisor (the element count, or the batch size for kl_div's batchmean).
TensorRef pointwise_loss(const char* fn, const char* rule, Pointwise op, Tensor& a, Tensor& b, Tensor* w,
                         const PointwiseNames& names, grl_reduction red, double p0, double div, bool w_any_dtype) {
  float_dtype(fn, names.a, a);
  same_device(fn, names.a, a, names.b, b);
  same_dtype(fn, names.a, a, names.b, b);
  same_shape(fn, names.a, a, names.b, b);
  check_reduction(fn, red);
  Operand wo = third_operand(fn, names.w, w, names.a, a, w_any_dtype);
  const int64_t n = a.numel();
  check_numel_u32(fn, n);
  const uint64_t per_group = red == GRL_REDUCTION_NONE ? kWG : 4 * kWG;
  LossLaunch l = loss_launch(a, a.dtype, a.shape, red, (static_cast<uint64_t>(n) + per_group - 1) / per_group);
  if (n == 0) {
    fill_empty(l, red, div);
    Tensor* in[] = {&a, &b, w};
    record_empty(rule, *l.out, in);
    return l.out;
  }
  static const KernelSet ks("loss/pointwise", {GRL_F32, GRL_F16, GRL_BF16});
  TensorRef ac = contiguous(a), bc = contiguous(b);
  PointwisePush pc{};
  pc.a = ac->address();
  pc.b = bc->address();
  pc.w = addr(wo.t);
  pc.out = l.out->address();
  pc.part = addr(l.part);
  pc.n = u32(n);
  pc.op = static_cast<uint32_t>(op);
  pc.wmode = wo.mode;
  pc.wdt = wo.t ? static_cast<uint32_t>(wo.t->dtype) : 0;
  pc.wlen = wo.len;
  pc.reduce = static_cast<uint32_t>(red);
  pc.p0 = static_cast<float>(p0);
  pc.div = static_cast<float>(div);
  Device& dev = a.dev();
  dev.dispatch(ks.get(fn, names.a, a.dtype), &pc, sizeof pc, l.groups, 1, 1, {ac->block(), bc->block(), blk(wo.t)},
               {l.out->block(), blk(l.part)});
  finish(fn, l, red, static_cast<float>(div), TensorRef(), 0);

  if (autograd::needs_grad({&a, &b, w})) {
    const bool ga = autograd::requires_grad(&a), gb = autograd::requires_grad(&b);
    // Only margin ranking differentiates its third operand (y), and only a floating one.
    const bool gw = op == Pointwise::Margin && w && is_float(w->dtype) && autograd::requires_grad(w);
    TensorRef sa = autograd::saved(*ac), sb = autograd::saved(*bc), sw = wo.t ? autograd::saved(*wo.t) : TensorRef();
    PointwiseGradPush base{};
    base.n = u32(n);
    base.op = pc.op;
    base.wmode = wo.mode;
    base.wdt = pc.wdt;
    base.wlen = wo.len;
    base.gscalar = red != GRL_REDUCTION_NONE;
    base.p0 = pc.p0;
    base.scale = red == GRL_REDUCTION_MEAN ? static_cast<float>(1.0 / div) : 1.0f;
    autograd::record(rule, *l.out, {&a, &b, w}, [sa, sb, sw, base, ga, gb, gw](Tensor& g) {
      static const KernelSet kg("loss/pointwise_grad", {GRL_F32, GRL_F16, GRL_BF16});
      TensorRef gc = grad_input(g, sa->dtype);
      TensorRef da = ga ? new_tensor(sa->device(), sa->dtype, sa->shape) : TensorRef();
      TensorRef db = gb ? new_tensor(sa->device(), sa->dtype, sa->shape) : TensorRef();
      // y's gradient has a's shape (the engine sums a broadcast y back) in y's dtype.
      TensorRef dw = gw ? new_tensor(sa->device(), sw->dtype, sa->shape) : TensorRef();
      PointwiseGradPush pc = base;
      pc.a = sa->address();
      pc.b = sb->address();
      pc.w = addr(sw);
      pc.g = gc->address();
      pc.da = addr(da);
      pc.db = addr(db);
      pc.dw = addr(dw);
      sa->dev().dispatch_1d(kg.get("backward", "input", sa->dtype), &pc, sizeof pc, groups_for(pc.n),
                            {sa->block(), sb->block(), blk(sw), gc->block()}, {blk(da), blk(db), blk(dw)});
      return grads({da, db, dw});
    });
  }
  return l.out;
}

// ---- row losses over pairs of vectors -----------------------------------------------------------

struct PairNames {
  const char* a;
  const char* b;
  const char* c;  // nullptr: no third vector
};

// a, b (and c): [N, D] or [D]; y: [N] or [] (nullptr for triplet).
TensorRef pair_rows_loss(const char* fn, const char* rule, PairRows op, Tensor& a, Tensor& b, Tensor* c, Tensor* y,
                         const PairNames& names, double margin, double p, grl_reduction red) {
  float_dtype(fn, names.a, a);
  same_device(fn, names.a, a, names.b, b);
  same_dtype(fn, names.a, a, names.b, b);
  if (c) {
    same_device(fn, names.a, a, names.c, *c);
    same_dtype(fn, names.a, a, names.c, *c);
  }
  if (y) same_device(fn, names.a, a, "y", *y);
  check_reduction(fn, red);
  finite_arg(fn, "margin", margin);
  if (a.shape.ndim != 1 && a.shape.ndim != 2)
    fail(GRL_ERROR_SHAPE, "%s: '%s' has shape %s; expected [N, D] or [D]", fn, names.a, a.shape.str().c_str());
  same_shape(fn, names.a, a, names.b, b);
  if (c) same_shape(fn, names.a, a, names.c, *c);
  const int64_t rows = a.shape.ndim == 2 ? a.shape[0] : 1, D = a.shape[a.shape.ndim - 1];
  Shape item = a.shape.ndim == 2 ? Shape::of(std::vector<int64_t>{rows}) : Shape{};
  if (y && !(y->shape == item))
    fail(GRL_ERROR_SHAPE, "%s: 'y' has shape %s but '%s' has shape %s; y must have shape %s (one label per row)", fn,
         y->shape.str().c_str(), names.a, a.shape.str().c_str(), item.str().c_str());
  check_numel_u32(fn, a.numel());

  Device& dev = a.dev();
  const uint32_t lg = team_log2(dev, D, false);
  const uint64_t per_group = kWG >> lg;
  LossLaunch l = loss_launch(a, a.dtype, item, red, (static_cast<uint64_t>(rows) + per_group - 1) / per_group);
  std::vector<Tensor*> inputs{&a, &b};
  if (c) inputs.push_back(c);
  if (y) inputs.push_back(y);
  if (rows == 0) {
    fill_empty(l, red, 0);
    record_empty(rule, *l.out, inputs);
    return l.out;
  }
  const bool want_grad = autograd::needs_grad({&a, &b, c});
  TensorRef ac = contiguous(a), bc = contiguous(b), cc = c ? contiguous(*c) : TensorRef(),
            yc = y ? contiguous(*y) : TensorRef();
  TensorRef stats = want_grad ? new_tensor(a.device(), GRL_F32, Shape::of(std::vector<int64_t>{rows, 4})) : TensorRef();
  static const KernelSet ks("loss/pair_rows", {GRL_F32, GRL_F16, GRL_BF16});
  PairRowsPush pc{};
  pc.a = ac->address();
  pc.b = bc->address();
  pc.c = addr(cc);
  pc.y = addr(yc);
  pc.out = l.out->address();
  pc.part = addr(l.part);
  pc.stats = addr(stats);
  pc.rows = u32(rows);
  pc.D = u32(D);
  pc.team_log2 = lg;
  pc.op = static_cast<uint32_t>(op);
  pc.ydt = yc ? static_cast<uint32_t>(yc->dtype) : 0;
  pc.reduce = static_cast<uint32_t>(red);
  pc.margin = static_cast<float>(margin);
  pc.p = static_cast<float>(p);
  dev.dispatch(ks.get(fn, names.a, a.dtype), &pc, sizeof pc, l.groups, 1, 1,
               {ac->block(), bc->block(), blk(cc), blk(yc)}, {l.out->block(), blk(l.part), blk(stats)});
  finish(fn, l, red, static_cast<float>(rows), TensorRef(), 0);

  if (want_grad) {
    const bool ga = autograd::requires_grad(&a), gb = autograd::requires_grad(&b), gc = c && autograd::requires_grad(c);
    TensorRef sa = autograd::saved(*ac), sb = autograd::saved(*bc), sc = cc ? autograd::saved(*cc) : TensorRef(),
              sy = yc ? autograd::saved(*yc) : TensorRef();
    PairRowsGradPush base{};
    base.n = u32(a.numel());
    base.D = u32(D);
    base.op = pc.op;
    base.ydt = pc.ydt;
    base.gscalar = red != GRL_REDUCTION_NONE;
    base.scale = red == GRL_REDUCTION_MEAN ? static_cast<float>(1.0 / static_cast<double>(rows)) : 1.0f;
    base.margin = pc.margin;
    base.p = pc.p;
    // The labels y get no gradient: they select the branch of the loss.
    autograd::record_n(rule, *l.out, inputs, [sa, sb, sc, sy, stats, base, ga, gb, gc](Tensor& g) {
      static const KernelSet kg("loss/pair_rows_grad", {GRL_F32, GRL_F16, GRL_BF16});
      TensorRef gin = grad_input(g, sa->dtype);
      auto make = [&](bool on) { return on ? new_tensor(sa->device(), sa->dtype, sa->shape) : TensorRef(); };
      TensorRef da = make(ga), db = make(gb), dc = make(gc);
      PairRowsGradPush pc = base;
      pc.a = sa->address();
      pc.b = sb->address();
      pc.c = addr(sc);
      pc.y = addr(sy);
      pc.stats = stats->address();
      pc.g = gin->address();
      pc.da = addr(da);
      pc.db = addr(db);
      pc.dc = addr(dc);
      if (pc.n > 0)
        sa->dev().dispatch_1d(kg.get("backward", "input", sa->dtype), &pc, sizeof pc, groups_for(pc.n),
                              {sa->block(), sb->block(), blk(sc), blk(sy), stats->block(), gin->block()},
                              {blk(da), blk(db), blk(dc)});
      std::vector<TensorRef> r{da, db};
      if (sc) r.push_back(dc);
      return r;
    });
  }
  return l.out;
}

}  // namespace

GRL_BACKWARD_RULE(mse_loss);
GRL_BACKWARD_RULE(l1_loss);
GRL_BACKWARD_RULE(smooth_l1_loss);
GRL_BACKWARD_RULE(huber_loss);
GRL_BACKWARD_RULE(cross_entropy);
GRL_BACKWARD_RULE(nll_loss);
GRL_BACKWARD_RULE(binary_cross_entropy);
GRL_BACKWARD_RULE(bce_with_logits);
GRL_BACKWARD_RULE(kl_div);
GRL_BACKWARD_RULE(cosine_embedding_loss);
GRL_BACKWARD_RULE(margin_ranking_loss);
GRL_BACKWARD_RULE(triplet_margin_loss);
GRL_BACKWARD_RULE(contrastive_loss);

}  // namespace grl

using namespace grl;

// The elementwise losses of (input, target) with one optional parameter, checked by `valid`.
#define GRL_SIMPLE_LOSS(name, op, param, valid, expected)                                                 \
  extern "C" GRL_API grl_status grl_##name(grl_tensor input, grl_tensor target, double param,             \
                                          grl_reduction reduction, grl_tensor* out) {                     \
    GRL_API_BEGIN();                                                                                      \
    Tensor& x = arg_tensor(__func__, "input", input);                                                     \
    Tensor& t = arg_tensor(__func__, "target", target);                                                   \
    GRL_CHECK_OUT(out);                                                                                   \
    if (!(valid))                                                                                         \
      fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' = %g; expected %s", __func__, #param, param, expected);  \
    DeviceLock lock(x.dev().mutex());                                                                     \
    *out = pointwise_loss(__func__, #name, op, x, t, nullptr, PointwiseNames{}, reduction, param,         \
                          static_cast<double>(x.numel()), false)                                          \
               .release();                                                                                \
    GRL_API_END();                                                                                        \
  }

GRL_SIMPLE_LOSS(smooth_l1_loss, Pointwise::SmoothL1, beta, std::isfinite(beta) && beta >= 0.0,
                "a finite value >= 0 (0 gives l1_loss)")
GRL_SIMPLE_LOSS(huber_loss, Pointwise::Huber, delta, std::isfinite(delta) && delta > 0.0, "a finite value > 0")

extern "C" GRL_API grl_status grl_mse_loss(grl_tensor input, grl_tensor target, grl_reduction reduction,
                                           grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& x = arg_tensor(__func__, "input", input);
  Tensor& t = arg_tensor(__func__, "target", target);
  GRL_CHECK_OUT(out);
  DeviceLock lock(x.dev().mutex());
  *out = pointwise_loss(__func__, "mse_loss", Pointwise::Mse, x, t, nullptr, PointwiseNames{}, reduction, 0.0,
                        static_cast<double>(x.numel()), false)
             .release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_l1_loss(grl_tensor input, grl_tensor target, grl_reduction reduction,
                                          grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& x = arg_tensor(__func__, "input", input);
  Tensor& t = arg_tensor(__func__, "target", target);
  GRL_CHECK_OUT(out);
  DeviceLock lock(x.dev().mutex());
  *out = pointwise_loss(__func__, "l1_loss", Pointwise::L1, x, t, nullptr, PointwiseNames{}, reduction, 0.0,
                        static_cast<double>(x.numel()), false)
             .release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_cross_entropy(grl_tensor input, grl_tensor target, int64_t ignore_index,
                                                double label_smoothing, grl_reduction reduction, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& x = arg_tensor(__func__, "input", input);
  Tensor& t = arg_tensor(__func__, "target", target);
  GRL_CHECK_OUT(out);
  DeviceLock lock(x.dev().mutex());
  *out = class_loss(__func__, "cross_entropy", x, t, ignore_index, label_smoothing, reduction, false).release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_nll_loss(grl_tensor input, grl_tensor target, int64_t ignore_index,
                                           grl_reduction reduction, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& x = arg_tensor(__func__, "input", input);
  Tensor& t = arg_tensor(__func__, "target", target);
  GRL_CHECK_OUT(out);
  DeviceLock lock(x.dev().mutex());
  *out = class_loss(__func__, "nll_loss", x, t, ignore_index, 0.0, reduction, true).release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_binary_cross_entropy(grl_tensor input, grl_tensor target, grl_tensor weight,
                                                       grl_reduction reduction, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& x = arg_tensor(__func__, "input", input);
  Tensor& t = arg_tensor(__func__, "target", target);
  Tensor* w = opt_tensor(__func__, "weight", weight);
  GRL_CHECK_OUT(out);
  DeviceLock lock(x.dev().mutex());
  *out = pointwise_loss(__func__, "binary_cross_entropy", Pointwise::Bce, x, t, w, PointwiseNames{}, reduction, 0.0,
                        static_cast<double>(x.numel()), false)
             .release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_bce_with_logits(grl_tensor input, grl_tensor target, grl_tensor pos_weight,
                                                  grl_reduction reduction, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& x = arg_tensor(__func__, "input", input);
  Tensor& t = arg_tensor(__func__, "target", target);
  Tensor* w = opt_tensor(__func__, "pos_weight", pos_weight);
  GRL_CHECK_OUT(out);
  DeviceLock lock(x.dev().mutex());
  PointwiseNames names;
  names.w = "pos_weight";
  *out = pointwise_loss(__func__, "bce_with_logits", Pointwise::BceLogits, x, t, w, names, reduction, 0.0,
                        static_cast<double>(x.numel()), false)
             .release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_kl_div(grl_tensor input, grl_tensor target, uint32_t log_target,
                                         grl_reduction reduction, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& x = arg_tensor(__func__, "input", input);
  Tensor& t = arg_tensor(__func__, "target", target);
  GRL_CHECK_OUT(out);
  if (log_target > 1)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'log_target' = %u; expected 0 or 1", __func__, log_target);
  DeviceLock lock(x.dev().mutex());
  // MEAN is PyTorch's 'batchmean': the sum over the size of the first dim (1 for a 0-d input).
  const double batch = x.shape.ndim > 0 ? static_cast<double>(x.shape[0]) : 1.0;
  *out = pointwise_loss(__func__, "kl_div", log_target ? Pointwise::KlLog : Pointwise::Kl, x, t, nullptr,
                        PointwiseNames{}, reduction, 0.0, batch, false)
             .release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_cosine_embedding_loss(grl_tensor x1, grl_tensor x2, grl_tensor y, double margin,
                                                        grl_reduction reduction, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& a = arg_tensor(__func__, "x1", x1);
  Tensor& b = arg_tensor(__func__, "x2", x2);
  Tensor& ty = arg_tensor(__func__, "y", y);
  GRL_CHECK_OUT(out);
  DeviceLock lock(a.dev().mutex());
  *out = pair_rows_loss(__func__, "cosine_embedding_loss", PairRows::Cosine, a, b, nullptr, &ty,
                        PairNames{"x1", "x2", nullptr}, margin, 2.0, reduction)
             .release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_margin_ranking_loss(grl_tensor x1, grl_tensor x2, grl_tensor y, double margin,
                                                      grl_reduction reduction, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& a = arg_tensor(__func__, "x1", x1);
  Tensor& b = arg_tensor(__func__, "x2", x2);
  Tensor& ty = arg_tensor(__func__, "y", y);
  GRL_CHECK_OUT(out);
  finite_arg(__func__, "margin", margin);
  DeviceLock lock(a.dev().mutex());
  PointwiseNames names{"x1", "x2", "y"};
  *out = pointwise_loss(__func__, "margin_ranking_loss", Pointwise::Margin, a, b, &ty, names, reduction, margin,
                        static_cast<double>(a.numel()), true)
             .release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_triplet_margin_loss(grl_tensor anchor, grl_tensor positive, grl_tensor negative,
                                                      double margin, double p, grl_reduction reduction,
                                                      grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& a = arg_tensor(__func__, "anchor", anchor);
  Tensor& b = arg_tensor(__func__, "positive", positive);
  Tensor& c = arg_tensor(__func__, "negative", negative);
  GRL_CHECK_OUT(out);
  if (!(std::isfinite(p) && p > 0.0))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'p' = %g; expected a finite norm degree > 0 (PyTorch's default is 2)",
         __func__, p);
  DeviceLock lock(a.dev().mutex());
  *out = pair_rows_loss(__func__, "triplet_margin_loss", PairRows::Triplet, a, b, &c, nullptr,
                        PairNames{"anchor", "positive", "negative"}, margin, p, reduction)
             .release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_contrastive_loss(grl_tensor x1, grl_tensor x2, grl_tensor y, double margin,
                                                   grl_reduction reduction, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& a = arg_tensor(__func__, "x1", x1);
  Tensor& b = arg_tensor(__func__, "x2", x2);
  Tensor& ty = arg_tensor(__func__, "y", y);
  GRL_CHECK_OUT(out);
  DeviceLock lock(a.dev().mutex());
  *out = pair_rows_loss(__func__, "contrastive_loss", PairRows::Contrastive, a, b, nullptr, &ty,
                        PairNames{"x1", "x2", nullptr}, margin, 2.0, reduction)
             .release();
  GRL_API_END();
}
