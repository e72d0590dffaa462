// Spiking neurons: the LIF step over many steps (refractory periods, broadcasting, views, dtypes),
// the neuron nodes' forward and backward through time, and the grl_snn simulator, against float64.
#include <grilly.h>

#include <cmath>

#include "testing.h"

using namespace gt;

namespace snn_ref {  // in grad_snn.cpp
struct Run {
  Host packed;
  std::vector<double> h, s, vprev, wprev, k;
};
Run forward(const grl_neuron_options& o, const Host& x, const Host* v0, const Host* w0, const Host* kp,
            const Host* hint, double amb);
std::vector<Host> backward(const grl_neuron_options& o, const Run& r, const Host& x, const Host& g);
}  // namespace snn_ref

class Snn : public DeviceTest {};

namespace {

// One LIF step in float64 on host state, the state rounded to dt after the step as the device
// stores it. Where the new potential lies within `amb` of the threshold, the device's spike is
// taken (f32 and f64 may disagree there), and the state follows that decision.
void lif_ref(const grl_lif_options& o, grl_dtype dt, Host& v, Host* r, const Host& in, const Host& dev_spikes,
             double amb, Host& spikes) {
  const double k = static_cast<double>(static_cast<float>(o.dt / o.tau_mem));
  spikes = Host::zeros(v.shape);
  for (int64_t i = 0; i < v.numel(); ++i) {
    double x = in[bcast_index(v.shape, in.shape, i)];
    if (r && (*r)[i] > 0) {
      (*r)[i] = round_to(dt, std::max((*r)[i] - static_cast<float>(o.dt), 0.0));
      v[i] = round_to(dt, o.v_reset);
      continue;
    }
    double nv = v[i] + k * (o.r_m * x - (v[i] - o.v_rest));
    bool spike = std::abs(nv - o.v_thresh) < amb ? dev_spikes[i] != 0 : nv >= o.v_thresh;
    if (spike) {
      spikes[i] = 1;
      nv = o.v_reset;
      if (r) (*r)[i] = round_to(dt, o.t_ref);
    }
    v[i] = round_to(dt, nv);
  }
}

double amb_of(grl_dtype dt) { return dt == GRL_F32 ? 1e-4 : dt == GRL_F16 ? 1e-2 : 5e-2; }

grl_lif_options busy_options() {
  grl_lif_options o = GRL_LIF_OPTIONS_INIT;
  o.dt = 0.5;
  o.tau_mem = 3.0;
  o.v_rest = -0.1;
  o.v_reset = -0.3;
  o.v_thresh = 1.0;
  o.r_m = 1.2;
  o.t_ref = 1.7;  // not a multiple of dt: the last refractory step clamps at 0
  return o;
}

}  // namespace

TEST_F(Snn, LifStepMatchesFloat64OverManyStepsWithRefractoryPeriods) {
  struct Case {
    Shape v, in;
  };
  const std::vector<Case> cases = {{{1}, {1}}, {{257}, {257}}, {{1031}, {1031}}, {{3, 129}, {129}},
                                   {{4, 5}, {}},  {{2, 3, 4}, {3, 1}}, {{0, 3}, {3}}};
  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16}) {
    for (bool refr : {true, false}) {
      for (int32_t sdt : {static_cast<int32_t>(GRL_U8), -1}) {
        for (const auto& c : cases) {
          grl_lif_options o = busy_options();
          if (!refr) o.t_ref = 0;
          o.spike_dtype = sdt;
          Host v = Host::random(c.v, rng(), -0.3, 0.9), r = Host::zeros(c.v);
          for (auto& x : v.v) x = round_to(dt, x);
          T tv(upload(dev, v, dt)), tr(upload(dev, r, dt));
          int spikes_seen = 0, refractory_seen = 0;
          for (int step = 0; step < 24; ++step) {
            Host in = Host::random(c.in, rng(), 0.0, 3.0);
            for (auto& x : in.v) x = round_to(dt, x);
            T ti(upload(dev, in, dt)), ts;
            ASSERT_GRL_OK(grl_lif_step_(tv, refr ? tr.t : nullptr, ti, &o, ts.out()));
            ASSERT_EQ(grl_tensor_dtype(ts), sdt == -1 ? dt : GRL_U8);
            Host got_s = download(ts), ref_s;
            for (int64_t i = 0; i < r.numel(); ++i) refractory_seen += r[i] > 0;
            lif_ref(o, dt, v, refr ? &r : nullptr, in, got_s, amb_of(dt), ref_s);
            for (double s : ref_s.v) spikes_seen += s != 0;
            std::string where = std::string(grl_dtype_name(dt)) + " " + str(c.v) + " input " + str(c.in) +
                                " step " + std::to_string(step) + (refr ? " refractory" : "");
            ASSERT_TRUE(close(got_s, ref_s, {0, 0})) << where;
            ASSERT_TRUE(close(download(tv), v, tol(dt))) << where;
            if (refr) {
              ASSERT_TRUE(close(download(tr), r, tol(dt))) << where;
            }
            v = download(tv);  // follow the device's rounding so errors do not accumulate
            if (refr) r = download(tr);
          }
          if (numel(c.v) > 100) {
            EXPECT_GT(spikes_seen, 0);
            if (refr) {
              EXPECT_GT(refractory_seen, 0);
            }
          }
        }
      }
    }
  }
}

