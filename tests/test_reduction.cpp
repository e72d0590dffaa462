// Reduction family: sum, mean, var, std, max, min, argmax, argmin, norm, logsumexp and cumsum over
// every dtype they take, and their backward rules, against float64 references written here.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <sstream>

#include "testing.h"

using namespace gt;

class Reduction : public DeviceTest {};

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

using Values = std::vector<double>;

// The reduced elements of every output position, in input (row-major) order, and the output shape.
struct Groups {
  Shape out;
  std::vector<Values> v;
};

// red[d]: axis d is reduced. A 0-d input has one group holding its one value.
Groups group(const Host& x, const std::vector<bool>& red, bool keepdim) {
  const size_t nd = x.shape.size();
  Groups g;
  Shape kept;
  for (size_t d = 0; d < nd; ++d) {
    if (!red[d]) kept.push_back(x.shape[d]);
    if (!red[d] || keepdim) g.out.push_back(red[d] ? 1 : x.shape[d]);
  }
  g.v.resize(static_cast<size_t>(numel(kept)));
  auto st = strides(x.shape), kst = strides(kept);
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t o = 0, rem = i;
    size_t k = 0;
    for (size_t d = 0; d < nd; ++d) {
      int64_t c = rem / st[d];
      rem %= st[d];
      if (!red[d]) o += c * kst[k++];
    }
    g.v[static_cast<size_t>(o)].push_back(x[i]);
  }
  return g;
}

double ref_sum(const Values& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}
double ref_abs_sum(const Values& v) {
  double s = 0;
  for (double x : v) s += std::abs(x);
  return s;
}
double ref_mean(const Values& v) { return v.empty() ? kNaN : ref_sum(v) / static_cast<double>(v.size()); }
double ref_var(const Values& v, int correction) {
  double m = ref_mean(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  double div = std::max(static_cast<double>(v.size()) - correction, 0.0);
  if (div == 0) return s > 0 ? kInf : kNaN;
  return s / div;
}
double ref_max(const Values& v) {
  double m = -kInf;
  for (double x : v) {
    if (std::isnan(x)) return kNaN;
    m = std::max(m, x);
  }
  return m;
}
double ref_min(const Values& v) {
  double m = kInf;
  for (double x : v) {
    if (std::isnan(x)) return kNaN;
    m = std::min(m, x);
  }
  return m;
}
// First index of the extreme; the first NaN wins over everything.
double ref_argext(const Values& v, bool is_max) {
  size_t best = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(v[i])) return static_cast<double>(i);
    if (is_max ? v[i] > v[best] : v[i] < v[best]) best = i;
  }
  return static_cast<double>(best);
}
double ref_norm(const Values& v, double p) {
  if (p == 0) {
    double n = 0;
    for (double x : v) n += x != 0;
    return n;
  }
  if (std::isinf(p)) {
    double m = 0;
    for (double x : v) m = std::max(m, std::abs(x));
    return m;
  }
  double s = 0;
  for (double x : v) s += std::pow(std::abs(x), p);
  return std::pow(s, 1 / p);
}
double ref_lse(const Values& v) {
  double m = ref_max(v);
  if (std::isnan(m) || std::isinf(m)) return m;
  double s = 0;
  for (double x : v) s += std::exp(x - m);
  return m + std::log(s);
}

// |got - ref| <= rtol |ref| + atol * scale[i] per element (NaN matches NaN, inf matches inf).
::testing::AssertionResult near(const Host& got, const Host& ref, const Values& scale, double rtol, double atol) {
  if (got.shape != ref.shape)
    return ::testing::AssertionFailure() << "shape " << str(got.shape) << " != expected " << str(ref.shape);
  int bad = 0;
  std::ostringstream o;
  for (size_t i = 0; i < ref.v.size(); ++i) {
    double g = got.v[i], r = ref.v[i];
    bool ok = (std::isnan(r) && std::isnan(g)) || (std::isinf(r) && g == r) ||
              std::abs(g - r) <= rtol * std::abs(r) + atol * scale[i];
    if (!ok) {
      if (bad < 5) o << "\n  [" << i << "] got " << g << " expected " << r;
      ++bad;
    }
  }
  if (bad) return ::testing::AssertionFailure() << bad << " of " << ref.v.size() << " values differ:" << o.str();
  return ::testing::AssertionSuccess();
}

using AxesFn = std::function<grl_status(grl_tensor, const int32_t*, int32_t, uint32_t, grl_tensor*)>;

// How a result's error is bounded: by the sum of |x| (additive f32 accumulation), exactly, or
// relative to the value itself.
enum class Bound { Additive, Exact, Relative };

struct OpCase {
  std::string name;
  AxesFn call;
  std::function<double(const Values&)> ref;
  Bound bound;
  bool ints;  // also run on i32 / i64
};

std::vector<OpCase> op_cases() {
  std::vector<OpCase> c = {
      {"sum", grl_sum, ref_sum, Bound::Additive, true},
      {"mean", grl_mean, ref_mean, Bound::Additive, false},
      {"max", grl_max, ref_max, Bound::Exact, true},
      {"min", grl_min, ref_min, Bound::Exact, true},
      {"logsumexp", grl_logsumexp, ref_lse, Bound::Relative, false},
  };
  for (int corr : {0, 1}) {
    c.push_back({"var c" + std::to_string(corr),
                 [corr](grl_tensor x, const int32_t* a, int32_t n, uint32_t k, grl_tensor* o) {
                   return grl_var(x, a, n, corr, k, o);
                 },
                 [corr](const Values& v) { return ref_var(v, corr); }, Bound::Relative, false});
    c.push_back({"std c" + std::to_string(corr),
                 [corr](grl_tensor x, const int32_t* a, int32_t n, uint32_t k, grl_tensor* o) {
                   return grl_std(x, a, n, corr, k, o);
                 },
                 [corr](const Values& v) { return std::sqrt(ref_var(v, corr)); }, Bound::Relative, false});
  }
  for (double p : {1.0, 2.0, 3.5, kInf, 0.0}) {
    Bound b = p == 1 ? Bound::Additive : (p == 0 || std::isinf(p)) ? Bound::Exact : Bound::Relative;
    c.push_back({"norm p=" + std::to_string(p),
                 [p](grl_tensor x, const int32_t* a, int32_t n, uint32_t k, grl_tensor* o) {
                   return grl_norm(x, p, a, n, k, o);
                 },
                 [p](const Values& v) { return ref_norm(v, p); }, b, false});
  }
  return c;
}

bool is_int(grl_dtype dt) { return dt == GRL_I32 || dt == GRL_I64; }

