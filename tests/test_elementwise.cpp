// Elementwise family: broadcasting binary ops, scalar forms, comparisons, unary math, clamp,
// where, over every dtype they take, against float64 references.
#include <cmath>
#include <functional>

#include "testing.h"

using namespace gt;

class Elementwise : public DeviceTest {};

using BinFn = grl_status (*)(grl_tensor, grl_tensor, grl_tensor*);
using BinRef = std::function<double(double, double)>;

namespace {

struct BinCase {
  const char* name;
  BinFn fn;
  BinRef ref;
  bool compare;
  bool ints;
};

const std::vector<BinCase>& bin_cases() {
  static const std::vector<BinCase> cases = {
      {"add", grl_add, [](double a, double b) { return a + b; }, false, true},
      {"sub", grl_sub, [](double a, double b) { return a - b; }, false, true},
      {"mul", grl_mul, [](double a, double b) { return a * b; }, false, true},
      {"div", grl_div, [](double a, double b) { return a / b; }, false, false},
      {"pow", grl_pow, [](double a, double b) { return std::pow(std::abs(a), b); }, false, false},
      {"minimum", grl_minimum, [](double a, double b) { return std::min(a, b); }, false, true},
      {"maximum", grl_maximum, [](double a, double b) { return std::max(a, b); }, false, true},
      {"eq", grl_eq, [](double a, double b) { return double(a == b); }, true, true},
      {"ne", grl_ne, [](double a, double b) { return double(a != b); }, true, true},
      {"lt", grl_lt, [](double a, double b) { return double(a < b); }, true, true},
      {"le", grl_le, [](double a, double b) { return double(a <= b); }, true, true},
      {"gt", grl_gt, [](double a, double b) { return double(a > b); }, true, true},
      {"ge", grl_ge, [](double a, double b) { return double(a >= b); }, true, true},
  };
  return cases;
}

// Shape pairs covering equal shapes, broadcasting corners, one element, empty and odd sizes.
const std::vector<std::pair<Shape, Shape>>& shape_pairs() {
  static const std::vector<std::pair<Shape, Shape>> pairs = {
      {{1}, {1}},           {{257}, {257}},         {{3, 5}, {5}},          {{4, 1}, {1, 6}},
      {{2, 3, 4}, {3, 1}},  {{1, 3, 1, 5}, {2, 1, 7, 1}}, {{2, 1, 3, 1, 2, 1}, {1, 2, 1, 3, 1, 2}},
      {{0, 3}, {3}},        {{}, {4, 2}},           {{1031}, {}},
  };
  return pairs;
}

}  // namespace

TEST_F(Elementwise, BinaryOpsBroadcastAgainstFloat64) {
  for (const auto& c : bin_cases()) {
    for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16, GRL_I32, GRL_I64}) {
      bool is_int = dt == GRL_I32 || dt == GRL_I64;
      if (is_int && !c.ints) continue;
      for (const auto& [sa, sb] : shape_pairs()) {
        double lo = is_int ? -20 : -2, hi = is_int ? 20 : 2;
        Host a = Host::random(sa, rng(), lo, hi), b = Host::random(sb, rng(), lo, hi);
        if (std::string(c.name) == "pow") {
          for (auto& x : a.v) x = std::abs(x) + 0.1;  // real-valued powers need a positive base
        }
        if (std::string(c.name) == "div")
          for (auto& x : b.v) x = (x >= 0 ? 0.5 : -0.5) + x;  // keep away from zero
        if (c.compare && !b.v.empty() && !a.v.empty()) b.v[0] = a.v[0];  // exercise equality
        for (auto& x : a.v) x = round_to(dt, x);
        for (auto& x : b.v) x = round_to(dt, x);
        T ta(upload(dev, a, dt)), tb(upload(dev, b, dt)), out;
        ASSERT_GRL_OK(c.fn(ta, tb, out.out()));
        EXPECT_EQ(grl_tensor_dtype(out), c.compare ? GRL_U8 : dt);
        Shape so = broadcast(sa, sb);
        Host ref = Host::zeros(so);
        for (int64_t i = 0; i < ref.numel(); ++i)
          ref[i] = c.ref(a[bcast_index(so, sa, i)], b[bcast_index(so, sb, i)]);
        Tol t = c.compare ? Tol{0, 0} : tol(dt);
        if (!c.compare && !is_int)  // the result is rounded to dt once more
          for (auto& x : ref.v) x = round_to(dt, x);
        if (std::string(c.name) == "pow" && dt == GRL_F32) t = {3e-6, 1e-6};
        EXPECT_TRUE(close(download(out), ref, t)) << c.name << " " << grl_dtype_name(dt) << " " << str(sa) << " "
                                                   << str(sb);
      }
    }
  }
}

