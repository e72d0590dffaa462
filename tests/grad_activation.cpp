// Backward rules of the activation and normalization families: finite-difference checks of every
// rule against float64 forwards written here, and the backward kernels at larger shapes and in
// f16/bf16 against float64 gradient formulas.
#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "gradcheck.h"
#include "reference.h"

namespace gt {
namespace {

// ---- float64 forwards ----
double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double softplus(double x, double beta, double threshold) {
  return beta * x > threshold ? x : std::log1p(std::exp(beta * x)) / beta;
}
double gelu(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double gelu_tanh(double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }

Host map(const Host& x, const std::function<double(double)>& f) {
  Host y = x;
  for (auto& v : y.v) v = f(v);
  return y;
}

// Moves inputs at least `gap` away from each kink, keeping their side.
std::function<void(std::vector<Host>&)> avoid(std::vector<double> kinks, double gap = 0.05) {
  return [kinks, gap](std::vector<Host>& xs) {
    for (auto& v : xs[0].v)
      for (double k : kinks)
        if (std::abs(v - k) < gap) v = v < k ? k - gap : k + gap;
  };
}

using Run = std::function<grl_status(const std::vector<grl_tensor>&, grl_tensor*)>;
using Ref = std::function<Host(const std::vector<Host>&)>;

Run unary_run(std::function<grl_status(grl_tensor, grl_tensor*)> f) {
  return [f](const std::vector<grl_tensor>& x, grl_tensor* out) { return f(x[0], out); };
}
Ref unary_ref(std::function<double(double)> f) {
  return [f](const std::vector<Host>& x) { return map(x[0], f); };
}

// Gated units over the last axis [..., 2h] -> [..., h].
Host glu_ref(const Host& x, const std::function<double(double)>& act) {
  Shape s = x.shape;
  const int64_t h = s.back() / 2;
  s.back() = h;
  Host y = Host::zeros(s);
  for (int64_t r = 0; r * h < y.numel(); ++r)
    for (int64_t j = 0; j < h; ++j) y[r * h + j] = act(x[r * 2 * h + j]) * x[r * 2 * h + h + j];
  return y;
}

// ---- pointwise activations (shared unary backward kernel) ----
GRAD_CASE({"relu", {{3, 5}}, unary_run(grl_relu), unary_ref([](double x) { return x > 0 ? x : 0.0; }), -2, 2, {},
           avoid({0})});
GRAD_CASE({"leaky_relu", {{2, 3, 4}},
           unary_run([](grl_tensor x, grl_tensor* o) { return grl_leaky_relu(x, 0.1, o); }),
           unary_ref([](double x) { return x >= 0 ? x : 0.1 * x; }), -2, 2, {}, avoid({0})});
GRAD_CASE({"elu", {{7}}, unary_run([](grl_tensor x, grl_tensor* o) { return grl_elu(x, 1.0, o); }),
           unary_ref([](double x) { return x > 0 ? x : std::expm1(x); }), -3, 2, {}, avoid({0})});
GRAD_CASE({"elu", {{2, 5}}, unary_run([](grl_tensor x, grl_tensor* o) { return grl_elu(x, 0.5, o); }),
           unary_ref([](double x) { return x > 0 ? x : 0.5 * std::expm1(x); }), -3, 2, {}, avoid({0})});
GRAD_CASE({"gelu", {{4, 6}}, unary_run([](grl_tensor x, grl_tensor* o) { return grl_gelu(x, GRL_GELU_EXACT, o); }),
           unary_ref(gelu), -4, 4});
GRAD_CASE({"gelu", {{3, 7}}, unary_run([](grl_tensor x, grl_tensor* o) { return grl_gelu(x, GRL_GELU_TANH, o); }),
           unary_ref(gelu_tanh), -4, 4});
GRAD_CASE({"silu", {{5, 4}}, unary_run(grl_silu), unary_ref([](double x) { return x * sigmoid(x); }), -5, 5});
GRAD_CASE({"softplus", {{4, 5}},
           unary_run([](grl_tensor x, grl_tensor* o) { return grl_softplus(x, 1.0, 20.0, o); }),
           unary_ref([](double x) { return softplus(x, 1.0, 20.0); }), -5, 5});
// beta 2, threshold 1: the switch to x at x = 0.5 is a jump, kept away from.
GRAD_CASE({"softplus", {{3, 4}},
           unary_run([](grl_tensor x, grl_tensor* o) { return grl_softplus(x, 2.0, 1.0, o); }),
           unary_ref([](double x) { return softplus(x, 2.0, 1.0); }), -2, 2, {}, avoid({0.5})});
GRAD_CASE({"mish", {{6, 4}}, unary_run(grl_mish),
           unary_ref([](double x) { return x * std::tanh(softplus(x, 1.0, 20.0)); }), -4, 4});
GRAD_CASE({"hardswish", {{5, 6}}, unary_run(grl_hardswish),
           unary_ref([](double x) { return x * std::clamp(x + 3, 0.0, 6.0) / 6; }), -4.5, 4.5, {}, avoid({-3, 3})});
GRAD_CASE({"hardsigmoid", {{4, 5}}, unary_run(grl_hardsigmoid),
           unary_ref([](double x) { return std::clamp(x / 6 + 0.5, 0.0, 1.0); }), -4.5, 4.5, {}, avoid({-3, 3})});
GRAD_CASE({"gcu", {{3, 5}}, unary_run(grl_gcu), unary_ref([](double x) { return x * std::cos(x); }), -4, 4});
GRAD_CASE({"roswish", {{4, 4}}, unary_run([](grl_tensor x, grl_tensor* o) { return grl_roswish(x, 1.0, 1.0, o); }),
           unary_ref([](double x) { return (x + 1) * sigmoid(x) - 0.5; }), -4, 4});
GRAD_CASE({"roswish", {{6}}, unary_run([](grl_tensor x, grl_tensor* o) { return grl_roswish(x, 0.5, 2.0, o); }),
           unary_ref([](double x) { return (x + 0.5) * sigmoid(2 * x) - 0.25; }), -3, 3});

// ---- gated units ----
// The gate half [..., :h] is kept away from ReGLU's kink at 0.
std::function<void(std::vector<Host>&)> gate_away_from_zero() {
  return [](std::vector<Host>& xs) {
    Host& x = xs[0];
    const int64_t h = x.shape.back() / 2;
    for (int64_t i = 0; i < x.numel(); ++i)
      if ((i % (2 * h)) < h && std::abs(x[i]) < 0.05) x[i] = x[i] < 0 ? -0.05 : 0.05;
  };
}

GRAD_CASE({"swiglu", {{3, 8}}, unary_run(grl_swiglu),
           [](const std::vector<Host>& x) { return glu_ref(x[0], [](double a) { return a * sigmoid(a); }); }, -3, 3});
GRAD_CASE({"geglu", {{2, 3, 6}}, unary_run(grl_geglu), [](const std::vector<Host>& x) { return glu_ref(x[0], gelu); },
           -3, 3});
GRAD_CASE({"reglu", {{4, 10}}, unary_run(grl_reglu),
           [](const std::vector<Host>& x) { return glu_ref(x[0], [](double a) { return a > 0 ? a : 0.0; }); }, -2, 2,
           {}, gate_away_from_zero()});

// ---- softmax / log-softmax: last axis (row kernels), axis 0 and a middle axis (column kernel) ----
Run softmax_run(bool log, int32_t axis) {
  return [log, axis](const std::vector<grl_tensor>& x, grl_tensor* out) {
    return (log ? grl_log_softmax : grl_softmax)(x[0], axis, out);
  };
}
Ref softmax_fwd(bool log, int axis) {
  return [log, axis](const std::vector<Host>& x) { return softmax_ref(x[0], axis, log); };
}

GRAD_CASE({"softmax", {{3, 5}}, softmax_run(false, -1), softmax_fwd(false, 1), -3, 3});
GRAD_CASE({"softmax", {{7}}, softmax_run(false, 0), softmax_fwd(false, 0), -3, 3});
GRAD_CASE({"softmax", {{4, 3}}, softmax_run(false, 0), softmax_fwd(false, 0), -3, 3});
GRAD_CASE({"softmax", {{2, 4, 3}}, softmax_run(false, 1), softmax_fwd(false, 1), -3, 3});
GRAD_CASE({"log_softmax", {{4, 6}}, softmax_run(true, 1), softmax_fwd(true, 1), -3, 3});
GRAD_CASE({"log_softmax", {{5, 3}}, softmax_run(true, 0), softmax_fwd(true, 0), -3, 3});
GRAD_CASE({"log_softmax", {{2, 3, 4}}, softmax_run(true, -2), softmax_fwd(true, 1), -3, 3});

// ---- layer norm / RMS norm: inputs are x, then weight and bias where the case has them ----
constexpr double kEps = 1e-5;

// has_w / has_b say which of x[1], x[2] exist; a bias without weight is x[1].
Run norm_run(bool rms, int32_t nd, bool has_w, bool has_b) {
  return [=](const std::vector<grl_tensor>& x, grl_tensor* out) {
    grl_tensor w = has_w ? x[1] : nullptr;
    grl_tensor b = has_b ? x[has_w ? 2 : 1] : nullptr;
    return rms ? grl_rms_norm(x[0], nd, w, kEps, out) : grl_layer_norm(x[0], nd, w, b, kEps, out);
  };
}
Ref norm_fwd(bool rms, int32_t nd, bool has_w, bool has_b) {
  return [=](const std::vector<Host>& x) {
    int64_t n = 1;
    for (int i = 0; i < nd; ++i) n *= x[0].shape[x[0].shape.size() - 1 - static_cast<size_t>(i)];
    const Host* w = has_w ? &x[1] : nullptr;
    const Host* b = has_b ? &x[has_w ? 2 : 1] : nullptr;
    return norm_ref(x[0], n, w, b, kEps, rms);
  };
}

GRAD_CASE({"layer_norm", {{3, 8}}, norm_run(false, 1, false, false), norm_fwd(false, 1, false, false)});
GRAD_CASE({"layer_norm", {{2, 3, 4}, {3, 4}, {3, 4}}, norm_run(false, 2, true, true), norm_fwd(false, 2, true, true)});
GRAD_CASE({"layer_norm", {{4, 5}, {5}}, norm_run(false, 1, true, false), norm_fwd(false, 1, true, false)});
GRAD_CASE({"layer_norm", {{2, 2, 6}, {2, 6}}, norm_run(false, 2, false, true), norm_fwd(false, 2, false, true)});
// 40 rows of 3: the weight and bias sums run in 3 chunks of rows.
GRAD_CASE({"layer_norm", {{40, 3}, {3}, {3}}, norm_run(false, 1, true, true), norm_fwd(false, 1, true, true)});
// A constant x: only the weight and bias are differentiated.
GRAD_CASE({"layer_norm", {{3, 4}, {4}, {4}}, norm_run(false, 1, true, true), norm_fwd(false, 1, true, true), -2, 2,
           {0}});
GRAD_CASE({"rms_norm", {{3, 8}}, norm_run(true, 1, false, false), norm_fwd(true, 1, false, false)});
GRAD_CASE({"rms_norm", {{2, 3, 4}, {3, 4}}, norm_run(true, 2, true, false), norm_fwd(true, 2, true, false)});
GRAD_CASE({"rms_norm", {{40, 3}, {3}}, norm_run(true, 1, true, false), norm_fwd(true, 1, true, false)});

// ---- the backward kernels at larger shapes and in every float dtype ----
const grl_dtype kFloats[] = {GRL_F32, GRL_F16, GRL_BF16};
// The row kernels' 16-bit variants share every line but the pack conversions, which the forward
// tests check for f16 too; each variant costs lavapipe about a second to compile, so the backward
// row tests take f32 and bf16.
const grl_dtype kRowDtypes[] = {GRL_F32, GRL_BF16};

// Gradients are compared against the largest reference magnitude: sums over thousands of terms
// make elementwise relative checks meaningless where a gradient nearly cancels. f16/bf16: the
// rounding of y (or of x's statistics), g and the result.
double grad_tol(grl_dtype dt) { return dt == GRL_F32 ? 2e-5 : dt == GRL_F16 ? 4e-3 : 3e-2; }

::testing::AssertionResult close_scaled(const Host& got, const Host& ref, double tol) {
  if (got.shape != ref.shape)
    return ::testing::AssertionFailure() << "shape " << str(got.shape) << " != expected " << str(ref.shape);
  double scale = 1e-30;
  for (double v : ref.v) scale = std::max(scale, std::abs(v));
  int bad = 0;
  std::ostringstream o;
  for (int64_t i = 0; i < ref.numel(); ++i)
    if (!(std::abs(got[i] - ref[i]) <= tol * scale)) {
      if (bad < 5) o << "\n  [" << i << "] got " << got[i] << " expected " << ref[i];
      ++bad;
    }
  if (bad) return ::testing::AssertionFailure() << bad << " of " << ref.numel() << " differ (scale " << scale << ")" << o.str();
  return ::testing::AssertionSuccess();
}

// The accumulated gradient of a leaf (an empty Host, and a failure, when there is none).
Host grad_of(grl_tensor leaf) {
  grl_tensor g = nullptr;
  EXPECT_EQ(grl_tensor_grad(leaf, &g), GRL_OK) << grl_last_error_message();
  if (!g) return Host{};
  Host h = download(g);
  grl_tensor_release(g);
  return h;
}

// dx of softmax: y (g - sum(g y)); of log-softmax: g - exp(y) sum(g), along `axis`.
Host softmax_grad_ref(const Host& y, const Host& g, int axis, bool log) {
  int64_t outer = 1, len = y.shape[static_cast<size_t>(axis)], inner = 1;
  for (int i = 0; i < axis; ++i) outer *= y.shape[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < y.shape.size(); ++i) inner *= y.shape[i];
  Host dx = Host::zeros(y.shape);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      auto at = [&](int64_t k) { return (o * len + k) * inner + in; };
      double s = 0;
      for (int64_t k = 0; k < len; ++k) s += log ? g[at(k)] : g[at(k)] * y[at(k)];
      for (int64_t k = 0; k < len; ++k)
        dx[at(k)] = log ? g[at(k)] - std::exp(y[at(k)]) * s : y[at(k)] * (g[at(k)] - s);
    }
  return dx;
}

// Layer norm / RMS norm gradients in float64: with xhat = (x - mean) rstd and gw = g w,
// dx = rstd (gw - mean(gw) - xhat mean(gw xhat)) (no mean(gw) term and mean 0 for RMS norm),
// dw = sum over rows of g xhat, db = sum over rows of g.
void norm_grad_ref(const Host& x, const Host& g, const Host* w, int64_t n, bool rms, Host& dx, Host& dw, Host& db) {
  dx = Host::zeros(x.shape);
  dw = Host::zeros({n});
  db = Host::zeros({n});
  for (int64_t r = 0; r * n < x.numel(); ++r) {
    const double* v = x.v.data() + r * n;
    const double* gr = g.v.data() + r * n;
    double mean = 0, var = 0;
    if (!rms) {
      for (int64_t i = 0; i < n; ++i) mean += v[i];
      mean /= static_cast<double>(n);
    }
    for (int64_t i = 0; i < n; ++i) var += (v[i] - mean) * (v[i] - mean);
    const double rstd = 1 / std::sqrt(var / static_cast<double>(n) + kEps);
    double s1 = 0, s2 = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double gw = gr[i] * (w ? (*w)[i] : 1.0), xh = (v[i] - mean) * rstd;
      s1 += gw;
      s2 += gw * xh;
      dw[i] += gr[i] * xh;
      db[i] += gr[i];
    }
    s1 /= static_cast<double>(n);
    s2 /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) {
      const double gw = gr[i] * (w ? (*w)[i] : 1.0), xh = (v[i] - mean) * rstd;
      dx[r * n + i] = rstd * (gw - (rms ? 0.0 : s1) - xh * s2);
    }
  }
}

}  // namespace

