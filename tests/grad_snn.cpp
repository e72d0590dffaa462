// Gradient checks of the spiking neuron nodes (soft-spike mode, where the forward is smooth), and
// the float64 reference of the nodes' forward and backward through time that test_snn.cpp uses.
#include <grilly.h>

#include <cmath>

#include "gradcheck.h"

namespace snn_ref {

using gt::Host;

double alpha_of(const grl_neuron_options& o) {
  if (o.alpha > 0) return o.alpha;
  switch (o.surrogate) {
    case GRL_SURROGATE_ATAN: return 2.0;
    case GRL_SURROGATE_SIGMOID: return 4.0;
    case GRL_SURROGATE_FAST_SIGMOID: return 2.0;
    default: return 1.0;
  }
}

double sg(const grl_neuron_options& o, double x) {
  const double a = alpha_of(o), pi = 3.14159265358979323846;
  switch (o.surrogate) {
    case GRL_SURROGATE_ATAN: return std::atan(pi / 2 * a * x) / pi + 0.5;
    case GRL_SURROGATE_SIGMOID: return 1 / (1 + std::exp(-a * x));
    case GRL_SURROGATE_FAST_SIGMOID: return 0.5 + 0.5 * a * x / (1 + a * std::abs(x));
    default: {
      double u = a * x;
      if (u <= -1) return 0;
      if (u < 0) return 0.5 * (u + 1) * (u + 1);
      if (u < 1) return 1 - 0.5 * (1 - u) * (1 - u);
      return 1;
    }
  }
}

double dsg(const grl_neuron_options& o, double x) {
  const double a = alpha_of(o), pi = 3.14159265358979323846;
  switch (o.surrogate) {
    case GRL_SURROGATE_ATAN: return a / 2 / (1 + std::pow(pi / 2 * a * x, 2));
    case GRL_SURROGATE_SIGMOID: {
      double s = 1 / (1 + std::exp(-a * x));
      return a * s * (1 - s);
    }
    case GRL_SURROGATE_FAST_SIGMOID: return a / 2 / std::pow(1 + a * std::abs(x), 2);
    default: return a * std::max(0.0, 1 - a * std::abs(x));
  }
}

// Everything the backward needs from one forward run.
struct Run {
  Host packed;            // [T + S, ...]: spikes, v_T (and w_T)
  std::vector<double> h;  // [T * N] charges
  std::vector<double> s;  // [T * N] spikes
  std::vector<double> vprev, wprev;  // [T * N] state before each step
  std::vector<double> k;  // [N]
};

// x [T, ...]; v0, w0 of the neuron shape or empty (numel 0 means absent); kp broadcastable to the
// neuron shape or empty. `hint` (optional, [T, ...]): spikes to take where h is within `amb` of the
// threshold, where float32 and float64 may legitimately disagree.
Run forward(const grl_neuron_options& o, const Host& x, const Host* v0, const Host* w0, const Host* kp,
            const Host* hint = nullptr, double amb = 0) {
  const int64_t T = x.shape[0];
  gt::Shape ns(x.shape.begin() + 1, x.shape.end());
  const int64_t N = gt::numel(ns);
  const bool alif = o.kind == GRL_NEURON_ALIF;
  const int64_t S = alif ? 2 : 1;
  Run r;
  gt::Shape ps = x.shape;
  ps[0] = T + S;
  r.packed = Host::zeros(ps);
  r.h.resize(static_cast<size_t>(T * N));
  r.s = r.vprev = r.wprev = r.h;
  r.k.resize(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) {
    double k = 1 / o.tau;
    if (kp) k = 1 / (1 + std::exp(-(*kp)[gt::bcast_index(ns, kp->shape, n)]));
    r.k[static_cast<size_t>(n)] = k;
    double v = v0 ? (*v0)[n] : o.v_rest, w = w0 ? (*w0)[n] : 0;
    for (int64_t t = 0; t < T; ++t) {
      size_t i = static_cast<size_t>(t * N + n);
      double xi = x[t * N + n], h;
      double drive = alif ? xi - w : xi;
      if (o.kind == GRL_NEURON_IF)
        h = v + xi;
      else if (o.decay_input)
        h = v + k * (drive - (v - o.v_rest));
      else
        h = v - k * (v - o.v_rest) + drive;
      double s;
      if (o.soft_spike)
        s = sg(o, h - o.v_thresh);
      else if (hint && std::abs(h - o.v_thresh) < amb)
        s = (*hint)[t * N + n];
      else
        s = h >= o.v_thresh ? 1 : 0;
      r.h[i] = h;
      r.s[i] = s;
      r.vprev[i] = v;
      r.wprev[i] = w;
      double vp = v;
      v = o.soft_reset ? h - o.v_thresh * s : h * (1 - s) + o.v_reset * s;
      if (alif) w = w + (o.a * (vp - o.v_rest) - w) / o.tau_w + o.b * s;
      r.packed[t * N + n] = s;
    }
    r.packed[T * N + n] = v;
    if (alif) r.packed[(T + 1) * N + n] = w;
  }
  return r;
}

// Backward through time by hand, with the surrogate derivative in place of the Heaviside's.
// g: the gradient of the packed output. Returns {gx [T, ...], gv0, gw0, gk (per neuron, d/d tau_param)}.
std::vector<Host> backward(const grl_neuron_options& o, const Run& r, const Host& x, const Host& g) {
  const int64_t T = x.shape[0];
  gt::Shape ns(x.shape.begin() + 1, x.shape.end());
  const int64_t N = gt::numel(ns);
  const bool alif = o.kind == GRL_NEURON_ALIF, is_if = o.kind == GRL_NEURON_IF;
  Host gx = Host::zeros(x.shape), gv = Host::zeros(ns), gw = Host::zeros(ns), gk = Host::zeros(ns);
  const double kw = 1 / o.tau_w;
  for (int64_t n = 0; n < N; ++n) {
    const double k = r.k[static_cast<size_t>(n)];
    double lv = g[T * N + n], lw = alif ? g[(T + 1) * N + n] : 0, acc = 0;
    for (int64_t t = T - 1; t >= 0; --t) {
      size_t i = static_cast<size_t>(t * N + n);
      double h = r.h[i], s = r.s[i], d = dsg(o, h - o.v_thresh);
      // v_t = reset(h, s): its partials in h and in s.
      double dvdh = o.soft_reset ? 1 : 1 - s;
      double dvds = o.detach_reset ? 0 : (o.soft_reset ? -o.v_thresh : o.v_reset - h);
      // dL/ds: the spike output, the reset and (ALIF) the jump b s of w_t.
      double gs = g[t * N + n] + lv * dvds + (alif ? lw * o.b : 0);
      double gh = lv * dvdh + gs * d;
      // h = charge(v_{t-1}, w_{t-1}, x_t, k).
      double dhdv = is_if ? 1 : 1 - k;
      double dhdw = o.decay_input ? -k : -1;
      double dhdx = (is_if || !o.decay_input) ? 1 : k;
      double drive = x[t * N + n] - (alif ? r.wprev[i] : 0);
      double dhdk = o.decay_input ? drive - (r.vprev[i] - o.v_rest) : -(r.vprev[i] - o.v_rest);
      gx[t * N + n] = gh * dhdx;
      acc += gh * dhdk;
      // w_t = w_{t-1} + kw (a (v_{t-1} - v_rest) - w_{t-1}) + b s.
      double lv_prev = gh * dhdv + (alif ? lw * kw * o.a : 0);
      double lw_prev = alif ? gh * dhdw + lw * (1 - kw) : 0;
      lv = lv_prev;
      lw = lw_prev;
    }
    gv[n] = lv;
    gw[n] = lw;
    gk[n] = acc * k * (1 - k);
  }
  return {gx, gv, gw, gk};
}

}  // namespace snn_ref