TEST_F(Elementwise, IntegerDivisionTruncatesAndPowIsExact) {
  Host a = Host::zeros({6}), b = Host::zeros({6});
  a.v = {7, -7, 7, -7, 3, 0};
  b.v = {2, 2, -2, -2, 0, 5};
  T ta(upload(dev, a, GRL_I32)), tb(upload(dev, b, GRL_I32)), q, p;
  ASSERT_GRL_OK(grl_div(ta, tb, q.out()));
  EXPECT_EQ(download(q).v, (std::vector<double>{3, -3, -3, 3, 0, 0}));
  Host e = Host::zeros({6});
  e.v = {3, 2, 0, 1, 5, 2};
  T te(upload(dev, e, GRL_I64)), tx(upload(dev, a, GRL_I64));
  ASSERT_GRL_OK(grl_pow(tx, te, p.out()));
  EXPECT_EQ(download(p).v, (std::vector<double>{343, 49, 1, -7, 243, 0}));
}

TEST_F(Elementwise, ScalarForms) {
  struct S {
    const char* name;
    grl_status (*fn)(grl_tensor, double, grl_tensor*);
    std::function<double(double, double)> ref;
    bool compare;
  };
  const std::vector<S> cases = {
      {"add", grl_add_scalar, [](double a, double s) { return a + s; }, false},
      {"sub", grl_sub_scalar, [](double a, double s) { return a - s; }, false},
      {"rsub", grl_rsub_scalar, [](double a, double s) { return s - a; }, false},
      {"mul", grl_mul_scalar, [](double a, double s) { return a * s; }, false},
      {"div", grl_div_scalar, [](double a, double s) { return a / s; }, false},
      {"rdiv", grl_rdiv_scalar, [](double a, double s) { return s / a; }, false},
      {"pow", grl_pow_scalar, [](double a, double s) { return std::pow(a, s); }, false},
      {"rpow", grl_rpow_scalar, [](double a, double s) { return std::pow(s, a); }, false},
      {"minimum", grl_minimum_scalar, [](double a, double s) { return std::min(a, s); }, false},
      {"maximum", grl_maximum_scalar, [](double a, double s) { return std::max(a, s); }, false},
      {"eq", grl_eq_scalar, [](double a, double s) { return double(a == s); }, true},
      {"ne", grl_ne_scalar, [](double a, double s) { return double(a != s); }, true},
      {"lt", grl_lt_scalar, [](double a, double s) { return double(a < s); }, true},
      {"le", grl_le_scalar, [](double a, double s) { return double(a <= s); }, true},
      {"gt", grl_gt_scalar, [](double a, double s) { return double(a > s); }, true},
      {"ge", grl_ge_scalar, [](double a, double s) { return double(a >= s); }, true},
  };
  for (const auto& c : cases) {
    for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16}) {
      Host a = Host::random({3, 67}, rng(), 0.5, 2.0);
      for (auto& x : a.v) x = round_to(dt, x);
      a.v[0] = 1.25;  // equal to the scalar below
      const double s = 1.25;
      T ta(upload(dev, a, dt)), out;
      ASSERT_GRL_OK(c.fn(ta, s, out.out()));
      Host ref = a;
      for (auto& x : ref.v) x = c.compare ? c.ref(x, s) : round_to(dt, c.ref(x, s));
      Tol t = c.compare ? Tol{0, 0} : tol(dt);
      if (dt == GRL_F32 && !c.compare) t = {3e-6, 1e-6};
      EXPECT_TRUE(close(download(out), ref, t)) << c.name << " " << grl_dtype_name(dt);
    }
  }
  Host a = Host::zeros({4});
  a.v = {1, 2, 3, 4};
  T ti(upload(dev, a, GRL_I32)), out;
  ASSERT_GRL_OK(grl_mul_scalar(ti, 3, out.out()));
  EXPECT_EQ(download(out).v, (std::vector<double>{3, 6, 9, 12}));
  EXPECT_GRL_ERROR(grl_add_scalar(ti, 0.5, out.out()), GRL_ERROR_DTYPE, "not an integer");
}

