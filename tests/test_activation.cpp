// Activation family: pointwise activations, gated linear units and softmax / log-softmax along any
// axis, over f32, f16 and bf16, against float64 references.
#include <cmath>
#include <functional>

#include "reference.h"
#include "testing.h"

using namespace gt;

class Activation : public DeviceTest {};

namespace {

const grl_dtype kFloats[] = {GRL_F32, GRL_F16, GRL_BF16};

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double softplus(double x, double beta, double threshold) {
  return beta * x > threshold ? x : std::log1p(std::exp(beta * x)) / beta;
}
double gelu(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double gelu_tanh(double x) {
  return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}

// A transposed (non-contiguous) device view of a [cols, rows] upload of `h` transposed, so that
// the view has h's shape [rows, cols] and values.
grl_tensor transposed_view(grl_device dev, const Host& h, grl_dtype dt, T& storage) {
  const int64_t r = h.shape[0], c = h.shape[1];
  Host t = Host::zeros({c, r});
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) t[j * r + i] = h[i * c + j];
  storage = T(upload(dev, t, dt));
  grl_tensor v = nullptr;
  EXPECT_EQ(grl_transpose(storage, 0, 1, &v), GRL_OK) << grl_last_error_message();
  EXPECT_EQ(grl_tensor_is_contiguous(v), 0u);
  return v;
}

struct Pointwise {
  const char* name;
  std::function<grl_status(grl_tensor, grl_tensor*)> fn;
  std::function<double(double)> ref;
};

const std::vector<Pointwise>& pointwise_cases() {
  static const std::vector<Pointwise> cases = {
      {"relu", grl_relu, [](double x) { return x > 0 ? x : 0.0; }},
      {"leaky_relu(0.1)", [](grl_tensor x, grl_tensor* o) { return grl_leaky_relu(x, 0.1, o); },
       [](double x) { return x >= 0 ? x : 0.1 * x; }},
      {"elu(1)", [](grl_tensor x, grl_tensor* o) { return grl_elu(x, 1.0, o); },
       [](double x) { return x > 0 ? x : std::expm1(x); }},
      {"elu(0.5)", [](grl_tensor x, grl_tensor* o) { return grl_elu(x, 0.5, o); },
       [](double x) { return x > 0 ? x : 0.5 * std::expm1(x); }},
      {"gelu", [](grl_tensor x, grl_tensor* o) { return grl_gelu(x, GRL_GELU_EXACT, o); }, gelu},
      {"gelu_tanh", [](grl_tensor x, grl_tensor* o) { return grl_gelu(x, GRL_GELU_TANH, o); }, gelu_tanh},
      {"silu", grl_silu, [](double x) { return x * sigmoid(x); }},
      {"softplus(1,20)", [](grl_tensor x, grl_tensor* o) { return grl_softplus(x, 1.0, 20.0, o); },
       [](double x) { return softplus(x, 1.0, 20.0); }},
      // beta 2, threshold 5: the linear branch starts at x = 2.5, inside the sampled range.
      {"softplus(2,5)", [](grl_tensor x, grl_tensor* o) { return grl_softplus(x, 2.0, 5.0, o); },
       [](double x) { return softplus(x, 2.0, 5.0); }},
      {"mish", grl_mish, [](double x) { return x * std::tanh(softplus(x, 1.0, 20.0)); }},
      {"hardswish", grl_hardswish, [](double x) { return x * std::min(std::max(x + 3, 0.0), 6.0) / 6; }},
      {"hardsigmoid", grl_hardsigmoid, [](double x) { return std::min(std::max(x / 6 + 0.5, 0.0), 1.0); }},
      {"gcu", grl_gcu, [](double x) { return x * std::cos(x); }},
      // RoSwish as the original grilly defines it (activation-roswish.glsl, nn.RoSwish):
      // (x + alpha) sigmoid(beta x) - alpha / 2, defaults alpha = beta = 1.
      {"roswish(1,1)", [](grl_tensor x, grl_tensor* o) { return grl_roswish(x, 1.0, 1.0, o); },
       [](double x) { return (x + 1.0) * sigmoid(x) - 0.5; }},
      {"roswish(0.817,3)", [](grl_tensor x, grl_tensor* o) { return grl_roswish(x, 0.817, 3.0, o); },
       [](double x) { return (x + 0.817) * sigmoid(3.0 * x) - 0.5 * 0.817; }},
  };
  return cases;
}

// Tolerances of pointwise activations: f32 allows for the GPU's exp/cos/tanh (a few ulp) and the
// erf approximation of exact gelu; f16/bf16 are dominated by the output rounding.
Tol pointwise_tol(grl_dtype dt) { return dt == GRL_F32 ? Tol{1e-5, 2e-6} : tol(dt); }

// f32: exp and the f32 sums over up to 20000 terms; log-softmax of +-80 inputs reaches -160, where
// one f32 ulp is 1.5e-5 (covered by rtol). f16/bf16: the output rounding.
Tol softmax_tol(grl_dtype dt) { return dt == GRL_F32 ? Tol{1e-5, 1e-6} : tol(dt); }

}  // namespace