using namespace gt;

namespace {

// A case runs the node on inputs {x, v0, [w0], [tau_param]} and returns the packed output
// [T + S, ...] (spikes, v_T, w_T concatenated), so that every output's gradient is checked.
struct NodeCase {
  grl_neuron_options o;
  bool w0, kp;
  bool spikes_only = false;  // ask for the spikes alone (the rule then sits on them directly)
};

grl_status run_node(const NodeCase& c, const std::vector<grl_tensor>& t, grl_tensor* out) {
  size_t j = 2;
  grl_tensor w0 = c.w0 ? t[j++] : nullptr;
  grl_tensor kp = c.kp ? t[j++] : nullptr;
  const bool alif = c.o.kind == GRL_NEURON_ALIF;
  if (c.spikes_only) return grl_spiking_neuron(t[0], t[1], w0, kp, &c.o, out, nullptr, nullptr);
  grl_tensor s = nullptr, v = nullptr, w = nullptr, vu = nullptr, wu = nullptr;
  grl_status st = grl_spiking_neuron(t[0], t[1], w0, kp, &c.o, &s, &v, alif ? &w : nullptr);
  if (st != GRL_OK) return st;
  grl_unsqueeze(v, 0, &vu);
  if (alif) grl_unsqueeze(w, 0, &wu);
  grl_tensor parts[3] = {s, vu, wu};
  st = grl_concat(parts, alif ? 3 : 2, 0, out);
  for (grl_tensor x : {s, v, w, vu, wu}) grl_tensor_release(x);
  return st;
}

Host ref_node(const NodeCase& c, const std::vector<Host>& x) {
  size_t j = 2;
  const Host* w0 = c.w0 ? &x[j++] : nullptr;
  const Host* kp = c.kp ? &x[j++] : nullptr;
  Host p = snn_ref::forward(c.o, x[0], &x[1], w0, kp).packed;
  if (!c.spikes_only) return p;
  Host s = Host::zeros(x[0].shape);
  for (int64_t i = 0; i < s.numel(); ++i) s[i] = p[i];
  return s;
}

GradCase node_case(NodeCase c, std::vector<Shape> shapes) {
  c.o.soft_spike = 1;
  GradCase g;
  g.rule = "spiking_neuron";
  g.shapes = std::move(shapes);
  g.run = [c](const std::vector<grl_tensor>& t, grl_tensor* out) { return run_node(c, t, out); };
  g.ref = [c](const std::vector<Host>& x) { return ref_node(c, x); };
  g.lo = -1.5;
  g.hi = 2.0;
  return g;
}

NodeCase make(grl_neuron_kind kind, grl_surrogate sgt, uint32_t decay, uint32_t soft_reset, bool w0, bool kp,
              bool spikes_only = false) {
  NodeCase c{GRL_NEURON_OPTIONS_INIT, w0, kp, spikes_only};
  c.o.kind = kind;
  c.o.surrogate = sgt;
  c.o.decay_input = decay;
  c.o.soft_reset = soft_reset;
  c.o.v_reset = -0.2;
  c.o.v_rest = 0.1;
  c.o.tau = 1.7;
  c.o.tau_w = 3.0;
  c.o.a = 0.3;
  c.o.b = 0.25;
  return c;
}

}  // namespace

