// Loss family: every loss and reduction against float64 references written here, over f32, f16
// and bf16 inputs, team- and workgroup-per-row shapes, index errors reported at sync, bad inputs.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "testing.h"

using namespace gt;

class Loss : public DeviceTest {};

namespace {

const grl_reduction kReductions[] = {GRL_REDUCTION_NONE, GRL_REDUCTION_MEAN, GRL_REDUCTION_SUM};
const grl_dtype kFloats[] = {GRL_F32, GRL_F16, GRL_BF16};
const double kNaN = std::numeric_limits<double>::quiet_NaN();

const char* red_name(grl_reduction r) { return r == GRL_REDUCTION_NONE ? "none" : r == GRL_REDUCTION_MEAN ? "mean" : "sum"; }

// NONE: the per-item losses with the item shape; MEAN: their sum over div; SUM: their sum.
Host reduce_ref(const std::vector<double>& per, const Shape& item, grl_reduction r, double div) {
  if (r == GRL_REDUCTION_NONE) {
    Host h = Host::zeros(item);
    h.v = per;
    return h;
  }
  double s = 0;
  for (double v : per) s += v;
  Host h = Host::zeros({});
  h.v[0] = r == GRL_REDUCTION_SUM ? s : s / div;
  return h;
}

void round_all(Host& h, grl_dtype dt) {
  for (auto& v : h.v) v = round_to(dt, v);
}

// Results computed in f32 from rounded inputs and rounded once to dt; f32 sums of a few thousand
// terms and f32 log/exp stay within a few 1e-6.
Tol loss_tol(grl_dtype dt) { return dt == GRL_F32 ? Tol{2e-5, 2e-5} : tol(dt); }

double log1p_neg_clamped(double x) { return std::max(std::log1p(-x), -100.0); }
double softplus_neg(double x) { return std::max(-x, 0.0) + std::log1p(std::exp(-std::abs(x))); }

const std::vector<Shape>& pointwise_shapes() {
  // One element, a [1, C] row, odd 2-d and 3-d shapes, and sizes that need several workgroups
  // (and so the second reduction step) in the reduced modes.
  static const std::vector<Shape> s = {{1}, {1, 5}, {3, 7}, {2, 3, 4}, {1031}, {5000}};
  return s;
}

}  // namespace

TEST_F(Loss, ElementwiseLossesAgainstFloat64) {
  using Fn = std::function<grl_status(grl_tensor, grl_tensor, grl_reduction, grl_tensor*)>;
  struct Case {
    const char* name;
    Fn fn;
    std::function<double(double, double)> ref;
    double xlo, xhi, tlo, thi;
  };
  const std::vector<Case> cases = {
      {"mse", grl_mse_loss, [](double x, double t) { return (x - t) * (x - t); }, -2, 2, -2, 2},
      {"l1", grl_l1_loss, [](double x, double t) { return std::abs(x - t); }, -2, 2, -2, 2},
      {"smooth_l1 beta 0.5",
       [](grl_tensor a, grl_tensor b, grl_reduction r, grl_tensor* o) { return grl_smooth_l1_loss(a, b, 0.5, r, o); },
       [](double x, double t) {
         double d = std::abs(x - t);
         return d < 0.5 ? 0.5 * d * d / 0.5 : d - 0.25;
       },
       -2, 2, -2, 2},
      {"smooth_l1 beta 0 (l1)",
       [](grl_tensor a, grl_tensor b, grl_reduction r, grl_tensor* o) { return grl_smooth_l1_loss(a, b, 0.0, r, o); },
       [](double x, double t) { return std::abs(x - t); }, -2, 2, -2, 2},
      {"huber delta 0.7",
       [](grl_tensor a, grl_tensor b, grl_reduction r, grl_tensor* o) { return grl_huber_loss(a, b, 0.7, r, o); },
       [](double x, double t) {
         double d = std::abs(x - t);
         return d < 0.7 ? 0.5 * d * d : 0.7 * (d - 0.35);
       },
       -2, 2, -2, 2},
      {"binary_cross_entropy",
       [](grl_tensor a, grl_tensor b, grl_reduction r, grl_tensor* o) {
         return grl_binary_cross_entropy(a, b, nullptr, r, o);
       },
       [](double x, double t) { return -(t * std::max(std::log(x), -100.0) + (1 - t) * log1p_neg_clamped(x)); },
       0.02, 0.98, 0, 1},
      {"bce_with_logits",
       [](grl_tensor a, grl_tensor b, grl_reduction r, grl_tensor* o) { return grl_bce_with_logits(a, b, nullptr, r, o); },
       [](double x, double t) { return (1 - t) * x + softplus_neg(x); }, -30, 30, 0, 1},
      {"kl_div",
       [](grl_tensor a, grl_tensor b, grl_reduction r, grl_tensor* o) { return grl_kl_div(a, b, 0, r, o); },
       [](double x, double t) { return (t == 0 ? 0.0 : t * std::log(t)) - t * x; }, -4, 0, 0, 1},
      {"kl_div log_target",
       [](grl_tensor a, grl_tensor b, grl_reduction r, grl_tensor* o) { return grl_kl_div(a, b, 1, r, o); },
       [](double x, double t) { return std::exp(t) * (t - x); }, -4, 0, -4, 0},
  };
  for (const auto& c : cases)
    for (grl_dtype dt : kFloats)
      for (const Shape& s : pointwise_shapes())
        for (grl_reduction r : kReductions) {
          Host x = Host::random(s, rng(), c.xlo, c.xhi), t = Host::random(s, rng(), c.tlo, c.thi);
          if (std::string(c.name) == "kl_div" && t.numel() > 3) t.v[1] = 0;  // xlogy(0, 0) = 0
          round_all(x, dt);
          round_all(t, dt);
          T tx(upload(dev, x, dt)), tt(upload(dev, t, dt)), out;
          ASSERT_GRL_OK(c.fn(tx, tt, r, out.out()));
          EXPECT_EQ(grl_tensor_dtype(out), dt);
          std::vector<double> per(x.v.size());
          for (size_t i = 0; i < per.size(); ++i) per[i] = c.ref(x.v[i], t.v[i]);
          // kl_div's MEAN is 'batchmean': over the first dim.
          double div = std::string(c.name).rfind("kl_div", 0) == 0 ? static_cast<double>(s[0])
                                                                    : static_cast<double>(x.numel());
          Host ref = reduce_ref(per, s, r, div);
          EXPECT_TRUE(close(download(out), ref, loss_tol(dt)))
              << c.name << " " << grl_dtype_name(dt) << " " << str(s) << " " << red_name(r);
        }
}

