// Normalization family: layer norm and RMS norm over the last axes, with and without weight and
// bias, over f32, f16 and bf16, against float64 references.
#include <cmath>

#include "reference.h"
#include "testing.h"

using namespace gt;

class Normalization : public DeviceTest {};

namespace {

const grl_dtype kFloats[] = {GRL_F32, GRL_F16, GRL_BF16};

// f32: rstd through the GPU's inversesqrt (a few ulp) and f32 sums over up to 20000 terms;
// f16/bf16: the output rounding.
Tol norm_tol(grl_dtype dt) { return dt == GRL_F32 ? Tol{2e-5, 2e-5} : tol(dt); }

struct Case {
  Shape shape;
  int32_t nd;
};

// Rows of one element, odd lengths (per-element loads) and multiples of 4 (packed loads); rows
// for each register-resident kernel (up to 512, 1024, 2048, 4096, 8192 elements, and 16384 for
// f32), streamed rows (16384 for f16/bf16, 20000 and 20000 over two axes); several
// normalized_ndim; an empty tensor.
const Case kCases[] = {
    {{1}, 1},         {{3, 1}, 1},      {{3, 1}, 2},        {{2, 3, 257}, 1}, {{2, 3, 257}, 2},
    {{3, 1024}, 1},   {{1031}, 1},      {{2, 3, 257}, 3},   {{2, 4096}, 1},   {{4, 5000}, 1},
    {{2, 16384}, 1},  {{2, 20000}, 1},  {{2, 100, 200}, 2}, {{2, 20003}, 1},  {{0, 8}, 1},
};

Shape last_axes(const Shape& s, int32_t nd) { return Shape(s.end() - nd, s.end()); }

}  // namespace

TEST_F(Normalization, LayerNormAgainstFloat64) {
  for (grl_dtype dt : kFloats)
    for (const auto& c : kCases)
      for (int affine = 0; affine < 3; ++affine) {  // none, weight only, weight and bias
        Shape ws = last_axes(c.shape, c.nd);
        int64_t n = numel(ws);
        Host x = rounded_random(c.shape, dt, -3, 3);
        Host w = rounded_random(ws, dt, 0.5, 1.5), b = rounded_random(ws, dt, -1, 1);
        T tx(upload(dev, x, dt)), tw(upload(dev, w, dt)), tb(upload(dev, b, dt)), out;
        const double eps = 1e-5;
        ASSERT_GRL_OK(grl_layer_norm(tx, c.nd, affine >= 1 ? tw.t : nullptr, affine >= 2 ? tb.t : nullptr, eps,
                                     out.out()));
        Host ref = rounded(norm_ref(x, n, affine >= 1 ? &w : nullptr, affine >= 2 ? &b : nullptr, eps, false), dt);
        EXPECT_TRUE(close(download(out), ref, norm_tol(dt)))
            << grl_dtype_name(dt) << " " << str(c.shape) << " nd " << c.nd << " affine " << affine;
      }
}

TEST_F(Normalization, RmsNormAgainstFloat64) {
  for (grl_dtype dt : kFloats)
    for (const auto& c : kCases)
      for (bool weighted : {false, true}) {
        Shape ws = last_axes(c.shape, c.nd);
        Host x = rounded_random(c.shape, dt, -3, 3);
        Host w = rounded_random(ws, dt, 0.5, 1.5);
        T tx(upload(dev, x, dt)), tw(upload(dev, w, dt)), out;
        const double eps = 1e-6;
        ASSERT_GRL_OK(grl_rms_norm(tx, c.nd, weighted ? tw.t : nullptr, eps, out.out()));
        Host ref = rounded(norm_ref(x, numel(ws), weighted ? &w : nullptr, nullptr, eps, true), dt);
        EXPECT_TRUE(close(download(out), ref, norm_tol(dt)))
            << grl_dtype_name(dt) << " " << str(c.shape) << " nd " << c.nd << " weighted " << weighted;
      }
}

TEST_F(Normalization, LayerNormVarianceDoesNotCancel) {
  // Values 1000 +- 2: E[x^2] - E[x]^2 in f32 would lose the variance (relative error ~1e-1);
  // the kernels centre first (registers) or shift by the row's first element (streaming). The
  // remaining error is the f32 rounding of the mean of values near 1000 (~1e-4 after scaling).
  for (Shape s : {Shape{3, 1031}, Shape{2, 8192}, Shape{2, 20000}}) {
    Host x = rounded_random(s, GRL_F32, 998, 1002);
    T tx(upload(dev, x)), out;
    ASSERT_GRL_OK(grl_layer_norm(tx, 1, nullptr, nullptr, 0.0, out.out()));
    EXPECT_TRUE(close(download(out), rounded(norm_ref(x, s[1], nullptr, nullptr, 0.0, false), GRL_F32), {2e-3, 2e-3}))
        << str(s);
  }
}

