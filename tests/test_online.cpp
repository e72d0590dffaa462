// Online family: Fisher update, EWC penalty, natural-gradient step, NLMS filters and ensembles,
// batch/running whitening and ZCA, against float64 references written here, plus bad inputs.
#include <grilly.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "testing.h"

using namespace gt;

class Online : public DeviceTest {};

namespace {

const grl_dtype kFloats[] = {GRL_F32, GRL_F16, GRL_BF16};

Host rnd(Shape s, grl_dtype dt, double lo = -2, double hi = 2) {
  Host h = Host::random(std::move(s), rng(), lo, hi);
  for (auto& v : h.v) v = round_to(dt, v);
  return h;
}

Host scalar_host(double v) {
  Host h = Host::zeros({});
  h[0] = v;
  return h;
}

grl_tensor strided_view(grl_tensor t) {  // a transposed (non-contiguous) view of a 2-d tensor
  grl_tensor v = nullptr;
  EXPECT_EQ(grl_transpose(t, 0, 1, &v), GRL_OK);
  return v;
}

// Sequential NLMS over E experts in float64 (the documented recipe).
struct NlmsRef {
  int64_t E, D;
  std::vector<double> w, b, mu, msq;
  std::vector<double> run(const Host& x, const Host& t, int64_t B, const grl_nlms_options& o, bool has_b) {
    std::vector<double> errs(static_cast<size_t>(B * E));
    for (int64_t e = 0; e < E; ++e) {
      for (int64_t n = 0; n < B; ++n) {
        double dot = 0, sq = 0;
        for (int64_t j = 0; j < D; ++j) {
          dot += w[static_cast<size_t>(e * D + j)] * x[n * D + j];
          sq += x[n * D + j] * x[n * D + j];
        }
        double y = dot + (has_b ? b[static_cast<size_t>(e)] : 0.0);
        double err = t[n] - y;
        double m = mu[static_cast<size_t>(e)];
        for (int64_t j = 0; j < D; ++j) w[static_cast<size_t>(e * D + j)] += m * err * x[n * D + j] / (sq + o.eps);
        if (has_b && o.update_bias) b[static_cast<size_t>(e)] += m * err;
        msq[static_cast<size_t>(e)] = o.rmse_decay * msq[static_cast<size_t>(e)] + (1 - o.rmse_decay) * err * err;
        mu[static_cast<size_t>(e)] = std::max(m * o.mu_decay, o.mu_min);
        errs[static_cast<size_t>(n * E + e)] = err;
      }
    }
    return errs;
  }
};

Host vec(const std::vector<double>& v, Shape s) {
  Host h = Host::zeros(std::move(s));
  h.v = v;
  return h;
}

// Symmetric eigendecomposition by cyclic Jacobi rotations (float64): a = U diag(l) U^T.
void jacobi_eig(std::vector<double> a, int64_t n, std::vector<double>& l, std::vector<double>& u) {
  u.assign(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) u[static_cast<size_t>(i * n + i)] = 1;
  auto A = [&](int64_t i, int64_t j) -> double& { return a[static_cast<size_t>(i * n + j)]; };
  auto U = [&](int64_t i, int64_t j) -> double& { return u[static_cast<size_t>(i * n + j)]; };
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j) off += A(i, j) * A(i, j);
    if (off < 1e-30) break;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        if (std::abs(A(p, q)) < 1e-300) continue;
        double theta = (A(q, q) - A(p, p)) / (2 * A(p, q));
        double t = (theta >= 0 ? 1 : -1) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < n; ++k) {
          double akp = A(k, p), akq = A(k, q);
          A(k, p) = c * akp - s * akq;
          A(k, q) = s * akp + c * akq;
        }
        for (int64_t k = 0; k < n; ++k) {
          double apk = A(p, k), aqk = A(q, k);
          A(p, k) = c * apk - s * aqk;
          A(q, k) = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < n; ++k) {
          double ukp = U(k, p), ukq = U(k, q);
          U(k, p) = c * ukp - s * ukq;
          U(k, q) = s * ukp + c * ukq;
        }
      }
  }
  l.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) l[static_cast<size_t>(i)] = A(i, i);
}

// (C + eps I)^(-1/2) from the eigendecomposition.
Host inv_sqrt_ref(const Host& c, double eps) {
  int64_t n = c.shape[0];
  std::vector<double> l, u;
  jacobi_eig(c.v, n, l, u);
  Host w = Host::zeros({n, n});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t k = 0; k < n; ++k)
        s += u[static_cast<size_t>(i * n + k)] * u[static_cast<size_t>(j * n + k)] / std::sqrt(l[static_cast<size_t>(k)] + eps);
      w[i * n + j] = s;
    }
  return w;
}

// Column means and the population covariance of [N, D] data.
void cov_ref(const Host& x, Host& mean, Host& cov) {
  int64_t N = x.shape[0], D = x.shape[1];
  mean = Host::zeros({D});
  cov = Host::zeros({D, D});
  for (int64_t r = 0; r < N; ++r)
    for (int64_t j = 0; j < D; ++j) mean[j] += x[r * D + j] / static_cast<double>(N);
  for (int64_t r = 0; r < N; ++r)
    for (int64_t i = 0; i < D; ++i)
      for (int64_t j = 0; j < D; ++j)
        cov[i * D + j] += (x[r * D + i] - mean[i]) * (x[r * D + j] - mean[j]) / static_cast<double>(N);
}

// Correlated data: z A + offset, with A chosen so the covariance is well conditioned.
Host correlated(int64_t N, int64_t D) {
  Host a = Host::random({D, D}, rng(), -0.5, 0.5);
  for (int64_t i = 0; i < D; ++i) a[i * D + i] += 1.5;
  Host z = Host::random({N, D}, rng(), -1.7, 1.7);
  Host x = Host::zeros({N, D});
  for (int64_t r = 0; r < N; ++r)
    for (int64_t j = 0; j < D; ++j) {
      double s = 3.0 - 0.5 * static_cast<double>(j);
      for (int64_t k = 0; k < D; ++k) s += z[r * D + k] * a[k * D + j];
      x[r * D + j] = static_cast<float>(s);
    }
  return x;
}