TEST_F(Snn, LifStepDefaultsAndExactRefractoryTimeline) {
  // Defaults: dt 0.001, tau 20, threshold 1: from 0.5, a current of 20000 crosses in one step.
  Host v = Host::zeros({2}), in = Host::zeros({2});
  v.v = {0.5, 0.5};
  in.v = {20000.0, 0.0};
  T tv(upload(dev, v)), ti(upload(dev, in)), ts;
  ASSERT_GRL_OK(grl_lif_step_(tv, nullptr, ti, nullptr, ts.out()));
  Host s = download(ts), nv = download(tv);
  EXPECT_EQ(s.v, (std::vector<double>{1, 0}));
  EXPECT_NEAR(nv[0], 0.0, 0);
  EXPECT_NEAR(nv[1], 0.5 - 0.001 / 20 * 0.5, 1e-7);
  // t_ref 3 with dt 1: a spike, then exactly three silent steps at v_reset under strong drive.
  grl_lif_options o = GRL_LIF_OPTIONS_INIT;
  o.dt = 1;
  o.tau_mem = 2;
  o.t_ref = 3;
  o.v_reset = -0.5;
  Host one = Host::zeros({1});
  one.v = {0.0};
  T v1(upload(dev, one)), r1(upload(dev, one)), big(upload(dev, Host{{1}, {10.0}}));
  std::vector<double> seq, rs;
  for (int i = 0; i < 9; ++i) {
    T s1;
    ASSERT_GRL_OK(grl_lif_step_(v1, r1, big, &o, s1.out()));
    seq.push_back(download(s1)[0]);
    rs.push_back(download(r1)[0]);
  }
  EXPECT_EQ(seq, (std::vector<double>{1, 0, 0, 0, 1, 0, 0, 0, 1}));
  EXPECT_EQ(rs, (std::vector<double>{3, 2, 1, 0, 3, 2, 1, 0, 3}));
}

TEST_F(Snn, LifStepWritesThroughViewsAndStridedInputs) {
  // v is every other column of a [4, 6] tensor; the input is a transposed view.
  Host base = Host::random({4, 6}, rng(), -0.2, 0.8), inb = Host::random({3, 4}, rng(), 0, 3);
  T tb(upload(dev, base)), tin(upload(dev, inb)), tv, tt, ts;
  ASSERT_GRL_OK(grl_slice(tb, 1, 0, 6, 2, tv.out()));
  ASSERT_GRL_OK(grl_transpose(tin, 0, 1, tt.out()));
  grl_lif_options o = busy_options();
  o.t_ref = 0;
  ASSERT_GRL_OK(grl_lif_step_(tv, nullptr, tt, &o, ts.out()));
  Host v = Host::zeros({4, 3}), in = Host::zeros({4, 3});
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) {
      v[i * 3 + j] = static_cast<float>(base[i * 6 + 2 * j]);
      in[i * 3 + j] = static_cast<float>(inb[j * 4 + i]);
    }
  Host ref_s;
  lif_ref(o, GRL_F32, v, nullptr, in, download(ts), 1e-4, ref_s);
  EXPECT_TRUE(close(download(ts), ref_s, {0, 0}));
  Host after = download(tb);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 6; ++j) {
      double want = j % 2 == 0 ? v[i * 3 + j / 2] : static_cast<float>(base[i * 6 + j]);
      EXPECT_NEAR(after[i * 6 + j], want, 1e-6) << i << "," << j;
    }
}