TEST_F(Normalization, StridedInputsAndWeights) {
  // x: a transposed view [5, 6] of a [6, 5] upload; weight over both axes also a transposed view.
  Host xt = rounded_random({6, 5}, GRL_F32, -2, 2), wt = rounded_random({6, 5}, GRL_F32, 0.5, 1.5);
  T txt(upload(dev, xt)), twt(upload(dev, wt)), tx, tw, ln, rn;
  ASSERT_GRL_OK(grl_transpose(txt, 0, 1, tx.out()));
  ASSERT_GRL_OK(grl_transpose(twt, 0, 1, tw.out()));
  Host x = Host::zeros({5, 6}), w = Host::zeros({5, 6});
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 6; ++j) x[i * 6 + j] = xt[j * 5 + i], w[i * 6 + j] = wt[j * 5 + i];
  ASSERT_GRL_OK(grl_layer_norm(tx, 2, tw, nullptr, 1e-5, ln.out()));
  EXPECT_TRUE(close(download(ln), rounded(norm_ref(x, 30, &w, nullptr, 1e-5, false), GRL_F32), norm_tol(GRL_F32)));
  ASSERT_GRL_OK(grl_rms_norm(tx, 1, nullptr, 1e-5, rn.out()));
  EXPECT_TRUE(close(download(rn), rounded(norm_ref(x, 6, nullptr, nullptr, 1e-5, true), GRL_F32), norm_tol(GRL_F32)));
  // A contiguous view at an odd element offset: rows of 8 must not take 16-byte packed loads.
  Host y = rounded_random({33}, GRL_F32, -2, 2);
  T ty(upload(dev, y)), sl, rs, out;
  ASSERT_GRL_OK(grl_slice(ty, 0, 1, 33, 1, sl.out()));
  const int64_t shape[] = {4, 8};
  ASSERT_GRL_OK(grl_reshape(sl, shape, 2, rs.out()));
  ASSERT_GRL_OK(grl_layer_norm(rs, 1, nullptr, nullptr, 1e-5, out.out()));
  Host ys = Host::zeros({4, 8});
  for (int i = 0; i < 32; ++i) ys[i] = y[i + 1];
  EXPECT_TRUE(close(download(out), rounded(norm_ref(ys, 8, nullptr, nullptr, 1e-5, false), GRL_F32), norm_tol(GRL_F32)));
}

TEST_F(Normalization, BadInputs) {
  Host x = Host::random({2, 3, 4}, rng()), w12 = Host::random({3, 4}, rng()), w4 = Host::random({4}, rng()),
       w5 = Host::random({5}, rng());
  T tx(upload(dev, x)), ti(upload(dev, x, GRL_I32)), tw12(upload(dev, w12)), tw4(upload(dev, w4)),
      tw5(upload(dev, w5)), tw4h(upload(dev, w4, GRL_F16)), out;
  EXPECT_GRL_ERROR(grl_layer_norm(tx, 1, tw5, nullptr, 1e-5, out.out()), GRL_ERROR_SHAPE, "'weight' has shape [5]");
  EXPECT_GRL_ERROR(grl_layer_norm(tx, 1, tw4, tw5, 1e-5, out.out()), GRL_ERROR_SHAPE, "'bias' has shape [5]");
  EXPECT_GRL_ERROR(grl_layer_norm(tx, 2, tw4, nullptr, 1e-5, out.out()), GRL_ERROR_SHAPE, "expected [3, 4]");
  EXPECT_GRL_ERROR(grl_layer_norm(tx, 1, tw12, nullptr, 1e-5, out.out()), GRL_ERROR_SHAPE, "'weight'");
  EXPECT_GRL_ERROR(grl_rms_norm(tx, 1, tw5, 1e-5, out.out()), GRL_ERROR_SHAPE, "'weight'");
  EXPECT_GRL_ERROR(grl_layer_norm(tx, 1, tw4h, nullptr, 1e-5, out.out()), GRL_ERROR_DTYPE, "'weight' has dtype f16");
  EXPECT_GRL_ERROR(grl_rms_norm(tx, 1, tw4h, 1e-5, out.out()), GRL_ERROR_DTYPE, "'weight' has dtype f16");
  for (int32_t nd : {0, 4, -1}) {
    EXPECT_GRL_ERROR(grl_layer_norm(tx, nd, nullptr, nullptr, 1e-5, out.out()), GRL_ERROR_INVALID_ARGUMENT,
                     "'normalized_ndim'");
    EXPECT_GRL_ERROR(grl_rms_norm(tx, nd, nullptr, 1e-5, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'normalized_ndim'");
  }
  EXPECT_GRL_ERROR(grl_layer_norm(tx, 1, nullptr, nullptr, -1.0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'eps'");
  EXPECT_GRL_ERROR(grl_rms_norm(tx, 1, nullptr, NAN, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'eps'");
  EXPECT_GRL_ERROR(grl_layer_norm(ti, 1, nullptr, nullptr, 1e-5, out.out()), GRL_ERROR_DTYPE, "'x' has dtype i32");
  EXPECT_GRL_ERROR(grl_rms_norm(ti, 1, nullptr, 1e-5, out.out()), GRL_ERROR_DTYPE, "'x' has dtype i32");
  EXPECT_GRL_ERROR(grl_layer_norm(nullptr, 1, nullptr, nullptr, 1e-5, out.out()), GRL_ERROR_NULL_ARGUMENT, "'x'");
  EXPECT_GRL_ERROR(grl_rms_norm(tx, 1, nullptr, 1e-5, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  // weight and bias on another device than x.
  grl_device_options o = GRL_DEVICE_OPTIONS_INIT;
  o.validation = 1;
  grl_device d2 = nullptr;
  ASSERT_GRL_OK(grl_device_create(&o, &d2));
  {
    T other(upload(d2, w4));
    EXPECT_GRL_ERROR(grl_layer_norm(tx, 1, other, nullptr, 1e-5, out.out()), GRL_ERROR_DEVICE_MISMATCH, "'weight'");
    EXPECT_GRL_ERROR(grl_layer_norm(tx, 1, nullptr, other, 1e-5, out.out()), GRL_ERROR_DEVICE_MISMATCH, "'bias'");
    EXPECT_GRL_ERROR(grl_rms_norm(tx, 1, other, 1e-5, out.out()), GRL_ERROR_DEVICE_MISMATCH, "'weight'");
  }
  grl_device_release(d2);
  EXPECT_EQ(out.t, nullptr);
}