double max_abs(const Host& h) {
  double m = 0;
  for (double v : h.v) m = std::max(m, std::abs(v));
  return m;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Fisher information, EWC, natural gradient

TEST_F(Online, FisherUpdateBothModesAgainstFloat64) {
  for (grl_dtype dt : kFloats) {
    for (const Shape& s : {Shape{1}, Shape{257}, Shape{3, 5}, Shape{2, 3, 4}, Shape{0, 3}, Shape{1028}}) {
      for (grl_fisher_mode mode : {GRL_FISHER_EMA, GRL_FISHER_ACCUMULATE}) {
        Host f = rnd(s, dt, 0, 2), g = rnd(s, dt);
        T tf(upload(dev, f, dt)), tg(upload(dev, g, dt));
        const double decay = 0.9, scale = 0.25;
        ASSERT_GRL_OK(grl_fisher_info_update_(tf, tg, mode, decay, scale));
        Host ref = f;
        for (int64_t i = 0; i < ref.numel(); ++i)
          ref[i] = round_to(dt, mode == GRL_FISHER_EMA ? decay * f[i] + (1 - decay) * g[i] * g[i] : f[i] + scale * g[i] * g[i]);
        EXPECT_TRUE(close(download(tf), ref, tol(dt))) << grl_dtype_name(dt) << " " << str(s) << " mode " << mode;
      }
    }
  }
  // A strided gradient is read through its strides.
  Host f = rnd({4, 3}, GRL_F32, 0, 1), g = rnd({3, 4}, GRL_F32);
  T tf(upload(dev, f)), tg(upload(dev, g)), gv(strided_view(tg));
  ASSERT_GRL_OK(grl_fisher_info_update_(tf, gv, GRL_FISHER_ACCUMULATE, 0.0, 1.0));
  Host ref = f;
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 3; ++j) ref[i * 3 + j] += g[j * 4 + i] * g[j * 4 + i];
  EXPECT_TRUE(close(download(tf), ref, tol(GRL_F32)));
}

TEST_F(Online, EwcPenaltyIsDeterministicAndMatchesFloat64) {
  for (grl_dtype dt : kFloats) {
    for (const Shape& s : {Shape{1}, Shape{1000}, Shape{3, 7}, Shape{300001}}) {
      Host th = rnd(s, dt), st = rnd(s, dt), f = rnd(s, dt, 0, 1);
      T tt(upload(dev, th, dt)), ts(upload(dev, st, dt)), tf(upload(dev, f, dt)), out, again;
      const double lambda = 3.5;
      ASSERT_GRL_OK(grl_ewc_penalty(tt, ts, tf, lambda, out.out()));
      ASSERT_GRL_OK(grl_ewc_penalty(tt, ts, tf, lambda, again.out()));
      EXPECT_EQ(grl_tensor_ndim(out), 0);
      EXPECT_EQ(grl_tensor_dtype(out), dt);
      double sum = 0;
      for (int64_t i = 0; i < th.numel(); ++i) sum += f[i] * (th[i] - st[i]) * (th[i] - st[i]);
      Host ref = scalar_host(round_to(dt, 0.5 * lambda * sum));
      Tol t = tol(dt);
      if (dt == GRL_F32) t = {2e-5, 1e-6};  // f32 partial sums over up to 3e5 terms
      Host a = download(out), b = download(again);
      EXPECT_TRUE(close(a, ref, t)) << grl_dtype_name(dt) << " " << str(s);
      EXPECT_EQ(a[0], b[0]) << "two runs differ: " << grl_dtype_name(dt) << " " << str(s);
    }
  }
  // Empty inputs give 0; strided inputs are read through their strides.
  T e(upload(dev, Host::zeros({0}))), out;
  ASSERT_GRL_OK(grl_ewc_penalty(e, e, e, 1.0, out.out()));
  EXPECT_EQ(download(out)[0], 0.0);
  Host th = rnd({3, 4}, GRL_F32), st = rnd({4, 3}, GRL_F32), f = rnd({4, 3}, GRL_F32, 0, 1);
  T tt(upload(dev, th)), tv(strided_view(tt)), ts(upload(dev, st)), tf(upload(dev, f));
  ASSERT_GRL_OK(grl_ewc_penalty(tv, ts, tf, 2.0, out.out()));
  double sum = 0;
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      double d = th[j * 4 + i] - st[i * 3 + j];
      sum += f[i * 3 + j] * d * d;
    }
  EXPECT_TRUE(close(download(out), scalar_host(sum), {1e-5, 1e-6}));
}

TEST_F(Online, EwcPenaltyGradientFlowsToTheta) {
  Host th = rnd({50}, GRL_F32), st = rnd({50}, GRL_F32), f = rnd({50}, GRL_F32, 0, 1);
  T tt(upload(dev, th)), ts(upload(dev, st)), tf(upload(dev, f)), out, g;
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(tt, 1));
  ASSERT_GRL_OK(grl_ewc_penalty(tt, ts, tf, 0.8, out.out()));
  EXPECT_STREQ(grl_tensor_grad_fn_name(out), "ewc_penalty");
  ASSERT_GRL_OK(grl_tensor_backward(out, nullptr, 0));
  ASSERT_GRL_OK(grl_tensor_grad(tt, g.out()));
  ASSERT_NE(g.t, nullptr);
  Host ref = th;
  for (int64_t i = 0; i < 50; ++i) ref[i] = 0.8 * f[i] * (th[i] - st[i]);
  EXPECT_TRUE(close(download(g), ref, tol(GRL_F32)));
}

TEST_F(Online, NaturalGradientStepAgainstFloat64) {
  for (grl_dtype dt : kFloats) {
    for (const Shape& s : {Shape{1}, Shape{257}, Shape{3, 5}, Shape{0}, Shape{4, 6}, Shape{1028}}) {
      Host th = rnd(s, dt), g = rnd(s, dt), f = rnd(s, dt, 0.1, 2);
      T tt(upload(dev, th, dt)), tg(upload(dev, g, dt)), tf(upload(dev, f, dt));
      const double lr = 0.05, eps = 1e-3;
      ASSERT_GRL_OK(grl_natural_gradient_step_(tt, tg, tf, lr, eps));
      Host ref = th;
      for (int64_t i = 0; i < ref.numel(); ++i) ref[i] = round_to(dt, th[i] - lr * g[i] / (f[i] + eps));
      EXPECT_TRUE(close(download(tt), ref, tol(dt))) << grl_dtype_name(dt) << " " << str(s);
    }
  }
}