TEST_F(Loss, BinaryCrossEntropyClampsLogsAndTakesWeights) {
  // Probabilities of exactly 0 and 1: PyTorch clamps the logs at -100.
  Host x = Host::zeros({4}), t = Host::zeros({4});
  x.v = {0, 0, 1, 1};
  t.v = {0, 1, 0, 1};
  T tx(upload(dev, x)), tt(upload(dev, t)), out;
  ASSERT_GRL_OK(grl_binary_cross_entropy(tx, tt, nullptr, GRL_REDUCTION_NONE, out.out()));
  Host ref = Host::zeros({4});
  ref.v = {0, 100, 100, 0};
  EXPECT_TRUE(close(download(out), ref, {0, 0}));

  // Weights of the input's shape, repeating over the trailing dims, and broadcast along a middle dim.
  const Shape s = {3, 4, 5};
  for (Shape ws : {Shape{3, 4, 5}, Shape{5}, Shape{4, 5}, Shape{1, 1, 5}, Shape{3, 1, 5}, Shape{1}})
    for (grl_dtype dt : kFloats)
      for (grl_reduction r : kReductions) {
        Host xv = Host::random(s, rng(), 0.05, 0.95), tv = Host::random(s, rng(), 0, 1), w = Host::random(ws, rng(), 0, 2);
        round_all(xv, dt);
        round_all(tv, dt);
        round_all(w, dt);
        T a(upload(dev, xv, dt)), b(upload(dev, tv, dt)), tw(upload(dev, w, dt)), o;
        ASSERT_GRL_OK(grl_binary_cross_entropy(a, b, tw, r, o.out()));
        std::vector<double> per(xv.v.size());
        for (int64_t i = 0; i < xv.numel(); ++i) {
          double wi = w[bcast_index(s, ws, i)];
          per[static_cast<size_t>(i)] =
              -wi * (tv[i] * std::log(xv[i]) + (1 - tv[i]) * std::log1p(-xv[i]));
        }
        EXPECT_TRUE(close(download(o), reduce_ref(per, s, r, static_cast<double>(xv.numel())), loss_tol(dt)))
            << "weight " << str(ws) << " " << grl_dtype_name(dt) << " " << red_name(r);
      }
}

TEST_F(Loss, BceWithLogitsPosWeight) {
  const Shape s = {6, 3};
  for (grl_dtype dt : kFloats)
    for (grl_reduction r : kReductions) {
      Host x = Host::random(s, rng(), -8, 8), t = Host::random(s, rng(), 0, 1), pw = Host::random({3}, rng(), 0.2, 3);
      round_all(x, dt);
      round_all(t, dt);
      round_all(pw, dt);
      T a(upload(dev, x, dt)), b(upload(dev, t, dt)), w(upload(dev, pw, dt)), o;
      ASSERT_GRL_OK(grl_bce_with_logits(a, b, w, r, o.out()));
      std::vector<double> per(x.v.size());
      for (int64_t i = 0; i < x.numel(); ++i) {
        double lw = 1 + (pw[i % 3] - 1) * t[i];
        per[static_cast<size_t>(i)] = (1 - t[i]) * x[i] + lw * softplus_neg(x[i]);
      }
      EXPECT_TRUE(close(download(o), reduce_ref(per, s, r, 18), loss_tol(dt))) << grl_dtype_name(dt) << " " << red_name(r);
    }
}

TEST_F(Loss, MarginRankingLoss) {
  for (grl_dtype dt : kFloats)
    for (grl_dtype ydt : {dt, GRL_I32})
      for (int64_t n : {1, 9, 2000})
        for (grl_reduction r : kReductions) {
          Host x1 = Host::random({n}, rng()), x2 = Host::random({n}, rng()), y = Host::zeros({n});
          for (auto& v : y.v) v = (rng()() & 1) ? 1.0 : -1.0;
          round_all(x1, dt);
          round_all(x2, dt);
          T a(upload(dev, x1, dt)), b(upload(dev, x2, dt)), ty(upload(dev, y, ydt)), o;
          ASSERT_GRL_OK(grl_margin_ranking_loss(a, b, ty, 0.3, r, o.out()));
          std::vector<double> per(static_cast<size_t>(n));
          for (int64_t i = 0; i < n; ++i) per[static_cast<size_t>(i)] = std::max(0.0, -y[i] * (x1[i] - x2[i]) + 0.3);
          EXPECT_TRUE(close(download(o), reduce_ref(per, {n}, r, static_cast<double>(n)), loss_tol(dt)))
              << grl_dtype_name(dt) << " y " << grl_dtype_name(ydt) << " " << n << " " << red_name(r);
        }
}