class ActivationGrad : public DeviceTest {};

TEST_F(ActivationGrad, SoftmaxBackwardKernelsAndDtypes) {
  struct Case {
    Shape shape;
    int32_t axis;
    bool all_dtypes;  // else f32 only: the kernels differ from their neighbours only in size
  };
  // Row kernels: the smallest and the largest register-resident ones (odd lengths take
  // per-element loads, multiples of 4 packed ones), the streamed one (and 16-bit rows of 16384,
  // which stream); the column kernel with 1 to 16 threads per column; an empty tensor. Every
  // kernel compiles once per dtype (about half a second on lavapipe), hence the few shapes.
  const Case cases[] = {{{3, 5}, -1, true},      {{4, 64}, -1, true},    {{1, 16384}, -1, true},
                        {{1, 20001}, 1, false},  {{64, 5}, 0, false},    {{2, 300, 3}, 1, true},
                        {{3, 2, 5, 4}, 2, false}, {{0, 7}, 1, false}};
  for (grl_dtype dt : kRowDtypes)
    for (const auto& c : cases)
      for (bool log : {false, true}) {
        if (dt != GRL_F32 && !c.all_dtypes) continue;
        const int ax = c.axis < 0 ? c.axis + static_cast<int>(c.shape.size()) : c.axis;
        Host x = rounded_random(c.shape, dt, -4, 4), g = rounded_random(c.shape, dt, -1, 1);
        T tx(upload(dev, x, dt)), tg(upload(dev, g, dt)), y;
        ASSERT_GRL_OK(grl_tensor_set_requires_grad(tx, 1));
        ASSERT_GRL_OK((log ? grl_log_softmax : grl_softmax)(tx, c.axis, y.out()));
        ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
        Host yr = softmax_ref(x, ax, log);
        for (auto& v : yr.v) v = round_to(dt, v);
        EXPECT_TRUE(close_scaled(grad_of(tx), softmax_grad_ref(yr, g, ax, log), grad_tol(dt)))
            << (log ? "log_softmax " : "softmax ") << grl_dtype_name(dt) << " " << str(c.shape) << " axis " << c.axis;
      }
}