TEST_F(Snn, LifStepOnUnalignedContiguousViews) {
  // Offsets of one element take the scalar path; the result must not depend on the path.
  Host base = Host::random({1030}, rng(), -0.2, 0.8), inb = Host::random({1030}, rng(), 0, 3);
  T tb(upload(dev, base)), tin(upload(dev, inb)), tv, ti, ts;
  ASSERT_GRL_OK(grl_slice(tb, 0, 1, 1030, 1, tv.out()));
  ASSERT_GRL_OK(grl_slice(tin, 0, 0, 1029, 1, ti.out()));
  grl_lif_options o = busy_options();
  o.t_ref = 0;
  o.spike_dtype = GRL_U8;
  ASSERT_GRL_OK(grl_lif_step_(tv, nullptr, ti, &o, ts.out()));
  Host v = Host::zeros({1029}), in = Host::zeros({1029});
  for (int i = 0; i < 1029; ++i) {
    v[i] = static_cast<float>(base[i + 1]);
    in[i] = static_cast<float>(inb[i]);
  }
  Host ref_s, got_s = download(ts);
  lif_ref(o, GRL_F32, v, nullptr, in, got_s, 1e-4, ref_s);
  EXPECT_TRUE(close(got_s, ref_s, {0, 0}));
  EXPECT_TRUE(close(download(tv), v, tol(GRL_F32)));
  EXPECT_NEAR(download(tb)[0], static_cast<float>(base[0]), 0);
}

TEST_F(Snn, LifStepRejectsBadInputs) {
  Host h = Host::zeros({4});
  T v(upload(dev, h)), r(upload(dev, h)), in(upload(dev, h)), out;
  T vi(upload(dev, h, GRL_I32)), in16(upload(dev, h, GRL_F16)), r3(upload(dev, Host::zeros({3}))),
      big(upload(dev, Host::zeros({2, 4})));
  grl_lif_options o = GRL_LIF_OPTIONS_INIT;
  EXPECT_GRL_ERROR(grl_lif_step_(nullptr, r, in, &o, out.out()), GRL_ERROR_NULL_ARGUMENT, "'v'");
  EXPECT_GRL_ERROR(grl_lif_step_(v, r, nullptr, &o, out.out()), GRL_ERROR_NULL_ARGUMENT, "'input'");
  EXPECT_GRL_ERROR(grl_lif_step_(v, r, in, &o, nullptr), GRL_ERROR_NULL_ARGUMENT, "out");
  EXPECT_GRL_ERROR(grl_lif_step_(vi, nullptr, vi, &o, out.out()), GRL_ERROR_DTYPE, "f32, f16, bf16");
  EXPECT_GRL_ERROR(grl_lif_step_(v, r, in16, &o, out.out()), GRL_ERROR_DTYPE, "'input'");
  EXPECT_GRL_ERROR(grl_lif_step_(v, r3, in, &o, out.out()), GRL_ERROR_SHAPE, "'refractory'");
  EXPECT_GRL_ERROR(grl_lif_step_(v, r, big, &o, out.out()), GRL_ERROR_SHAPE, "enlarge");
  EXPECT_GRL_ERROR(grl_lif_step_(v, v, in, &o, out.out()), GRL_ERROR_INVALID_ARGUMENT, "shares memory");
  grl_lif_options bad = o;
  bad.t_ref = 2;
  EXPECT_GRL_ERROR(grl_lif_step_(v, nullptr, in, &bad, out.out()), GRL_ERROR_INVALID_ARGUMENT, "t_ref");
  bad = o;
  bad.dt = 0;
  EXPECT_GRL_ERROR(grl_lif_step_(v, r, in, &bad, out.out()), GRL_ERROR_INVALID_ARGUMENT, "opts->dt");
  bad = o;
  bad.tau_mem = -1;
  EXPECT_GRL_ERROR(grl_lif_step_(v, r, in, &bad, out.out()), GRL_ERROR_INVALID_ARGUMENT, "tau_mem");
  bad = o;
  bad.v_thresh = NAN;
  EXPECT_GRL_ERROR(grl_lif_step_(v, r, in, &bad, out.out()), GRL_ERROR_INVALID_ARGUMENT, "v_thresh");
  bad = o;
  bad.t_ref = -1;
  EXPECT_GRL_ERROR(grl_lif_step_(v, r, in, &bad, out.out()), GRL_ERROR_INVALID_ARGUMENT, "t_ref");
  bad = o;
  bad.spike_dtype = GRL_I32;
  EXPECT_GRL_ERROR(grl_lif_step_(v, r, in, &bad, out.out()), GRL_ERROR_DTYPE, "spike_dtype");
  bad = o;
  bad.version = 99;
  EXPECT_GRL_ERROR(grl_lif_step_(v, r, in, &bad, out.out()), GRL_ERROR_INVALID_ARGUMENT, "version");
  // In place on a tensor that requires gradients.
  T vg(upload(dev, h));
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(vg, 1));
  EXPECT_GRL_ERROR(grl_lif_step_(vg, nullptr, in, &o, out.out()), GRL_ERROR_INVALID_ARGUMENT, "requires gradients");
  EXPECT_EQ(out.t, nullptr);
  // Tensors from another device.
  grl_device_options dopt = GRL_DEVICE_OPTIONS_INIT;
  dopt.validation = 1;
  grl_device d2 = nullptr;
  ASSERT_GRL_OK(grl_device_create(&dopt, &d2));
  {
    T in2(upload(d2, h)), r2(upload(d2, h));
    EXPECT_GRL_ERROR(grl_lif_step_(v, nullptr, in2, &o, out.out()), GRL_ERROR_DEVICE_MISMATCH, "another device");
    EXPECT_GRL_ERROR(grl_lif_step_(v, r2, in, &o, out.out()), GRL_ERROR_DEVICE_MISMATCH, "another device");
  }
  grl_device_release(d2);
}