TEST_F(Activation, PointwiseAgainstFloat64) {
  for (const auto& c : pointwise_cases())
    for (grl_dtype dt : kFloats)
      for (Shape s : {Shape{1}, Shape{1031}, Shape{3, 1}, Shape{2, 3, 257}, Shape{0, 4}}) {
        Host x = rounded_random(s, dt, -6, 6);
        T tx(upload(dev, x, dt)), out;
        ASSERT_GRL_OK(c.fn(tx, out.out()));
        EXPECT_EQ(grl_tensor_dtype(out), dt);
        Host ref = x;
        for (auto& v : ref.v) v = round_to(dt, c.ref(v));
        EXPECT_TRUE(close(download(out), ref, pointwise_tol(dt))) << c.name << " " << grl_dtype_name(dt) << " "
                                                                  << str(s);
      }
}

TEST_F(Activation, PointwiseLargeMagnitudesAndStridedInput) {
  // +-80: exp overflows f32 beyond 88, so the formulas must saturate instead of producing NaN.
  for (const auto& c : pointwise_cases()) {
    Host x = Host::zeros({6});
    x.v = {-80, -40, -20.5, 20.5, 40, 80};
    T tx(upload(dev, x)), out;
    ASSERT_GRL_OK(c.fn(tx, out.out()));
    Host ref = x;
    for (auto& v : ref.v) v = round_to(GRL_F32, c.ref(v));
    EXPECT_TRUE(close(download(out), ref, {1e-5, 1e-5})) << c.name;
  }
  // A transposed view is read through its strides.
  for (const auto& c : pointwise_cases()) {
    Host x = rounded_random({5, 7}, GRL_F32, -4, 4);
    T storage, out;
    T view(transposed_view(dev, x, GRL_F32, storage));
    ASSERT_GRL_OK(c.fn(view, out.out()));
    Host ref = x;
    for (auto& v : ref.v) v = round_to(GRL_F32, c.ref(v));
    EXPECT_TRUE(close(download(out), ref, pointwise_tol(GRL_F32))) << c.name;
  }
}