TEST_F(ActivationGrad, SoftmaxBackwardThroughATransposedView) {
  Host x = rounded_random({6, 9}, GRL_F32, -3, 3), g = rounded_random({9, 6}, GRL_F32, -1, 1);
  T tx(upload(dev, x)), tg(upload(dev, g)), xt, y;
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(tx, 1));
  ASSERT_GRL_OK(grl_transpose(tx, 0, 1, xt.out()));
  ASSERT_GRL_OK(grl_softmax(xt, -1, y.out()));
  ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
  // softmax over the rows of x^T is softmax over the columns of x; g^T is its gradient there.
  Host gt_ = Host::zeros({6, 9});
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 9; ++j) gt_[i * 9 + j] = g[j * 6 + i];
  EXPECT_TRUE(close_scaled(grad_of(tx), softmax_grad_ref(softmax_ref(x, 0, false), gt_, 0, false), 2e-5));
}

TEST_F(ActivationGrad, GatedUnitsBackwardEveryDtype) {
  struct Glu {
    const char* name;
    grl_status (*fn)(grl_tensor, grl_tensor*);
    std::function<double(double)> act, dact;
  };
  const Glu glus[] = {
      {"swiglu", grl_swiglu, [](double a) { return a * sigmoid(a); },
       [](double a) { return sigmoid(a) * (1 + a * (1 - sigmoid(a))); }},
      {"geglu", grl_geglu, gelu,
       [](double a) { return 0.5 * (1 + std::erf(a / std::sqrt(2.0))) + a * std::exp(-0.5 * a * a) / std::sqrt(2 * M_PI); }},
      {"reglu", grl_reglu, [](double a) { return a > 0 ? a : 0.0; }, [](double a) { return a > 0 ? 1.0 : 0.0; }},
  };
  for (grl_dtype dt : kFloats)
    for (const auto& u : glus)
      for (Shape s : {Shape{3, 74}, Shape{2, 5, 600}, Shape{0, 4}}) {
        Shape so = s;
        so.back() /= 2;
        const int64_t h = so.back();
        Host x = rounded_random(s, dt, -3, 3), g = rounded_random(so, dt, -1, 1);
        T tx(upload(dev, x, dt)), tg(upload(dev, g, dt)), y;
        ASSERT_GRL_OK(grl_tensor_set_requires_grad(tx, 1));
        ASSERT_GRL_OK(u.fn(tx, y.out()));
        ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
        Host ref = Host::zeros(s);
        for (int64_t r = 0; r * h < g.numel(); ++r)
          for (int64_t j = 0; j < h; ++j) {
            const double a = x[r * 2 * h + j], b = x[r * 2 * h + h + j], gy = g[r * h + j];
            ref[r * 2 * h + j] = gy * b * u.dact(a);
            ref[r * 2 * h + h + j] = gy * u.act(a);
          }
        EXPECT_TRUE(close_scaled(grad_of(tx), ref, dt == GRL_F32 ? 2e-6 : grad_tol(dt)))
            << u.name << " " << grl_dtype_name(dt) << " " << str(s);
      }
}

