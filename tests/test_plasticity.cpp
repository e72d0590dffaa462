// Plasticity family: Hebbian, Oja, Sanger and trace STDP (pair, triplet) against float64
// references, the classic STDP window, PCA convergence of Oja and Sanger, and bad inputs.
#include <cmath>
#include <cstring>

#include "testing.h"

using namespace gt;

class Plasticity : public DeviceTest {};

namespace {

// ---- float64 references -------------------------------------------------------------------------

// The documented step: decay, update W from the decayed traces, then add the step's spikes.
struct StdpRef {
  int64_t batch = 1, n_pre = 0, n_post = 0;
  std::vector<double> w, x1, y1, x2, y2;

  void step(const std::vector<double>& pre_in, const std::vector<double>& post_in, const grl_stdp_options& o,
            grl_dtype dt) {
    auto spike = [](double v) { return v != 0.0 ? 1.0 : 0.0; };
    const bool trip = o.triplet != 0;
    const double dx1 = std::exp(-o.dt / o.tau_plus), dy1 = std::exp(-o.dt / o.tau_minus);
    const double dx2 = trip ? std::exp(-o.dt / o.tau_x) : 0, dy2 = trip ? std::exp(-o.dt / o.tau_y) : 0;
    for (auto& v : x1) v *= dx1;
    for (auto& v : y1) v *= dy1;
    for (auto& v : x2) v *= dx2;
    for (auto& v : y2) v *= dy2;
    const double scale = o.batch_reduction == GRL_REDUCTION_MEAN ? 1.0 / static_cast<double>(batch) : 1.0;
    for (int64_t i = 0; i < n_post; ++i)
      for (int64_t j = 0; j < n_pre; ++j) {
        double ltp = 0, ltd = 0;
        for (int64_t b = 0; b < batch; ++b) {
          double post = spike(post_in[b * n_post + i]), pre = spike(pre_in[b * n_pre + j]);
          double ys = trip ? y2[b * n_post + i] : 0, xs = trip ? x2[b * n_pre + j] : 0;
          ltp += post * x1[b * n_pre + j] * (o.a_plus + (trip ? o.a3_plus : 0) * ys);
          ltd += pre * y1[b * n_post + i] * (o.a_minus + (trip ? o.a3_minus : 0) * xs);
        }
        ltp *= scale;
        ltd *= scale;
        double& wij = w[i * n_pre + j];
        double nw = o.bound == GRL_STDP_BOUND_SOFT ? wij + (o.w_max - wij) * ltp - (wij - o.w_min) * ltd
                                                   : wij + ltp - ltd;
        if (o.bound == GRL_STDP_BOUND_HARD) nw = std::min(std::max(nw, o.w_min), o.w_max);
        wij = round_to(dt, nw);
      }
    auto add = [&](std::vector<double>& tr, const std::vector<double>& s) {
      for (size_t q = 0; q < tr.size(); ++q)
        tr[q] = o.trace_mode == GRL_STDP_NEAREST ? (spike(s[q]) != 0 ? 1.0 : tr[q]) : tr[q] + spike(s[q]);
    };
    add(x1, pre_in);
    add(y1, post_in);
    if (trip) {
      add(x2, pre_in);
      add(y2, post_in);
    }
  }
};

enum class Rule { Hebbian, Oja, Sanger };

// y = W x per batch row.
std::vector<double> linear_ref(const std::vector<double>& w, const std::vector<double>& x, int64_t batch,
                               int64_t n_in, int64_t n_out) {
  std::vector<double> y(static_cast<size_t>(batch * n_out), 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < n_out; ++i) {
      double s = 0;
      for (int64_t j = 0; j < n_in; ++j) s += w[i * n_in + j] * x[b * n_in + j];
      y[b * n_out + i] = s;
    }
  return y;
}

std::vector<double> rate_ref(Rule rule, const std::vector<double>& w, const std::vector<double>& x,
                             const std::vector<double>& y, int64_t batch, int64_t n_in, int64_t n_out, double eta,
                             double decay) {
  std::vector<double> out(w.size());
  const double inv = 1.0 / static_cast<double>(batch);
  for (int64_t i = 0; i < n_out; ++i)
    for (int64_t j = 0; j < n_in; ++j) {
      double yx = 0, back = 0;
      for (int64_t b = 0; b < batch; ++b) {
        double yi = y[b * n_out + i];
        yx += yi * x[b * n_in + j];
        if (rule == Rule::Oja) back += yi * yi * w[i * n_in + j];
        if (rule == Rule::Sanger)
          for (int64_t k = 0; k <= i; ++k) back += yi * y[b * n_out + k] * w[k * n_in + j];
      }
      double wij = w[i * n_in + j];
      out[i * n_in + j] = wij + eta * inv * (yx - back) - (rule == Rule::Hebbian ? decay * wij : 0.0);
    }
  return out;
}

Shape side_shape(bool one_d, int64_t batch, int64_t n) { return one_d ? Shape{n} : Shape{batch, n}; }

Host spikes(Shape s, double p) {
  Host h = Host::zeros(std::move(s));
  std::bernoulli_distribution d(p);
  for (auto& v : h.v) v = d(rng()) ? 1.0 : 0.0;
  return h;
}

// Orthonormal basis (rows of q) by Gram-Schmidt on random vectors.
std::vector<double> orthonormal(int n) {
  std::normal_distribution<double> nd(0, 1);
  std::vector<double> q(static_cast<size_t>(n * n));
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < n; ++c) q[r * n + c] = nd(rng());
    for (int p = 0; p < r; ++p) {
      double d = 0;
      for (int c = 0; c < n; ++c) d += q[r * n + c] * q[p * n + c];
      for (int c = 0; c < n; ++c) q[r * n + c] -= d * q[p * n + c];
    }
    double nn = 0;
    for (int c = 0; c < n; ++c) nn += q[r * n + c] * q[r * n + c];
    for (int c = 0; c < n; ++c) q[r * n + c] /= std::sqrt(nn);
  }
  return q;
}