TEST_F(Online, FisherAndNaturalGradientReplayInACapturedGraph) {
  const int64_t n = 37;
  Host th = rnd({n}, GRL_F32), g = rnd({n}, GRL_F32), f = rnd({n}, GRL_F32, 0, 1);
  T tt(upload(dev, th)), tg(upload(dev, g)), tf(upload(dev, f)), pen;
  ASSERT_GRL_OK(grl_graph_begin_capture(dev));
  ASSERT_GRL_OK(grl_fisher_info_update_(tf, tg, GRL_FISHER_EMA, 0.8, 0.0));
  ASSERT_GRL_OK(grl_natural_gradient_step_(tt, tg, tf, 0.1, 1e-3));
  ASSERT_GRL_OK(grl_ewc_penalty(tt, tg, tf, 2.0, pen.out()));
  grl_graph graph = nullptr;
  ASSERT_GRL_OK(grl_graph_end_capture(dev, &graph));
  for (int rep = 0; rep < 3; ++rep) {
    ASSERT_GRL_OK(grl_graph_replay(graph));
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      f[i] = 0.8 * f[i] + 0.2 * g[i] * g[i];
      th[i] -= 0.1 * g[i] / (f[i] + 1e-3);
      sum += f[i] * (th[i] - g[i]) * (th[i] - g[i]);
    }
    EXPECT_TRUE(close(download(tf), f, {2e-5, 1e-6})) << "replay " << rep;
    EXPECT_TRUE(close(download(tt), th, {2e-5, 1e-5})) << "replay " << rep;
    EXPECT_TRUE(close(download(pen), scalar_host(sum), {2e-5, 1e-5})) << "replay " << rep;
  }
  grl_graph_release(graph);
}