// Random values in [-2, 2] (ints: [-1000, 1000]) with about one in five set to zero, rounded to dt.
Host sample(const Shape& s, grl_dtype dt) {
  Host x = is_int(dt) ? Host::random(s, rng(), -1000, 1000) : Host::random(s, rng(), -2, 2);
  std::uniform_int_distribution<int> coin(0, 4);
  for (auto& v : x.v) {
    if (coin(rng()) == 0) v = 0;
    v = round_to(dt, v);
  }
  return x;
}

// Runs `c` over x (already rounded to dt) reducing `red`, and checks it against the reference.
void check_op(grl_device dev, const OpCase& c, const Host& x, grl_dtype dt, const std::vector<bool>& red,
              const std::vector<int32_t>& axes, bool keepdim, const std::string& what) {
  T tx(upload(dev, x, dt)), out;
  grl_status s = c.call(tx, axes.empty() ? nullptr : axes.data(), static_cast<int32_t>(axes.size()), keepdim,
                        out.out());
  ASSERT_EQ(s, GRL_OK) << c.name << " " << what << ": " << grl_last_error_message();
  grl_dtype want = c.name == "sum" && is_int(dt) ? GRL_I64 : dt;
  EXPECT_EQ(grl_tensor_dtype(out), want) << c.name << " " << what;
  Groups g = group(x, red, keepdim);
  Host ref = Host::zeros(g.out);
  Values scale(ref.v.size(), 0.0);
  for (size_t i = 0; i < g.v.size(); ++i) {
    ref.v[i] = round_to(want, c.ref(g.v[i]));
    scale[i] = ref_abs_sum(g.v[i]) / (c.name == "mean" ? static_cast<double>(g.v[i].size()) : 1.0);
  }
  // Rounding of the result to dt, plus f32 accumulation: about 1e-7 per folded term.
  double rtol = dt == GRL_F32 ? 2e-6 : tol(dt).rtol, atol = 2e-6;
  if (c.bound == Bound::Exact) rtol = 0, atol = 0;
  if (c.bound == Bound::Relative) {
    if (dt == GRL_F32) rtol = 3e-5;
    atol = dt == GRL_F32 ? 1e-6 : tol(dt).atol;
    std::fill(scale.begin(), scale.end(), 1.0);
  }
  if (is_int(dt)) rtol = 0, atol = 0;
  EXPECT_TRUE(near(download(out), ref, scale, rtol, atol)) << c.name << " " << grl_dtype_name(dt) << " " << what;
}

std::string describe(const Shape& s, const std::vector<int32_t>& axes, bool keepdim) {
  std::ostringstream o;
  o << str(s) << " axes {";
  for (size_t i = 0; i < axes.size(); ++i) o << (i ? "," : "") << axes[i];
  o << "} keepdim " << keepdim;
  return o.str();
}

const grl_dtype kAll[] = {GRL_F32, GRL_F16, GRL_BF16, GRL_I32, GRL_I64};

}  // namespace

TEST_F(Reduction, EveryOpOverEveryAxisSubset) {
  const auto cases = op_cases();
  for (Shape s : {Shape{1}, Shape{1031}, Shape{3, 5}, Shape{2, 3, 4}}) {
    const int nd = static_cast<int>(s.size());
    for (int mask = 0; mask < (1 << nd); ++mask) {
      for (uint32_t keepdim : {0u, 1u}) {
        // mask 0 passes no axes (every axis); otherwise the axes in reverse order, some negative.
        std::vector<bool> red(static_cast<size_t>(nd), mask == 0);
        std::vector<int32_t> axes;
        for (int d = nd - 1; d >= 0; --d)
          if (mask & (1 << d)) {
            red[static_cast<size_t>(d)] = true;
            axes.push_back((rng()() & 1) ? d - nd : d);
          }
        for (grl_dtype dt : kAll) {
          Host x = sample(s, dt);
          for (const auto& c : cases) {
            if (is_int(dt) && !c.ints) continue;
            check_op(dev, c, x, dt, red, axes, keepdim, describe(s, axes, keepdim));
          }
        }
      }
    }
  }
}

TEST_F(Reduction, NoAxesOrNullAxesMeanEveryAxis) {
  Host x = sample({2, 3, 4}, GRL_F32);
  const double ref = ref_sum(x.v);
  const int32_t some[] = {1, 2};
  T tx(upload(dev, x)), a, b, c;
  ASSERT_GRL_OK(grl_sum(tx, some, 0, 0, a.out()));     // naxes 0 with a non-NULL list
  ASSERT_GRL_OK(grl_sum(tx, nullptr, 2, 0, b.out()));  // NULL list with naxes > 0
  ASSERT_GRL_OK(grl_sum(tx, some, 2, 0, c.out()));
  EXPECT_EQ(grl_tensor_ndim(a), 0);
  EXPECT_NEAR(download(a)[0], ref, 1e-4);
  EXPECT_NEAR(download(b)[0], ref, 1e-4);
  EXPECT_EQ(download(c).shape, (Shape{2}));
}

TEST_F(Reduction, LongAxesCrossTheTwoStagePath) {
  const auto cases = op_cases();
  struct L {
    Shape s;
    std::vector<int32_t> axes;
  };
  // A full reduction of 4096*3+7 elements, a long middle axis (two column tilings), long rows
  // split into chunks, and a long leading axis with a narrow inner dim.
  const std::vector<L> longs = {
      {{4096 * 3 + 7}, {}}, {{3, 5000, 7}, {1}}, {{2, 3000, 40}, {-2}}, {{2, 20000}, {1}}, {{20000, 3}, {0}},
  };
  for (const auto& l : longs) {
    std::vector<bool> red(l.s.size(), l.axes.empty());
    for (int32_t a : l.axes) red[static_cast<size_t>(a < 0 ? a + static_cast<int32_t>(l.s.size()) : a)] = true;
    for (grl_dtype dt : {GRL_F32, GRL_BF16, GRL_I32}) {
      Host x = sample(l.s, dt);
      for (const auto& c : cases) {
        if (is_int(dt) && !c.ints) continue;
        check_op(dev, c, x, dt, red, l.axes, false, describe(l.s, l.axes, false));
      }
    }
  }
  // f16 holds the long sums too (|sum| stays far below 65504).
  Host x = sample({4096 * 3 + 7}, GRL_F16);
  for (const auto& c : cases) check_op(dev, c, x, GRL_F16, {true}, {}, true, "[12295] f16");
}