namespace {

grl_neuron_options node_options(grl_neuron_kind kind, grl_surrogate s, uint32_t decay, uint32_t soft_reset,
                                uint32_t detach) {
  grl_neuron_options o = GRL_NEURON_OPTIONS_INIT;
  o.kind = kind;
  o.surrogate = s;
  o.decay_input = decay;
  o.soft_reset = soft_reset;
  o.detach_reset = detach;
  o.v_reset = -0.1;
  o.v_rest = 0.05;
  o.tau = 2.5;
  o.tau_w = 4.0;
  o.a = 0.2;
  o.b = 0.3;
  return o;
}

// Runs one node configuration forward and backward (L = sum(gs * spikes) + sum(gv * v) + sum(gw * w))
// and compares every output and gradient with the float64 reference.
// spikes_only: ask for the spikes alone (no state outputs), so the gradient reaches the rule directly.
void check_node(grl_device dev, const grl_neuron_options& o, Shape xs, bool with_w0, bool with_kp, Shape kps,
                grl_dtype dt, bool spikes_only = false) {
  const bool alif = o.kind == GRL_NEURON_ALIF;
  Shape ns(xs.begin() + 1, xs.end());
  Host x = Host::random(xs, rng(), -0.5, 2.0), v0 = Host::random(ns, rng(), -0.5, 0.9);
  Host w0 = Host::random(ns, rng(), -0.2, 0.4), kp = Host::random(kps, rng(), -1.5, 1.5);
  for (Host* h : {&x, &v0, &w0, &kp})
    for (auto& e : h->v) e = round_to(dt, e);
  T tx(upload(dev, x, dt)), tv(upload(dev, v0, dt)), tw(upload(dev, w0, dt)), tk(upload(dev, kp, dt));
  for (grl_tensor t : {tx.t, tv.t, tw.t, tk.t}) ASSERT_GRL_OK(grl_tensor_set_requires_grad(t, 1));
  T s, v, w;
  ASSERT_GRL_OK(grl_spiking_neuron(tx, tv, with_w0 ? tw.t : nullptr, with_kp ? tk.t : nullptr, &o, s.out(),
                                   spikes_only ? nullptr : v.out(), alif && !spikes_only ? w.out() : nullptr));
  std::string what = std::string(grl_dtype_name(dt)) + " kind " + std::to_string(o.kind) + " surrogate " +
                     std::to_string(o.surrogate) + " decay " + std::to_string(o.decay_input) + " soft_reset " +
                     std::to_string(o.soft_reset) + " detach " + std::to_string(o.detach_reset) + " x " + str(xs);
  Host got_s = download(s);
  const double amb = dt == GRL_F32 ? 1e-4 : 3e-2;
  snn_ref::Run r = snn_ref::forward(o, x, &v0, with_w0 ? &w0 : nullptr, with_kp ? &kp : nullptr, &got_s, amb);
  const int64_t T_ = xs[0], N = numel(ns);
  Host ref_s = Host::zeros(xs), ref_v = Host::zeros(ns), ref_w = Host::zeros(ns);
  for (int64_t i = 0; i < T_ * N; ++i) ref_s[i] = r.packed[i];
  for (int64_t n = 0; n < N; ++n) {
    ref_v[n] = r.packed[T_ * N + n];
    if (alif) ref_w[n] = r.packed[(T_ + 1) * N + n];
  }
  Tol t = dt == GRL_F32 ? Tol{1e-4, 1e-5} : dt == GRL_F16 ? Tol{2e-2, 2e-2} : Tol{8e-2, 8e-2};
  EXPECT_TRUE(close(got_s, ref_s, {0, 0})) << what;
  if (!spikes_only) {
    EXPECT_TRUE(close(download(v), ref_v, t)) << what;
  }
  if (alif && !spikes_only) {
    EXPECT_TRUE(close(download(w), ref_w, t)) << what;
  }
  // Backward.
  Host gs = Host::random(xs, rng(), -1, 1), gv = Host::random(ns, rng(), -1, 1), gw = Host::random(ns, rng(), -1, 1);
  for (Host* h : {&gs, &gv, &gw})
    for (auto& e : h->v) e = round_to(dt, e);
  if (spikes_only) gv = gw = Host::zeros(ns);
  T tgs(upload(dev, gs, dt)), tgv(upload(dev, gv, dt)), tgw(upload(dev, gw, dt));
  T ls, lv, lw, ss, sv, sw, l1, loss;
  if (spikes_only) {
    ASSERT_GRL_OK(grl_tensor_backward(s, tgs, 0));
  } else {
    ASSERT_GRL_OK(grl_mul(s, tgs, ls.out()));
    ASSERT_GRL_OK(grl_sum(ls, nullptr, 0, 0, ss.out()));
    ASSERT_GRL_OK(grl_mul(v, tgv, lv.out()));
    ASSERT_GRL_OK(grl_sum(lv, nullptr, 0, 0, sv.out()));
    ASSERT_GRL_OK(grl_add(ss, sv, l1.out()));
    if (alif) {
      ASSERT_GRL_OK(grl_mul(w, tgw, lw.out()));
      ASSERT_GRL_OK(grl_sum(lw, nullptr, 0, 0, sw.out()));
      ASSERT_GRL_OK(grl_add(l1, sw, loss.out()));
    } else {
      ASSERT_GRL_OK(grl_add_scalar(l1, 0.0, loss.out()));
    }
    ASSERT_GRL_OK(grl_tensor_backward(loss, nullptr, 0));
  }
  gt::Shape ps = xs;
  ps[0] = T_ + (alif ? 2 : 1);
  Host g = Host::zeros(ps);
  for (int64_t i = 0; i < T_ * N; ++i) g[i] = gs[i];
  for (int64_t n = 0; n < N; ++n) {
    g[T_ * N + n] = gv[n];
    if (alif) g[(T_ + 1) * N + n] = gw[n];
  }
  std::vector<Host> ref = snn_ref::backward(o, r, x, g);
  // Gradients through many surrogate steps: f32 tolerances grow with T.
  Tol gt_ = dt == GRL_F32 ? Tol{2e-4, 2e-5} : dt == GRL_F16 ? Tol{5e-2, 5e-2} : Tol{0.15, 0.15};
  T gx, gv0, gw0, gk;
  ASSERT_GRL_OK(grl_tensor_grad(tx, gx.out()));
  ASSERT_GRL_OK(grl_tensor_grad(tv, gv0.out()));
  EXPECT_TRUE(close(download(gx), ref[0], gt_)) << what << " dx";
  EXPECT_TRUE(close(download(gv0), ref[1], gt_)) << what << " dv0";
  if (with_w0) {
    ASSERT_GRL_OK(grl_tensor_grad(tw, gw0.out()));
    EXPECT_TRUE(close(download(gw0), ref[2], gt_)) << what << " dw0";
  }
  if (with_kp) {
    ASSERT_GRL_OK(grl_tensor_grad(tk, gk.out()));
    Host want = Host::zeros(kps);  // per-neuron gradients summed back to tau_param's shape
    for (int64_t n = 0; n < N; ++n) want[bcast_index(ns, kps, n)] += ref[3][n];
    EXPECT_TRUE(close(download(gk), want, {gt_.rtol * 4, gt_.atol * 4})) << what << " dtau";
  }
}

}  // namespace