TEST_F(Online, FisherEwcNaturalGradientBadInputs) {
  T a(upload(dev, rnd({4, 3}, GRL_F32))), b(upload(dev, rnd({4, 3}, GRL_F32))), c(upload(dev, rnd({3, 4}, GRL_F32)));
  T h(upload(dev, rnd({4, 3}, GRL_F16), GRL_F16)), i(upload(dev, rnd({4, 3}, GRL_I32), GRL_I32));
  T view(strided_view(c)), out;
  EXPECT_GRL_ERROR(grl_fisher_info_update_(nullptr, a, GRL_FISHER_EMA, 0.9, 1), GRL_ERROR_NULL_ARGUMENT, "'fisher'");
  EXPECT_GRL_ERROR(grl_fisher_info_update_(a, nullptr, GRL_FISHER_EMA, 0.9, 1), GRL_ERROR_NULL_ARGUMENT, "'grad'");
  EXPECT_GRL_ERROR(grl_fisher_info_update_(a, c, GRL_FISHER_EMA, 0.9, 1), GRL_ERROR_SHAPE, "'grad' has shape [3, 4]");
  EXPECT_GRL_ERROR(grl_fisher_info_update_(a, h, GRL_FISHER_EMA, 0.9, 1), GRL_ERROR_DTYPE, "'grad' has dtype f16");
  EXPECT_GRL_ERROR(grl_fisher_info_update_(i, i, GRL_FISHER_EMA, 0.9, 1), GRL_ERROR_DTYPE, "i32");
  EXPECT_GRL_ERROR(grl_fisher_info_update_(view, a, GRL_FISHER_EMA, 0.9, 1), GRL_ERROR_INVALID_ARGUMENT, "contiguous");
  EXPECT_GRL_ERROR(grl_fisher_info_update_(a, b, GRL_FISHER_EMA, 1.5, 1), GRL_ERROR_INVALID_ARGUMENT, "'decay'");
  EXPECT_GRL_ERROR(grl_fisher_info_update_(a, b, GRL_FISHER_ACCUMULATE, 0.9, -1), GRL_ERROR_INVALID_ARGUMENT, "'scale'");
  EXPECT_GRL_ERROR(grl_fisher_info_update_(a, b, static_cast<grl_fisher_mode>(7), 0.9, 1), GRL_ERROR_INVALID_ARGUMENT,
                   "'mode'");
  EXPECT_GRL_ERROR(grl_ewc_penalty(a, b, nullptr, 1, out.out()), GRL_ERROR_NULL_ARGUMENT, "'fisher'");
  EXPECT_GRL_ERROR(grl_ewc_penalty(a, b, b, 1, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  EXPECT_GRL_ERROR(grl_ewc_penalty(a, c, b, 1, out.out()), GRL_ERROR_SHAPE, "'theta_star'");
  EXPECT_GRL_ERROR(grl_ewc_penalty(a, b, h, 1, out.out()), GRL_ERROR_DTYPE, "'fisher' has dtype f16");
  EXPECT_GRL_ERROR(grl_ewc_penalty(i, i, i, 1, out.out()), GRL_ERROR_DTYPE, "i32");
  EXPECT_GRL_ERROR(grl_ewc_penalty(a, b, b, -1, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'lambda'");
  EXPECT_GRL_ERROR(grl_ewc_penalty(a, b, b, NAN, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'lambda'");
  EXPECT_EQ(out.t, nullptr);
  EXPECT_GRL_ERROR(grl_natural_gradient_step_(a, b, nullptr, 0.1, 1e-8), GRL_ERROR_NULL_ARGUMENT, "'fisher'");
  EXPECT_GRL_ERROR(grl_natural_gradient_step_(a, c, b, 0.1, 1e-8), GRL_ERROR_SHAPE, "'grad'");
  EXPECT_GRL_ERROR(grl_natural_gradient_step_(a, b, h, 0.1, 1e-8), GRL_ERROR_DTYPE, "'fisher'");
  EXPECT_GRL_ERROR(grl_natural_gradient_step_(view, a, a, 0.1, 1e-8), GRL_ERROR_INVALID_ARGUMENT, "contiguous");
  EXPECT_GRL_ERROR(grl_natural_gradient_step_(a, b, b, -0.1, 1e-8), GRL_ERROR_INVALID_ARGUMENT, "'lr'");
  EXPECT_GRL_ERROR(grl_natural_gradient_step_(a, b, b, 0.1, 0), GRL_ERROR_INVALID_ARGUMENT, "'eps'");
}

// ---------------------------------------------------------------------------------------------
// NLMS

TEST_F(Online, NlmsPredictAgainstFloat64) {
  for (const auto& [B, D] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {9, 5}, {37, 300}, {0, 4}, {3, 0}}) {
    Host x = rnd({B, D}, GRL_F32), w = rnd({D}, GRL_F32), b = rnd({1}, GRL_F32);
    T tx(upload(dev, x)), tw(upload(dev, w)), tb(upload(dev, b)), out, nob;
    ASSERT_GRL_OK(grl_nlms_predict(tx, tw, tb, out.out()));
    ASSERT_GRL_OK(grl_nlms_predict(tx, tw, nullptr, nob.out()));
    Host ref = Host::zeros({B}), ref0 = Host::zeros({B});
    for (int64_t r = 0; r < B; ++r) {
      for (int64_t j = 0; j < D; ++j) ref0[r] += w[j] * x[r * D + j];
      ref[r] = ref0[r] + b[0];
    }
    EXPECT_TRUE(close(download(out), ref, {1e-5, 1e-4})) << B << "x" << D;
    EXPECT_TRUE(close(download(nob), ref0, {1e-5, 1e-4})) << B << "x" << D;
  }
  // One sample as a 1-d x gives a 0-d prediction.
  Host x = rnd({6}, GRL_F32), w = rnd({6}, GRL_F32);
  T tx(upload(dev, x)), tw(upload(dev, w)), out;
  ASSERT_GRL_OK(grl_nlms_predict(tx, tw, nullptr, out.out()));
  double s = 0;
  for (int64_t j = 0; j < 6; ++j) s += x[j] * w[j];
  EXPECT_TRUE(close(download(out), scalar_host(s), {1e-5, 1e-6}));
}

TEST_F(Online, NlmsUpdateIsSequentialAndDecaysMu) {
  // D = 1500 exceeds the 1024 weights a workgroup keeps in registers (the streamed path).
  for (const auto& [B, D] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {37, 13}, {5, 700}, {4, 1500}, {0, 3}}) {
    for (bool has_b : {true, false}) {
      grl_nlms_options o = GRL_NLMS_OPTIONS_INIT;
      o.mu_decay = 0.97;
      o.mu_min = 0.2;
      o.eps = 1e-3;
      Host x = rnd({B, D}, GRL_F32), t = rnd({B}, GRL_F32), w = rnd({D}, GRL_F32, -0.5, 0.5);
      Host b = scalar_host(0.25), mu = scalar_host(0.6);
      T tx(upload(dev, x)), tt(upload(dev, t)), tw(upload(dev, w)), tb(upload(dev, b)), tmu(upload(dev, mu)), err;
      ASSERT_GRL_OK(grl_nlms_update_(tw, has_b ? tb.t : nullptr, tmu, tx, tt, &o, err.out()));
      NlmsRef ref{1, D, w.v, {0.25}, {0.6}, {0.0}};
      std::vector<double> errs = ref.run(x, t, B, o, has_b);
      Tol tl{2e-4, 1e-4};
      EXPECT_TRUE(close(download(tw), vec(ref.w, {D}), tl)) << B << "x" << D << " bias " << has_b;
      EXPECT_TRUE(close(download(err), vec(errs, {B}), tl)) << B << "x" << D;
      EXPECT_TRUE(close(download(tmu), vec(ref.mu, {}), {1e-6, 1e-7}));
      EXPECT_TRUE(close(download(tb), vec(has_b ? ref.b : std::vector<double>{0.25}, {}), tl));
    }
  }
  // NULL opts means the defaults; NULL out is allowed; update_bias 0 keeps b.
  Host x = rnd({4, 3}, GRL_F32), t = rnd({4}, GRL_F32), w = rnd({3}, GRL_F32);
  T tx(upload(dev, x)), tt(upload(dev, t)), tw(upload(dev, w)), tb(upload(dev, scalar_host(0.5))),
      tmu(upload(dev, scalar_host(0.3)));
  ASSERT_GRL_OK(grl_nlms_update_(tw, nullptr, tmu, tx, tt, nullptr, nullptr));
  NlmsRef ref{1, 3, w.v, {0}, {0.3}, {0}};
  grl_nlms_options d = GRL_NLMS_OPTIONS_INIT;
  ref.run(x, t, 4, d, false);
  EXPECT_TRUE(close(download(tw), vec(ref.w, {3}), {2e-4, 2e-5}));
  d.update_bias = 0;
  ASSERT_GRL_OK(grl_nlms_update_(tw, tb, tmu, tx, tt, &d, nullptr));
  EXPECT_EQ(download(tb)[0], 0.5);
}

TEST_F(Online, NlmsIdentifiesANoisyLinearSystem) {
  const int64_t D = 8, B = 50, batches = 40;
  Host w_true = rnd({D}, GRL_F32, -1, 1);
  const double b_true = 0.3;
  grl_nlms_options o = GRL_NLMS_OPTIONS_INIT;
  o.mu_decay = 0.995;
  o.mu_min = 0.02;
  T tw(upload(dev, Host::zeros({D}))), tb(upload(dev, Host::zeros({1}))), tmu(upload(dev, scalar_host(0.5)));
  std::normal_distribution<double> noise(0.0, 0.01);
  for (int64_t k = 0; k < batches; ++k) {
    Host x = rnd({B, D}, GRL_F32, -1, 1), t = Host::zeros({B});
    for (int64_t r = 0; r < B; ++r) {
      double y = b_true + noise(rng());
      for (int64_t j = 0; j < D; ++j) y += w_true[j] * x[r * D + j];
      t[r] = y;
    }
    T tx(upload(dev, x)), tt(upload(dev, t));
    ASSERT_GRL_OK(grl_nlms_update_(tw, tb, tmu, tx, tt, &o, nullptr));
  }
  Host w = download(tw);
  for (int64_t j = 0; j < D; ++j) EXPECT_NEAR(w[j], w_true[j], 0.02) << "weight " << j;
  EXPECT_NEAR(download(tb)[0], b_true, 0.02);
  EXPECT_NEAR(download(tmu)[0], std::max(0.5 * std::pow(0.995, double(B * batches)), 0.02), 1e-6);
}

TEST_F(Online, NlmsUpdateReplaysInACapturedGraph) {
  const int64_t B = 6, D = 4;
  grl_nlms_options o = GRL_NLMS_OPTIONS_INIT;
  o.mu_decay = 0.9;
  Host x = rnd({B, D}, GRL_F32), t = rnd({B}, GRL_F32), w = rnd({D}, GRL_F32);
  T tx(upload(dev, x)), tt(upload(dev, t)), tw(upload(dev, w)), tmu(upload(dev, scalar_host(0.7)));
  ASSERT_GRL_OK(grl_graph_begin_capture(dev));
  ASSERT_GRL_OK(grl_nlms_update_(tw, nullptr, tmu, tx, tt, &o, nullptr));
  grl_graph g = nullptr;
  ASSERT_GRL_OK(grl_graph_end_capture(dev, &g));
  ASSERT_GRL_OK(grl_graph_replay(g));
  ASSERT_GRL_OK(grl_graph_replay(g));
  NlmsRef ref{1, D, w.v, {0}, {0.7}, {0}};
  ref.run(x, t, B, o, false);
  ref.run(x, t, B, o, false);
  EXPECT_TRUE(close(download(tw), vec(ref.w, {D}), {2e-4, 2e-5}));
  EXPECT_TRUE(close(download(tmu), vec(ref.mu, {}), {1e-6, 1e-7}));
  grl_graph_release(g);
}

TEST_F(Online, NlmsEnsemblePredictAndUpdateAgainstFloat64) {
  for (const auto& [E, B, D] : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {3, 23, 5}, {5, 9, 260}, {2, 0, 3}}) {
    grl_nlms_options o = GRL_NLMS_OPTIONS_INIT;
    o.rmse_decay = 0.8;
    o.mu_decay = 0.99;
    Host x = rnd({B, D}, GRL_F32), t = rnd({B}, GRL_F32), w = rnd({E, D}, GRL_F32, -1, 1);
    Host b = rnd({E}, GRL_F32, -0.5, 0.5), msq = rnd({E}, GRL_F32, 0, 2), mu = rnd({E}, GRL_F32, 0.1, 0.9);
    T tx(upload(dev, x)), tt(upload(dev, t)), tw(upload(dev, w)), tb(upload(dev, b)), tq(upload(dev, msq)),
        tmu(upload(dev, mu)), pred, err;
    const double temp = 0.7;
    ASSERT_GRL_OK(grl_nlms_ensemble_predict(tx, tw, tb, tq, temp, pred.out()));
    std::vector<double> gate(static_cast<size_t>(E));
    double zs = 0;
    for (int64_t e = 0; e < E; ++e) zs += gate[static_cast<size_t>(e)] = std::exp(-std::sqrt(msq[e]) / temp);
    Host pref = Host::zeros({B});
    for (int64_t r = 0; r < B; ++r)
      for (int64_t e = 0; e < E; ++e) {
        double p = b[e];
        for (int64_t j = 0; j < D; ++j) p += w[e * D + j] * x[r * D + j];
        pref[r] += gate[static_cast<size_t>(e)] / zs * p;
      }
    EXPECT_TRUE(close(download(pred), pref, {2e-5, 1e-4})) << E << " " << B << " " << D;

    ASSERT_GRL_OK(grl_nlms_ensemble_update_(tw, tb, tmu, tq, tx, tt, &o, err.out()));
    NlmsRef ref{E, D, w.v, b.v, mu.v, msq.v};
    std::vector<double> errs = ref.run(x, t, B, o, true);
    Tol tl{2e-4, 1e-4};
    EXPECT_TRUE(close(download(tw), vec(ref.w, {E, D}), tl)) << E << " " << B << " " << D;
    EXPECT_TRUE(close(download(tb), vec(ref.b, {E}), tl));
    EXPECT_TRUE(close(download(tq), vec(ref.msq, {E}), tl));
    EXPECT_TRUE(close(download(tmu), vec(ref.mu, {E}), {1e-6, 1e-7}));
    EXPECT_TRUE(close(download(err), vec(errs, {B, E}), tl));
  }
  // Without biases, and one sample as a 1-d x (errors [E]).
  grl_nlms_options o = GRL_NLMS_OPTIONS_INIT;
  const int64_t E = 3, D = 4;
  Host x = rnd({D}, GRL_F32), t = scalar_host(0.8), w = rnd({E, D}, GRL_F32), msq = rnd({E}, GRL_F32, 0, 1);
  Host mu = rnd({E}, GRL_F32, 0.1, 0.9);
  T tx(upload(dev, x)), tt(upload(dev, t)), tw(upload(dev, w)), tq(upload(dev, msq)), tmu(upload(dev, mu)), pred, err;
  ASSERT_GRL_OK(grl_nlms_ensemble_predict(tx, tw, nullptr, tq, 1.0, pred.out()));
  EXPECT_EQ(grl_tensor_ndim(pred), 0);
  double zs = 0, y = 0;
  for (int64_t e = 0; e < E; ++e) zs += std::exp(-std::sqrt(msq[e]));
  for (int64_t e = 0; e < E; ++e) {
    double p = 0;
    for (int64_t j = 0; j < D; ++j) p += w[e * D + j] * x[j];
    y += std::exp(-std::sqrt(msq[e])) / zs * p;
  }
  EXPECT_TRUE(close(download(pred), scalar_host(y), {2e-5, 1e-5}));
  ASSERT_GRL_OK(grl_nlms_ensemble_update_(tw, nullptr, tmu, tq, tx, tt, &o, err.out()));
  NlmsRef ref{E, D, w.v, {0, 0, 0}, mu.v, msq.v};
  Host x2 = x;
  x2.shape = {1, D};
  std::vector<double> errs = ref.run(x2, vec({0.8}, {1}), 1, o, false);
  EXPECT_TRUE(close(download(tw), vec(ref.w, {E, D}), {2e-4, 1e-4}));
  EXPECT_TRUE(close(download(tq), vec(ref.msq, {E}), {2e-4, 1e-4}));
  EXPECT_TRUE(close(download(err), vec(errs, {E}), {2e-4, 1e-4}));
}

TEST_F(Online, NlmsBadInputs) {
  Host x = rnd({4, 3}, GRL_F32);
  T tx(upload(dev, x)), tt(upload(dev, rnd({4}, GRL_F32))), tw(upload(dev, rnd({3}, GRL_F32))),
      tmu(upload(dev, scalar_host(0.5))), tb(upload(dev, scalar_host(0.0))), t5(upload(dev, rnd({5}, GRL_F32)));
  T tw2(upload(dev, rnd({2, 3}, GRL_F32))), tq(upload(dev, rnd({2}, GRL_F32, 0, 1))), tmu2(upload(dev, rnd({2}, GRL_F32, 0, 1)));
  T xh(upload(dev, x, GRL_F16)), x3(upload(dev, rnd({2, 2, 3}, GRL_F32))), wm(upload(dev, rnd({3, 2}, GRL_F32)));
  T wv(strided_view(wm)), out;
  grl_nlms_options o = GRL_NLMS_OPTIONS_INIT;
  EXPECT_GRL_ERROR(grl_nlms_predict(nullptr, tw, nullptr, out.out()), GRL_ERROR_NULL_ARGUMENT, "'x'");
  EXPECT_GRL_ERROR(grl_nlms_predict(tx, tw, nullptr, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  EXPECT_GRL_ERROR(grl_nlms_predict(tx, t5, nullptr, out.out()), GRL_ERROR_SHAPE, "'w' has shape [5]");
  EXPECT_GRL_ERROR(grl_nlms_predict(xh, tw, nullptr, out.out()), GRL_ERROR_DTYPE, "'x' has dtype f16");
  EXPECT_GRL_ERROR(grl_nlms_predict(x3, tw, nullptr, out.out()), GRL_ERROR_SHAPE, "expected [B, D] or [D]");
  EXPECT_GRL_ERROR(grl_nlms_predict(tx, tw, t5, out.out()), GRL_ERROR_SHAPE, "'b'");
  EXPECT_GRL_ERROR(grl_nlms_update_(nullptr, nullptr, tmu, tx, tt, &o, nullptr), GRL_ERROR_NULL_ARGUMENT, "'w'");
  EXPECT_GRL_ERROR(grl_nlms_update_(tw, nullptr, nullptr, tx, tt, &o, nullptr), GRL_ERROR_NULL_ARGUMENT, "'mu'");
  EXPECT_GRL_ERROR(grl_nlms_update_(tw, nullptr, tmu, tx, t5, &o, nullptr), GRL_ERROR_SHAPE, "'target' has shape [5]");
  EXPECT_GRL_ERROR(grl_nlms_update_(tw, nullptr, t5, tx, tt, &o, nullptr), GRL_ERROR_SHAPE, "'mu'");
  EXPECT_GRL_ERROR(grl_nlms_update_(wv, nullptr, tmu, tx, tt, &o, nullptr), GRL_ERROR_INVALID_ARGUMENT, "contiguous");
  EXPECT_GRL_ERROR(grl_nlms_update_(tw2, nullptr, tmu, tx, tt, &o, nullptr), GRL_ERROR_SHAPE, "'w' has shape [2, 3]");
  o.eps = 0;
  EXPECT_GRL_ERROR(grl_nlms_update_(tw, nullptr, tmu, tx, tt, &o, nullptr), GRL_ERROR_INVALID_ARGUMENT, "'opts->eps'");
  o = GRL_NLMS_OPTIONS_INIT;
  o.mu_decay = 1.5;
  EXPECT_GRL_ERROR(grl_nlms_update_(tw, nullptr, tmu, tx, tt, &o, nullptr), GRL_ERROR_INVALID_ARGUMENT, "'opts->mu_decay'");
  o = GRL_NLMS_OPTIONS_INIT;
  o.mu_min = -1;
  EXPECT_GRL_ERROR(grl_nlms_update_(tw, nullptr, tmu, tx, tt, &o, nullptr), GRL_ERROR_INVALID_ARGUMENT, "'opts->mu_min'");
  o = GRL_NLMS_OPTIONS_INIT;
  o.update_bias = 2;
  EXPECT_GRL_ERROR(grl_nlms_update_(tw, nullptr, tmu, tx, tt, &o, nullptr), GRL_ERROR_INVALID_ARGUMENT, "'opts->update_bias'");
  o = GRL_NLMS_OPTIONS_INIT;
  o.version = 99;
  EXPECT_GRL_ERROR(grl_nlms_update_(tw, nullptr, tmu, tx, tt, &o, nullptr), GRL_ERROR_INVALID_ARGUMENT, "version");
  o = GRL_NLMS_OPTIONS_INIT;
  o.rmse_decay = 1;
  EXPECT_GRL_ERROR(grl_nlms_ensemble_update_(tw2, nullptr, tmu2, tq, tx, tt, &o, nullptr), GRL_ERROR_INVALID_ARGUMENT,
                   "'opts->rmse_decay'");
  o = GRL_NLMS_OPTIONS_INIT;
  // In-place state must be contiguous: a strided [2, 3] view as the ensemble's w.
  T wt(upload(dev, rnd({3, 2}, GRL_F32))), wtv(strided_view(wt));
  EXPECT_GRL_ERROR(grl_nlms_ensemble_update_(wtv, nullptr, tmu2, tq, tx, tt, &o, nullptr), GRL_ERROR_INVALID_ARGUMENT,
                   "contiguous");
  EXPECT_GRL_ERROR(grl_nlms_ensemble_update_(tw2, nullptr, tmu2, nullptr, tx, tt, &o, nullptr), GRL_ERROR_NULL_ARGUMENT,
                   "'msq'");
  EXPECT_GRL_ERROR(grl_nlms_ensemble_update_(tw2, nullptr, tmu, tq, tx, tt, &o, nullptr), GRL_ERROR_SHAPE, "'mu'");
  EXPECT_GRL_ERROR(grl_nlms_ensemble_predict(tx, tw2, nullptr, tq, 0.0, out.out()), GRL_ERROR_INVALID_ARGUMENT,
                   "'temperature'");
  EXPECT_GRL_ERROR(grl_nlms_ensemble_predict(tx, tw2, nullptr, t5, 1.0, out.out()), GRL_ERROR_SHAPE, "'msq'");
  EXPECT_GRL_ERROR(grl_nlms_ensemble_predict(tx, tw, nullptr, tq, 1.0, out.out()), GRL_ERROR_SHAPE, "expected [E, 3]");
  EXPECT_EQ(out.t, nullptr);
}

// ---------------------------------------------------------------------------------------------
// Whitening

TEST_F(Online, WhitenBatchAgainstFloat64) {
  for (grl_dtype dt : kFloats) {
    for (const Shape& s : {Shape{1, 3}, Shape{5, 1}, Shape{130, 33}, Shape{3000, 4}, Shape{0, 4}}) {
      int64_t N = s[0], D = s[1];
      Host x = Host::zeros(s);
      for (int64_t r = 0; r < N; ++r)  // columns with large offsets and different spreads
        for (int64_t j = 0; j < D; ++j)
          x[r * D + j] = round_to(dt, 10.0 + static_cast<double>(j) + (0.5 + 0.1 * static_cast<double>(j % 7)) *
                                                                          std::uniform_real_distribution<double>(-2, 2)(rng()));
      T tx(upload(dev, x, dt)), out;
      const double eps = 1e-5;
      ASSERT_GRL_OK(grl_whiten_batch(tx, nullptr, nullptr, 0.1, eps, out.out()));
      EXPECT_EQ(grl_tensor_dtype(out), dt);
      Host ref = Host::zeros(s);
      for (int64_t j = 0; j < D; ++j) {
        double m = 0, v = 0;
        for (int64_t r = 0; r < N; ++r) m += x[r * D + j] / static_cast<double>(N);
        for (int64_t r = 0; r < N; ++r) v += (x[r * D + j] - m) * (x[r * D + j] - m) / static_cast<double>(N);
        for (int64_t r = 0; r < N; ++r) ref[r * D + j] = round_to(dt, (x[r * D + j] - m) / std::sqrt(v + eps));
      }
      Tol t = dt == GRL_F32 ? Tol{1e-4, 1e-4} : tol(dt);
      EXPECT_TRUE(close(download(out), ref, t)) << grl_dtype_name(dt) << " " << str(s);
    }
  }
}

TEST_F(Online, WhitenRunningStatisticsAndApply) {
  const int64_t D = 5;
  T rm(upload(dev, Host::zeros({D}))), rv(upload(dev, Host::zeros({D})));
  ASSERT_GRL_OK(grl_tensor_fill_(rv, 1.0));
  std::vector<double> ref_m(D, 0.0), ref_v(D, 1.0);
  const double momentum = 0.1, eps = 1e-3;
  for (int64_t N : {7, 200}) {
    Host x = rnd({N, D}, GRL_F32, -3, 5);
    T tx(upload(dev, x)), out;
    ASSERT_GRL_OK(grl_whiten_batch(tx, rm, rv, momentum, eps, out.out()));
    for (int64_t j = 0; j < D; ++j) {
      double m = 0, v = 0;
      for (int64_t r = 0; r < N; ++r) m += x[r * D + j] / static_cast<double>(N);
      for (int64_t r = 0; r < N; ++r) v += (x[r * D + j] - m) * (x[r * D + j] - m);
      ref_m[static_cast<size_t>(j)] = (1 - momentum) * ref_m[static_cast<size_t>(j)] + momentum * m;
      ref_v[static_cast<size_t>(j)] = (1 - momentum) * ref_v[static_cast<size_t>(j)] + momentum * v / static_cast<double>(N - 1);
    }
  }
  EXPECT_TRUE(close(download(rm), vec(ref_m, {D}), {1e-5, 1e-5}));
  EXPECT_TRUE(close(download(rv), vec(ref_v, {D}), {1e-5, 1e-5}));
  // Applying the running statistics, f32 and bf16 inputs, and a strided x.
  for (grl_dtype dt : kFloats) {
    Host x = rnd({6, D}, dt, -3, 5);
    T tx(upload(dev, x, dt)), out;
    ASSERT_GRL_OK(grl_whiten_apply(tx, rm, rv, eps, out.out()));
    Host ref = x;
    for (int64_t i = 0; i < x.numel(); ++i)
      ref[i] = round_to(dt, (x[i] - ref_m[static_cast<size_t>(i % D)]) / std::sqrt(ref_v[static_cast<size_t>(i % D)] + eps));
    EXPECT_TRUE(close(download(out), ref, dt == GRL_F32 ? Tol{1e-5, 1e-5} : tol(dt))) << grl_dtype_name(dt);
  }
  Host xt = rnd({D, 4}, GRL_F32);
  T txt(upload(dev, xt)), view(strided_view(txt)), out;
  ASSERT_GRL_OK(grl_whiten_apply(view, rm, rv, eps, out.out()));
  Host ref = Host::zeros({4, D});
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t j = 0; j < D; ++j)
      ref[r * D + j] = (xt[j * 4 + r] - ref_m[static_cast<size_t>(j)]) / std::sqrt(ref_v[static_cast<size_t>(j)] + eps);
  EXPECT_TRUE(close(download(out), ref, {1e-5, 1e-5}));
}

TEST_F(Online, ZcaMatchesEigendecompositionAndWhitens) {
  for (int64_t D : {1, 6, 17}) {
    const int64_t N = 400;
    Host x = correlated(N, D);
    T tx(upload(dev, x)), mean, w, y;
    const double eps = 1e-5;
    ASSERT_GRL_OK(grl_zca_fit(tx, eps, 30, mean.out(), w.out()));
    Host m, c;
    cov_ref(x, m, c);
    Host wref = inv_sqrt_ref(c, eps);
    EXPECT_TRUE(close(download(mean), m, {1e-5, 1e-5})) << D;
    EXPECT_TRUE(close(download(w), wref, {1e-3, 2e-4 * max_abs(wref)})) << D;
    ASSERT_GRL_OK(grl_zca_apply(tx, mean, w, y.out()));
    Host ym, yc;
    cov_ref(download(y), ym, yc);
    Host eye = Host::zeros({D, D});
    for (int64_t i = 0; i < D; ++i) eye[i * D + i] = 1;
    EXPECT_TRUE(close(yc, eye, {0, 2e-3})) << "covariance of whitened data, D = " << D;
    for (double v : ym.v) EXPECT_NEAR(v, 0.0, 1e-4);
  }
}

TEST_F(Online, ZcaFromCovarianceConvergesWithIterations) {
  // A rank-deficient covariance (eigenvalues 0 get 1/sqrt(eps)) and a full one.
  const int64_t D = 9;
  Host v = rnd({2, D}, GRL_F32, -1, 1);
  Host c = Host::zeros({D, D});
  for (int64_t k = 0; k < 2; ++k)
    for (int64_t i = 0; i < D; ++i)
      for (int64_t j = 0; j < D; ++j) c[i * D + j] += v[k * D + i] * v[k * D + j];
  for (auto& e : c.v) e = static_cast<float>(e);
  const double eps = 0.05;
  Host wref = inv_sqrt_ref(c, eps);
  T tc(upload(dev, c)), w3, w30;
  ASSERT_GRL_OK(grl_zca_from_covariance(tc, eps, 3, w3.out()));
  ASSERT_GRL_OK(grl_zca_from_covariance(tc, eps, 30, w30.out()));
  auto err = [&](const Host& h) {
    double e = 0;
    for (int64_t i = 0; i < h.numel(); ++i) e = std::max(e, std::abs(h[i] - wref[i]));
    return e / max_abs(wref);
  };
  double e3 = err(download(w3)), e30 = err(download(w30));
  EXPECT_GT(e3, 1e-2) << "3 iterations should not have converged yet";
  EXPECT_LT(e30, 1e-4);
  T empty(upload(dev, Host::zeros({0, 0}))), we;
  ASSERT_GRL_OK(grl_zca_from_covariance(empty, eps, 30, we.out()));
  EXPECT_EQ(grl_tensor_numel(we), 0);
}

TEST_F(Online, WhiteningBadInputs) {
  T x(upload(dev, rnd({6, 3}, GRL_F32))), x1(upload(dev, rnd({1, 3}, GRL_F32))), x3(upload(dev, rnd({6}, GRL_F32)));
  T xi(upload(dev, rnd({6, 3}, GRL_I32), GRL_I32)), xh(upload(dev, rnd({6, 3}, GRL_F16), GRL_F16));
  T r3(upload(dev, Host::zeros({3}))), r3b(upload(dev, Host::zeros({3}))), r4(upload(dev, Host::zeros({4})));
  T sq(upload(dev, Host::zeros({3, 3}))), rect(upload(dev, Host::zeros({3, 4}))), out, out2;
  EXPECT_GRL_ERROR(grl_whiten_batch(nullptr, nullptr, nullptr, 0.1, 1e-5, out.out()), GRL_ERROR_NULL_ARGUMENT, "'x'");
  EXPECT_GRL_ERROR(grl_whiten_batch(x3, nullptr, nullptr, 0.1, 1e-5, out.out()), GRL_ERROR_SHAPE, "expected [N, D]");
  EXPECT_GRL_ERROR(grl_whiten_batch(xi, nullptr, nullptr, 0.1, 1e-5, out.out()), GRL_ERROR_DTYPE, "i32");
  EXPECT_GRL_ERROR(grl_whiten_batch(x, r3, nullptr, 0.1, 1e-5, out.out()), GRL_ERROR_NULL_ARGUMENT, "'running_var'");
  EXPECT_GRL_ERROR(grl_whiten_batch(x, r3, r4, 0.1, 1e-5, out.out()), GRL_ERROR_SHAPE, "'running_var' has shape [4]");
  EXPECT_GRL_ERROR(grl_whiten_batch(x, r3, r3b, 1.5, 1e-5, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'momentum'");
  EXPECT_GRL_ERROR(grl_whiten_batch(x, nullptr, nullptr, 0.1, -1, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'eps'");
  EXPECT_GRL_ERROR(grl_whiten_batch(x1, r3, r3b, 0.1, 1e-5, out.out()), GRL_ERROR_SHAPE, "N >= 2");
  EXPECT_GRL_ERROR(grl_whiten_apply(x, r3, r4, 1e-5, out.out()), GRL_ERROR_SHAPE, "'var'");
  EXPECT_GRL_ERROR(grl_whiten_apply(x, r3, nullptr, 1e-5, out.out()), GRL_ERROR_NULL_ARGUMENT, "'var'");
  EXPECT_GRL_ERROR(grl_zca_fit(xh, 1e-5, 30, out.out(), out2.out()), GRL_ERROR_DTYPE, "'x' has dtype f16");
  EXPECT_GRL_ERROR(grl_zca_fit(x, 0.0, 30, out.out(), out2.out()), GRL_ERROR_INVALID_ARGUMENT, "'eps'");
  EXPECT_GRL_ERROR(grl_zca_fit(x, 1e-5, 0, out.out(), out2.out()), GRL_ERROR_INVALID_ARGUMENT, "'iterations'");
  EXPECT_GRL_ERROR(grl_zca_fit(x, 1e-5, 30, out.out(), nullptr), GRL_ERROR_NULL_ARGUMENT, "'out_whitening'");
  EXPECT_GRL_ERROR(grl_zca_from_covariance(rect, 1e-5, 30, out.out()), GRL_ERROR_SHAPE, "square");
  EXPECT_GRL_ERROR(grl_zca_apply(x, r3, rect, out.out()), GRL_ERROR_SHAPE, "'whitening'");
  EXPECT_GRL_ERROR(grl_zca_apply(x, r4, sq, out.out()), GRL_ERROR_SHAPE, "'mean'");
  EXPECT_EQ(out.t, nullptr);
  EXPECT_EQ(out2.t, nullptr);
}

TEST_F(Online, OperandsOnTwoDevices) {
  grl_device_options o = GRL_DEVICE_OPTIONS_INIT;
  o.validation = 1;
  grl_device d2 = nullptr;
  ASSERT_GRL_OK(grl_device_create(&o, &d2));
  {
    Host h = rnd({4, 3}, GRL_F32);
    T a(upload(dev, h)), b(upload(d2, h)), v(upload(dev, rnd({3}, GRL_F32))), v2(upload(d2, rnd({3}, GRL_F32)));
    T t4(upload(dev, rnd({4}, GRL_F32))), mu(upload(d2, scalar_host(0.5))), out;
    EXPECT_GRL_ERROR(grl_fisher_info_update_(a, b, GRL_FISHER_EMA, 0.9, 1), GRL_ERROR_DEVICE_MISMATCH, "another device");
    EXPECT_GRL_ERROR(grl_ewc_penalty(a, a, b, 1, out.out()), GRL_ERROR_DEVICE_MISMATCH, "'fisher'");
    EXPECT_GRL_ERROR(grl_natural_gradient_step_(a, b, a, 0.1, 1e-8), GRL_ERROR_DEVICE_MISMATCH, "'grad'");
    EXPECT_GRL_ERROR(grl_nlms_predict(a, v2, nullptr, out.out()), GRL_ERROR_DEVICE_MISMATCH, "'w'");
    EXPECT_GRL_ERROR(grl_nlms_update_(v, nullptr, mu, a, t4, nullptr, nullptr), GRL_ERROR_DEVICE_MISMATCH, "'mu'");
    EXPECT_GRL_ERROR(grl_whiten_apply(a, v2, v, 1e-5, out.out()), GRL_ERROR_DEVICE_MISMATCH, "'mean'");
    EXPECT_GRL_ERROR(grl_zca_apply(a, v, b, out.out()), GRL_ERROR_DEVICE_MISMATCH, "'whitening'");
  }
  grl_device_release(d2);
}