namespace {

// Cross-entropy reference over x [N, C, inner...] (or [C]) with class indices or probabilities.
struct CeRef {
  std::vector<double> per;
  double counted = 0;
};

CeRef ce_ref(const Host& x, const Host* idx, const Host* prob, int64_t ignore, double eps, bool nll) {
  const Shape& s = x.shape;
  int64_t N = s.size() == 1 ? 1 : s[0], C = s.size() == 1 ? s[0] : s[1], inner = 1;
  for (size_t d = 2; d < s.size(); ++d) inner *= s[d];
  CeRef r;
  r.per.assign(static_cast<size_t>(N * inner), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < inner; ++j) {
      auto at = [&](int64_t c) { return (n * C + c) * inner + j; };
      double m = -INFINITY;
      for (int64_t c = 0; c < C; ++c) m = std::max(m, x[at(c)]);
      double se = 0;
      for (int64_t c = 0; c < C; ++c) se += std::exp(x[at(c)] - m);
      double lse = m + std::log(se);
      size_t row = static_cast<size_t>(n * inner + j);
      if (prob) {
        double l = 0;
        for (int64_t c = 0; c < C; ++c) l += ((1 - eps) * (*prob)[at(c)] + eps / C) * (lse - x[at(c)]);
        r.per[row] = l;
        r.counted += 1;
        continue;
      }
      auto t = static_cast<int64_t>((*idx)[static_cast<int64_t>(row)]);
      if (t == ignore) continue;
      r.counted += 1;
      if (nll) {
        r.per[row] = -x[at(t)];
        continue;
      }
      double smooth = 0;
      for (int64_t c = 0; c < C; ++c) smooth += lse - x[at(c)];
      r.per[row] = (1 - eps) * (lse - x[at(t)]) + eps / C * smooth;
    }
  return r;
}

Shape item_shape(const Shape& s) {
  if (s.size() == 1) return {};
  Shape item = {s[0]};
  for (size_t d = 2; d < s.size(); ++d) item.push_back(s[d]);
  return item;
}

Host random_targets(const Shape& item, int64_t C, int64_t ignore, double ignore_share) {
  Host t = Host::zeros(item);
  std::uniform_int_distribution<int64_t> cls(0, C - 1);
  std::uniform_real_distribution<double> u(0, 1);
  for (auto& v : t.v) v = static_cast<double>(u(rng()) < ignore_share ? ignore : cls(rng()));
  return t;
}

}  // namespace

TEST_F(Loss, CrossEntropyWithClassIndices) {
  // [1, C] and [N, C] rows short enough for a team of lanes and long enough for a whole workgroup
  // per row (on any subgroup size up to 64), [N, C, d...] with strided classes, a 1-d [C] input,
  // and a batch that takes several workgroups.
  const std::vector<Shape> shapes = {{1, 1},   {1, 10},     {64, 10},  {5, 37},  {3, 300}, {2, 1500},
                                     {1, 5000}, {3, 5, 7}, {2, 4, 3, 2}, {10}, {3000, 10}};
  for (const Shape& s : shapes)
    for (grl_dtype dt : kFloats)
      for (double eps : {0.0, 0.1, 1.0}) {
        const int64_t C = s.size() == 1 ? s[0] : s[1];
        const Shape item = item_shape(s);
        const int64_t ignore = C > 2 ? 2 : -100;  // an ignore_index that targets may hit
        Host x = Host::random(s, rng(), -6, 6);
        if (x.numel() > 3) x.v[3] = 40;  // one large logit: the max shift keeps exp finite
        round_all(x, dt);
        Host t = random_targets(item, C, ignore, 0.2);
        for (grl_dtype idt : {GRL_I64, GRL_I32})
          for (grl_reduction r : kReductions) {
            T tx(upload(dev, x, dt)), tt(upload(dev, t, idt)), out;
            ASSERT_GRL_OK(grl_cross_entropy(tx, tt, ignore, eps, r, out.out()));
            EXPECT_EQ(grl_tensor_dtype(out), dt);
            CeRef ref = ce_ref(x, &t, nullptr, ignore, eps, false);
            Host want = reduce_ref(ref.per, item, r, ref.counted);
            if (dt != GRL_F32) round_all(want, dt);
            EXPECT_TRUE(close(download(out), want, loss_tol(dt)))
                << str(s) << " " << grl_dtype_name(dt) << " eps " << eps << " " << grl_dtype_name(idt) << " "
                << red_name(r);
          }
      }
}

TEST_F(Loss, CrossEntropyWithProbabilities) {
  for (const Shape& s : {Shape{1, 6}, Shape{4, 6}, Shape{2, 5, 3}, Shape{3, 700}, Shape{7}})
    for (grl_dtype dt : kFloats)
      for (double eps : {0.0, 0.2})
        for (grl_reduction r : kReductions) {
          Host x = Host::random(s, rng(), -5, 5), p = Host::random(s, rng(), 0, 1);
          round_all(x, dt);
          round_all(p, dt);
          T tx(upload(dev, x, dt)), tp(upload(dev, p, dt)), out;
          ASSERT_GRL_OK(grl_cross_entropy(tx, tp, -100, eps, r, out.out()));
          CeRef ref = ce_ref(x, nullptr, &p, -100, eps, false);
          Host want = reduce_ref(ref.per, item_shape(s), r, ref.counted);
          EXPECT_TRUE(close(download(out), want, loss_tol(dt)))
              << str(s) << " " << grl_dtype_name(dt) << " eps " << eps << " " << red_name(r);
        }
}

TEST_F(Loss, NllLoss) {
  for (const Shape& s : {Shape{1, 4}, Shape{6, 5}, Shape{3, 4, 5}, Shape{4}})
    for (grl_dtype dt : kFloats)
      for (grl_reduction r : kReductions) {
        const int64_t C = s.size() == 1 ? s[0] : s[1];
        Host x = Host::random(s, rng(), -5, 0);
        round_all(x, dt);
        Host t = random_targets(item_shape(s), C, -1, 0.25);
        T tx(upload(dev, x, dt)), tt(upload(dev, t, GRL_I64)), out;
        ASSERT_GRL_OK(grl_nll_loss(tx, tt, -1, r, out.out()));
        CeRef ref = ce_ref(x, &t, nullptr, -1, 0, true);
        EXPECT_TRUE(close(download(out), reduce_ref(ref.per, item_shape(s), r, ref.counted), loss_tol(dt)))
            << str(s) << " " << grl_dtype_name(dt) << " " << red_name(r);
      }
}