TEST_F(Snn, NeuronNodesForwardAndBackwardThroughTimeMatchFloat64) {
  for (grl_surrogate sgt : {GRL_SURROGATE_ATAN, GRL_SURROGATE_SIGMOID, GRL_SURROGATE_FAST_SIGMOID,
                            GRL_SURROGATE_TRIANGLE}) {
    for (uint32_t detach : {0u, 1u}) {
      SCOPED_TRACE(::testing::Message() << "surrogate " << sgt << " detach " << detach);
      check_node(dev, node_options(GRL_NEURON_IF, sgt, 1, 0, detach), {9, 37}, false, false, {1}, GRL_F32);
      check_node(dev, node_options(GRL_NEURON_LIF, sgt, 1, 0, detach), {12, 3, 43}, false, true, {1}, GRL_F32);
      check_node(dev, node_options(GRL_NEURON_LIF, sgt, 0, 1, detach), {7, 300}, false, true, {300}, GRL_F32);
      check_node(dev, node_options(GRL_NEURON_ALIF, sgt, 1, 0, detach), {10, 2, 17}, true, true, {17}, GRL_F32);
      check_node(dev, node_options(GRL_NEURON_ALIF, sgt, 0, 1, detach), {6, 29}, true, false, {1}, GRL_F32);
    }
  }
  // Spikes alone, the rule on them directly.
  check_node(dev, node_options(GRL_NEURON_LIF, GRL_SURROGATE_ATAN, 1, 0, 0), {8, 3, 21}, false, true, {21}, GRL_F32, true);
  check_node(dev, node_options(GRL_NEURON_ALIF, GRL_SURROGATE_SIGMOID, 0, 1, 1), {8, 40}, true, true, {1}, GRL_F32, true);
  // One element, T = 1 (single step), and the reduced-precision variants.
  check_node(dev, node_options(GRL_NEURON_LIF, GRL_SURROGATE_ATAN, 1, 0, 0), {1, 1}, false, true, {1}, GRL_F32);
  check_node(dev, node_options(GRL_NEURON_LIF, GRL_SURROGATE_ATAN, 1, 0, 0), {1}, false, false, {1}, GRL_F32);
  check_node(dev, node_options(GRL_NEURON_LIF, GRL_SURROGATE_SIGMOID, 1, 0, 0), {5, 33}, false, true, {33}, GRL_F16);
  check_node(dev, node_options(GRL_NEURON_ALIF, GRL_SURROGATE_ATAN, 1, 1, 0), {5, 33}, true, false, {1}, GRL_BF16);
}