TEST_F(ActivationGrad, NormBackwardKernelsAndDtypes) {
  struct Case {
    Shape shape;
    int32_t nd;
    bool all_dtypes;
  };
  // Register-resident kernels, the smallest and the largest (odd lengths, multiples of 4, two
  // normalized axes), where workgroups walk one row or several (16501 rows of 4: chunks of 4 rows
  // and a last one of 1); streamed rows (and 16-bit rows of 16384, which stream), whose weight and bias sums
  // take the column kernel in one chunk and in 3 (40 rows of 20001 in chunks of 14).
  const Case cases[] = {{{3, 7}, 1, true},      {{4, 64}, 1, true},    {{2, 3, 50}, 2, false},
                        {{16501, 4}, 1, false}, {{1, 16384}, 1, true}, {{1, 20001}, 1, false},
                        {{40, 20001}, 1, false}};
  for (grl_dtype dt : kRowDtypes)
    for (const auto& c : cases)
      for (bool rms : {false, true}) {
        if (dt != GRL_F32 && !c.all_dtypes) continue;
        Shape ws(c.shape.end() - c.nd, c.shape.end());
        const int64_t n = numel(ws);
        Host x = rounded_random(c.shape, dt, -2, 3), g = rounded_random(c.shape, dt, -1, 1);
        Host w = rounded_random(ws, dt, 0.5, 1.5), b = rounded_random(ws, dt, -1, 1);
        T tx(upload(dev, x, dt)), tg(upload(dev, g, dt)), tw(upload(dev, w, dt)), tb(upload(dev, b, dt)), y;
        ASSERT_GRL_OK(grl_tensor_set_requires_grad(tx, 1));
        ASSERT_GRL_OK(grl_tensor_set_requires_grad(tw, 1));
        ASSERT_GRL_OK(grl_tensor_set_requires_grad(tb, 1));
        if (rms)
          ASSERT_GRL_OK(grl_rms_norm(tx, c.nd, tw, kEps, y.out()));
        else
          ASSERT_GRL_OK(grl_layer_norm(tx, c.nd, tw, tb, kEps, y.out()));
        ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
        Host dx, dw, db;
        norm_grad_ref(x, g, &w, n, rms, dx, dw, db);
        dw.shape = ws;
        db.shape = ws;
        const double t = grad_tol(dt);
        const std::string what = std::string(rms ? "rms_norm " : "layer_norm ") + grl_dtype_name(dt) + " " + str(c.shape);
        // The forward that saves the statistics still normalizes as without autograd.
        EXPECT_TRUE(close_scaled(download(y), norm_ref(x, n, &w, rms ? nullptr : &b, kEps, rms), t)) << what << " y";
        EXPECT_TRUE(close_scaled(grad_of(tx), dx, t)) << what << " dx";
        EXPECT_TRUE(close_scaled(grad_of(tw), dw, t)) << what << " dweight";
        if (!rms) EXPECT_TRUE(close_scaled(grad_of(tb), db, t)) << what << " dbias";
      }
}