TEST_F(Loss, CrossEntropyEdgeCases) {
  // Every target ignored: the mean over no targets is NaN (as PyTorch), the sum 0.
  Host x = Host::random({3, 4}, rng());
  T tx(upload(dev, x)), tt(upload_i64(dev, {-100, -100, -100}, {3})), out;
  ASSERT_GRL_OK(grl_cross_entropy(tx, tt, -100, 0.0, GRL_REDUCTION_MEAN, out.out()));
  EXPECT_TRUE(std::isnan(download(out).v[0]));
  ASSERT_GRL_OK(grl_cross_entropy(tx, tt, -100, 0.1, GRL_REDUCTION_SUM, out.out()));
  EXPECT_EQ(download(out).v[0], 0.0);
  ASSERT_GRL_OK(grl_nll_loss(tx, tt, -100, GRL_REDUCTION_MEAN, out.out()));
  EXPECT_TRUE(std::isnan(download(out).v[0]));

  // Empty batches: shape [0] without reduction, NaN mean, zero sum.
  Host e = Host::zeros({0, 5});
  T te(upload(dev, e)), ti(upload_i64(dev, {}, {0})), o;
  ASSERT_GRL_OK(grl_cross_entropy(te, ti, -100, 0.0, GRL_REDUCTION_NONE, o.out()));
  EXPECT_EQ(download(o).shape, Shape{0});
  ASSERT_GRL_OK(grl_cross_entropy(te, ti, -100, 0.0, GRL_REDUCTION_MEAN, o.out()));
  EXPECT_TRUE(std::isnan(download(o).v[0]));
  ASSERT_GRL_OK(grl_cross_entropy(te, ti, -100, 0.0, GRL_REDUCTION_SUM, o.out()));
  EXPECT_EQ(download(o).v[0], 0.0);

  // A strided view (the transpose of a [C, N] tensor) reads like its contiguous copy.
  Host xt = Host::random({6, 4}, rng());
  T tv(upload(dev, xt)), tr, tl(upload_i64(dev, {5, 0, 3, 1}, {4})), o2;
  ASSERT_GRL_OK(grl_transpose(tv, 0, 1, tr.out()));
  ASSERT_GRL_OK(grl_cross_entropy(tr, tl, -100, 0.0, GRL_REDUCTION_NONE, o2.out()));
  Host xc = Host::zeros({4, 6});
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 6; ++j) xc[i * 6 + j] = static_cast<float>(xt[j * 4 + i]);
  Host tcl = Host::zeros({4});
  tcl.v = {5, 0, 3, 1};
  EXPECT_TRUE(close(download(o2), reduce_ref(ce_ref(xc, &tcl, nullptr, -100, 0, false).per, {4}, GRL_REDUCTION_NONE, 1),
                    loss_tol(GRL_F32)));
}

TEST_F(Loss, OutOfRangeTargetsAreReportedAtSync) {
  Host x = Host::random({3, 4}, rng());
  T tx(upload(dev, x)), out;
  for (int64_t bad : {4, 7, -3}) {
    T tt(upload_i64(dev, {0, bad, 2}, {3}, GRL_I32));
    ASSERT_GRL_OK(grl_cross_entropy(tx, tt, -100, 0.0, GRL_REDUCTION_NONE, out.out()));
    EXPECT_GRL_ERROR(grl_device_synchronize(dev), GRL_ERROR_INDEX,
                     "grl_cross_entropy: index " + std::to_string(bad));
    // The bad position contributes zero; the others are unaffected.
    Host h = download(out);
    EXPECT_EQ(h.v[1], 0.0);
    Host t = Host::zeros({3});
    t.v = {0, -100, 2};
    CeRef ref = ce_ref(x, &t, nullptr, -100, 0, false);
    EXPECT_NEAR(h.v[0], ref.per[0], 1e-5);
    EXPECT_NEAR(h.v[2], ref.per[2], 1e-5);
  }
  T tt(upload_i64(dev, {0, 1, 9}, {3}));
  ASSERT_GRL_OK(grl_nll_loss(tx, tt, -100, GRL_REDUCTION_MEAN, out.out()));
  EXPECT_GRL_ERROR(grl_device_synchronize(dev), GRL_ERROR_INDEX, "grl_nll_loss: index 9");
  // After the report the device works normally.
  ASSERT_GRL_OK(grl_device_synchronize(dev));
}

TEST_F(Loss, CrossEntropyBackwardOfLargeBatchesAndRows) {
  // Shapes the gradient checks do not reach: several workgroups (the mean's count comes from the
  // second step), rows of a whole workgroup, f16 / bf16 logits, and smoothing with ignored targets.
  for (const Shape& s : {Shape{3000, 10}, Shape{3, 700}, Shape{2, 3, 40}})
    for (grl_dtype dt : kFloats)
      for (grl_reduction r : {GRL_REDUCTION_MEAN, GRL_REDUCTION_SUM}) {
        const int64_t C = s[1], N = s[0], inner = s.size() == 3 ? s[2] : 1;
        Host x = Host::random(s, rng(), -4, 4);
        round_all(x, dt);
        Host t = random_targets(item_shape(s), C, -100, 0.1);
        const double eps = 0.1;
        T tx(upload(dev, x, dt)), tt(upload(dev, t, GRL_I64)), loss, g;
        ASSERT_GRL_OK(grl_tensor_set_requires_grad(tx, 1));
        ASSERT_GRL_OK(grl_cross_entropy(tx, tt, -100, eps, r, loss.out()));
        ASSERT_GRL_OK(grl_tensor_backward(loss, nullptr, 0));
        ASSERT_GRL_OK(grl_tensor_grad(tx, g.out()));
        CeRef ref = ce_ref(x, &t, nullptr, -100, eps, false);
        double scale = r == GRL_REDUCTION_MEAN ? 1.0 / ref.counted : 1.0;
        Host want = Host::zeros(s);
        for (int64_t n = 0; n < N; ++n)
          for (int64_t j = 0; j < inner; ++j) {
            auto at = [&](int64_t c) { return (n * C + c) * inner + j; };
            auto tgt = static_cast<int64_t>(t[n * inner + j]);
            if (tgt == -100) continue;
            double m = -INFINITY, se = 0;
            for (int64_t c = 0; c < C; ++c) m = std::max(m, x[at(c)]);
            for (int64_t c = 0; c < C; ++c) se += std::exp(x[at(c)] - m);
            for (int64_t c = 0; c < C; ++c)
              want[at(c)] = scale * (std::exp(x[at(c)] - m) / se - (1 - eps) * (c == tgt) - eps / C);
          }
        // Entries are O(scale): f32 softmax carries ~1e-6 relative error from exp of arguments up to ~8.
        Tol tl = dt == GRL_F32 ? Tol{1e-4, 2e-6 * scale} : tol(dt);
        EXPECT_TRUE(close(download(g), want, tl)) << str(s) << " " << grl_dtype_name(dt) << " " << red_name(r);
      }
}