TEST_F(Snn, NeuronNodeSingleStepChainsLikeMultiStep) {
  // Running T steps one at a time with the state passed along equals one multi-step call.
  grl_neuron_options o = node_options(GRL_NEURON_ALIF, GRL_SURROGATE_ATAN, 1, 0, 0);
  Host x = Host::random({6, 50}, rng(), -0.5, 2.0);
  T tx(upload(dev, x)), s_all, v_all, w_all;
  ASSERT_GRL_OK(grl_spiking_neuron(tx, nullptr, nullptr, nullptr, &o, s_all.out(), v_all.out(), w_all.out()));
  T v, w;
  Host spikes = Host::zeros({6, 50});
  for (int t = 0; t < 6; ++t) {
    T xt, s, nv, nw;
    ASSERT_GRL_OK(grl_slice(tx, 0, t, t + 1, 1, xt.out()));
    ASSERT_GRL_OK(grl_spiking_neuron(xt, v, w, nullptr, &o, s.out(), nv.out(), nw.out()));
    Host hs = download(s);
    for (int n = 0; n < 50; ++n) spikes[t * 50 + n] = hs[n];
    v = std::move(nv);
    w = std::move(nw);
  }
  EXPECT_TRUE(close(spikes, download(s_all), {0, 0}));
  EXPECT_TRUE(close(download(v), download(v_all), {0, 0}));
  EXPECT_TRUE(close(download(w), download(w_all), {0, 0}));
  // Defaults with NULL state: v starts at v_rest; T = 0 returns the initial state.
  Host e = Host::zeros({0, 3});
  Host v0 = Host::random({3}, rng());
  T te(upload(dev, e)), tv0(upload(dev, v0)), se, ve;
  ASSERT_GRL_OK(grl_spiking_neuron(te, tv0, nullptr, nullptr, nullptr, se.out(), ve.out(), nullptr));
  EXPECT_EQ(download(se).shape, (Shape{0, 3}));
  EXPECT_TRUE(close(download(ve), v0, tol(GRL_F32)));
  // Empty neuron shape.
  T tz(upload(dev, Host::zeros({4, 0}))), sz, vz;
  ASSERT_GRL_OK(grl_spiking_neuron(tz, nullptr, nullptr, nullptr, nullptr, sz.out(), vz.out(), nullptr));
  EXPECT_EQ(download(sz).shape, (Shape{4, 0}));
  EXPECT_EQ(download(vz).shape, (Shape{0}));
}