// count samples x = sum_r sqrt(lambda_r) z_r q_r: covariance Q^T diag(lambda) Q.
Host pca_samples(const std::vector<double>& q, const std::vector<double>& lambda, int64_t count) {
  const int64_t n = static_cast<int64_t>(lambda.size());
  Host h = Host::zeros({count, n});
  std::normal_distribution<double> nd(0, 1);
  for (int64_t s = 0; s < count; ++s)
    for (int64_t r = 0; r < n; ++r) {
      double z = nd(rng()) * std::sqrt(lambda[static_cast<size_t>(r)]);
      for (int64_t c = 0; c < n; ++c) h[s * n + c] += z * q[r * n + c];
    }
  return h;
}

double abs_cosine(const double* a, const double* b, int64_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < n; ++i) ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
  return std::abs(ab) / std::sqrt(aa * bb);
}

}  // namespace

// ---- STDP ---------------------------------------------------------------------------------------

TEST_F(Plasticity, StdpStepsMatchFloat64) {
  struct Geo {
    int64_t n_post, n_pre, batch;
    bool one_d;
  };
  // One element, 1-d, batches not multiple of the 8-row staging, sizes off the 128 x 32 tile
  // (several tiles each way), and W with no rows (the traces still update).
  const std::vector<Geo> geos = {{1, 1, 1, true}, {3, 5, 1, false}, {9, 70, 19, false}, {37, 33, 3, false},
                                 {19, 131, 9, false}, {70, 9, 5, false}, {6, 40, 1, true},
                                 {0, 4, 2, false}};
  struct Opt {
    grl_stdp_bound bound;
    grl_stdp_trace_mode mode;
    grl_reduction red;
    uint32_t triplet;
  };
  const std::vector<Opt> opts = {{GRL_STDP_BOUND_NONE, GRL_STDP_ALL_TO_ALL, GRL_REDUCTION_MEAN, 0},
                                 {GRL_STDP_BOUND_HARD, GRL_STDP_NEAREST, GRL_REDUCTION_SUM, 0},
                                 {GRL_STDP_BOUND_SOFT, GRL_STDP_ALL_TO_ALL, GRL_REDUCTION_MEAN, 1},
                                 {GRL_STDP_BOUND_HARD, GRL_STDP_NEAREST, GRL_REDUCTION_MEAN, 1}};
  int idx = 0;
  for (const Geo& g : geos) {
    for (const Opt& op : opts) {
      // f16 and bf16 on a rotating subset to keep the suite fast.
      for (grl_dtype dt : {GRL_F32, idx % 2 ? GRL_F16 : GRL_BF16}) {
        ++idx;
        grl_stdp_options o = GRL_STDP_OPTIONS_INIT;
        o.dt = 0.5;
        o.tau_plus = 16.8;
        o.tau_minus = 33.7;
        o.a_plus = 0.05;
        o.a_minus = 0.06;
        o.bound = op.bound;
        o.trace_mode = op.mode;
        o.batch_reduction = op.red;
        o.triplet = op.triplet;
        o.w_min = 0.1;
        o.w_max = 0.9;
        o.a3_plus = 0.04;
        o.a3_minus = 0.02;
        StdpRef ref;
        ref.batch = g.batch;
        ref.n_pre = g.n_pre;
        ref.n_post = g.n_post;
        Host w = Host::random({g.n_post, g.n_pre}, rng(), 0.0, 1.0);
        for (auto& v : w.v) v = round_to(dt, v);
        const Shape sp = side_shape(g.one_d, g.batch, g.n_pre), so = side_shape(g.one_d, g.batch, g.n_post);
        Host x1 = Host::random(sp, rng(), 0, 1.5), x2 = Host::random(sp, rng(), 0, 1.5);
        Host y1 = Host::random(so, rng(), 0, 1.5), y2 = Host::random(so, rng(), 0, 1.5);
        for (Host* h : {&x1, &x2, &y1, &y2})
          for (auto& v : h->v) v = round_to(GRL_F32, v);  // the f32 traces start from these exact values
        ref.w = w.v;
        ref.x1 = x1.v;
        ref.x2 = x2.v;
        ref.y1 = y1.v;
        ref.y2 = y2.v;
        T tw(upload(dev, w, dt)), tx1(upload(dev, x1)), tx2(upload(dev, x2)), ty1(upload(dev, y1)),
            ty2(upload(dev, y2));
        for (int s = 0; s < 4; ++s) {
          Host pre = spikes(sp, 0.35), post = spikes(so, 0.35);
          if (s == 3 && pre.numel() > 0) pre[0] = 2.5;  // any nonzero value is one spike
          // Spikes in W's dtype, or u8 (as the LIF step may emit them) on one side or both.
          T tpre(upload(dev, pre, idx % 3 == 0 ? GRL_U8 : dt)), tpost(upload(dev, post, idx % 3 != 2 ? dt : GRL_U8));
          ASSERT_GRL_OK(grl_stdp_step_(tw, tpre, tpost, tx1, ty1, op.triplet ? tx2.t : nullptr,
                                       op.triplet ? ty2.t : nullptr, &o));
          ref.step(pre.v, post.v, o, dt);
        }
        std::string what = "geo " + std::to_string(g.n_post) + "x" + std::to_string(g.n_pre) + " B" +
                           std::to_string(g.batch) + " bound " + std::to_string(op.bound) + " mode " +
                           std::to_string(op.mode) + " triplet " + std::to_string(op.triplet) + " " +
                           grl_dtype_name(dt);
        Host rw = Host::zeros({g.n_post, g.n_pre});
        rw.v = ref.w;
        Tol tw_tol = dt == GRL_F32 ? Tol{1e-5, 1e-6} : tol(dt);
        EXPECT_TRUE(close(download(tw), rw, tw_tol)) << what;
        Host r1 = Host::zeros(sp), r2 = Host::zeros(so);
        r1.v = ref.x1;
        r2.v = ref.y1;
        EXPECT_TRUE(close(download(tx1), r1, {1e-5, 1e-6})) << what;
        EXPECT_TRUE(close(download(ty1), r2, {1e-5, 1e-6})) << what;
        if (op.triplet) {
          r1.v = ref.x2;
          r2.v = ref.y2;
          EXPECT_TRUE(close(download(tx2), r1, {1e-5, 1e-6})) << what;
          EXPECT_TRUE(close(download(ty2), r2, {1e-5, 1e-6})) << what;
        } else {
          EXPECT_TRUE(close(download(tx2), x2, {0, 0})) << "slow traces are untouched without triplet";
        }
      }
    }
  }
}