TEST_F(Loss, CrossEntropyBackwardWithProbabilities) {
  // Soft targets over rows of packs of 4 and over odd rows: dx = g (softmax(x) sum(w) - w) and
  // dtarget = -g (1 - eps) log_softmax(x).
  for (const Shape& s : {Shape{3, 700}, Shape{5, 7}})
    for (grl_dtype dt : kFloats) {
      const int64_t N = s[0], C = s[1];
      const double eps = 0.2;
      Host x = Host::random(s, rng(), -4, 4), p = Host::random(s, rng(), 0, 1);
      round_all(x, dt);
      round_all(p, dt);
      T tx(upload(dev, x, dt)), tp(upload(dev, p, dt)), loss, gx, gp;
      ASSERT_GRL_OK(grl_tensor_set_requires_grad(tx, 1));
      ASSERT_GRL_OK(grl_tensor_set_requires_grad(tp, 1));
      ASSERT_GRL_OK(grl_cross_entropy(tx, tp, -100, eps, GRL_REDUCTION_SUM, loss.out()));
      ASSERT_GRL_OK(grl_tensor_backward(loss, nullptr, 0));
      ASSERT_GRL_OK(grl_tensor_grad(tx, gx.out()));
      ASSERT_GRL_OK(grl_tensor_grad(tp, gp.out()));
      Host wx = Host::zeros(s), wp = Host::zeros(s);
      for (int64_t n = 0; n < N; ++n) {
        double m = -INFINITY, se = 0, sw = 0;
        for (int64_t c = 0; c < C; ++c) m = std::max(m, x[n * C + c]);
        for (int64_t c = 0; c < C; ++c) se += std::exp(x[n * C + c] - m);
        for (int64_t c = 0; c < C; ++c) sw += (1 - eps) * p[n * C + c] + eps / C;
        for (int64_t c = 0; c < C; ++c) {
          double ls = x[n * C + c] - m - std::log(se), w = (1 - eps) * p[n * C + c] + eps / C;
          wx[n * C + c] = std::exp(ls) * sw - w;
          wp[n * C + c] = -(1 - eps) * ls;
        }
      }
      Tol tl = dt == GRL_F32 ? Tol{1e-4, 1e-6} : tol(dt);
      EXPECT_TRUE(close(download(gx), wx, tl)) << str(s) << " " << grl_dtype_name(dt);
      EXPECT_TRUE(close(download(gp), wp, tl)) << str(s) << " " << grl_dtype_name(dt);
    }
}

TEST_F(Loss, CrossEntropyOfMisalignedRows) {
  // A contiguous view starting one element into its storage: rows of C % 4 == 0 cannot take
  // pack loads there and must read element by element, forward and backward.
  const int64_t N = 3, C = 8;
  Host flat = Host::random({N * C + 1}, rng());
  T tf(upload(dev, flat)), sl, x, t(upload_i64(dev, {1, 7, 0}, {N})), loss, g;
  ASSERT_GRL_OK(grl_slice(tf, 0, 1, N * C + 1, 1, sl.out()));
  const int64_t shape[2] = {N, C};
  ASSERT_GRL_OK(grl_reshape(sl, shape, 2, x.out()));
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(x, 1));
  ASSERT_GRL_OK(grl_cross_entropy(x, t, -100, 0.0, GRL_REDUCTION_NONE, loss.out()));
  Host xv = Host::zeros({N, C}), tv = Host::zeros({N}), go = Host::random({N}, rng(), 0.5, 1.5);
  for (int64_t i = 0; i < N * C; ++i) xv[i] = static_cast<float>(flat[i + 1]);
  tv.v = {1, 7, 0};
  CeRef ref = ce_ref(xv, &tv, nullptr, -100, 0, false);
  EXPECT_TRUE(close(download(loss), reduce_ref(ref.per, {N}, GRL_REDUCTION_NONE, 1), loss_tol(GRL_F32)));
  T tg(upload(dev, go));
  ASSERT_GRL_OK(grl_tensor_backward(loss, tg, 0));
  ASSERT_GRL_OK(grl_tensor_grad(x, g.out()));
  Host want = Host::zeros({N, C});
  for (int64_t n = 0; n < N; ++n) {
    double m = -INFINITY, se = 0;
    for (int64_t c = 0; c < C; ++c) m = std::max(m, xv[n * C + c]);
    for (int64_t c = 0; c < C; ++c) se += std::exp(xv[n * C + c] - m);
    for (int64_t c = 0; c < C; ++c)
      want[n * C + c] = static_cast<float>(go[n]) * (std::exp(xv[n * C + c] - m) / se - (c == tv[n] ? 1.0 : 0.0));
  }
  EXPECT_TRUE(close(download(g), want, {1e-5, 1e-6}));
}