TEST_F(Snn, NeuronNodeRejectsBadInputs) {
  T x(upload(dev, Host::zeros({3, 4}))), v(upload(dev, Host::zeros({4}))), v5(upload(dev, Host::zeros({5})));
  T xi(upload(dev, Host::zeros({3, 4}), GRL_I32)), v16(upload(dev, Host::zeros({4}), GRL_F16));
  T scalar(upload(dev, Host::zeros({}))), k2(upload(dev, Host::zeros({2})));
  T s, vo, wo;
  grl_neuron_options o = GRL_NEURON_OPTIONS_INIT;
  EXPECT_GRL_ERROR(grl_spiking_neuron(nullptr, v, nullptr, nullptr, &o, s.out(), vo.out(), nullptr),
                   GRL_ERROR_NULL_ARGUMENT, "'x'");
  EXPECT_GRL_ERROR(grl_spiking_neuron(x, v, nullptr, nullptr, &o, nullptr, vo.out(), nullptr),
                   GRL_ERROR_NULL_ARGUMENT, "out_spikes");
  EXPECT_GRL_ERROR(grl_spiking_neuron(xi, nullptr, nullptr, nullptr, &o, s.out(), nullptr, nullptr), GRL_ERROR_DTYPE,
                   "'x'");
  EXPECT_GRL_ERROR(grl_spiking_neuron(x, v16, nullptr, nullptr, &o, s.out(), nullptr, nullptr), GRL_ERROR_DTYPE,
                   "'v0'");
  EXPECT_GRL_ERROR(grl_spiking_neuron(scalar, nullptr, nullptr, nullptr, &o, s.out(), nullptr, nullptr),
                   GRL_ERROR_SHAPE, "0-d");
  EXPECT_GRL_ERROR(grl_spiking_neuron(x, v5, nullptr, nullptr, &o, s.out(), nullptr, nullptr), GRL_ERROR_SHAPE,
                   "neuron shape");
  EXPECT_GRL_ERROR(grl_spiking_neuron(x, nullptr, nullptr, k2, &o, s.out(), nullptr, nullptr), GRL_ERROR_SHAPE,
                   "tau_param");
  EXPECT_GRL_ERROR(grl_spiking_neuron(x, nullptr, v, nullptr, &o, s.out(), nullptr, nullptr),
                   GRL_ERROR_INVALID_ARGUMENT, "w0");
  EXPECT_GRL_ERROR(grl_spiking_neuron(x, nullptr, nullptr, nullptr, &o, s.out(), nullptr, wo.out()),
                   GRL_ERROR_INVALID_ARGUMENT, "out_w");
  grl_neuron_options b = o;
  b.kind = GRL_NEURON_IF;
  EXPECT_GRL_ERROR(grl_spiking_neuron(x, nullptr, nullptr, v, &b, s.out(), nullptr, nullptr),
                   GRL_ERROR_INVALID_ARGUMENT, "IF neuron");
  b = o;
  b.tau = 0;
  EXPECT_GRL_ERROR(grl_spiking_neuron(x, nullptr, nullptr, nullptr, &b, s.out(), nullptr, nullptr),
                   GRL_ERROR_INVALID_ARGUMENT, "opts->tau");
  b = o;
  b.surrogate = static_cast<grl_surrogate>(9);
  EXPECT_GRL_ERROR(grl_spiking_neuron(x, nullptr, nullptr, nullptr, &b, s.out(), nullptr, nullptr),
                   GRL_ERROR_INVALID_ARGUMENT, "surrogate");
  b = o;
  b.kind = static_cast<grl_neuron_kind>(7);
  EXPECT_GRL_ERROR(grl_spiking_neuron(x, nullptr, nullptr, nullptr, &b, s.out(), nullptr, nullptr),
                   GRL_ERROR_INVALID_ARGUMENT, "kind");
  b = o;
  b.soft_reset = 2;
  EXPECT_GRL_ERROR(grl_spiking_neuron(x, nullptr, nullptr, nullptr, &b, s.out(), nullptr, nullptr),
                   GRL_ERROR_INVALID_ARGUMENT, "soft_reset");
  b = o;
  b.alpha = INFINITY;
  EXPECT_GRL_ERROR(grl_spiking_neuron(x, nullptr, nullptr, nullptr, &b, s.out(), nullptr, nullptr),
                   GRL_ERROR_INVALID_ARGUMENT, "alpha");
  EXPECT_EQ(s.t, nullptr);
  grl_device_options dopt = GRL_DEVICE_OPTIONS_INIT;
  dopt.validation = 1;
  grl_device d2 = nullptr;
  ASSERT_GRL_OK(grl_device_create(&dopt, &d2));
  {
    T v2(upload(d2, Host::zeros({4})));
    EXPECT_GRL_ERROR(grl_spiking_neuron(x, v2, nullptr, nullptr, &o, s.out(), nullptr, nullptr),
                     GRL_ERROR_DEVICE_MISMATCH, "another device");
  }
  grl_device_release(d2);
}