TEST_F(Reduction, ArgmaxArgminTakeTheFirstExtreme) {
  struct A {
    Shape s;
    int32_t axis;
  };
  const std::vector<A> cases = {{{1}, 0},        {{1031}, -1},     {{3, 5}, 0},        {{3, 5}, 1},
                                {{2, 3, 4}, 0},  {{2, 3, 4}, -2},  {{2, 3, 4}, 2},     {{4096 * 3 + 7}, 0},
                                {{3, 5000, 7}, 1}, {{2, 20000}, 1}, {{20000, 3}, -2}};
  for (const auto& c : cases) {
    const int nd = static_cast<int>(c.s.size());
    const int axis = c.axis < 0 ? c.axis + nd : c.axis;
    for (grl_dtype dt : kAll) {
      // Values from {-2..2}: every row has many ties for its maximum and minimum.
      Host x = Host::random(c.s, rng(), -2.49, 2.49);
      for (auto& v : x.v) v = std::round(v);
      for (uint32_t keepdim : {0u, 1u}) {
        for (bool is_max : {true, false}) {
          T tx(upload(dev, x, dt)), out;
          ASSERT_GRL_OK((is_max ? grl_argmax : grl_argmin)(tx, c.axis, keepdim, out.out()));
          EXPECT_EQ(grl_tensor_dtype(out), GRL_I64);
          std::vector<bool> red(static_cast<size_t>(nd), false);
          red[static_cast<size_t>(axis)] = true;
          Groups g = group(x, red, keepdim);
          Host ref = Host::zeros(g.out);
          for (size_t i = 0; i < g.v.size(); ++i) ref.v[i] = ref_argext(g.v[i], is_max);
          EXPECT_TRUE(close(download(out), ref, {0, 0}))
              << (is_max ? "argmax " : "argmin ") << grl_dtype_name(dt) << " " << str(c.s) << " axis " << c.axis
              << " keepdim " << keepdim;
        }
      }
    }
  }
}

TEST_F(Reduction, NaNWinsMaxMinAndTheirIndices) {
  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16}) {
    Host x = Host::random({4, 9}, rng(), -2, 2);
    for (auto& v : x.v) v = round_to(dt, v);
    x[1 * 9 + 3] = kNaN;  // row 0 has none
    x[2 * 9 + 2] = kNaN;
    x[2 * 9 + 6] = kNaN;
    x[3 * 9 + 0] = kNaN;
    x[3 * 9 + 8] = 100;  // a larger value after the NaN does not win
    T tx(upload(dev, x, dt)), mx, mn, amx, amn;
    const int32_t ax = 1;
    ASSERT_GRL_OK(grl_max(tx, &ax, 1, 0, mx.out()));
    ASSERT_GRL_OK(grl_min(tx, &ax, 1, 0, mn.out()));
    ASSERT_GRL_OK(grl_argmax(tx, 1, 0, amx.out()));
    ASSERT_GRL_OK(grl_argmin(tx, 1, 0, amn.out()));
    Groups g = group(x, {false, true}, false);
    Host rmx = Host::zeros({4}), rmn = rmx, ramx = rmx, ramn = rmx;
    for (size_t i = 0; i < 4; ++i) {
      rmx.v[i] = ref_max(g.v[i]);
      rmn.v[i] = ref_min(g.v[i]);
      ramx.v[i] = ref_argext(g.v[i], true);
      ramn.v[i] = ref_argext(g.v[i], false);
    }
    EXPECT_TRUE(std::isnan(rmx[1]) && std::isnan(rmx[2]) && std::isnan(rmx[3]) && !std::isnan(rmx[0]));
    EXPECT_EQ(ramx.v, (Values{ramx[0], 3, 2, 0}));
    EXPECT_TRUE(close(download(mx), rmx, {0, 0})) << grl_dtype_name(dt);
    EXPECT_TRUE(close(download(mn), rmn, {0, 0})) << grl_dtype_name(dt);
    EXPECT_TRUE(close(download(amx), ramx, {0, 0})) << grl_dtype_name(dt);
    EXPECT_TRUE(close(download(amn), ramn, {0, 0})) << grl_dtype_name(dt);
  }
  // Through the two-stage path: one NaN late in a long vector, a second one later still.
  Host y = Host::random({4096 * 3 + 7}, rng(), -2, 2);
  y[9000] = kNaN;
  y[11000] = kNaN;
  T ty(upload(dev, y)), m, am, an;
  ASSERT_GRL_OK(grl_max(ty, nullptr, 0, 0, m.out()));
  ASSERT_GRL_OK(grl_argmax(ty, 0, 0, am.out()));
  ASSERT_GRL_OK(grl_argmin(ty, -1, 0, an.out()));
  EXPECT_TRUE(std::isnan(download(m)[0]));
  EXPECT_EQ(download(am)[0], 9000);
  EXPECT_EQ(download(an)[0], 9000);
}

TEST_F(Reduction, LogSumExpOfInfinities) {
  Host x = Host::zeros({4, 3});
  x.v = {-kInf, -kInf, -kInf, kInf, 1, 2, kInf, kInf, 0, 1, -kInf, 2};
  T tx(upload(dev, x)), out;
  const int32_t ax = -1;
  ASSERT_GRL_OK(grl_logsumexp(tx, &ax, 1, 0, out.out()));
  Host ref = Host::zeros({4});
  ref.v = {-kInf, kInf, kInf, std::log(std::exp(1.0) + std::exp(2.0))};
  EXPECT_TRUE(close(download(out), ref, {1e-6, 1e-6}));
}

TEST_F(Reduction, VarianceKeepsPrecisionWithALargeMean) {
  // Values around 1e4 with a spread of 1: E[x^2] - E[x]^2 in f32 loses every digit of the variance.
  struct V {
    Shape s;
    std::vector<int32_t> axes;
  };
  const std::vector<V> cases = {{{4096 * 3 + 7}, {}}, {{4, 3000}, {1}}, {{3000, 4}, {0}}, {{64, 100}, {1}}};
  for (const auto& c : cases) {
    Host x = Host::random(c.s, rng(), 1e4 - 1, 1e4 + 1);
    for (auto& v : x.v) v = round_to(GRL_F32, v);
    std::vector<bool> red(c.s.size(), c.axes.empty());
    for (int32_t a : c.axes) red[static_cast<size_t>(a)] = true;
    Groups g = group(x, red, false);
    for (int corr : {0, 1}) {
      T tx(upload(dev, x)), var, sd;
      const int32_t* axes = c.axes.empty() ? nullptr : c.axes.data();
      const int32_t n = static_cast<int32_t>(c.axes.size());
      ASSERT_GRL_OK(grl_var(tx, axes, n, corr, 0, var.out()));
      ASSERT_GRL_OK(grl_std(tx, axes, n, corr, 0, sd.out()));
      Host rv = Host::zeros(g.out), rs = rv;
      for (size_t i = 0; i < g.v.size(); ++i) {
        rv.v[i] = ref_var(g.v[i], corr);
        rs.v[i] = std::sqrt(rv.v[i]);
      }
      EXPECT_TRUE(close(download(var), rv, {2e-5, 0})) << str(c.s) << " correction " << corr;
      EXPECT_TRUE(close(download(sd), rs, {2e-5, 0})) << str(c.s) << " correction " << corr;
    }
    // The test can fail: the naive formula in f32 is far outside its tolerance here.
    float s1 = 0, s2 = 0;
    for (double v : g.v[0]) s1 += static_cast<float>(v), s2 += static_cast<float>(v * v);
    float n = static_cast<float>(g.v[0].size());
    double naive = s2 / n - (s1 / n) * (s1 / n);
    EXPECT_GT(std::abs(naive - ref_var(g.v[0], 0)), 1e-3 * ref_var(g.v[0], 0)) << str(c.s);
  }
}