namespace {

// Row losses of [N, D] pairs (N = 1 and no batch axis for a 1-d input).
double cosine_ref(const Host& a, const Host& b, int64_t row, int64_t D, double y, double margin) {
  double s0 = 0, s1 = 0, s2 = 0;
  for (int64_t k = 0; k < D; ++k) {
    double u = a[row * D + k], v = b[row * D + k];
    s0 += u * v;
    s1 += u * u;
    s2 += v * v;
  }
  double cs = s0 / std::sqrt((s1 + 1e-12) * (s2 + 1e-12));
  return y == 1 ? 1 - cs : (y == -1 ? std::max(0.0, cs - margin) : 0.0);
}

double pnorm_diff(const Host& a, const Host& b, int64_t row, int64_t D, double p) {
  double s = 0;
  for (int64_t k = 0; k < D; ++k) s += std::pow(std::abs(a[row * D + k] - b[row * D + k] + 1e-6), p);
  return std::pow(s, 1 / p);
}

double contrastive_ref(const Host& a, const Host& b, int64_t row, int64_t D, double y, double margin) {
  double s = 0;
  for (int64_t k = 0; k < D; ++k) s += (a[row * D + k] - b[row * D + k]) * (a[row * D + k] - b[row * D + k]);
  double d = std::sqrt(s), h = std::max(0.0, margin - d);
  return 0.5 * (y * s + (1 - y) * h * h);
}

}  // namespace

TEST_F(Loss, PairRowLosses) {
  const std::vector<Shape> shapes = {{1, 3}, {4, 5}, {3, 100}, {2, 2000}, {700, 6}, {9}};
  for (const Shape& s : shapes)
    for (grl_dtype dt : kFloats)
      for (grl_reduction r : kReductions) {
        const int64_t N = s.size() == 2 ? s[0] : 1, D = s.back();
        const Shape item = s.size() == 2 ? Shape{N} : Shape{};
        Host a = Host::random(s, rng()), b = Host::random(s, rng()), c = Host::random(s, rng());
        if (s == Shape{4, 5}) b.v = a.v;  // identical rows: cos 1, distance 0
        round_all(a, dt);
        round_all(b, dt);
        round_all(c, dt);
        Host ypm = Host::zeros(item), y01 = Host::zeros(item);
        for (int64_t i = 0; i < N; ++i) {
          ypm[i] = i % 3 == 0 ? 1.0 : -1.0;
          y01[i] = (i % 2) ? 1.0 : 0.0;
        }
        T ta(upload(dev, a, dt)), tb(upload(dev, b, dt)), tc(upload(dev, c, dt)), tpm(upload(dev, ypm, GRL_I64)),
            t01(upload(dev, y01, dt)), out;
        const double D_ = static_cast<double>(D);
        const double margin = 0.5 * std::sqrt(D_);
        std::vector<double> per(static_cast<size_t>(N));

        ASSERT_GRL_OK(grl_cosine_embedding_loss(ta, tb, tpm, -0.2, r, out.out()));
        for (int64_t i = 0; i < N; ++i) per[static_cast<size_t>(i)] = cosine_ref(a, b, i, D, ypm[i], -0.2);
        EXPECT_TRUE(close(download(out), reduce_ref(per, item, r, static_cast<double>(N)), loss_tol(dt)))
            << "cosine " << str(s) << " " << grl_dtype_name(dt) << " " << red_name(r);

        for (double p : {2.0, 1.0, 3.0}) {
          ASSERT_GRL_OK(grl_triplet_margin_loss(ta, tb, tc, 0.3, p, r, out.out()));
          for (int64_t i = 0; i < N; ++i)
            per[static_cast<size_t>(i)] = std::max(0.0, 0.3 + pnorm_diff(a, b, i, D, p) - pnorm_diff(a, c, i, D, p));
          // The difference of two norms of size ~D cancels: f32 sums carry ~1e-7 D absolute error
          // (as in PyTorch), and pow() on the device is not correctly rounded.
          Tol tl = loss_tol(dt);
          tl.atol = std::max(tl.atol, 4e-7 * D_);
          if (dt == GRL_F32 && p == 3.0) tl.rtol = 1e-4;
          EXPECT_TRUE(close(download(out), reduce_ref(per, item, r, static_cast<double>(N)), tl))
              << "triplet p " << p << " " << str(s) << " " << grl_dtype_name(dt) << " " << red_name(r);
        }

        ASSERT_GRL_OK(grl_contrastive_loss(ta, tb, t01, margin, r, out.out()));
        for (int64_t i = 0; i < N; ++i) per[static_cast<size_t>(i)] = contrastive_ref(a, b, i, D, y01[i], margin);
        EXPECT_TRUE(close(download(out), reduce_ref(per, item, r, static_cast<double>(N)), loss_tol(dt)))
            << "contrastive " << str(s) << " " << grl_dtype_name(dt) << " " << red_name(r);
      }
}