TEST_F(Snn, SimulatorStepsResetsAndRestoresState) {
  grl_snn_options o = GRL_SNN_OPTIONS_INIT;
  o.lif = busy_options();
  o.lif.spike_dtype = GRL_U8;
  grl_snn sim = nullptr;
  ASSERT_GRL_OK(grl_snn_create(dev, 300, &o, &sim));
  Host v = Host::zeros({300}), r = Host::zeros({300});
  for (auto& e : v.v) e = o.lif.v_rest;
  for (int step = 0; step < 12; ++step) {
    Host in = Host::random({300}, rng(), 0.0, 3.0);
    T ti(upload(dev, in)), s;
    ASSERT_GRL_OK(grl_snn_process(sim, ti, s.out()));
    EXPECT_EQ(grl_tensor_dtype(s), GRL_U8);
    Host got = download(s), ref;
    lif_ref(o.lif, GRL_F32, v, &r, in, got, 1e-4, ref);
    ASSERT_TRUE(close(got, ref, {0, 0})) << step;
  }
  T gv, gr;
  ASSERT_GRL_OK(grl_snn_get_state(sim, gv.out(), gr.out()));
  EXPECT_TRUE(close(download(gv), v, {1e-5, 1e-5}));
  EXPECT_TRUE(close(download(gr), r, {1e-5, 1e-5}));
  // Snapshot, step on, restore: the next step repeats exactly.
  T in(upload(dev, Host::random({300}, rng(), 0.0, 3.0))), s1, s2;
  ASSERT_GRL_OK(grl_snn_process(sim, in, s1.out()));
  ASSERT_GRL_OK(grl_snn_set_state(sim, gv, gr));
  ASSERT_GRL_OK(grl_snn_process(sim, in, s2.out()));
  EXPECT_TRUE(close(download(s1), download(s2), {0, 0}));
  // A 0-d input drives every neuron; reset returns to v_rest.
  ASSERT_GRL_OK(grl_snn_reset(sim));
  T vr, rr, c(upload(dev, Host{{}, {0.5}})), s3;
  ASSERT_GRL_OK(grl_snn_get_state(sim, vr.out(), rr.out()));
  for (double e : download(vr).v) EXPECT_FLOAT_EQ(e, static_cast<float>(o.lif.v_rest));
  for (double e : download(rr).v) EXPECT_EQ(e, 0);
  ASSERT_GRL_OK(grl_snn_process(sim, c, s3.out()));
  ASSERT_GRL_OK(grl_snn_get_state(sim, vr.out(), nullptr));
  double k = static_cast<float>(0.5 / 3.0);
  for (double e : download(vr).v) EXPECT_NEAR(e, -0.1 + k * (1.2 * 0.5), 1e-6);
  grl_snn_retain(sim);
  grl_snn_release(sim);
  // Bad inputs.
  T bad_in(upload(dev, Host::zeros({7}))), bad_dt(upload(dev, Host::zeros({300}), GRL_F16)), s4;
  EXPECT_GRL_ERROR(grl_snn_process(sim, bad_in, s4.out()), GRL_ERROR_SHAPE, "'input'");
  EXPECT_GRL_ERROR(grl_snn_process(nullptr, in, s4.out()), GRL_ERROR_NULL_ARGUMENT, "'snn'");
  EXPECT_GRL_ERROR(grl_snn_set_state(sim, bad_in, nullptr), GRL_ERROR_SHAPE, "membrane");
  EXPECT_GRL_ERROR(grl_snn_set_state(sim, bad_dt, nullptr), GRL_ERROR_DTYPE, "membrane");
  grl_snn other = nullptr;
  EXPECT_GRL_ERROR(grl_snn_create(dev, -1, nullptr, &other), GRL_ERROR_INVALID_ARGUMENT, "n_neurons");
  grl_snn_options bo = o;
  bo.dtype = GRL_I32;
  EXPECT_GRL_ERROR(grl_snn_create(dev, 3, &bo, &other), GRL_ERROR_DTYPE, "dtype");
  bo = o;
  bo.lif.tau_mem = 0;
  EXPECT_GRL_ERROR(grl_snn_create(dev, 3, &bo, &other), GRL_ERROR_INVALID_ARGUMENT, "tau_mem");
  EXPECT_GRL_ERROR(grl_snn_create(nullptr, 3, &o, &other), GRL_ERROR_NULL_ARGUMENT, "device");
  EXPECT_EQ(other, nullptr);
  grl_snn_release(sim);
  grl_snn_release(nullptr);
}