// The classic window (Bi & Poo 1998): one postsynaptic neuron spiking once at step 60 and 101
// presynaptic neurons, neuron j spiking once at step 60 - (j - 50): each synapse sees one pair
// with dt_spike = t_post - t_pre = (j - 50) ms.
TEST_F(Plasticity, StdpReproducesTheClassicWindow) {
  for (grl_stdp_trace_mode mode : {GRL_STDP_ALL_TO_ALL, GRL_STDP_NEAREST}) {
    grl_stdp_options o = GRL_STDP_OPTIONS_INIT;
    o.bound = GRL_STDP_BOUND_NONE;
    o.trace_mode = mode;
    o.a_plus = 0.01;
    o.a_minus = 0.012;
    o.tau_plus = 16.8;
    o.tau_minus = 33.7;
    const int64_t n = 101, t_post = 60;
    Host w = Host::zeros({1, n});
    for (auto& v : w.v) v = 0.5;
    T tw(upload(dev, w)), x(upload(dev, Host::zeros({n}))), y(upload(dev, Host::zeros({1})));
    for (int64_t t = 0; t <= t_post + 51; ++t) {
      Host pre = Host::zeros({n}), post = Host::zeros({1});
      for (int64_t j = 0; j < n; ++j)
        if (t == t_post - (j - 50)) pre[j] = 1;
      if (t == t_post) post[0] = 1;
      T tpre(upload(dev, pre)), tpost(upload(dev, post));
      ASSERT_GRL_OK(grl_stdp_step_(tw, tpre, tpost, x, y, nullptr, nullptr, &o));
    }
    Host got = download(tw);
    for (int64_t j = 0; j < n; ++j) {
      const double d = static_cast<double>(j - 50);  // ms, dt = 1 ms
      // The traces are read before this step's spikes join them, so coincident spikes pair with
      // nothing and every other pair gets the exact exponential at its lag.
      const double expect = d > 0 ? o.a_plus * std::exp(-d / o.tau_plus)
                                  : d < 0 ? -o.a_minus * std::exp(d / o.tau_minus) : 0.0;
      const double dw = got[j] - 0.5;
      EXPECT_NEAR(dw, expect, 2e-7 + 1e-4 * std::abs(expect)) << "dt_spike " << d << " ms";
      if (d > 0) {
        EXPECT_GT(dw, 0) << d;
      }
      if (d < 0) {
        EXPECT_LT(dw, 0) << d;
      }
    }
  }
}

// Equal pre and post rates do not cancel: a causal pairing (pre 5 ms before post, repeated)
// potentiates and the reverse order depresses, although both neurons fire equally often.
TEST_F(Plasticity, StdpEqualRatesDoNotCancel) {
  grl_stdp_options o = GRL_STDP_OPTIONS_INIT;
  o.bound = GRL_STDP_BOUND_NONE;
  o.a_minus = o.a_plus;
  o.tau_minus = o.tau_plus;
  Host w = Host::zeros({2, 2});
  for (auto& v : w.v) v = 0.5;
  // Post neuron 0 follows pre neuron 0 by 5 steps; post neuron 1 leads pre neuron 1 by 5 steps.
  T tw(upload(dev, w)), x(upload(dev, Host::zeros({2}))), y(upload(dev, Host::zeros({2})));
  for (int t = 0; t < 200; ++t) {
    Host pre = Host::zeros({2}), post = Host::zeros({2});
    if (t % 40 == 0) pre[0] = 1, post[1] = 1;
    if (t % 40 == 5) post[0] = 1, pre[1] = 1;
    T tpre(upload(dev, pre)), tpost(upload(dev, post));
    ASSERT_GRL_OK(grl_stdp_step_(tw, tpre, tpost, x, y, nullptr, nullptr, &o));
  }
  Host got = download(tw);
  EXPECT_GT(got[0] - 0.5, 0.5 * 5 * o.a_plus * std::exp(-5.0 / 20));  // causal pairs dominate
  EXPECT_LT(got[3] - 0.5, -0.5 * 5 * o.a_minus * std::exp(-5.0 / 20));
}