TEST_F(Reduction, CorrectionAtAndBeyondTheCount) {
  Host one = Host::zeros({1});
  one.v = {3.5};
  Host two = Host::zeros({2});
  two.v = {1, 4};
  T t1(upload(dev, one)), t2(upload(dev, two)), a, b, c, d;
  ASSERT_GRL_OK(grl_var(t1, nullptr, 0, 0, 0, a.out()));
  ASSERT_GRL_OK(grl_var(t1, nullptr, 0, 1, 0, b.out()));
  ASSERT_GRL_OK(grl_var(t2, nullptr, 0, 2, 0, c.out()));
  ASSERT_GRL_OK(grl_std(t2, nullptr, 0, 1, 0, d.out()));
  EXPECT_EQ(download(a)[0], 0);
  EXPECT_TRUE(std::isnan(download(b)[0]));  // 0 / 0, as PyTorch
  EXPECT_EQ(download(c)[0], kInf);
  EXPECT_NEAR(download(d)[0], std::sqrt(4.5), 1e-6);
}

TEST_F(Reduction, IntegerSumsAccumulateInI64) {
  Host x = Host::zeros({2, 3});
  x.v = {2e9, 2e9, 2e9, -2e9, -2e9, 5};
  for (grl_dtype dt : {GRL_I32, GRL_I64}) {
    T tx(upload(dev, x, dt)), s, m, c;
    const int32_t ax = 1;
    ASSERT_GRL_OK(grl_sum(tx, &ax, 1, 0, s.out()));
    ASSERT_GRL_OK(grl_max(tx, &ax, 1, 0, m.out()));
    ASSERT_GRL_OK(grl_cumsum(tx, 1, c.out()));
    EXPECT_EQ(grl_tensor_dtype(s), GRL_I64);
    EXPECT_EQ(grl_tensor_dtype(m), dt);
    EXPECT_EQ(grl_tensor_dtype(c), GRL_I64);
    EXPECT_EQ(download(s).v, (Values{6e9, -4e9 + 5}));
    EXPECT_EQ(download(m).v, (Values{2e9, 5}));
    EXPECT_EQ(download(c).v, (Values{2e9, 4e9, 6e9, -2e9, -4e9, -4e9 + 5}));
  }
}

TEST_F(Reduction, EmptyInputsAndScalars) {
  Host none = Host::zeros({0});
  T te(upload(dev, none)), ti(upload(dev, none, GRL_I32)), out;
  ASSERT_GRL_OK(grl_sum(te, nullptr, 0, 0, out.out()));
  EXPECT_EQ(grl_tensor_ndim(out), 0);
  EXPECT_EQ(download(out).v, (Values{0}));
  ASSERT_GRL_OK(grl_sum(ti, nullptr, 0, 0, out.out()));
  EXPECT_EQ(grl_tensor_dtype(out), GRL_I64);
  EXPECT_EQ(download(out).v, (Values{0}));
  ASSERT_GRL_OK(grl_mean(te, nullptr, 0, 1, out.out()));
  EXPECT_EQ(grl_tensor_ndim(out), 1);
  EXPECT_TRUE(std::isnan(download(out)[0]));

  // [3, 0] reduced over the empty axis: the value of an empty reduction, per row.
  Host e30 = Host::zeros({3, 0});
  T t30(upload(dev, e30));
  const int32_t ax1 = 1, ax0 = 0;
  struct E {
    const char* name;
    AxesFn call;
    double value;
  };
  const std::vector<E> empties = {
      {"sum", grl_sum, 0},
      {"mean", grl_mean, kNaN},
      {"var", [](grl_tensor x, const int32_t* a, int32_t n, uint32_t k, grl_tensor* o) {
         return grl_var(x, a, n, 1, k, o);
       }, kNaN},
      {"std", [](grl_tensor x, const int32_t* a, int32_t n, uint32_t k, grl_tensor* o) {
         return grl_std(x, a, n, 0, k, o);
       }, kNaN},
      {"norm", [](grl_tensor x, const int32_t* a, int32_t n, uint32_t k, grl_tensor* o) {
         return grl_norm(x, 2, a, n, k, o);
       }, 0},
      {"logsumexp", grl_logsumexp, -kInf},
  };
  for (const auto& e : empties) {
    ASSERT_GRL_OK(e.call(t30, &ax1, 1, 0, out.out()));
    Host ref = Host::zeros({3});
    for (auto& v : ref.v) v = e.value;
    EXPECT_TRUE(close(download(out), ref, {0, 0})) << e.name;
    // Reducing the non-empty axis leaves an empty result.
    ASSERT_GRL_OK(e.call(t30, &ax0, 1, 1, out.out()));
    EXPECT_EQ(download(out).shape, (Shape{1, 0})) << e.name;
  }
  ASSERT_GRL_OK(grl_max(t30, &ax0, 1, 0, out.out()));
  EXPECT_EQ(download(out).shape, (Shape{0}));
  ASSERT_GRL_OK(grl_cumsum(t30, 1, out.out()));
  EXPECT_EQ(download(out).shape, (Shape{3, 0}));

  // A 0-d tensor: axis 0 or -1 reduce nothing, and the result stays 0-d.
  Host sc = Host::zeros({});
  sc.v = {2.5};
  T ts(upload(dev, sc));
  const int32_t m1 = -1;
  ASSERT_GRL_OK(grl_sum(ts, &m1, 1, 1, out.out()));
  EXPECT_EQ(grl_tensor_ndim(out), 0);
  EXPECT_EQ(download(out).v, (Values{2.5}));
  ASSERT_GRL_OK(grl_argmax(ts, 0, 0, out.out()));
  EXPECT_EQ(download(out).v, (Values{0}));
  ASSERT_GRL_OK(grl_var(ts, nullptr, 0, 1, 0, out.out()));
  EXPECT_TRUE(std::isnan(download(out)[0]));
  ASSERT_GRL_OK(grl_cumsum(ts, -1, out.out()));
  EXPECT_EQ(download(out).v, (Values{2.5}));
}