TEST_F(Elementwise, UnaryMathAgainstFloat64) {
  struct U {
    const char* name;
    grl_status (*fn)(grl_tensor, grl_tensor*);
    double (*ref)(double);
    double lo, hi;
  };
  const std::vector<U> cases = {
      {"neg", grl_neg, [](double x) { return -x; }, -3, 3},
      {"abs", grl_abs, [](double x) { return std::abs(x); }, -3, 3},
      {"exp", grl_exp, [](double x) { return std::exp(x); }, -5, 5},
      {"log", grl_log, [](double x) { return std::log(x); }, 0.01, 10},
      {"sqrt", grl_sqrt, [](double x) { return std::sqrt(x); }, 0, 10},
      {"rsqrt", grl_rsqrt, [](double x) { return 1 / std::sqrt(x); }, 0.01, 10},
      {"sin", grl_sin, [](double x) { return std::sin(x); }, -6, 6},
      {"cos", grl_cos, [](double x) { return std::cos(x); }, -6, 6},
      {"tanh", grl_tanh, [](double x) { return std::tanh(x); }, -20, 20},
      {"sigmoid", grl_sigmoid, [](double x) { return 1 / (1 + std::exp(-x)); }, -20, 20},
  };
  for (const auto& c : cases)
    for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16})
      for (Shape s : {Shape{1}, Shape{1000}, Shape{7, 13}}) {
        Host x = Host::random(s, rng(), c.lo, c.hi);
        for (auto& v : x.v) v = round_to(dt, v);
        T tx(upload(dev, x, dt)), out;
        ASSERT_GRL_OK(c.fn(tx, out.out()));
        Host ref = x;
        for (auto& v : ref.v) v = round_to(dt, c.ref(v));
        Tol t = tol(dt);
        if (dt == GRL_F32) t = {2e-6, 2e-6};  // GPU transcendental functions are within a few ulp
        EXPECT_TRUE(close(download(out), ref, t)) << c.name << " " << grl_dtype_name(dt) << " " << str(s);
      }
  // Unary ops on a strided view read through the strides.
  Host x = Host::random({5, 6}, rng());
  T tx(upload(dev, x)), tr, out;
  ASSERT_GRL_OK(grl_transpose(tx, 0, 1, tr.out()));
  ASSERT_GRL_OK(grl_neg(tr, out.out()));
  Host h = download(out);
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 5; ++j) ASSERT_EQ(h[i * 5 + j], -static_cast<float>(x[j * 6 + i]));
  // Integer dtypes take neg/abs but not transcendental ops.
  T ti(upload(dev, x, GRL_I32));
  ASSERT_GRL_OK(grl_abs(ti, out.out()));
  EXPECT_GRL_ERROR(grl_exp(ti, out.out()), GRL_ERROR_DTYPE, "i32");
}

TEST_F(Elementwise, ClampAndWhere) {
  Host x = Host::random({4, 33}, rng(), -3, 3);
  T tx(upload(dev, x)), c;
  ASSERT_GRL_OK(grl_clamp(tx, -1.0, 0.5, c.out()));
  Host ref = x;
  for (auto& v : ref.v) v = std::min(std::max(static_cast<double>(static_cast<float>(v)), -1.0), 0.5);
  EXPECT_TRUE(close(download(c), ref, tol(GRL_F32)));
  EXPECT_GRL_ERROR(grl_clamp(tx, 1.0, -1.0, c.out()), GRL_ERROR_INVALID_ARGUMENT, "lo <= hi");

  for (grl_dtype dt : {GRL_F32, GRL_BF16, GRL_I64}) {
    Host cond = Host::random({4, 1}, rng(), 0, 2), a = Host::random({4, 33}, rng(), -9, 9),
         b = Host::random({33}, rng(), -9, 9);
    for (auto& v : cond.v) v = std::floor(v);
    for (auto& v : a.v) v = round_to(dt, v);
    for (auto& v : b.v) v = round_to(dt, v);
    T tc(upload(dev, cond, GRL_U8)), ta(upload(dev, a, dt)), tb(upload(dev, b, dt)), w;
    ASSERT_GRL_OK(grl_where(tc, ta, tb, w.out()));
    Host r = Host::zeros({4, 33});
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 33; ++j) r[i * 33 + j] = cond[i] != 0 ? a[i * 33 + j] : b[j];
    EXPECT_TRUE(close(download(w), r, {0, 0})) << grl_dtype_name(dt);
  }
  T tf(upload(dev, x)), w;
  EXPECT_GRL_ERROR(grl_where(tf, tx, tx, w.out()), GRL_ERROR_DTYPE, "'cond' has dtype f32");
}

TEST_F(Elementwise, BadInputs) {
  Host a = Host::random({2, 3}, rng()), b = Host::random({4}, rng());
  T ta(upload(dev, a)), tb(upload(dev, b)), ti(upload(dev, a, GRL_I32)), out;
  EXPECT_GRL_ERROR(grl_add(ta, tb, out.out()), GRL_ERROR_SHAPE, "cannot be broadcast");
  EXPECT_GRL_ERROR(grl_add(ta, ti, out.out()), GRL_ERROR_DTYPE, "'b' has dtype i32");
  EXPECT_GRL_ERROR(grl_mul(nullptr, ta, out.out()), GRL_ERROR_NULL_ARGUMENT, "'a'");
  EXPECT_GRL_ERROR(grl_mul(ta, ta, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  EXPECT_EQ(out.t, nullptr);
}