// Triplet STDP reproduces the frequency dependence of Sjostrom et al. (2001) as fitted by Pfister
// & Gerstner (2006, visual cortex, all-to-all): 15 pairings with post 10 ms before pre depress at
// 20 Hz but potentiate at 50 Hz, and pre-before-post pairings potentiate more at 50 Hz. Four
// independent pairs sit on the diagonal of W (W_kk sees only pre k and post k).
TEST_F(Plasticity, TripletStdpIsFrequencyDependent) {
  grl_stdp_options o = GRL_STDP_OPTIONS_INIT;
  o.bound = GRL_STDP_BOUND_NONE;
  o.triplet = 1;
  o.tau_plus = 16.8;
  o.tau_minus = 33.7;
  o.a_plus = 5e-10;
  o.a_minus = 7e-3;  // tau_x, tau_y, a3_plus, a3_minus: the defaults (the same fit)
  const int k = 4, pairs = 15;
  const int period[k] = {50, 20, 50, 20};  // steps of 1 ms: 20 Hz, 50 Hz
  const int lag[k] = {-10, -10, 10, 10};     // t_post - t_pre
  const int steps = pairs * 50 + 60;
  Host pre = Host::zeros({steps, k}), post = Host::zeros({steps, k});
  for (int t = 0; t < steps; ++t)
    for (int s = 0; s < k; ++s) {
      const int n = t / period[s], ph = t % period[s], t_pre = lag[s] < 0 ? 15 : 5;
      if (n < pairs && ph == t_pre) pre[t * k + s] = 1;
      if (n < pairs && ph == t_pre + lag[s]) post[t * k + s] = 1;
    }
  // Scalar float64 reference of one synapse, in the documented order.
  double expect[k];
  for (int s = 0; s < k; ++s) {
    double x1 = 0, x2 = 0, y1 = 0, y2 = 0, dw = 0;
    for (int t = 0; t < steps; ++t) {
      x1 *= std::exp(-1 / o.tau_plus), x2 *= std::exp(-1 / o.tau_x);
      y1 *= std::exp(-1 / o.tau_minus), y2 *= std::exp(-1 / o.tau_y);
      const double sp = pre[t * k + s], so = post[t * k + s];
      dw += so * x1 * (o.a_plus + o.a3_plus * y2) - sp * y1 * (o.a_minus + o.a3_minus * x2);
      x1 += sp, x2 += sp, y1 += so, y2 += so;
    }
    expect[s] = dw;
  }
  Host w0 = Host::zeros({k, k});
  for (auto& v : w0.v) v = 0.5;
  T tw(upload(dev, w0)), tpre(upload(dev, pre)), tpost(upload(dev, post));
  T x1(upload(dev, Host::zeros({1, k}))), x2(upload(dev, Host::zeros({1, k}))), y1(upload(dev, Host::zeros({1, k}))),
      y2(upload(dev, Host::zeros({1, k})));
  for (int t = 0; t < steps; ++t) {
    T a, b;
    ASSERT_GRL_OK(grl_slice(tpre, 0, t, t + 1, 1, a.out()));
    ASSERT_GRL_OK(grl_slice(tpost, 0, t, t + 1, 1, b.out()));
    ASSERT_GRL_OK(grl_stdp_step_(tw, a, b, x1, y1, x2, y2, &o));
  }
  Host got = download(tw);
  double dw[k];
  for (int s = 0; s < k; ++s) {
    dw[s] = got[s * k + s] - 0.5;
    EXPECT_NEAR(dw[s], expect[s], 1e-5 + 1e-4 * std::abs(expect[s])) << "pair " << s;
  }
  EXPECT_LT(dw[0], -0.05);  // post-pre at 20 Hz: depression
  EXPECT_GT(dw[1], 0.05);   // post-pre at 50 Hz: potentiation
  EXPECT_GT(dw[2], 0.02);   // pre-post at 20 Hz: potentiation ...
  EXPECT_GT(dw[3], 1.5 * dw[2]);  // ... stronger at 50 Hz
}