TEST_F(Loss, EmptyInputs) {
  Host e = Host::zeros({0, 3});
  T te(upload(dev, e)), out;
  ASSERT_GRL_OK(grl_mse_loss(te, te, GRL_REDUCTION_NONE, out.out()));
  EXPECT_EQ(download(out).shape, (Shape{0, 3}));
  ASSERT_GRL_OK(grl_l1_loss(te, te, GRL_REDUCTION_MEAN, out.out()));
  EXPECT_TRUE(std::isnan(download(out).v[0]));
  ASSERT_GRL_OK(grl_huber_loss(te, te, 1.0, GRL_REDUCTION_SUM, out.out()));
  EXPECT_EQ(download(out).v[0], 0.0);
  // kl_div's batchmean of [2, 0] divides 0 by the batch size 2.
  Host e2 = Host::zeros({2, 0});
  T t2(upload(dev, e2));
  ASSERT_GRL_OK(grl_kl_div(t2, t2, 0, GRL_REDUCTION_MEAN, out.out()));
  EXPECT_EQ(download(out).v[0], 0.0);
  T ty(upload(dev, Host::zeros({0})));
  ASSERT_GRL_OK(grl_cosine_embedding_loss(te, te, ty, 0.0, GRL_REDUCTION_NONE, out.out()));
  EXPECT_EQ(download(out).shape, Shape{0});
  ASSERT_GRL_OK(grl_triplet_margin_loss(te, te, te, 1.0, 2.0, GRL_REDUCTION_MEAN, out.out()));
  EXPECT_TRUE(std::isnan(download(out).v[0]));
  // Backward through an empty loss gives an empty gradient.
  T tg(upload(dev, e)), loss, g;
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(tg, 1));
  ASSERT_GRL_OK(grl_mse_loss(tg, te, GRL_REDUCTION_SUM, loss.out()));
  ASSERT_GRL_OK(grl_tensor_backward(loss, nullptr, 0));
  ASSERT_GRL_OK(grl_tensor_grad(tg, g.out()));
  EXPECT_EQ(download(g).shape, (Shape{0, 3}));
}