TEST_F(Activation, PointwiseBadInputs) {
  Host x = Host::random({2, 3}, rng());
  T tf(upload(dev, x)), ti(upload(dev, x, GRL_I32)), out;
  for (const auto& c : pointwise_cases()) {
    EXPECT_GRL_ERROR(c.fn(ti, out.out()), GRL_ERROR_DTYPE, "'x' has dtype i32");
    EXPECT_GRL_ERROR(c.fn(nullptr, out.out()), GRL_ERROR_NULL_ARGUMENT, "'x'");
    EXPECT_GRL_ERROR(c.fn(tf, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  }
  EXPECT_GRL_ERROR(grl_gelu(tf, static_cast<grl_gelu_approximation>(2), out.out()), GRL_ERROR_INVALID_ARGUMENT,
                   "'approximate' = 2");
  EXPECT_GRL_ERROR(grl_softplus(tf, 0.0, 20.0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'beta'");
  EXPECT_GRL_ERROR(grl_softplus(tf, 1.0, NAN, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'threshold'");
  EXPECT_GRL_ERROR(grl_leaky_relu(tf, NAN, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'negative_slope'");
  EXPECT_GRL_ERROR(grl_elu(tf, INFINITY, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'alpha'");
  EXPECT_GRL_ERROR(grl_roswish(tf, 1.0, NAN, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'beta'");
  EXPECT_EQ(out.t, nullptr);
}

TEST_F(Activation, GatedUnitsAgainstFloat64) {
  struct G {
    const char* name;
    grl_status (*fn)(grl_tensor, grl_tensor*);
    double (*act)(double);
  };
  const G cases[] = {
      {"swiglu", grl_swiglu, [](double a) { return a * sigmoid(a); }},
      {"geglu", grl_geglu, gelu},
      {"reglu", grl_reglu, [](double a) { return a > 0 ? a : 0.0; }},
  };
  for (const auto& c : cases)
    for (grl_dtype dt : kFloats)
      for (Shape s : {Shape{2}, Shape{3, 8}, Shape{2, 3, 514}, Shape{1, 2062}, Shape{4, 0}, Shape{0, 6}}) {
        Host x = rounded_random(s, dt, -5, 5);
        T tx(upload(dev, x, dt)), out;
        ASSERT_GRL_OK(c.fn(tx, out.out()));
        Shape so = s;
        const int64_t h = so.back() / 2;
        so.back() = h;
        Host ref = Host::zeros(so);
        for (int64_t i = 0; i < ref.numel(); ++i) {
          const int64_t r = i / h, j = i % h;
          ref[i] = round_to(dt, c.act(x[r * 2 * h + j]) * x[r * 2 * h + h + j]);
        }
        EXPECT_TRUE(close(download(out), ref, pointwise_tol(dt))) << c.name << " " << grl_dtype_name(dt) << " "
                                                                  << str(s);
      }
  // A transposed view: [4, 6] from a [6, 4] upload, split into [4, 3] halves.
  Host x = rounded_random({4, 6}, GRL_F32, -3, 3);
  T storage, out;
  T view(transposed_view(dev, x, GRL_F32, storage));
  ASSERT_GRL_OK(grl_swiglu(view, out.out()));
  Host ref = Host::zeros({4, 3});
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 3; ++j) {
      const double a = x[r * 6 + j], b = x[r * 6 + 3 + j];
      ref[r * 3 + j] = round_to(GRL_F32, a * sigmoid(a) * b);
    }
  EXPECT_TRUE(close(download(out), ref, pointwise_tol(GRL_F32)));
}

TEST_F(Activation, GatedUnitsBadInputs) {
  Host odd = Host::random({2, 5}, rng()), even = Host::random({2, 4}, rng()), one = Host::random({}, rng());
  T to(upload(dev, odd)), ti(upload(dev, even, GRL_I32)), ts(upload(dev, one)), out;
  for (auto fn : {grl_swiglu, grl_geglu, grl_reglu}) {
    EXPECT_GRL_ERROR(fn(to, out.out()), GRL_ERROR_SHAPE, "[2, 5]");
    EXPECT_GRL_ERROR(fn(ts, out.out()), GRL_ERROR_SHAPE, "even size");
    EXPECT_GRL_ERROR(fn(ti, out.out()), GRL_ERROR_DTYPE, "'x' has dtype i32");
    EXPECT_GRL_ERROR(fn(nullptr, out.out()), GRL_ERROR_NULL_ARGUMENT, "'x'");
  }
  EXPECT_EQ(out.t, nullptr);
}

TEST_F(Activation, SoftmaxAnyAxisAgainstFloat64) {
  struct C {
    Shape shape;
    int32_t axis;
  };
  // Rows of one element, odd lengths (per-element loads) and multiples of 4 (packed loads); rows
  // for each register-resident kernel (up to 512, 1024, 2048, 4096, 8192 elements, and 16384 for
  // f32) and streamed rows (16384 for f16/bf16, 20000+); axis 0, a middle axis and negative axes
  // (column kernel, columns split over 1 to 32 threads: lengths 2 to 1000); empty and 0-d tensors.
  const C cases[] = {
      {{1}, 0},         {{3, 1}, -1},      {{3, 1}, 0},      {{2, 3, 257}, 2}, {{3, 1024}, 1},
      {{1031}, -1},     {{2, 2000}, 1},    {{2, 4096}, -1},  {{4, 5000}, -1},  {{2, 16384}, 1},
      {{2, 20000}, 1},  {{2, 20003}, -1},  {{2, 3, 257}, 1}, {{2, 3, 257}, 0}, {{2, 3, 257}, -2},
      {{1000, 3}, 0},   {{3, 700, 2}, -2}, {{5, 0}, 1},      {{0, 5}, 1},      {{}, 0},
  };
  for (bool log : {false, true})
    for (grl_dtype dt : kFloats)
      for (const auto& c : cases) {
        Host x = rounded_random(c.shape, dt, -4, 4);
        T tx(upload(dev, x, dt)), out;
        ASSERT_GRL_OK((log ? grl_log_softmax : grl_softmax)(tx, c.axis, out.out()));
        const int nd = static_cast<int>(c.shape.size()), ax = nd == 0 ? 0 : (c.axis + nd) % nd;
        Host ref = c.shape.empty() ? Host{{}, {log ? 0.0 : 1.0}} : rounded(softmax_ref(x, ax, log), dt);
        EXPECT_TRUE(close(download(out), ref, softmax_tol(dt)))
            << (log ? "log_softmax " : "softmax ") << grl_dtype_name(dt) << " " << str(c.shape) << " axis " << c.axis;
      }
}

TEST_F(Activation, SoftmaxIsStableForLargeMagnitudes) {
  // Inputs up to +-80 overflow exp in f32 (e^88 is the limit) unless the row maximum is
  // subtracted first; every kernel (registers, wide, streaming, columns) is exercised.
  const std::pair<Shape, int32_t> cases[] = {{{4, 1031}, -1}, {{2, 6000}, 1}, {{2, 20000}, 1}, {{40, 3, 5}, 0}};
  for (bool log : {false, true})
    for (grl_dtype dt : kFloats)
      for (const auto& [shape, axis] : cases) {
        Host x = rounded_random(shape, dt, -80, 80);
        T tx(upload(dev, x, dt)), out;
        ASSERT_GRL_OK((log ? grl_log_softmax : grl_softmax)(tx, axis, out.out()));
        Host got = download(out);
        for (double v : got.v) ASSERT_TRUE(std::isfinite(v)) << str(shape);
        const int ax = (axis + static_cast<int>(shape.size())) % static_cast<int>(shape.size());
        EXPECT_TRUE(close(got, rounded(softmax_ref(x, ax, log), dt), softmax_tol(dt)))
            << (log ? "log_softmax " : "softmax ") << grl_dtype_name(dt) << " " << str(shape);
      }
}

TEST_F(Activation, SoftmaxOfViews) {
  // A transposed (non-contiguous) input, along each axis.
  Host x = rounded_random({257, 3}, GRL_F32, -3, 3);
  T storage;
  T view(transposed_view(dev, x, GRL_F32, storage));
  for (int32_t axis : {-1, 0}) {
    T out;
    ASSERT_GRL_OK(grl_softmax(view, axis, out.out()));
    EXPECT_TRUE(close(download(out), rounded(softmax_ref(x, axis < 0 ? 1 : 0, false), GRL_F32), softmax_tol(GRL_F32)))
        << "axis " << axis;
  }
  // A contiguous view at an element offset that breaks 16-byte alignment: the kernel must fall
  // back to per-element access (rows of 8 would otherwise take packed loads).
  Host y = rounded_random({33}, GRL_F32, -3, 3);
  T ty(upload(dev, y)), sl, rs, out;
  ASSERT_GRL_OK(grl_slice(ty, 0, 1, 33, 1, sl.out()));
  const int64_t shape[] = {4, 8};
  ASSERT_GRL_OK(grl_reshape(sl, shape, 2, rs.out()));
  ASSERT_GRL_OK(grl_log_softmax(rs, -1, out.out()));
  Host ys = Host::zeros({4, 8});
  for (int i = 0; i < 32; ++i) ys[i] = y[i + 1];
  EXPECT_TRUE(close(download(out), rounded(softmax_ref(ys, 1, true), GRL_F32), softmax_tol(GRL_F32)));
}

TEST_F(Activation, SoftmaxManyRowsUseTheWholeGrid) {
  // More rows than one grid dimension holds (65535): rows are indexed through both dimensions.
  Host x = rounded_random({65600, 2}, GRL_F32, -3, 3);
  T tx(upload(dev, x)), out;
  ASSERT_GRL_OK(grl_softmax(tx, -1, out.out()));
  EXPECT_TRUE(close(download(out), rounded(softmax_ref(x, 1, false), GRL_F32), softmax_tol(GRL_F32)));
}

TEST_F(Activation, SoftmaxBadInputs) {
  Host x = Host::random({2, 3}, rng());
  T tf(upload(dev, x)), ti(upload(dev, x, GRL_I32)), out;
  for (auto fn : {grl_softmax, grl_log_softmax}) {
    EXPECT_GRL_ERROR(fn(tf, 2, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'axis' = 2 is out of range");
    EXPECT_GRL_ERROR(fn(tf, -3, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'axis' = -3 is out of range");
    EXPECT_GRL_ERROR(fn(ti, 1, out.out()), GRL_ERROR_DTYPE, "'x' has dtype i32");
    EXPECT_GRL_ERROR(fn(nullptr, 0, out.out()), GRL_ERROR_NULL_ARGUMENT, "'x'");
    EXPECT_GRL_ERROR(fn(tf, 0, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  }
  EXPECT_EQ(out.t, nullptr);
}