TEST_F(ActivationGrad, NormBackwardOfEmptyInputAndConstantParts) {
  // No rows: dx is empty, the weight and bias gradients are zero.
  Host x = Host::zeros({0, 8}), w = Host::random({8}, rng(), 0.5, 1.5), b = Host::random({8}, rng());
  T tx(upload(dev, x)), tw(upload(dev, w)), tb(upload(dev, b)), y, tg(upload(dev, Host::zeros({0, 8})));
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(tx, 1));
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(tw, 1));
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(tb, 1));
  ASSERT_GRL_OK(grl_layer_norm(tx, 1, tw, tb, kEps, y.out()));
  ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
  EXPECT_EQ(grad_of(tx).shape, (Shape{0, 8}));
  EXPECT_TRUE(close(grad_of(tw), Host::zeros({8}), {0, 0}));
  EXPECT_TRUE(close(grad_of(tb), Host::zeros({8}), {0, 0}));

  // Only the weight requires gradients: x gets none, the weight its column sums.
  Host x2 = Host::random({5, 6}, rng()), g2 = Host::random({5, 6}, rng()), w2 = Host::random({6}, rng(), 0.5, 1.5);
  T tx2(upload(dev, x2)), tw2(upload(dev, w2)), tg2(upload(dev, g2)), y2;
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(tw2, 1));
  ASSERT_GRL_OK(grl_rms_norm(tx2, 1, tw2, kEps, y2.out()));
  ASSERT_GRL_OK(grl_tensor_backward(y2, tg2, 0));
  Host dx, dw, db;
  norm_grad_ref(x2, g2, &w2, 6, true, dx, dw, db);
  grl_tensor none = nullptr;
  ASSERT_GRL_OK(grl_tensor_grad(tx2, &none));
  EXPECT_EQ(none, nullptr);
  EXPECT_TRUE(close_scaled(grad_of(tw2), dw, 2e-5));
}

}  // namespace gt