TEST_F(Loss, BadInputs) {
  Host h23 = Host::random({2, 3}, rng()), h3 = Host::random({3}, rng());
  T a(upload(dev, h23)), b(upload(dev, h3)), ai(upload(dev, h23, GRL_I32)), ah(upload(dev, h23, GRL_F16)), out;
  T idx(upload_i64(dev, {0, 1}, {2})), idx3(upload_i64(dev, {0, 1, 2}, {3})), idx_u8(upload(dev, Host::zeros({2}), GRL_U8));

  // Shape mismatches name both shapes.
  EXPECT_GRL_ERROR(grl_mse_loss(a, b, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_SHAPE, "[2, 3] but 'target' has shape [3]");
  EXPECT_GRL_ERROR(grl_l1_loss(a, b, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_SHAPE, "[3]");
  EXPECT_GRL_ERROR(grl_smooth_l1_loss(a, b, 1.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_SHAPE, "[2, 3]");
  EXPECT_GRL_ERROR(grl_huber_loss(a, b, 1.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_SHAPE, "[2, 3]");
  EXPECT_GRL_ERROR(grl_binary_cross_entropy(a, b, nullptr, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_SHAPE, "[3]");
  EXPECT_GRL_ERROR(grl_bce_with_logits(a, b, nullptr, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_SHAPE, "[3]");
  EXPECT_GRL_ERROR(grl_kl_div(a, b, 0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_SHAPE, "[2, 3]");
  EXPECT_GRL_ERROR(grl_cross_entropy(a, idx3, -100, 0.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_SHAPE,
                   "'target' has shape [3] but 'input' has shape [2, 3]");
  EXPECT_GRL_ERROR(grl_cross_entropy(a, b, -100, 0.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_SHAPE,
                   "has shape [3] but 'input' has shape [2, 3]");
  EXPECT_GRL_ERROR(grl_nll_loss(a, idx3, -100, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_SHAPE, "[2, 3]");
  EXPECT_GRL_ERROR(grl_cosine_embedding_loss(a, b, idx, 0.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_SHAPE,
                   "'x1' has shape [2, 3] but 'x2' has shape [3]");
  EXPECT_GRL_ERROR(grl_cosine_embedding_loss(a, a, idx3, 0.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_SHAPE,
                   "'y' has shape [3]");
  EXPECT_GRL_ERROR(grl_margin_ranking_loss(a, b, a, 0.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_SHAPE,
                   "'x1' has shape [2, 3] but 'x2' has shape [3]");
  EXPECT_GRL_ERROR(grl_triplet_margin_loss(a, a, b, 1.0, 2.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_SHAPE,
                   "'negative' has shape [3]");
  EXPECT_GRL_ERROR(grl_contrastive_loss(a, b, idx, 1.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_SHAPE, "[3]");
  T bw(upload(dev, Host::random({2}, rng())));
  EXPECT_GRL_ERROR(grl_binary_cross_entropy(a, a, bw, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_SHAPE,
                   "'weight' has shape [2]");

  // Wrong dtypes: integer inputs, targets of another dtype, class indices of a non-index dtype.
  EXPECT_GRL_ERROR(grl_mse_loss(ai, ai, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_DTYPE, "'input' has dtype i32");
  EXPECT_GRL_ERROR(grl_mse_loss(a, ai, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_DTYPE, "'target' has dtype i32");
  EXPECT_GRL_ERROR(grl_kl_div(a, ah, 0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_DTYPE, "'target' has dtype f16");
  EXPECT_GRL_ERROR(grl_cross_entropy(a, idx_u8, -100, 0.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_DTYPE,
                   "'target' has dtype u8; expected class indices (i32 or i64) or probabilities");
  EXPECT_GRL_ERROR(grl_cross_entropy(a, ah, -100, 0.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_DTYPE,
                   "'target' has dtype f16");
  EXPECT_GRL_ERROR(grl_nll_loss(a, a, -100, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_DTYPE,
                   "'target' has dtype f32; expected class indices");
  EXPECT_GRL_ERROR(grl_cross_entropy(ai, idx, -100, 0.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_DTYPE,
                   "'input' has dtype i32");
  EXPECT_GRL_ERROR(grl_binary_cross_entropy(a, a, ah, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_DTYPE,
                   "'weight' has dtype f16");
  EXPECT_GRL_ERROR(grl_triplet_margin_loss(a, a, ah, 1.0, 2.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_DTYPE,
                   "'negative' has dtype f16");

  // Parameters out of range.
  for (double ls : {-0.1, 1.5, kNaN})
    EXPECT_GRL_ERROR(grl_cross_entropy(a, idx, -100, ls, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_INVALID_ARGUMENT,
                     "'label_smoothing'");
  EXPECT_GRL_ERROR(grl_mse_loss(a, a, static_cast<grl_reduction>(3), out.out()), GRL_ERROR_INVALID_ARGUMENT,
                   "'reduction' = 3");
  EXPECT_GRL_ERROR(grl_cross_entropy(a, idx, -100, 0.0, static_cast<grl_reduction>(-1), out.out()),
                   GRL_ERROR_INVALID_ARGUMENT, "'reduction'");
  EXPECT_GRL_ERROR(grl_smooth_l1_loss(a, a, -1.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'beta' = -1");
  EXPECT_GRL_ERROR(grl_huber_loss(a, a, 0.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'delta' = 0");
  EXPECT_GRL_ERROR(grl_kl_div(a, a, 2, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'log_target' = 2");
  EXPECT_GRL_ERROR(grl_triplet_margin_loss(a, a, a, 1.0, 0.0, GRL_REDUCTION_MEAN, out.out()),
                   GRL_ERROR_INVALID_ARGUMENT, "'p' = 0");
  EXPECT_GRL_ERROR(grl_margin_ranking_loss(a, a, a, kNaN, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_INVALID_ARGUMENT,
                   "'margin'");
  EXPECT_GRL_ERROR(grl_contrastive_loss(a, a, idx, INFINITY, GRL_REDUCTION_MEAN, out.out()),
                   GRL_ERROR_INVALID_ARGUMENT, "'margin'");
  T s0(upload(dev, Host::zeros({})));
  EXPECT_GRL_ERROR(grl_cross_entropy(s0, idx, -100, 0.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_SHAPE, "0-d");

  // NULL handles and out.
  EXPECT_GRL_ERROR(grl_mse_loss(nullptr, a, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_NULL_ARGUMENT, "'input'");
  EXPECT_GRL_ERROR(grl_huber_loss(a, nullptr, 1.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_NULL_ARGUMENT, "'target'");
  EXPECT_GRL_ERROR(grl_cross_entropy(a, nullptr, -100, 0.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_NULL_ARGUMENT,
                   "'target'");
  EXPECT_GRL_ERROR(grl_nll_loss(nullptr, idx, -100, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_NULL_ARGUMENT, "'input'");
  EXPECT_GRL_ERROR(grl_cosine_embedding_loss(a, a, nullptr, 0.0, GRL_REDUCTION_MEAN, out.out()),
                   GRL_ERROR_NULL_ARGUMENT, "'y'");
  EXPECT_GRL_ERROR(grl_triplet_margin_loss(a, a, nullptr, 1.0, 2.0, GRL_REDUCTION_MEAN, out.out()),
                   GRL_ERROR_NULL_ARGUMENT, "'negative'");
  EXPECT_GRL_ERROR(grl_margin_ranking_loss(a, nullptr, a, 0.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_NULL_ARGUMENT,
                   "'x2'");
  EXPECT_GRL_ERROR(grl_contrastive_loss(nullptr, a, idx, 1.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_NULL_ARGUMENT,
                   "'x1'");
  EXPECT_GRL_ERROR(grl_kl_div(a, a, 0, GRL_REDUCTION_MEAN, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  EXPECT_GRL_ERROR(grl_cross_entropy(a, idx, -100, 0.0, GRL_REDUCTION_MEAN, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  EXPECT_GRL_ERROR(grl_bce_with_logits(a, a, nullptr, GRL_REDUCTION_MEAN, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  EXPECT_EQ(out.t, nullptr);
}

TEST_F(Loss, TensorsFromAnotherDevice) {
  grl_device_options o = GRL_DEVICE_OPTIONS_INIT;
  o.validation = 1;
  grl_device d2 = nullptr;
  ASSERT_GRL_OK(grl_device_create(&o, &d2));
  {
    Host h = Host::random({2, 3}, rng());
    T a(upload(dev, h)), a2(upload(d2, h)), idx2(upload_i64(d2, {0, 1}, {2})), y2(upload_i64(d2, {1, -1}, {2})), out;
    EXPECT_GRL_ERROR(grl_mse_loss(a, a2, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_DEVICE_MISMATCH, "another device");
    EXPECT_GRL_ERROR(grl_binary_cross_entropy(a, a, a2, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_DEVICE_MISMATCH,
                     "'weight'");
    EXPECT_GRL_ERROR(grl_cross_entropy(a, idx2, -100, 0.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_DEVICE_MISMATCH,
                     "another device");
    EXPECT_GRL_ERROR(grl_nll_loss(a, idx2, -100, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_DEVICE_MISMATCH,
                     "another device");
    EXPECT_GRL_ERROR(grl_cosine_embedding_loss(a, a, y2, 0.0, GRL_REDUCTION_MEAN, out.out()),
                     GRL_ERROR_DEVICE_MISMATCH, "'y'");
    EXPECT_GRL_ERROR(grl_triplet_margin_loss(a, a, a2, 1.0, 2.0, GRL_REDUCTION_MEAN, out.out()),
                     GRL_ERROR_DEVICE_MISMATCH, "'negative'");
    EXPECT_GRL_ERROR(grl_margin_ranking_loss(a, a2, a, 0.0, GRL_REDUCTION_MEAN, out.out()), GRL_ERROR_DEVICE_MISMATCH,
                     "another device");
    EXPECT_EQ(out.t, nullptr);
    // Index errors of a loss on the second device are reported there.
    T bad(upload_i64(d2, {0, 5}, {2}));
    ASSERT_GRL_OK(grl_cross_entropy(a2, bad, -100, 0.0, GRL_REDUCTION_SUM, out.out()));
    ASSERT_GRL_OK(grl_device_synchronize(dev));
    EXPECT_GRL_ERROR(grl_device_synchronize(d2), GRL_ERROR_INDEX, "grl_cross_entropy: index 5");
  }
  grl_device_release(d2);
}