// Soft bounds keep W inside [w_min, w_max] while the per-step LTP and LTD stay below 1 (here the
// traces grow to about 14, so LTP <= 0.3), and W approaches the bound geometrically.
TEST_F(Plasticity, StdpSoftBoundsSaturate) {
  grl_stdp_options o = GRL_STDP_OPTIONS_INIT;
  o.bound = GRL_STDP_BOUND_SOFT;
  o.a_plus = 0.02;
  o.a_minus = 0.0;
  o.w_min = -1.0;
  o.w_max = 2.0;
  Host w = Host::zeros({3, 4});
  T tw(upload(dev, w)), x(upload(dev, Host::zeros({4}))), y(upload(dev, Host::zeros({3})));
  Host ones3 = Host::zeros({3}), ones4 = Host::zeros({4});
  for (auto& v : ones3.v) v = 1;
  for (auto& v : ones4.v) v = 1;
  T pre(upload(dev, ones4)), post(upload(dev, ones3));
  for (int t = 0; t < 60; ++t) ASSERT_GRL_OK(grl_stdp_step_(tw, pre, post, x, y, nullptr, nullptr, &o));
  for (double v : download(tw).v) {
    EXPECT_LE(v, 2.0);
    EXPECT_GT(v, 1.99);
  }
}

// ---- Hebbian, Oja, Sanger -----------------------------------------------------------------------

TEST_F(Plasticity, RateRulesMatchFloat64) {
  struct Geo {
    int64_t n_out, n_in, batch;
    bool one_d;
  };
  const std::vector<Geo> geos = {{1, 1, 1, true}, {5, 7, 1, false}, {13, 40, 9, false}, {33, 17, 20, false},
                                 {18, 139, 10, false}, {67, 20, 9, false}, {4, 65, 1, true}};
  int idx = 0;
  for (Rule rule : {Rule::Hebbian, Rule::Oja, Rule::Sanger}) {
    for (const Geo& g : geos) {
      for (bool given_y : {true, false}) {
        for (grl_dtype dt : {GRL_F32, idx % 2 ? GRL_F16 : GRL_BF16}) {
          ++idx;
          Host w = Host::random({g.n_out, g.n_in}, rng(), -0.5, 0.5);
          Host x = Host::random(side_shape(g.one_d, g.batch, g.n_in), rng(), -1, 1);
          Host y = Host::random(side_shape(g.one_d, g.batch, g.n_out), rng(), -1, 1);
          for (auto& v : w.v) v = round_to(dt, v);
          for (auto& v : x.v) v = round_to(dt, v);
          for (auto& v : y.v) v = round_to(dt, v);
          std::vector<double> yv = y.v;
          if (!given_y) {
            yv = linear_ref(w.v, x.v, g.batch, g.n_in, g.n_out);
            for (auto& v : yv) v = round_to(dt, v);  // grl_linear's output is rounded to dt
          }
          const double eta = 0.1, decay = 0.03;
          Host ref = Host::zeros({g.n_out, g.n_in});
          ref.v = rate_ref(rule, w.v, x.v, yv, g.batch, g.n_in, g.n_out, eta, decay);
          for (auto& v : ref.v) v = round_to(dt, v);
          T tw(upload(dev, w, dt)), tx(upload(dev, x, dt)), ty(upload(dev, y, dt));
          grl_tensor yarg = given_y ? ty.t : nullptr;
          if (rule == Rule::Hebbian) ASSERT_GRL_OK(grl_hebbian_update_(tw, tx, yarg, eta, decay));
          if (rule == Rule::Oja) ASSERT_GRL_OK(grl_oja_update_(tw, tx, yarg, eta));
          if (rule == Rule::Sanger) ASSERT_GRL_OK(grl_sanger_update_(tw, tx, yarg, eta));
          Tol t = dt == GRL_F32 ? Tol{2e-5, 2e-5} : tol(dt);
          EXPECT_TRUE(close(download(tw), ref, t)) << "rule " << static_cast<int>(rule) << " " << g.n_out << "x"
                                                   << g.n_in << " B" << g.batch << " y " << given_y << " "
                                                   << grl_dtype_name(dt);
        }
      }
    }
  }
}

TEST_F(Plasticity, EmptyBatchAndEmptyWeightsAreNoOps) {
  Host w = Host::random({3, 4}, rng());
  for (auto& v : w.v) v = round_to(GRL_F32, v);
  T tw(upload(dev, w)), x(upload(dev, Host::zeros({0, 4}))), y(upload(dev, Host::zeros({0, 3})));
  ASSERT_GRL_OK(grl_hebbian_update_(tw, x, y, 0.5, 0.1));
  ASSERT_GRL_OK(grl_sanger_update_(tw, x, nullptr, 0.5));
  EXPECT_TRUE(close(download(tw), w, {0, 0}));
  T we(upload(dev, Host::zeros({0, 4}))), xe(upload(dev, Host::random({2, 4}, rng()))),
      ye(upload(dev, Host::zeros({2, 0})));
  ASSERT_GRL_OK(grl_oja_update_(we, xe, ye, 0.5));
  ASSERT_GRL_OK(grl_sanger_update_(we, xe, nullptr, 0.5));
  EXPECT_EQ(grl_tensor_numel(we), 0);
  // STDP with an empty batch: nothing to do, nothing changes.
  T px(upload(dev, Host::zeros({0, 4}))), py(upload(dev, Host::zeros({0, 3})));
  T pre(upload(dev, Host::zeros({0, 4}))), post(upload(dev, Host::zeros({0, 3})));
  ASSERT_GRL_OK(grl_stdp_step_(tw, pre, post, px, py, nullptr, nullptr, nullptr));
  EXPECT_TRUE(close(download(tw), w, {0, 0}));
}