TEST_F(Reduction, StridedViewsAreRead) {
  Host x = Host::random({5, 6}, rng(), -2, 2);
  for (auto& v : x.v) v = round_to(GRL_F32, v);
  T tx(upload(dev, x)), tr, sl, out;
  ASSERT_GRL_OK(grl_transpose(tx, 0, 1, tr.out()));  // [6, 5]
  const int32_t ax = 1;
  ASSERT_GRL_OK(grl_sum(tr, &ax, 1, 0, out.out()));
  Host ref = Host::zeros({6});
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 5; ++j) ref[i] += x[j * 6 + i];
  EXPECT_TRUE(close(download(out), ref, {1e-6, 1e-6}));
  ASSERT_GRL_OK(grl_argmax(tr, 0, 0, out.out()));  // over the original columns
  Host ram = Host::zeros({5});
  for (int j = 0; j < 5; ++j) {
    Values row(x.v.begin() + j * 6, x.v.begin() + j * 6 + 6);
    ram[j] = ref_argext(row, true);
  }
  EXPECT_TRUE(close(download(out), ram, {0, 0}));
  ASSERT_GRL_OK(grl_cumsum(tr, 0, out.out()));
  Host rc = Host::zeros({6, 5});
  for (int j = 0; j < 5; ++j) {
    double acc = 0;
    for (int i = 0; i < 6; ++i) rc[i * 5 + j] = acc += x[j * 6 + i];
  }
  EXPECT_TRUE(close(download(out), rc, {1e-6, 1e-6}));
  // Every other column of the original: a view with a step.
  ASSERT_GRL_OK(grl_slice(tx, 1, 0, 6, 2, sl.out()));  // [5, 3]
  ASSERT_GRL_OK(grl_max(sl, nullptr, 0, 0, out.out()));
  double m = -kInf;
  for (int j = 0; j < 5; ++j)
    for (int i = 0; i < 6; i += 2) m = std::max(m, x[j * 6 + i]);
  EXPECT_EQ(download(out)[0], m);
}

TEST_F(Reduction, CumsumAlongEveryAxis) {
  struct C {
    Shape s;
    int32_t axis;
  };
  // Short rows and columns, then long rows and a long middle axis (blocked scans with carries).
  const std::vector<C> cases = {{{1}, 0},     {{1031}, -1},   {{3, 5}, 0},        {{3, 5}, 1},
                                {{3, 5}, -1}, {{2, 3, 4}, 0}, {{2, 3, 4}, 1},     {{2, 3, 4}, -1},
                                {{3, 20000}, 1}, {{4, 3000, 5}, 1}, {{30000}, 0}};
  for (const auto& c : cases) {
    const int nd = static_cast<int>(c.s.size());
    const int axis = c.axis < 0 ? c.axis + nd : c.axis;
    for (grl_dtype dt : kAll) {
      Host x = is_int(dt) ? Host::random(c.s, rng(), -1000, 1000) : Host::random(c.s, rng(), -1, 1);
      for (auto& v : x.v) v = round_to(dt, v);
      T tx(upload(dev, x, dt)), out;
      ASSERT_GRL_OK(grl_cumsum(tx, c.axis, out.out()));
      const grl_dtype want = is_int(dt) ? GRL_I64 : dt;
      EXPECT_EQ(grl_tensor_dtype(out), want);
      Host ref = Host::zeros(c.s);
      Values scale(ref.v.size());
      auto st = strides(c.s);
      const int64_t stride = st[static_cast<size_t>(axis)], len = c.s[static_cast<size_t>(axis)];
      for (int64_t i = 0; i < x.numel(); ++i) {
        if ((i / stride) % len != 0) continue;  // start of a line along axis
        double acc = 0, abs_acc = 0;
        for (int64_t r = 0; r < len; ++r) {
          int64_t k = i + r * stride;
          acc += x[k];
          abs_acc += std::abs(x[k]);
          ref[k] = round_to(want, acc);
          scale[static_cast<size_t>(k)] = abs_acc;
        }
      }
      double rtol = dt == GRL_F32 ? 2e-6 : tol(dt).rtol, atol = is_int(dt) ? 0 : 2e-6;
      if (is_int(dt)) rtol = 0;
      EXPECT_TRUE(near(download(out), ref, scale, rtol, atol)) << grl_dtype_name(dt) << " " << str(c.s) << " axis "
                                                                << c.axis;
    }
  }
}