// LIF, PLIF (learnable tau per neuron and shared), IF and ALIF, every surrogate, both resets and
// both charge forms; inputs x [T, ...], v0, (w0), (tau_param).
GRAD_CASE({node_case(make(GRL_NEURON_LIF, GRL_SURROGATE_ATAN, 1, 0, false, true), {{4, 5}, {5}, {5}})});
GRAD_CASE({node_case(make(GRL_NEURON_LIF, GRL_SURROGATE_SIGMOID, 0, 1, false, true), {{3, 2, 3}, {2, 3}, {1}})});
GRAD_CASE({node_case(make(GRL_NEURON_IF, GRL_SURROGATE_FAST_SIGMOID, 1, 1, false, false), {{5, 4}, {4}})});
GRAD_CASE({node_case(make(GRL_NEURON_LIF, GRL_SURROGATE_TRIANGLE, 1, 0, false, false), {{4, 6}, {6}})});
GRAD_CASE({node_case(make(GRL_NEURON_ALIF, GRL_SURROGATE_TRIANGLE, 1, 0, true, true), {{4, 3}, {3}, {3}, {3}})});
GRAD_CASE({node_case(make(GRL_NEURON_ALIF, GRL_SURROGATE_ATAN, 0, 1, true, true), {{3, 4}, {4}, {4}, {1}})});
// Spikes alone (the hidden-layer case: no state outputs, no views).
GRAD_CASE({node_case(make(GRL_NEURON_LIF, GRL_SURROGATE_SIGMOID, 1, 0, false, true, true), {{4, 5}, {5}, {1}})});
GRAD_CASE({node_case(make(GRL_NEURON_ALIF, GRL_SURROGATE_FAST_SIGMOID, 1, 1, true, false, true), {{3, 4}, {4}, {4}})});