// Oja's rule with y = W x finds the first principal direction, with unit norm.
TEST_F(Plasticity, OjaConvergesToTheFirstPrincipalComponent) {
  const int n = 5;
  const std::vector<double> lambda = {5, 2, 1, 0.5, 0.2};
  const std::vector<double> q = orthonormal(n);
  const int64_t steps = 300, batch = 16;
  T data(upload(dev, pca_samples(q, lambda, steps * batch)));
  T tw(upload(dev, Host::random({1, n}, rng(), -0.3, 0.3)));
  for (int64_t s = 0; s < steps; ++s) {
    T xb;
    ASSERT_GRL_OK(grl_slice(data, 0, s * batch, (s + 1) * batch, 1, xb.out()));
    ASSERT_GRL_OK(grl_oja_update_(tw, xb, nullptr, 0.02));
  }
  Host w = download(tw);
  double norm = 0;
  for (double v : w.v) norm += v * v;
  EXPECT_NEAR(std::sqrt(norm), 1.0, 0.05);
  EXPECT_GT(abs_cosine(w.v.data(), q.data(), n), 0.99);
}

// Sanger's rule: row i converges to the eigenvector with the i-th largest eigenvalue.
TEST_F(Plasticity, SangerRowsConvergeToTheTopEigenvectors) {
  const int n = 6, k = 3;
  const std::vector<double> lambda = {6, 3, 1.5, 0.4, 0.2, 0.1};
  const std::vector<double> q = orthonormal(n);
  const int64_t steps = 450, batch = 16;
  T data(upload(dev, pca_samples(q, lambda, steps * batch)));
  T tw(upload(dev, Host::random({k, n}, rng(), -0.3, 0.3)));
  for (int64_t s = 0; s < steps; ++s) {
    T xb;
    ASSERT_GRL_OK(grl_slice(data, 0, s * batch, (s + 1) * batch, 1, xb.out()));
    ASSERT_GRL_OK(grl_sanger_update_(tw, xb, nullptr, 0.015));
  }
  Host w = download(tw);
  for (int r = 0; r < k; ++r) {
    EXPECT_GT(abs_cosine(&w.v[static_cast<size_t>(r * n)], &q[static_cast<size_t>(r * n)], n), 0.98) << "row " << r;
    double norm = 0;
    for (int c = 0; c < n; ++c) norm += w[r * n + c] * w[r * n + c];
    EXPECT_NEAR(std::sqrt(norm), 1.0, 0.05) << "row " << r;
  }
}

// Strided (transposed) spike and activity tensors give the same result as contiguous ones.
TEST_F(Plasticity, StridedInputsMatchContiguous) {
  const int64_t b = 3, n_pre = 5, n_post = 4;
  Host pre_t = spikes({n_pre, b}, 0.5), post_t = spikes({n_post, b}, 0.5);
  Host pre = Host::zeros({b, n_pre}), post = Host::zeros({b, n_post});
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t j = 0; j < n_pre; ++j) pre[i * n_pre + j] = pre_t[j * b + i];
    for (int64_t j = 0; j < n_post; ++j) post[i * n_post + j] = post_t[j * b + i];
  }
  Host w = Host::random({n_post, n_pre}, rng(), 0, 1), tr_x = Host::random({b, n_pre}, rng(), 0, 1),
       tr_y = Host::random({b, n_post}, rng(), 0, 1);
  T w1(upload(dev, w)), w2(upload(dev, w)), x1(upload(dev, tr_x)), x2(upload(dev, tr_x)), y1(upload(dev, tr_y)),
      y2(upload(dev, tr_y));
  T cpre(upload(dev, pre)), cpost(upload(dev, post)), tpre(upload(dev, pre_t)), tpost(upload(dev, post_t)), vpre, vpost;
  ASSERT_GRL_OK(grl_transpose(tpre, 0, 1, vpre.out()));
  ASSERT_GRL_OK(grl_transpose(tpost, 0, 1, vpost.out()));
  ASSERT_GRL_OK(grl_stdp_step_(w1, cpre, cpost, x1, y1, nullptr, nullptr, nullptr));
  ASSERT_GRL_OK(grl_stdp_step_(w2, vpre, vpost, x2, y2, nullptr, nullptr, nullptr));
  EXPECT_TRUE(close(download(w2), download(w1), {0, 0}));
  EXPECT_TRUE(close(download(x2), download(x1), {0, 0}));
  EXPECT_TRUE(close(download(y2), download(y1), {0, 0}));
  ASSERT_GRL_OK(grl_oja_update_(w1, cpre, cpost, 0.1));
  ASSERT_GRL_OK(grl_oja_update_(w2, vpre, vpost, 0.1));
  EXPECT_TRUE(close(download(w2), download(w1), {0, 0}));
}

// ---- bad inputs ---------------------------------------------------------------------------------