TEST_F(Reduction, BadInputs) {
  Host h = Host::random({2, 3}, rng());
  T tx(upload(dev, h)), ti(upload(dev, h, GRL_I32)), tu(upload(dev, h, GRL_U8)), out;
  const int32_t dup[] = {0, -2}, range[] = {2}, ok[] = {1};
  EXPECT_GRL_ERROR(grl_sum(tx, dup, 2, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "appears twice");
  EXPECT_GRL_ERROR(grl_var(tx, dup, 2, 1, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "appears twice");
  EXPECT_GRL_ERROR(grl_max(tx, range, 1, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'axes[0]' = 2 is out of range");
  EXPECT_GRL_ERROR(grl_argmax(tx, -3, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'axis' = -3 is out of range");
  EXPECT_GRL_ERROR(grl_cumsum(tx, 2, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'axis' = 2 is out of range");
  EXPECT_GRL_ERROR(grl_sum(tx, ok, -1, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'naxes' = -1");
  EXPECT_GRL_ERROR(grl_sum(tx, ok, 1, 2, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'keepdim' = 2");
  EXPECT_GRL_ERROR(grl_mean(ti, ok, 1, 0, out.out()), GRL_ERROR_DTYPE, "grl_cast");
  EXPECT_GRL_ERROR(grl_var(ti, ok, 1, 1, 0, out.out()), GRL_ERROR_DTYPE, "floating dtype");
  EXPECT_GRL_ERROR(grl_std(ti, ok, 1, 1, 0, out.out()), GRL_ERROR_DTYPE, "floating dtype");
  EXPECT_GRL_ERROR(grl_norm(ti, 2, ok, 1, 0, out.out()), GRL_ERROR_DTYPE, "floating dtype");
  EXPECT_GRL_ERROR(grl_logsumexp(ti, ok, 1, 0, out.out()), GRL_ERROR_DTYPE, "floating dtype");
  EXPECT_GRL_ERROR(grl_sum(tu, ok, 1, 0, out.out()), GRL_ERROR_DTYPE, "'x' has dtype u8");
  EXPECT_GRL_ERROR(grl_cumsum(tu, 0, out.out()), GRL_ERROR_DTYPE, "'x' has dtype u8");
  EXPECT_GRL_ERROR(grl_norm(tx, -1, ok, 1, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'p' = -1");
  EXPECT_GRL_ERROR(grl_norm(tx, kNaN, ok, 1, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'p' = nan");

  Host e = Host::zeros({0, 3});
  T te(upload(dev, e));
  const int32_t ax0 = 0;
  EXPECT_GRL_ERROR(grl_max(te, &ax0, 1, 0, out.out()), GRL_ERROR_SHAPE, "no elements");
  EXPECT_GRL_ERROR(grl_min(te, nullptr, 0, 0, out.out()), GRL_ERROR_SHAPE, "no elements");
  EXPECT_GRL_ERROR(grl_argmin(te, 0, 1, out.out()), GRL_ERROR_SHAPE, "no elements");
  EXPECT_GRL_ERROR(grl_norm(te, kInf, nullptr, 0, 0, out.out()), GRL_ERROR_SHAPE, "no elements");

  EXPECT_GRL_ERROR(grl_sum(nullptr, ok, 1, 0, out.out()), GRL_ERROR_NULL_ARGUMENT, "'x'");
  EXPECT_GRL_ERROR(grl_argmax(nullptr, 0, 0, out.out()), GRL_ERROR_NULL_ARGUMENT, "'x'");
  EXPECT_GRL_ERROR(grl_cumsum(nullptr, 0, out.out()), GRL_ERROR_NULL_ARGUMENT, "'x'");
  EXPECT_GRL_ERROR(grl_mean(tx, ok, 1, 0, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  EXPECT_GRL_ERROR(grl_var(tx, ok, 1, 0, 0, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  EXPECT_GRL_ERROR(grl_argmin(tx, 0, 0, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  EXPECT_GRL_ERROR(grl_cumsum(tx, 0, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  EXPECT_EQ(out.t, nullptr);
}

// ---- backward ------------------------------------------------------------------------------------

namespace {

// Flat input indices of each output position's line, in the order group() lists their values.
std::vector<std::vector<int64_t>> lines(const Shape& s, const std::vector<bool>& red) {
  const size_t nd = s.size();
  Shape kept;
  for (size_t d = 0; d < nd; ++d)
    if (!red[d]) kept.push_back(s[d]);
  std::vector<std::vector<int64_t>> l(static_cast<size_t>(numel(kept)));
  auto st = strides(s), kst = strides(kept);
  for (int64_t i = 0; i < numel(s); ++i) {
    int64_t o = 0, rem = i;
    size_t k = 0;
    for (size_t d = 0; d < nd; ++d) {
      int64_t c = rem / st[d];
      rem %= st[d];
      if (!red[d]) o += c * kst[k++];
    }
    l[static_cast<size_t>(o)].push_back(i);
  }
  return l;
}

// g * d out / d x for the elements of one line, in float64 (ties share g equally).
using LineGrad = std::function<Values(const Values& v, double g)>;

double sgn(double x) { return x > 0 ? 1 : x < 0 ? -1 : 0; }

LineGrad grad_of_extreme(bool is_max, bool of_abs) {
  return [is_max, of_abs](const Values& v, double g) {
    Values a = v;
    if (of_abs)
      for (auto& x : a) x = std::abs(x);
    double e = is_max ? ref_max(a) : ref_min(a), n = 0;
    for (double x : a) n += x == e;
    Values d(v.size());
    for (size_t i = 0; i < v.size(); ++i) d[i] = a[i] == e ? g / n * (of_abs ? sgn(v[i]) : 1) : 0;
    return d;
  };
}

struct BackwardCase {
  std::string name;
  AxesFn call;
  LineGrad grad;
};

std::vector<BackwardCase> backward_cases() {
  std::vector<BackwardCase> c = {
      {"sum", grl_sum, [](const Values& v, double g) { return Values(v.size(), g); }},
      {"mean", grl_mean, [](const Values& v, double g) { return Values(v.size(), g / static_cast<double>(v.size())); }},
      {"max", grl_max, grad_of_extreme(true, false)},
      {"min", grl_min, grad_of_extreme(false, false)},
      {"logsumexp", grl_logsumexp,
       [](const Values& v, double g) {
         double l = ref_lse(v);
         Values d;
         for (double x : v) d.push_back(g * std::exp(x - l));
         return d;
       }},
  };
  for (int corr : {0, 1}) {
    auto centred = [corr](const Values& v, double g, bool is_std) {
      double m = ref_mean(v), div = static_cast<double>(v.size()) - corr, s = std::sqrt(ref_var(v, corr));
      Values d;
      for (double x : v) d.push_back(is_std ? (s == 0 ? 0 : (x - m) * g / (div * s)) : 2 * (x - m) * g / div);
      return d;
    };
    c.push_back({"var c" + std::to_string(corr),
                 [corr](grl_tensor x, const int32_t* a, int32_t n, uint32_t k, grl_tensor* o) {
                   return grl_var(x, a, n, corr, k, o);
                 },
                 [centred](const Values& v, double g) { return centred(v, g, false); }});
    c.push_back({"std c" + std::to_string(corr),
                 [corr](grl_tensor x, const int32_t* a, int32_t n, uint32_t k, grl_tensor* o) {
                   return grl_std(x, a, n, corr, k, o);
                 },
                 [centred](const Values& v, double g) { return centred(v, g, true); }});
  }
  for (double p : {1.0, 2.0, 3.0, kInf}) {
    LineGrad lg = std::isinf(p) ? grad_of_extreme(true, true) : [p](const Values& v, double g) {
      double n = ref_norm(v, p);
      Values d;
      for (double x : v) d.push_back(p == 1 ? sgn(x) * g : n == 0 ? 0 : sgn(x) * std::pow(std::abs(x) / n, p - 1) * g);
      return d;
    };
    c.push_back({"norm p=" + std::to_string(p),
                 [p](grl_tensor x, const int32_t* a, int32_t n, uint32_t k, grl_tensor* o) {
                   return grl_norm(x, p, a, n, k, o);
                 },
                 lg});
  }
  return c;
}

// Runs c forward and backward on x (already rounded to dt) with a random output gradient and
// checks x's gradient against the float64 rule, to rtol plus atol times the largest |gradient|.
void check_backward(grl_device dev, const BackwardCase& c, const Host& x, grl_dtype dt, const std::vector<bool>& red,
                    const std::vector<int32_t>& axes, bool keepdim, Tol t, const std::string& what) {
  T tx(upload(dev, x, dt)), y, dx;
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(tx, 1));
  ASSERT_GRL_OK(c.call(tx, axes.empty() ? nullptr : axes.data(), static_cast<int32_t>(axes.size()), keepdim, y.out()));
  EXPECT_EQ(std::string(grl_tensor_grad_fn_name(y)), c.name.substr(0, c.name.find(' ')));
  int64_t shape[8];
  const int32_t nd = grl_tensor_ndim(y);
  grl_tensor_shape(y, shape);
  Host g = Host::random(Shape(shape, shape + nd), rng(), -1, 1);
  for (auto& v : g.v) v = round_to(dt, v);
  T tg(upload(dev, g, dt));
  ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
  ASSERT_GRL_OK(grl_tensor_grad(tx, dx.out()));
  ASSERT_NE(dx.t, nullptr) << c.name << " " << what;
  EXPECT_EQ(grl_tensor_dtype(dx), dt);
  Host ref = Host::zeros(x.shape);
  const auto l = lines(x.shape, red);
  double big = 0;
  for (size_t o = 0; o < l.size(); ++o) {
    Values v;
    for (int64_t i : l[o]) v.push_back(x[i]);
    Values d = c.grad(v, g.v[o]);
    for (size_t k = 0; k < d.size(); ++k) {
      ref[l[o][k]] = d[k];
      big = std::max(big, std::abs(d[k]));
    }
  }
  EXPECT_TRUE(close(download(dx), ref, {t.rtol, t.atol * big})) << c.name << " " << grl_dtype_name(dt) << " " << what;
}

}  // namespace

TEST_F(Reduction, BackwardOverLongAxesMatchesFloat64) {
  // The forward's two-stage path, so the saved mean and logsumexp come from its second pass and
  // the counts of ties from a split count.
  struct L {
    Shape s;
    std::vector<int32_t> axes;
  };
  const std::vector<L> longs = {{{4096 * 3 + 7}, {}}, {{3, 5000, 7}, {1}}, {{2, 3000, 40}, {-2}},
                                {{2, 20000}, {1}},    {{20000, 3}, {0}},   {{6, 50, 4, 7}, {0, 2}}};
  for (const auto& l : longs) {
    std::vector<bool> red(l.s.size(), l.axes.empty());
    for (int32_t a : l.axes) red[static_cast<size_t>(a < 0 ? a + static_cast<int32_t>(l.s.size()) : a)] = true;
    Host x = sample(l.s, GRL_F32);
    for (const auto& c : backward_cases())
      check_backward(dev, c, x, GRL_F32, red, l.axes, false, {1e-4, 1e-5}, describe(l.s, l.axes, false));
  }
}

TEST_F(Reduction, BackwardInHalfPrecision) {
  // The gradient keeps x's dtype; the saved mean and logsumexp stay f32, so the error is about
  // the rounding of the gradient and of the result y itself.
  struct S {
    Shape s;
    std::vector<int32_t> axes;
    bool keepdim;
  };
  const std::vector<S> shapes = {{{3, 5}, {1}, false}, {{2, 3, 4}, {0, 2}, true}, {{1031}, {}, false}};
  for (grl_dtype dt : {GRL_F16, GRL_BF16}) {
    const Tol t = tol(dt);
    for (const auto& s : shapes) {
      std::vector<bool> red(s.s.size(), s.axes.empty());
      for (int32_t a : s.axes) red[static_cast<size_t>(a)] = true;
      Host x = sample(s.s, dt);
      for (const auto& c : backward_cases())
        check_backward(dev, c, x, dt, red, s.axes, s.keepdim, {2 * t.rtol, t.atol}, describe(s.s, s.axes, s.keepdim));
    }
  }
  // logsumexp of large values: a bf16 result rounds by about |lse| 2^-9 = 0.06 near 30, which
  // would shift every exp(x - lse) by 6% without the f32 copy the forward keeps for the backward.
  Host x = Host::random({4, 33}, rng(), 28, 32);
  for (auto& v : x.v) v = round_to(GRL_BF16, v);
  for (const auto& c : backward_cases())
    if (c.name == "logsumexp") check_backward(dev, c, x, GRL_BF16, {false, true}, {1}, false, {2e-2, 1e-2}, "large bf16");
}

TEST_F(Reduction, MaxMinTiesShareTheGradient) {
  const double nan = kNaN;
  Host x = Host::zeros({4, 5});
  x.v = {1, 3, 3, 2, 0,   5, 5, 5, 5, 5,   -1, -4, 2, -4, 2,   0, nan, 1, nan, 2};
  Host g = Host::zeros({4});
  g.v = {1, 2, 3, 4};
  const int32_t ax = 1;
  // As PyTorch's amax/amin: g / (number of elements equal to the result); NaN results go to NaNs.
  Host want_max = Host::zeros({4, 5}), want_min = Host::zeros({4, 5});
  want_max.v = {0, .5, .5, 0, 0,   .4, .4, .4, .4, .4,   0, 0, 1.5, 0, 1.5,   0, 2, 0, 2, 0};
  want_min.v = {0, 0, 0, 0, 1,     .4, .4, .4, .4, .4,   0, 1.5, 0, 1.5, 0,   0, 2, 0, 2, 0};
  for (grl_dtype dt : {GRL_F32, GRL_BF16}) {
    for (bool is_max : {true, false}) {
      T tx(upload(dev, x, dt)), tg(upload(dev, g, dt)), y, dx;
      ASSERT_GRL_OK(grl_tensor_set_requires_grad(tx, 1));
      ASSERT_GRL_OK((is_max ? grl_max : grl_min)(tx, &ax, 1, 0, y.out()));
      ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
      ASSERT_GRL_OK(grl_tensor_grad(tx, dx.out()));
      EXPECT_TRUE(close(download(dx), is_max ? want_max : want_min, tol(dt))) << grl_dtype_name(dt) << " " << is_max;
    }
  }
  // The INFINITY norm shares among the ties of |x| and keeps the sign.
  Host xn = Host::zeros({5});
  xn.v = {-3, 3, 1, -2, 0};
  T tn(upload(dev, xn)), yn, dn;
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(tn, 1));
  ASSERT_GRL_OK(grl_norm(tn, kInf, nullptr, 0, 0, yn.out()));
  ASSERT_GRL_OK(grl_tensor_backward(yn, nullptr, 0));
  ASSERT_GRL_OK(grl_tensor_grad(tn, dn.out()));
  EXPECT_EQ(download(dn).v, (Values{-0.5, 0.5, 0, 0, 0}));
  // Three maxima and two minima in a long vector (a count split over chunks), over every axis.
  Host xl = Host::random({4096 * 3 + 7}, rng(), -2, 2);
  for (int64_t i : {5, 7000, 12290}) xl[i] = 5;
  for (int64_t i : {1, 9000}) xl[i] = -5;
  for (bool is_max : {true, false}) {
    T tx(upload(dev, xl)), y, dx;
    ASSERT_GRL_OK(grl_tensor_set_requires_grad(tx, 1));
    ASSERT_GRL_OK((is_max ? grl_max : grl_min)(tx, nullptr, 0, 1, y.out()));
    ASSERT_GRL_OK(grl_tensor_backward(y, nullptr, 0));
    ASSERT_GRL_OK(grl_tensor_grad(tx, dx.out()));
    Host want = Host::zeros(xl.shape);
    for (int64_t i = 0; i < xl.numel(); ++i) want[i] = xl[i] == (is_max ? 5 : -5) ? (is_max ? 1.0 / 3 : 0.5) : 0;
    EXPECT_TRUE(close(download(dx), want, {1e-6, 0})) << is_max;
  }
}

TEST_F(Reduction, CumsumBackwardIsAReverseScan) {
  struct C {
    Shape s;
    int32_t axis;
  };
  // Short lines, then long rows and a long middle axis (reverse blocked scans with carries).
  const std::vector<C> cases = {{{1}, 0},         {{1031}, -1},       {{3, 5}, 0},  {{2, 3, 4}, 1},
                                {{3, 20000}, 1}, {{4, 3000, 5}, 1}, {{30000}, 0}};
  for (const auto& c : cases) {
    const int nd = static_cast<int>(c.s.size());
    const int axis = c.axis < 0 ? c.axis + nd : c.axis;
    for (grl_dtype dt : {GRL_F32, GRL_BF16}) {
      Host x = sample(c.s, dt), g = sample(c.s, dt);
      T tx(upload(dev, x, dt)), tg(upload(dev, g, dt)), y, dx;
      ASSERT_GRL_OK(grl_tensor_set_requires_grad(tx, 1));
      ASSERT_GRL_OK(grl_cumsum(tx, c.axis, y.out()));
      EXPECT_EQ(std::string(grl_tensor_grad_fn_name(y)), "cumsum");
      ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
      ASSERT_GRL_OK(grl_tensor_grad(tx, dx.out()));
      Host ref = Host::zeros(c.s);
      Values scale(ref.v.size());
      auto st = strides(c.s);
      const int64_t stride = st[static_cast<size_t>(axis)], len = c.s[static_cast<size_t>(axis)];
      for (int64_t i = 0; i < x.numel(); ++i) {
        if ((i / stride) % len != 0) continue;
        double acc = 0, abs_acc = 0;
        for (int64_t r = len - 1; r >= 0; --r) {
          int64_t k = i + r * stride;
          acc += g[k];
          abs_acc += std::abs(g[k]);
          ref[k] = round_to(dt, acc);
          scale[static_cast<size_t>(k)] = abs_acc;
        }
      }
      double rtol = dt == GRL_F32 ? 2e-6 : tol(dt).rtol;
      EXPECT_TRUE(near(download(dx), ref, scale, rtol, 2e-6)) << grl_dtype_name(dt) << " " << str(c.s) << " axis "
                                                               << c.axis;
    }
  }
}

TEST_F(Reduction, BackwardEdgeCases) {
  const int32_t ax1 = 1, ax0 = 0;
  // argmax/argmin have no gradient: their results stay outside autograd.
  Host h = Host::random({3, 4}, rng());
  T tx(upload(dev, h)), out;
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(tx, 1));
  ASSERT_GRL_OK(grl_argmax(tx, 1, 0, out.out()));
  EXPECT_EQ(grl_tensor_requires_grad(out), 0u);
  ASSERT_GRL_OK(grl_argmin(tx, 0, 1, out.out()));
  EXPECT_EQ(grl_tensor_requires_grad(out), 0u);

  // Constant lines: std's gradient is 0 there (not 0/0), var's exactly 0; norm 2 of a zero line
  // gives 0, and norm 0 (a count of nonzeros) a zero gradient everywhere rather than none.
  Host o = Host::zeros({3});
  for (auto& v : o.v) v = 1;
  T ones(upload(dev, o));
  Host c = Host::zeros({3, 4});
  for (int i = 0; i < 4; ++i) c[i] = 1.5, c[4 + i] = -2;  // row 2 all zeros
  struct Z {
    const char* name;
    AxesFn call;
  };
  const std::vector<Z> zs = {
      {"std", [](grl_tensor x, const int32_t* a, int32_t n, uint32_t k, grl_tensor* o) { return grl_std(x, a, n, 1, k, o); }},
      {"var", [](grl_tensor x, const int32_t* a, int32_t n, uint32_t k, grl_tensor* o) { return grl_var(x, a, n, 0, k, o); }},
      {"norm", [](grl_tensor x, const int32_t* a, int32_t n, uint32_t k, grl_tensor* o) { return grl_norm(x, 2, a, n, k, o); }},
      {"norm0", [](grl_tensor x, const int32_t* a, int32_t n, uint32_t k, grl_tensor* o) { return grl_norm(x, 0, a, n, k, o); }},
  };
  for (const auto& z : zs) {
    T tc(upload(dev, c)), yc, dc;
    ASSERT_GRL_OK(grl_tensor_set_requires_grad(tc, 1));
    ASSERT_GRL_OK(z.call(tc, &ax1, 1, 0, yc.out()));
    ASSERT_GRL_OK(grl_tensor_backward(yc, ones, 0));
    ASSERT_GRL_OK(grl_tensor_grad(tc, dc.out()));
    ASSERT_NE(dc.t, nullptr) << z.name;
    Host got = download(dc);
    for (int i = std::string(z.name) == "norm" ? 8 : 0; i < 12; ++i) EXPECT_EQ(got[i], 0) << z.name << " [" << i << "]";
  }

  // Empty inputs: the gradient is empty with x's shape.
  Host e = Host::zeros({0, 3});
  T te(upload(dev, e)), ge(upload(dev, Host::zeros({3}))), ye, de;
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(te, 1));
  ASSERT_GRL_OK(grl_sum(te, &ax0, 1, 0, ye.out()));
  ASSERT_GRL_OK(grl_tensor_backward(ye, ge, 0));
  ASSERT_GRL_OK(grl_tensor_grad(te, de.out()));
  EXPECT_EQ(download(de).shape, (Shape{0, 3}));
  T te2(upload(dev, e)), ge2(upload(dev, Host::zeros({0}))), ye2, de2;
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(te2, 1));
  ASSERT_GRL_OK(grl_max(te2, &ax1, 1, 0, ye2.out()));
  ASSERT_GRL_OK(grl_tensor_backward(ye2, ge2, 0));
  ASSERT_GRL_OK(grl_tensor_grad(te2, de2.out()));
  EXPECT_EQ(download(de2).shape, (Shape{0, 3}));
}