TEST_F(Plasticity, RateRulesRejectBadInputs) {
  T w(upload(dev, Host::random({3, 4}, rng()))), x(upload(dev, Host::random({2, 4}, rng()))),
      y(upload(dev, Host::random({2, 3}, rng())));
  T x16(upload(dev, Host::random({2, 4}, rng()), GRL_F16)), wi(upload(dev, Host::random({3, 4}, rng()), GRL_I32));
  T x5(upload(dev, Host::random({2, 5}, rng()))), y3b(upload(dev, Host::random({3, 3}, rng())));
  T w3(upload(dev, Host::random({3}, rng())));
  T out;
  EXPECT_GRL_ERROR(grl_hebbian_update_(nullptr, x, y, 0.1, 0), GRL_ERROR_NULL_ARGUMENT, "'w'");
  EXPECT_GRL_ERROR(grl_oja_update_(w, nullptr, y, 0.1), GRL_ERROR_NULL_ARGUMENT, "'x'");
  EXPECT_GRL_ERROR(grl_sanger_update_(w, x5, y, 0.1), GRL_ERROR_SHAPE, "'x' must be [4] or [B, 4]");
  EXPECT_GRL_ERROR(grl_sanger_update_(w, x, x, 0.1), GRL_ERROR_SHAPE, "'y' must be [3] or [B, 3]");
  EXPECT_GRL_ERROR(grl_oja_update_(w, x, y3b, 0.1), GRL_ERROR_SHAPE, "one batch size");
  EXPECT_GRL_ERROR(grl_oja_update_(w3, x, y, 0.1), GRL_ERROR_SHAPE, "2-d");
  EXPECT_GRL_ERROR(grl_hebbian_update_(w, x16, y, 0.1, 0), GRL_ERROR_DTYPE, "'x'");
  EXPECT_GRL_ERROR(grl_hebbian_update_(wi, x, y, 0.1, 0), GRL_ERROR_DTYPE, "'w'");
  EXPECT_GRL_ERROR(grl_hebbian_update_(w, x, y, -0.1, 0), GRL_ERROR_INVALID_ARGUMENT, "'eta'");
  EXPECT_GRL_ERROR(grl_hebbian_update_(w, x, y, 0.1, NAN), GRL_ERROR_INVALID_ARGUMENT, "'decay'");
  EXPECT_GRL_ERROR(grl_oja_update_(w, x, y, INFINITY), GRL_ERROR_INVALID_ARGUMENT, "'eta'");
  // In place: not a transposed view, not a tensor that requires gradients, not aliased.
  T wt;
  ASSERT_GRL_OK(grl_transpose(w, 0, 1, wt.out()));
  T x3(upload(dev, Host::random({2, 3}, rng()))), y4(upload(dev, Host::random({2, 4}, rng())));
  EXPECT_GRL_ERROR(grl_oja_update_(wt, x3, y4, 0.1), GRL_ERROR_INVALID_ARGUMENT, "not contiguous");
  T sq(upload(dev, Host::random({4, 4}, rng())));
  T row;
  ASSERT_GRL_OK(grl_slice(sq, 0, 0, 1, 1, row.out()));
  EXPECT_GRL_ERROR(grl_hebbian_update_(sq, row, row, 0.1, 0), GRL_ERROR_INVALID_ARGUMENT, "shares memory");
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(w, 1));
  EXPECT_GRL_ERROR(grl_hebbian_update_(w, x, y, 0.1, 0), GRL_ERROR_INVALID_ARGUMENT, "requires gradients");
  uint32_t prev = 0;
  ASSERT_GRL_OK(grl_set_grad_enabled(0, &prev));
  EXPECT_EQ(grl_hebbian_update_(w, x, y, 0.1, 0), GRL_OK);  // allowed with grad mode off
  ASSERT_GRL_OK(grl_set_grad_enabled(prev, &prev));
  // Operands on two devices.
  grl_device_options o = GRL_DEVICE_OPTIONS_INIT;
  o.validation = 1;
  grl_device d2 = nullptr;
  ASSERT_GRL_OK(grl_device_create(&o, &d2));
  {
    T x2(upload(d2, Host::random({2, 4}, rng()))), w2(upload(d2, Host::random({3, 4}, rng())));
    EXPECT_GRL_ERROR(grl_sanger_update_(w2, x, nullptr, 0.1), GRL_ERROR_DEVICE_MISMATCH, "another device");
    EXPECT_GRL_ERROR(grl_oja_update_(w2, x2, y, 0.1), GRL_ERROR_DEVICE_MISMATCH, "another device");
  }
  grl_device_release(d2);
}

TEST_F(Plasticity, StdpRejectsBadInputs) {
  T w(upload(dev, Host::zeros({3, 4}))), pre(upload(dev, Host::zeros({2, 4}))), post(upload(dev, Host::zeros({2, 3})));
  T x(upload(dev, Host::zeros({2, 4}))), y(upload(dev, Host::zeros({2, 3})));
  T xs(upload(dev, Host::zeros({2, 4}))), ys(upload(dev, Host::zeros({2, 3})));
  grl_stdp_options o = GRL_STDP_OPTIONS_INIT;
  EXPECT_GRL_ERROR(grl_stdp_step_(nullptr, pre, post, x, y, nullptr, nullptr, &o), GRL_ERROR_NULL_ARGUMENT, "'w'");
  EXPECT_GRL_ERROR(grl_stdp_step_(w, pre, post, nullptr, y, nullptr, nullptr, &o), GRL_ERROR_NULL_ARGUMENT,
                   "'pre_trace'");
  EXPECT_GRL_ERROR(grl_stdp_step_(w, post, pre, x, y, nullptr, nullptr, &o), GRL_ERROR_SHAPE, "'pre_spikes' must be");
  T post1(upload(dev, Host::zeros({1, 3})));
  EXPECT_GRL_ERROR(grl_stdp_step_(w, pre, post1, x, y, nullptr, nullptr, &o), GRL_ERROR_SHAPE, "one batch size");
  T x1d(upload(dev, Host::zeros({4})));
  EXPECT_GRL_ERROR(grl_stdp_step_(w, pre, post, x1d, y, nullptr, nullptr, &o), GRL_ERROR_SHAPE, "'pre_trace'");
  T x16(upload(dev, Host::zeros({2, 4}), GRL_F16)), pre16(upload(dev, Host::zeros({2, 4}), GRL_F16));
  EXPECT_GRL_ERROR(grl_stdp_step_(w, pre, post, x16, y, nullptr, nullptr, &o), GRL_ERROR_DTYPE, "traces are f32");
  EXPECT_GRL_ERROR(grl_stdp_step_(w, pre16, post, x, y, nullptr, nullptr, &o), GRL_ERROR_DTYPE, "'pre_spikes'");
  T posti(upload(dev, Host::zeros({2, 3}), GRL_I32));
  EXPECT_GRL_ERROR(grl_stdp_step_(w, pre, posti, x, y, nullptr, nullptr, &o), GRL_ERROR_DTYPE, "or u8");
  // Aliasing: a trace passed twice, or a trace that is the spike tensor.
  T sq(upload(dev, Host::zeros({4, 4}))), s4(upload(dev, Host::zeros({2, 4}))), t4a(upload(dev, Host::zeros({2, 4})));
  EXPECT_GRL_ERROR(grl_stdp_step_(sq, s4, t4a, t4a, t4a, nullptr, nullptr, &o), GRL_ERROR_INVALID_ARGUMENT,
                   "same tensor");
  EXPECT_GRL_ERROR(grl_stdp_step_(w, pre, post, pre, y, nullptr, nullptr, &o), GRL_ERROR_INVALID_ARGUMENT,
                   "same tensor");
  // Options, each naming its field.
  struct Bad {
    const char* field;
    void (*set)(grl_stdp_options&);
  };
  const std::vector<Bad> bads = {
      {"version", [](grl_stdp_options& v) { v.version = 0; }},
      {"opts->dt", [](grl_stdp_options& v) { v.dt = 0; }},
      {"opts->tau_plus", [](grl_stdp_options& v) { v.tau_plus = -1; }},
      {"opts->tau_minus", [](grl_stdp_options& v) { v.tau_minus = NAN; }},
      {"opts->a_plus", [](grl_stdp_options& v) { v.a_plus = -0.1; }},
      {"opts->a_minus", [](grl_stdp_options& v) { v.a_minus = INFINITY; }},
      {"opts->trace_mode", [](grl_stdp_options& v) { v.trace_mode = static_cast<grl_stdp_trace_mode>(5); }},
      {"opts->bound", [](grl_stdp_options& v) { v.bound = static_cast<grl_stdp_bound>(3); }},
      {"w_min <= w_max", [](grl_stdp_options& v) { v.w_min = 1, v.w_max = 0; }},
      {"opts->batch_reduction", [](grl_stdp_options& v) { v.batch_reduction = GRL_REDUCTION_NONE; }},
      {"opts->triplet", [](grl_stdp_options& v) { v.triplet = 2; }},
      {"opts->tau_x", [](grl_stdp_options& v) { v.triplet = 1, v.tau_x = 0; }},
      {"opts->a3_minus", [](grl_stdp_options& v) { v.triplet = 1, v.a3_minus = -1; }},
  };
  for (const Bad& b : bads) {
    grl_stdp_options v = GRL_STDP_OPTIONS_INIT;
    b.set(v);
    EXPECT_GRL_ERROR(grl_stdp_step_(w, pre, post, x, y, xs, ys, &v), GRL_ERROR_INVALID_ARGUMENT, b.field);
  }
  grl_stdp_options trip = GRL_STDP_OPTIONS_INIT;
  trip.triplet = 1;
  EXPECT_GRL_ERROR(grl_stdp_step_(w, pre, post, x, y, nullptr, ys, &trip), GRL_ERROR_NULL_ARGUMENT, "'pre_slow'");
  T wt;
  T sq3(upload(dev, Host::zeros({4, 3})));
  ASSERT_GRL_OK(grl_transpose(sq3, 0, 1, wt.out()));
  EXPECT_GRL_ERROR(grl_stdp_step_(wt, pre, post, x, y, nullptr, nullptr, &o), GRL_ERROR_INVALID_ARGUMENT,
                   "not contiguous");
  grl_device_options dopt = GRL_DEVICE_OPTIONS_INIT;
  dopt.validation = 1;
  grl_device d2 = nullptr;
  ASSERT_GRL_OK(grl_device_create(&dopt, &d2));
  {
    T y2(upload(d2, Host::zeros({2, 3}))), post2(upload(d2, Host::zeros({2, 3})));
    EXPECT_GRL_ERROR(grl_stdp_step_(w, pre, post, x, y2, nullptr, nullptr, &o), GRL_ERROR_DEVICE_MISMATCH,
                     "another device");
    EXPECT_GRL_ERROR(grl_stdp_step_(w, pre, post2, x, y, nullptr, nullptr, &o), GRL_ERROR_DEVICE_MISMATCH,
                     "another device");
  }
  grl_device_release(d2);
  // Nothing was changed by the failed calls.
  EXPECT_TRUE(close(download(w), Host::zeros({3, 4}), {0, 0}));
}
