// Optimizers, learning-rate schedules, gradient clipping and optimizer checkpoints, against
// float64 references of torch.optim's algorithms written here (per-parameter state and step).
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "testing.h"

using namespace gt;

class Optim : public DeviceTest {};

namespace {

// ---- handles ----------------------------------------------------------------------------------
struct Opt {
  grl_optimizer o = nullptr;
  Opt() = default;
  Opt(const Opt&) = delete;
  Opt& operator=(const Opt&) = delete;
  ~Opt() { grl_optimizer_release(o); }
  operator grl_optimizer() const { return o; }
  grl_optimizer* out() {
    grl_optimizer_release(o);
    o = nullptr;
    return &o;
  }
};

struct Sched {
  grl_lr_scheduler s = nullptr;
  ~Sched() { grl_lr_scheduler_release(s); }
  operator grl_lr_scheduler() const { return s; }
};

grl_optimizer_options options(grl_optimizer_kind k, const std::function<void(grl_optimizer_options&)>& f = {}) {
  grl_optimizer_options o = GRL_OPTIMIZER_OPTIONS_INIT(k);
  if (f) f(o);
  return o;
}

std::vector<uint8_t> raw(grl_tensor t) {
  std::vector<uint8_t> b(static_cast<size_t>(grl_tensor_numel(t)) * grl_dtype_size(grl_tensor_dtype(t)));
  EXPECT_EQ(grl_tensor_download(t, b.data(), b.size()), GRL_OK) << grl_last_error_message();
  return b;
}

void set_grad(grl_device dev, grl_tensor p, const Host& g, grl_dtype dt) {
  T t(upload(dev, g, dt));
  ASSERT_EQ(grl_tensor_set_grad(p, t), GRL_OK) << grl_last_error_message();
}

Host random_grad(const Shape& s, grl_dtype dt) {
  Host g = Host::random(s, rng(), -1.0, 1.0);
  for (auto& x : g.v) x = round_to(dt, x);
  return g;
}

// ---- the float64 reference (torch.optim's single-tensor algorithms) ---------------------------
struct Resolved {
  grl_optimizer_kind kind;
  double lr, momentum, dampening, wd, b1, b2, eps, alpha, lr_decay, init_acc, mu_decay, mu_min, fisher;
  bool nesterov, amsgrad, centered;
};

Resolved resolve(const grl_optimizer_options& o) {
  Resolved r{};
  r.kind = o.kind;
  const double lr_def[] = {0.01, 1e-3, 1e-3, 0.01, 0.01, 0.5, 0.01};
  const double eps_def[] = {0.0, 1e-8, 1e-8, 1e-8, 1e-10, 1e-6, 1e-8};
  r.lr = o.lr < 0 ? lr_def[o.kind] : o.lr;
  r.eps = o.eps < 0 ? eps_def[o.kind] : o.eps;
  r.wd = o.weight_decay < 0 ? (o.kind == GRL_OPTIM_ADAMW ? 0.01 : 0.0) : o.weight_decay;
  r.momentum = o.momentum, r.dampening = o.dampening, r.b1 = o.beta1, r.b2 = o.beta2, r.alpha = o.alpha;
  r.lr_decay = o.lr_decay, r.init_acc = o.initial_accumulator_value, r.mu_decay = o.mu_decay, r.mu_min = o.mu_min;
  r.fisher = o.fisher_decay, r.nesterov = o.nesterov, r.amsgrad = o.amsgrad, r.centered = o.centered;
  return r;
}

// Slot names in the optimizer's order (after "<i>.step").
std::vector<std::string> slots_of(const Resolved& r) {
  switch (r.kind) {
    case GRL_OPTIM_SGD: return r.momentum != 0 ? std::vector<std::string>{"momentum_buffer"} : std::vector<std::string>{};
    case GRL_OPTIM_ADAM:
    case GRL_OPTIM_ADAMW:
      return r.amsgrad ? std::vector<std::string>{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
                       : std::vector<std::string>{"exp_avg", "exp_avg_sq"};
    case GRL_OPTIM_RMSPROP: {
      std::vector<std::string> s{"square_avg"};
      if (r.momentum > 0) s.push_back("momentum_buffer");
      if (r.centered) s.push_back("grad_avg");
      return s;
    }
    case GRL_OPTIM_ADAGRAD: return {"sum"};
    case GRL_OPTIM_NATURAL_GRADIENT: return {"fisher"};
    default: return {};
  }
}

struct RefParam {
  grl_dtype dt = GRL_F32;
  std::vector<double> p;
  std::map<std::string, std::vector<double>> s;
  int64_t step = 0;
};

struct RefOpt {
  Resolved r;
  double lr = 0, mu = 0;
  int64_t t = 0;
  std::vector<RefParam> ps;

  // dts: one dtype per parameter, or one for all.
  RefOpt(const grl_optimizer_options& o, const std::vector<Host>& init, std::vector<grl_dtype> dts) : r(resolve(o)) {
    lr = r.lr;
    mu = r.kind == GRL_OPTIM_NLMS ? r.lr : 0.0;
    for (size_t i = 0; i < init.size(); ++i) {
      const Host& h = init[i];
      RefParam rp;
      rp.dt = dts.size() == 1 ? dts[0] : dts[i];
      rp.p = h.v;
      for (const auto& n : slots_of(r))
        rp.s[n].assign(h.v.size(), r.kind == GRL_OPTIM_ADAGRAD ? r.init_acc : 0.0);
      ps.push_back(std::move(rp));
    }
  }

  void step(const std::vector<std::optional<Host>>& grads) {
    ++t;
    for (size_t i = 0; i < ps.size(); ++i)
      if (grads[i]) update(ps[i], grads[i]->v);
    if (r.kind == GRL_OPTIM_NLMS) mu = std::max(mu * r.mu_decay, r.mu_min);
  }

  void update(RefParam& P, const std::vector<double>& G) {
    const int64_t k = ++P.step;
    const size_t n = P.p.size();
    double norm2 = 0;
    for (double g : G) norm2 += g * g;
    for (size_t j = 0; j < n; ++j) {
      double p = P.p[j], g = G[j];
      switch (r.kind) {
        case GRL_OPTIM_SGD: {
          if (r.wd != 0) g += r.wd * p;
          if (r.momentum != 0) {
            double& buf = P.s["momentum_buffer"][j];
            buf = k == 1 ? g : r.momentum * buf + (1 - r.dampening) * g;
            g = r.nesterov ? g + r.momentum * buf : buf;
          }
          p -= lr * g;
          break;
        }
        case GRL_OPTIM_ADAM:
        case GRL_OPTIM_ADAMW: {
          double bc1 = 1 - std::pow(r.b1, static_cast<double>(k)), bc2 = 1 - std::pow(r.b2, static_cast<double>(k));
          if (r.kind == GRL_OPTIM_ADAMW)
            p *= 1 - lr * r.wd;
          else if (r.wd != 0)
            g += r.wd * p;
          double& m = P.s["exp_avg"][j];
          double& v = P.s["exp_avg_sq"][j];
          m = r.b1 * m + (1 - r.b1) * g;
          v = r.b2 * v + (1 - r.b2) * g * g;
          double vh = v;
          if (r.amsgrad) {
            double& vm = P.s["max_exp_avg_sq"][j];
            vm = std::max(vm, v);
            vh = vm;
          }
          p -= lr / bc1 * m / (std::sqrt(vh) / std::sqrt(bc2) + r.eps);
          break;
        }
        case GRL_OPTIM_RMSPROP: {
          if (r.wd != 0) g += r.wd * p;
          double& sq = P.s["square_avg"][j];
          sq = r.alpha * sq + (1 - r.alpha) * g * g;
          double avg;
          if (r.centered) {
            double& ga = P.s["grad_avg"][j];
            ga = r.alpha * ga + (1 - r.alpha) * g;
            avg = std::sqrt(sq - ga * ga);
          } else {
            avg = std::sqrt(sq);
          }
          avg += r.eps;
          if (r.momentum > 0) {
            double& buf = P.s["momentum_buffer"][j];
            buf = r.momentum * buf + g / avg;
            p -= lr * buf;
          } else {
            p -= lr * g / avg;
          }
          break;
        }
        case GRL_OPTIM_ADAGRAD: {
          double clr = lr / (1 + static_cast<double>(k - 1) * r.lr_decay);
          if (r.wd != 0) g += r.wd * p;
          double& s = P.s["sum"][j];
          s += g * g;
          p -= clr * g / (std::sqrt(s) + r.eps);
          break;
        }
        case GRL_OPTIM_NLMS: p -= mu * g / (norm2 + r.eps); break;
        case GRL_OPTIM_NATURAL_GRADIENT: {
          double& f = P.s["fisher"][j];
          f = r.fisher * f + (1 - r.fisher) * g * g;
          p -= lr * g / (f + r.eps);
          break;
        }
        default: break;
      }
      P.p[j] = round_to(P.dt, p);
    }
  }
};

// Compares the device optimizer (parameters, every state tensor, step counts, scalars) with the
// reference; with f16/bf16 parameters the reference continues from the device's rounded values.
void check_against(grl_optimizer opt, const std::vector<grl_tensor>& params, RefOpt& ref, const std::string& what) {
  int32_t count = 0;
  ASSERT_EQ(grl_optimizer_state_count(opt, &count), GRL_OK);
  size_t expect = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    Host got = download(params[i]);
    Host want{got.shape, ref.ps[i].p};
    EXPECT_TRUE(close(got, want, tol(ref.ps[i].dt))) << what << " param " << i;
    if (ref.ps[i].dt != GRL_F32) ref.ps[i].p = got.v;
    expect += 1 + ref.ps[i].s.size();
  }
  ASSERT_EQ(static_cast<size_t>(count), expect) << what;
  for (int32_t k = 0; k < count; ++k) {
    const char* name = nullptr;
    ASSERT_EQ(grl_optimizer_state_name(opt, k, &name), GRL_OK);
    std::string n = name;
    size_t dot = n.find('.');
    size_t i = std::stoul(n.substr(0, dot));
    std::string slot = n.substr(dot + 1);
    T t;
    ASSERT_EQ(grl_optimizer_state_tensor(opt, k, t.out()), GRL_OK);
    Host got = download(t);
    if (slot == "step") {
      EXPECT_EQ(grl_tensor_dtype(t), GRL_I32);
      EXPECT_EQ(got.v, std::vector<double>{static_cast<double>(ref.ps[i].step)}) << what << " " << n;
      continue;
    }
    auto it = ref.ps[i].s.find(slot);
    ASSERT_NE(it, ref.ps[i].s.end()) << what << ": unexpected state " << n;
    EXPECT_EQ(grl_tensor_dtype(t), GRL_F32);
    Host want{got.shape, it->second};
    // Relative to the state's scale: f32 recurrences like buf = m buf + g lose absolute, not
    // relative, accuracy where their terms cancel.
    double scale = 0;
    for (double v : want.v) scale = std::max(scale, std::abs(v));
    EXPECT_TRUE(close(got, want, {2e-5, 1e-6 * scale})) << what << " state " << n;
  }
  double sc[3];
  ASSERT_EQ(grl_optimizer_get_scalars(opt, sc), GRL_OK) << grl_last_error_message();
  EXPECT_EQ(sc[0], static_cast<double>(ref.t)) << what;
  EXPECT_EQ(sc[1], ref.lr) << what;
  EXPECT_NEAR(sc[2], ref.mu, 1e-6 * ref.mu) << what;
  int64_t steps = -1;
  ASSERT_EQ(grl_optimizer_step_count(opt, &steps), GRL_OK);
  EXPECT_EQ(steps, ref.t);
}

struct Case {
  std::string name;
  grl_optimizer_options o;
  bool low_precision;  // also run with f16 and bf16 parameters
};

std::vector<Case> cases() {
  auto c = [](const char* name, grl_optimizer_kind k, std::function<void(grl_optimizer_options&)> f, bool lp) {
    return Case{name, options(k, f), lp};
  };
  return {
      c("sgd", GRL_OPTIM_SGD, {}, true),
      c("sgd momentum", GRL_OPTIM_SGD, [](auto& o) { o.momentum = 0.9; }, false),
      c("sgd momentum dampening wd", GRL_OPTIM_SGD,
        [](auto& o) { o.momentum = 0.9, o.dampening = 0.1, o.weight_decay = 0.01, o.lr = 0.05; }, true),
      c("sgd nesterov wd", GRL_OPTIM_SGD, [](auto& o) { o.momentum = 0.8, o.nesterov = 1, o.weight_decay = 0.05; },
        false),
      c("adam", GRL_OPTIM_ADAM, {}, true),
      c("adam wd amsgrad", GRL_OPTIM_ADAM, [](auto& o) { o.weight_decay = 0.1, o.amsgrad = 1; }, true),
      c("adam betas eps lr", GRL_OPTIM_ADAM, [](auto& o) { o.beta1 = 0.5, o.beta2 = 0.9, o.eps = 1e-3, o.lr = 0.01; },
        false),
      c("adamw", GRL_OPTIM_ADAMW, {}, true),
      c("adamw amsgrad wd", GRL_OPTIM_ADAMW, [](auto& o) { o.amsgrad = 1, o.weight_decay = 0.1, o.lr = 0.01; },
        false),
      c("rmsprop", GRL_OPTIM_RMSPROP, {}, true),
      c("rmsprop centered", GRL_OPTIM_RMSPROP, [](auto& o) { o.centered = 1; }, false),
      c("rmsprop momentum wd", GRL_OPTIM_RMSPROP, [](auto& o) { o.momentum = 0.9, o.weight_decay = 0.01; }, false),
      c("rmsprop centered momentum alpha", GRL_OPTIM_RMSPROP,
        [](auto& o) { o.centered = 1, o.momentum = 0.5, o.alpha = 0.9, o.eps = 1e-4; }, true),
      c("adagrad", GRL_OPTIM_ADAGRAD, {}, true),
      c("adagrad lr_decay wd init", GRL_OPTIM_ADAGRAD,
        [](auto& o) { o.lr_decay = 0.1, o.weight_decay = 0.05, o.initial_accumulator_value = 0.1; }, true),
      c("nlms", GRL_OPTIM_NLMS, {}, true),
      c("nlms decay", GRL_OPTIM_NLMS, [](auto& o) { o.mu_decay = 0.9, o.mu_min = 0.3, o.eps = 1e-3; }, true),
      c("natural gradient", GRL_OPTIM_NATURAL_GRADIENT, {}, true),
      c("natural gradient decay eps", GRL_OPTIM_NATURAL_GRADIENT,
        [](auto& o) { o.fisher_decay = 0.5, o.eps = 1e-3, o.lr = 1e-3; }, false),
  };
}

}  // namespace

// Every kind and several option sets over 6 steps with fresh gradients each step; parameter 2
// has no gradient at step 1 and parameter 1 none at step 4 (they must stay untouched, and their
// step counts lag behind as in torch.optim).
TEST_F(Optim, StepsMatchTorchAlgorithms) {
  const std::vector<Shape> shapes = {{37}, {3, 5}, {1000}};
  for (const Case& c : cases()) {
    for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16}) {
      if (dt != GRL_F32 && !c.low_precision) continue;
      std::string what = c.name + " " + grl_dtype_name(dt);
      std::vector<Host> init;
      std::vector<T> ps;
      std::vector<grl_tensor> raw_ps;
      for (const Shape& s : shapes) {
        Host h = Host::random(s, rng(), -1.0, 1.0);
        for (auto& x : h.v) x = round_to(dt, x);
        init.push_back(h);
        ps.emplace_back(upload(dev, h, dt));
        raw_ps.push_back(ps.back());
      }
      Opt opt;
      ASSERT_EQ(grl_optimizer_create(raw_ps.data(), 3, &c.o, opt.out()), GRL_OK) << what << grl_last_error_message();
      RefOpt ref(c.o, init, {dt});
      for (int stepi = 0; stepi < 6; ++stepi) {
        std::vector<std::optional<Host>> grads(3);
        std::vector<std::vector<uint8_t>> before(3);
        for (size_t i = 0; i < 3; ++i) {
          bool none = (i == 2 && stepi == 0) || (i == 1 && stepi == 3);
          if (none) {
            ASSERT_EQ(grl_tensor_set_grad(ps[i], nullptr), GRL_OK);
            before[i] = raw(ps[i]);
            continue;
          }
          grads[i] = random_grad(shapes[i], dt);
          set_grad(dev, ps[i], *grads[i], dt);
        }
        ASSERT_EQ(grl_optimizer_step(opt), GRL_OK) << what << grl_last_error_message();
        ref.step(grads);
        for (size_t i = 0; i < 3; ++i)
          if (!grads[i]) EXPECT_EQ(raw(ps[i]), before[i]) << what << ": parameter " << i << " had no gradient";
        check_against(opt, raw_ps, ref, what + " step " + std::to_string(stepi + 1));
        if (HasFailure()) return;
      }
    }
  }
}

// NLMS over a gradient large enough for the norm's first stage to use its 256 partial sums with
// several elements per thread.
TEST_F(Optim, NlmsLargeParameter) {
  const Shape s = {256 * 300 + 17};
  Host h = Host::random(s, rng(), -1.0, 1.0);
  T p(upload(dev, h, GRL_F32));
  grl_tensor raw_p = p;
  grl_optimizer_options o = options(GRL_OPTIM_NLMS, [](auto& x) { x.mu_decay = 0.8, x.mu_min = 0.1; });
  Opt opt;
  ASSERT_GRL_OK(grl_optimizer_create(&raw_p, 1, &o, opt.out()));
  RefOpt ref(o, {h}, {GRL_F32});
  for (int k = 0; k < 5; ++k) {
    std::vector<std::optional<Host>> g(1);
    g[0] = random_grad(s, GRL_F32);
    set_grad(dev, p, *g[0], GRL_F32);
    ASSERT_GRL_OK(grl_optimizer_step(opt));
    ref.step(g);
    check_against(opt, {raw_p}, ref, "nlms large step " + std::to_string(k + 1));
  }
}

// One optimizer over parameters of different dtypes (NLMS launches its norms per dtype).
TEST_F(Optim, MixedDtypeParameters) {
  const std::vector<Shape> shapes = {{37}, {3, 5}, {1000}, {9}, {2, 2}};
  const std::vector<grl_dtype> dts = {GRL_F32, GRL_BF16, GRL_F16, GRL_F32, GRL_BF16};
  for (grl_optimizer_kind k : {GRL_OPTIM_NLMS, GRL_OPTIM_ADAM}) {
    std::vector<Host> init;
    std::vector<T> ps;
    std::vector<grl_tensor> rp;
    for (size_t i = 0; i < shapes.size(); ++i) {
      Host h = Host::random(shapes[i], rng(), -1.0, 1.0);
      for (auto& x : h.v) x = round_to(dts[i], x);
      init.push_back(h);
      ps.emplace_back(upload(dev, h, dts[i]));
      rp.push_back(ps.back());
    }
    grl_optimizer_options o = options(k);
    Opt opt;
    ASSERT_GRL_OK(grl_optimizer_create(rp.data(), static_cast<int32_t>(rp.size()), &o, opt.out()));
    RefOpt ref(o, init, dts);
    for (int step = 0; step < 4; ++step) {
      std::vector<std::optional<Host>> g(shapes.size());
      for (size_t i = 0; i < shapes.size(); ++i) {
        if (i == 1 && step == 2) {
          ASSERT_GRL_OK(grl_tensor_set_grad(ps[i], nullptr));
          continue;
        }
        g[i] = random_grad(shapes[i], dts[i]);
        set_grad(dev, ps[i], *g[i], dts[i]);
      }
      ASSERT_GRL_OK(grl_optimizer_step(opt));
      ref.step(g);
      check_against(opt, rp, ref, std::string("mixed ") + (k == GRL_OPTIM_NLMS ? "nlms" : "adam"));
    }
  }
}

// More parameters than one tick launch can mask (576), some without gradients: the tick runs in
// chunks and every parameter's step count stays its own.
TEST_F(Optim, ManyParametersPartlyStepped) {
  const size_t n = 1300;
  std::vector<Host> init;
  std::vector<T> ps;
  std::vector<grl_tensor> rp;
  for (size_t i = 0; i < n; ++i) {
    init.push_back(Host::random({2}, rng(), -1.0, 1.0));
    ps.emplace_back(upload(dev, init.back()));
    rp.push_back(ps.back());
  }
  grl_optimizer_options o = options(GRL_OPTIM_ADAM);
  Opt opt;
  ASSERT_GRL_OK(grl_optimizer_create(rp.data(), static_cast<int32_t>(n), &o, opt.out()));
  RefOpt ref(o, init, {GRL_F32});
  for (int step = 0; step < 3; ++step) {
    std::vector<std::optional<Host>> g(n);
    for (size_t i = 0; i < n; ++i) {
      // Step 1: no gradient for every third parameter; step 2: none in the middle chunk.
      bool none = (step == 0 && i % 3 == 0) || (step == 1 && i >= 576 && i < 1152);
      if (none) {
        ASSERT_GRL_OK(grl_tensor_set_grad(ps[i], nullptr));
        continue;
      }
      g[i] = random_grad({2}, GRL_F32);
      set_grad(dev, ps[i], *g[i], GRL_F32);
    }
    ASSERT_GRL_OK(grl_optimizer_step(opt));
    ref.step(g);
  }
  check_against(opt, rp, ref, "1300 parameters");
}

// Empty parameters take part (their step counts advance) without any kernel.
TEST_F(Optim, EmptyParameter) {
  Host e = Host::zeros({0}), h = Host::random({5}, rng());
  T p0(upload(dev, e)), p1(upload(dev, h));
  grl_tensor raw_ps[2] = {p0, p1};
  grl_optimizer_options o = options(GRL_OPTIM_ADAM);
  Opt opt;
  ASSERT_GRL_OK(grl_optimizer_create(raw_ps, 2, &o, opt.out()));
  RefOpt ref(o, {e, h}, {GRL_F32});
  for (int k = 0; k < 3; ++k) {
    std::vector<std::optional<Host>> g = {e, random_grad({5}, GRL_F32)};
    set_grad(dev, p0, e, GRL_F32);
    set_grad(dev, p1, *g[1], GRL_F32);
    ASSERT_GRL_OK(grl_optimizer_step(opt));
    ref.step(g);
  }
  check_against(opt, {p0, p1}, ref, "empty parameter");
}

TEST_F(Optim, ZeroGradClearsGradients) {
  Host h = Host::random({4}, rng());
  T p(upload(dev, h)), q(upload(dev, h));
  grl_tensor raw_ps[2] = {p, q};
  grl_optimizer_options o = options(GRL_OPTIM_SGD);
  Opt opt;
  ASSERT_GRL_OK(grl_optimizer_create(raw_ps, 2, &o, opt.out()));
  set_grad(dev, p, h, GRL_F32);
  ASSERT_GRL_OK(grl_optimizer_zero_grad(opt));
  T g;
  ASSERT_GRL_OK(grl_tensor_grad(p, g.out()));
  EXPECT_EQ(g.t, nullptr);
  ASSERT_GRL_OK(grl_optimizer_step(opt));  // nothing to update: parameters unchanged
  EXPECT_EQ(raw(p), raw(q));
}

// One step captured in a graph and replayed 5 times (new gradient data uploaded into the same
// .grad tensors, and an lr change between replays) equals 5 eager steps bit for bit; the capture
// is one tick plus one update per parameter (NLMS: plus one norm stage per parameter).
TEST_F(Optim, CapturedStepReplaysLikeEagerSteps) {
  const std::vector<Shape> shapes = {{37}, {3, 5}, {256, 3}, {3}, {300}, {7, 2}};  // 6, like an MLP's
  for (const Case& c : cases()) {
    for (grl_dtype dt : {GRL_F32, GRL_BF16}) {
      std::string what = c.name + " " + grl_dtype_name(dt);
      std::vector<T> pa, pb, ga;
      std::vector<grl_tensor> ra, rb;
      for (const Shape& s : shapes) {
        Host h = Host::random(s, rng(), -1.0, 1.0);
        pa.emplace_back(upload(dev, h, dt));
        pb.emplace_back(upload(dev, h, dt));
        ga.emplace_back(upload(dev, Host::zeros(s), dt));
        ASSERT_GRL_OK(grl_tensor_set_grad(pa.back(), ga.back()));
        ra.push_back(pa.back());
        rb.push_back(pb.back());
      }
      const int32_t n = static_cast<int32_t>(shapes.size());
      Opt a, b;
      ASSERT_GRL_OK(grl_optimizer_create(ra.data(), n, &c.o, a.out()));
      ASSERT_GRL_OK(grl_optimizer_create(rb.data(), n, &c.o, b.out()));
      grl_graph graph = nullptr;
      ASSERT_GRL_OK(grl_graph_begin_capture(dev));
      grl_status s = grl_optimizer_step(a);
      ASSERT_GRL_OK(grl_graph_end_capture(dev, &graph));
      ASSERT_EQ(s, GRL_OK) << grl_last_error_message();
      int64_t ops = 0;
      ASSERT_GRL_OK(grl_graph_op_count(graph, &ops));
      EXPECT_EQ(ops, 1 + n + (c.o.kind == GRL_OPTIM_NLMS ? (n + 7) / 8 : 0)) << what;
      for (int r = 0; r < 5; ++r) {
        for (size_t i = 0; i < shapes.size(); ++i) {
          Host g = random_grad(shapes[i], dt);
          T tmp(upload(dev, g, dt));
          std::vector<uint8_t> bytes = raw(tmp);
          ASSERT_GRL_OK(grl_tensor_upload(ga[i], bytes.data(), bytes.size()));
          ASSERT_GRL_OK(grl_tensor_set_grad(pb[i], tmp));
        }
        if (r == 2) {
          ASSERT_GRL_OK(grl_optimizer_set_lr(a, 0.0123));
          ASSERT_GRL_OK(grl_optimizer_set_lr(b, 0.0123));
        }
        ASSERT_GRL_OK(grl_graph_replay(graph));
        ASSERT_GRL_OK(grl_optimizer_step(b));
        for (size_t i = 0; i < shapes.size(); ++i)
          EXPECT_EQ(raw(pa[i]), raw(pb[i])) << what << " replay " << r << " param " << i;
        int32_t count = 0;
        ASSERT_GRL_OK(grl_optimizer_state_count(a, &count));
        for (int32_t k = 0; k < count; ++k) {
          T sa, sb;
          ASSERT_GRL_OK(grl_optimizer_state_tensor(a, k, sa.out()));
          ASSERT_GRL_OK(grl_optimizer_state_tensor(b, k, sb.out()));
          EXPECT_EQ(raw(sa), raw(sb)) << what << " replay " << r << " state " << k;
        }
      }
      double sa[3], sb[3];
      ASSERT_GRL_OK(grl_optimizer_get_scalars(a, sa));
      ASSERT_GRL_OK(grl_optimizer_get_scalars(b, sb));
      EXPECT_EQ(sa[0], 5.0) << what;
      EXPECT_EQ(std::memcmp(sa, sb, sizeof sa), 0) << what;
      grl_graph_release(graph);
      if (HasFailure()) return;
    }
  }
}

// The state read through the accessors and written into a fresh optimizer continues exactly like
// the original (per-parameter step counts and NLMS mu included).
TEST_F(Optim, StateRoundTrip) {
  const std::vector<Shape> shapes = {{37}, {3, 5}};
  for (const Case& c : cases()) {
    std::vector<T> pa;
    std::vector<grl_tensor> ra;
    for (const Shape& s : shapes) {
      pa.emplace_back(upload(dev, Host::random(s, rng(), -1.0, 1.0)));
      ra.push_back(pa.back());
    }
    Opt a;
    ASSERT_GRL_OK(grl_optimizer_create(ra.data(), 2, &c.o, a.out()));
    for (int k = 0; k < 3; ++k) {
      for (size_t i = 0; i < 2; ++i) {
        if (i == 1 && k == 0) continue;  // the second parameter starts one step late
        set_grad(dev, pa[i], random_grad(shapes[i], GRL_F32), GRL_F32);
      }
      ASSERT_GRL_OK(grl_optimizer_step(a));
    }
    ASSERT_GRL_OK(grl_optimizer_set_lr(a, 0.0042));
    std::vector<T> pb;
    std::vector<grl_tensor> rb;
    for (size_t i = 0; i < 2; ++i) {
      pb.emplace_back();
      ASSERT_GRL_OK(grl_clone(pa[i], pb.back().out()));
      rb.push_back(pb.back());
    }
    Opt b;
    ASSERT_GRL_OK(grl_optimizer_create(rb.data(), 2, &c.o, b.out()));
    int32_t count = 0, count_b = 0;
    ASSERT_GRL_OK(grl_optimizer_state_count(a, &count));
    ASSERT_GRL_OK(grl_optimizer_state_count(b, &count_b));
    ASSERT_EQ(count, count_b);
    for (int32_t k = 0; k < count; ++k) {
      const char *na, *nb;
      ASSERT_GRL_OK(grl_optimizer_state_name(a, k, &na));
      ASSERT_GRL_OK(grl_optimizer_state_name(b, k, &nb));
      EXPECT_STREQ(na, nb);
      T sa, sb;
      ASSERT_GRL_OK(grl_optimizer_state_tensor(a, k, sa.out()));
      ASSERT_GRL_OK(grl_optimizer_state_tensor(b, k, sb.out()));
      ASSERT_GRL_OK(grl_copy_(sb, sa));
    }
    double sc[3];
    ASSERT_GRL_OK(grl_optimizer_get_scalars(a, sc));
    EXPECT_EQ(sc[1], 0.0042);
    ASSERT_GRL_OK(grl_optimizer_set_scalars(b, sc));
    double lr = 0;
    ASSERT_GRL_OK(grl_optimizer_get_lr(b, &lr));
    EXPECT_EQ(lr, 0.0042);
    for (int k = 0; k < 3; ++k) {
      for (size_t i = 0; i < 2; ++i) {
        Host g = random_grad(shapes[i], GRL_F32);
        set_grad(dev, pa[i], g, GRL_F32);
        set_grad(dev, pb[i], g, GRL_F32);
      }
      ASSERT_GRL_OK(grl_optimizer_step(a));
      ASSERT_GRL_OK(grl_optimizer_step(b));
    }
    for (size_t i = 0; i < 2; ++i) EXPECT_EQ(raw(pa[i]), raw(pb[i])) << c.name << " param " << i;
    for (int32_t k = 0; k < count; ++k) {
      T sa, sb;
      ASSERT_GRL_OK(grl_optimizer_state_tensor(a, k, sa.out()));
      ASSERT_GRL_OK(grl_optimizer_state_tensor(b, k, sb.out()));
      EXPECT_EQ(raw(sa), raw(sb)) << c.name << " state " << k;
    }
    double sa[3], sb[3];
    ASSERT_GRL_OK(grl_optimizer_get_scalars(a, sa));
    ASSERT_GRL_OK(grl_optimizer_get_scalars(b, sb));
    EXPECT_EQ(std::memcmp(sa, sb, sizeof sa), 0) << c.name;
    EXPECT_EQ(sa[0], 6.0);
  }
}

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "grilly-optim-XXXXXX").string();
    if (mkdtemp(tmpl.data())) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

// grl_save_optimizer / grl_load_optimizer through a safetensors file: the loaded optimizer
// continues exactly like the saved one; mismatched optimizers are refused without changes.
TEST_F(Optim, SaveLoadCheckpoint) {
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  const std::string file = dir.path + "/opt.safetensors";
  const std::vector<Shape> shapes = {{37}, {3, 5}};
  grl_optimizer_options o = options(GRL_OPTIM_ADAM, [](auto& x) { x.amsgrad = 1, x.weight_decay = 0.01; });
  std::vector<T> pa;
  std::vector<grl_tensor> ra;
  for (const Shape& s : shapes) {
    pa.emplace_back(upload(dev, Host::random(s, rng(), -1.0, 1.0)));
    ra.push_back(pa.back());
  }
  Opt a;
  ASSERT_GRL_OK(grl_optimizer_create(ra.data(), 2, &o, a.out()));
  for (int k = 0; k < 3; ++k) {
    for (size_t i = 0; i < 2; ++i)
      if (!(i == 0 && k == 1)) set_grad(dev, pa[i], random_grad(shapes[i], GRL_F32), GRL_F32);
    ASSERT_GRL_OK(grl_optimizer_step(a));
    ASSERT_GRL_OK(grl_optimizer_zero_grad(a));
  }
  ASSERT_GRL_OK(grl_optimizer_set_lr(a, 1.0 / 3.0));  // not an f32 value: the file keeps the double
  ASSERT_GRL_OK(grl_save_optimizer(file.c_str(), a));

  // The file holds the prefixed state and the scalars.
  grl_tensor_map map = nullptr;
  ASSERT_GRL_OK(grl_load_safetensors(dev, file.c_str(), &map));
  int32_t n_file = 0, n_state = 0;
  ASSERT_GRL_OK(grl_tensor_map_count(map, &n_file));
  ASSERT_GRL_OK(grl_optimizer_state_count(a, &n_state));
  EXPECT_EQ(n_file, n_state + 1);
  T sc;
  ASSERT_GRL_OK(grl_tensor_map_get(map, "optimizer.scalars", sc.out()));
  Host scal = download(sc);
  EXPECT_EQ(scal.v[0], 3.0);
  EXPECT_EQ(scal.v[3], static_cast<double>(GRL_OPTIM_ADAM));
  T st;
  ASSERT_GRL_OK(grl_tensor_map_get(map, "optimizer.1.max_exp_avg_sq", st.out()));
  EXPECT_EQ(grl_tensor_numel(st), 15);
  grl_tensor_map_release(map);

  std::vector<T> pb;
  std::vector<grl_tensor> rb;
  for (size_t i = 0; i < 2; ++i) {
    pb.emplace_back();
    ASSERT_GRL_OK(grl_clone(pa[i], pb.back().out()));
    rb.push_back(pb.back());
  }
  Opt b;
  ASSERT_GRL_OK(grl_optimizer_create(rb.data(), 2, &o, b.out()));
  ASSERT_GRL_OK(grl_load_optimizer(file.c_str(), b));
  double lr = 0;
  ASSERT_GRL_OK(grl_optimizer_get_lr(b, &lr));
  EXPECT_EQ(lr, 1.0 / 3.0);
  ASSERT_GRL_OK(grl_optimizer_set_lr(a, 1e-3));
  ASSERT_GRL_OK(grl_optimizer_set_lr(b, 1e-3));
  for (int k = 0; k < 3; ++k) {
    for (size_t i = 0; i < 2; ++i) {
      Host g = random_grad(shapes[i], GRL_F32);
      set_grad(dev, pa[i], g, GRL_F32);
      set_grad(dev, pb[i], g, GRL_F32);
    }
    ASSERT_GRL_OK(grl_optimizer_step(a));
    ASSERT_GRL_OK(grl_optimizer_step(b));
  }
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(raw(pa[i]), raw(pb[i])) << "param " << i;
  for (int32_t k = 0; k < n_state; ++k) {
    T sa, sb;
    ASSERT_GRL_OK(grl_optimizer_state_tensor(a, k, sa.out()));
    ASSERT_GRL_OK(grl_optimizer_state_tensor(b, k, sb.out()));
    EXPECT_EQ(raw(sa), raw(sb)) << "state " << k;
  }

  // Mismatches: another kind, other slots, other shapes, other parameter count, missing file.
  auto refused = [&](grl_optimizer_options oo, std::vector<Shape> ss, const char* needle) {
    std::vector<T> pc;
    std::vector<grl_tensor> rc;
    for (const Shape& s : ss) {
      pc.emplace_back(upload(dev, Host::random(s, rng())));
      rc.push_back(pc.back());
    }
    Opt c;
    ASSERT_GRL_OK(grl_optimizer_create(rc.data(), static_cast<int32_t>(rc.size()), &oo, c.out()));
    EXPECT_GRL_ERROR(grl_load_optimizer(file.c_str(), c), GRL_ERROR_INVALID_ARGUMENT, needle);
    int64_t steps = -1;
    ASSERT_GRL_OK(grl_optimizer_step_count(c, &steps));
    EXPECT_EQ(steps, 0);  // untouched
    int32_t cnt = 0;
    ASSERT_GRL_OK(grl_optimizer_state_count(c, &cnt));
    for (int32_t k = 0; k < cnt; ++k) {
      T t;
      ASSERT_GRL_OK(grl_optimizer_state_tensor(c, k, t.out()));
      for (double v : download(t).v) EXPECT_EQ(v, 0.0);
    }
  };
  refused(options(GRL_OPTIM_ADAMW, [](auto& x) { x.amsgrad = 1; }), shapes, "saved by an optimizer of kind Adam");
  refused(options(GRL_OPTIM_ADAM), shapes, "max_exp_avg_sq");
  refused(options(GRL_OPTIM_ADAM, [](auto& x) { x.amsgrad = 1; }), {{37}, {5, 3}}, "[5, 3]");
  refused(options(GRL_OPTIM_ADAM, [](auto& x) { x.amsgrad = 1; }), {{37}}, "does not have");
  refused(options(GRL_OPTIM_ADAM, [](auto& x) { x.amsgrad = 1; }), {{37}, {3, 5}, {2}}, "has no 'optimizer.2.step'");
  EXPECT_GRL_ERROR(grl_load_optimizer((dir.path + "/missing.safetensors").c_str(), b), GRL_ERROR_IO, "missing");
  EXPECT_GRL_ERROR(grl_save_optimizer(file.c_str(), nullptr), GRL_ERROR_NULL_ARGUMENT, "opt");
  EXPECT_GRL_ERROR(grl_save_optimizer(nullptr, a), GRL_ERROR_NULL_ARGUMENT, "path");
  EXPECT_GRL_ERROR(grl_load_optimizer(nullptr, a), GRL_ERROR_NULL_ARGUMENT, "path");
}

// ---- schedules --------------------------------------------------------------------------------
namespace {

struct Schedule {
  std::string name;
  grl_lr_schedule_options o;
  std::function<double(int64_t)> ref;  // lr at step t (t = 0: after creation)
  int64_t steps;
};

}  // namespace

TEST_F(Optim, SchedulesFollowTorchFormulas) {
  const double lr0 = 0.1, pi = 3.14159265358979323846;
  static const int64_t milestones[] = {10, 4, 4, 20};
  std::vector<Schedule> cs;
  {
    grl_lr_schedule_options o = GRL_LR_SCHEDULE_OPTIONS_INIT(GRL_LR_STEP);
    o.gamma = 0.5, o.step_size = 3;
    cs.push_back({"step", o, [=](int64_t t) { return lr0 * std::pow(0.5, static_cast<double>(t / 3)); }, 35});
  }
  {
    grl_lr_schedule_options o = GRL_LR_SCHEDULE_OPTIONS_INIT(GRL_LR_MULTISTEP);
    o.gamma = 0.3, o.milestones = milestones, o.n_milestones = 4;
    cs.push_back({"multistep", o,
                  [=](int64_t t) {
                    int n = 0;
                    for (int64_t m : milestones) n += m <= t;
                    return lr0 * std::pow(0.3, n);
                  },
                  35});
  }
  {
    grl_lr_schedule_options o = GRL_LR_SCHEDULE_OPTIONS_INIT(GRL_LR_EXPONENTIAL);
    o.gamma = 0.9;
    cs.push_back({"exponential", o, [=](int64_t t) { return lr0 * std::pow(0.9, static_cast<double>(t)); }, 35});
  }
  {
    grl_lr_schedule_options o = GRL_LR_SCHEDULE_OPTIONS_INIT(GRL_LR_COSINE);
    o.t_max = 10, o.eta_min = 1e-4;
    cs.push_back({"cosine", o,
                  [=](int64_t t) { return 1e-4 + (lr0 - 1e-4) * (1 + std::cos(pi * static_cast<double>(t) / 10)) / 2; },
                  35});
  }
  {
    grl_lr_schedule_options o = GRL_LR_SCHEDULE_OPTIONS_INIT(GRL_LR_COSINE_WARM_RESTARTS);
    o.t_0 = 3, o.t_mult = 2, o.eta_min = 1e-3;
    // PyTorch's recurrence: T_cur += 1; on reaching T_i it wraps and T_i *= T_mult.
    cs.push_back({"warm restarts", o,
                  [=](int64_t t) {
                    int64_t cur = 0, ti = 3;
                    for (int64_t k = 0; k < t; ++k)
                      if (++cur >= ti) cur -= ti, ti *= 2;
                    return 1e-3 + (lr0 - 1e-3) * (1 + std::cos(pi * static_cast<double>(cur) / static_cast<double>(ti))) / 2;
                  },
                  40});
  }
  {
    grl_lr_schedule_options o = GRL_LR_SCHEDULE_OPTIONS_INIT(GRL_LR_LINEAR_WARMUP);
    o.start_factor = 0.25, o.warmup_steps = 8;
    cs.push_back({"linear warmup", o,
                  [=](int64_t t) { return lr0 * (0.25 + 0.75 * static_cast<double>(std::min<int64_t>(t, 8)) / 8); },
                  35});
  }
  {
    grl_lr_schedule_options o = GRL_LR_SCHEDULE_OPTIONS_INIT(GRL_LR_ONE_CYCLE);
    o.t_max = 30;
    // PyTorch OneCycleLR, total_steps 30, pct_start 0.3, div 25, final_div 1e4, cos annealing.
    cs.push_back({"one cycle", o,
                  [=](int64_t t) {
                    double init = lr0 / 25, mn = init / 1e4, e1 = 0.3 * 30 - 1, e2 = 29, x = static_cast<double>(t);
                    auto an = [&](double a, double b, double pct) { return b + (a - b) / 2 * (std::cos(pi * pct) + 1); };
                    return x <= e1 ? an(init, lr0, x / e1) : an(lr0, mn, (x - e1) / (e2 - e1));
                  },
                  30});
  }
  for (const Schedule& c : cs) {
    T p(upload(dev, Host::random({3}, rng())));
    grl_tensor rp = p;
    grl_optimizer_options oo = options(GRL_OPTIM_SGD, [=](auto& x) { x.lr = lr0; });
    Opt opt;
    ASSERT_GRL_OK(grl_optimizer_create(&rp, 1, &oo, opt.out()));
    Sched s;
    ASSERT_GRL_OK(grl_lr_scheduler_create(opt, &c.o, &s.s));
    double lr = 0;
    ASSERT_GRL_OK(grl_optimizer_get_lr(opt, &lr));
    EXPECT_NEAR(lr, c.ref(0), 1e-12 * lr0) << c.name << " t=0";
    for (int64_t t = 1; t <= c.steps; ++t) {
      double got = -1;
      if (t == 5) {  // a refused step (the lr cannot change during capture) leaves the schedule as it was
        ASSERT_GRL_OK(grl_graph_begin_capture(dev));
        EXPECT_GRL_ERROR(grl_lr_scheduler_step(s, 0.0, &got), GRL_ERROR_INVALID_ARGUMENT, "capturing");
        grl_graph g = nullptr;
        ASSERT_GRL_OK(grl_graph_end_capture(dev, &g));
        grl_graph_release(g);
        EXPECT_EQ(got, -1);
      }
      ASSERT_GRL_OK(grl_lr_scheduler_step(s, 0.0, &got));
      ASSERT_GRL_OK(grl_optimizer_get_lr(opt, &lr));
      EXPECT_EQ(got, lr);
      EXPECT_NEAR(lr, c.ref(t), 1e-12 * lr0) << c.name << " t=" << t;
    }
    if (c.o.kind == GRL_LR_ONE_CYCLE)
      EXPECT_GRL_ERROR(grl_lr_scheduler_step(s, 0.0, nullptr), GRL_ERROR_INVALID_ARGUMENT, "t_max");
  }
}

TEST_F(Optim, ReduceOnPlateauFollowsTorch) {
  for (int mode_max : {0, 1}) {
    grl_lr_schedule_options o = GRL_LR_SCHEDULE_OPTIONS_INIT(GRL_LR_REDUCE_ON_PLATEAU);
    o.mode_max = mode_max, o.gamma = 0.5, o.patience = 2, o.threshold = 0.1, o.cooldown = 1, o.min_lr = 0.02;
    T p(upload(dev, Host::random({3}, rng())));
    grl_tensor rp = p;
    grl_optimizer_options oo = options(GRL_OPTIM_SGD, [](auto& x) { x.lr = 0.4; });
    Opt opt;
    ASSERT_GRL_OK(grl_optimizer_create(&rp, 1, &oo, opt.out()));
    Sched s;
    ASSERT_GRL_OK(grl_lr_scheduler_create(opt, &o, &s.s));
    // PyTorch's ReduceLROnPlateau (threshold_mode 'rel').
    double best = mode_max ? -INFINITY : INFINITY, lr = 0.4;
    int64_t bad = 0, cool = 0;
    int reductions = 0;
    for (int t = 0; t < 40; ++t) {
      double m = (t % 7 == 0 ? 1.0 / (t + 1) : 2.0) * (mode_max ? -1 : 1) + 0.001 * t;
      bool better = mode_max ? m > best * 1.1 : m < best * 0.9;
      if (better) best = m, bad = 0;
      else ++bad;
      if (cool > 0) --cool, bad = 0;
      if (bad > 2) {
        double nl = std::max(lr * 0.5, 0.02);
        if (lr - nl > 1e-8) lr = nl, ++reductions;
        cool = 1, bad = 0;
      }
      double got = -1, now = -1;
      ASSERT_GRL_OK(grl_lr_scheduler_step(s, m, &got));
      ASSERT_GRL_OK(grl_optimizer_get_lr(opt, &now));
      EXPECT_EQ(got, lr) << "mode_max " << mode_max << " t " << t;
      EXPECT_EQ(now, lr);
    }
    EXPECT_GE(reductions, 3);  // the sequence exercises reductions and the min_lr floor
    EXPECT_EQ(lr, 0.02);
  }
}

// A scheduled lr reaches the device: each SGD step moves the parameter by exactly -lr g.
TEST_F(Optim, ScheduledLrDrivesTheStep) {
  Host h = Host::zeros({4});
  T p(upload(dev, h));
  grl_tensor rp = p;
  grl_optimizer_options oo = options(GRL_OPTIM_SGD, [](auto& x) { x.lr = 0.5; });
  Opt opt;
  ASSERT_GRL_OK(grl_optimizer_create(&rp, 1, &oo, opt.out()));
  grl_lr_schedule_options so = GRL_LR_SCHEDULE_OPTIONS_INIT(GRL_LR_STEP);
  so.gamma = 0.5, so.step_size = 1;
  Sched s;
  ASSERT_GRL_OK(grl_lr_scheduler_create(opt, &so, &s.s));
  Host g = Host::zeros({4});
  g.v = {1, -2, 4, 8};
  double expect = 0, lr = 0.5;
  for (int k = 0; k < 5; ++k) {
    set_grad(dev, p, g, GRL_F32);
    ASSERT_GRL_OK(grl_optimizer_step(opt));
    expect -= lr;
    ASSERT_GRL_OK(grl_lr_scheduler_step(s, 0, &lr));
  }
  Host got = download(p);
  for (size_t j = 0; j < 4; ++j) EXPECT_EQ(got.v[j], expect * g.v[j]);
}

// ---- clipping ---------------------------------------------------------------------------------
TEST_F(Optim, ClipGradNormMatchesReference) {
  const std::vector<Shape> shapes = {{37}, {3, 5}, {256 * 300 + 5}, {1}};
  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16}) {
    for (double p : {2.0, 1.0, static_cast<double>(INFINITY), 3.5}) {
      for (double max_norm : {0.5, 1e9}) {
        std::vector<T> ps;
        std::vector<grl_tensor> rp;
        std::vector<Host> gs;
        for (size_t i = 0; i < shapes.size(); ++i) {
          ps.emplace_back(upload(dev, Host::zeros(shapes[i]), dt));
          rp.push_back(ps.back());
          if (i == 3) continue;  // no gradient: ignored
          gs.push_back(random_grad(shapes[i], dt));
          set_grad(dev, ps[i], gs.back(), dt);
        }
        double acc = 0;
        for (const Host& g : gs)
          for (double x : g.v) acc = std::isinf(p) ? std::max(acc, std::abs(x)) : acc + std::pow(std::abs(x), p);
        double total = std::isinf(p) ? acc : std::pow(acc, 1 / p);
        double coef = std::min(1.0, max_norm / (total + 1e-6));
        T norm;
        ASSERT_GRL_OK(grl_clip_grad_norm(rp.data(), 4, max_norm, p, norm.out()));
        EXPECT_EQ(grl_tensor_ndim(norm), 0);
        EXPECT_EQ(grl_tensor_dtype(norm), GRL_F32);
        Host tn = download(norm);
        EXPECT_NEAR(tn.v[0], total, 2e-5 * total) << "p " << p << " " << grl_dtype_name(dt);
        for (size_t i = 0; i < gs.size(); ++i) {
          T g;
          ASSERT_GRL_OK(grl_tensor_grad(ps[i], g.out()));
          Host want = gs[i];
          for (auto& x : want.v) x = round_to(dt, x * coef);
          Tol t = tol(dt);
          if (dt == GRL_F32) t = {2e-5, 1e-7};  // coef carries the f32 norm's rounding
          EXPECT_TRUE(close(download(g), want, t)) << "p " << p << " max " << max_norm << " " << grl_dtype_name(dt);
        }
        T none;
        ASSERT_GRL_OK(grl_tensor_grad(ps[3], none.out()));
        EXPECT_EQ(none.t, nullptr);
      }
    }
  }
}

TEST_F(Optim, ClipGradEdgeCases) {
  // A strided gradient is clipped in place through its view.
  Host base = Host::random({3, 5}, rng(), -1, 1);
  T b(upload(dev, base)), view, p(upload(dev, Host::zeros({5, 3})));
  ASSERT_GRL_OK(grl_transpose(b, 0, 1, view.out()));
  ASSERT_FALSE(grl_tensor_is_contiguous(view));
  ASSERT_GRL_OK(grl_tensor_set_grad(p, view));
  grl_tensor rp = p;
  double total = 0;
  for (double x : base.v) total += x * x;
  total = std::sqrt(total);
  T norm;
  ASSERT_GRL_OK(grl_clip_grad_norm(&rp, 1, 0.25, 2.0, norm.out()));
  EXPECT_NEAR(download(norm).v[0], total, 1e-5 * total);
  Host want = base;
  for (auto& x : want.v) x *= 0.25 / (total + 1e-6);
  EXPECT_TRUE(close(download(b), want, {2e-5, 1e-7}));
  ASSERT_GRL_OK(grl_clip_grad_value(&rp, 1, 0.01));
  for (auto& x : want.v) x = std::clamp(x, -0.01, 0.01);
  EXPECT_TRUE(close(download(b), want, {1e-6, 1e-9}));

  // No gradients at all: norm 0, and out may be NULL.
  T q(upload(dev, Host::zeros({2})));
  grl_tensor rq = q;
  ASSERT_GRL_OK(grl_clip_grad_norm(&rq, 1, 1.0, 2.0, norm.out()));
  EXPECT_EQ(download(norm).v, std::vector<double>{0.0});
  ASSERT_GRL_OK(grl_clip_grad_norm(&rq, 1, 1.0, 2.0, nullptr));

  // NaN gradients give a NaN norm (and NaN gradients), as in PyTorch.
  Host g = Host::zeros({300});
  g.v[257] = NAN;
  g.v[3] = 5;
  T r(upload(dev, Host::zeros({300})));
  set_grad(dev, r, g, GRL_F32);
  grl_tensor rr = r;
  for (double pn : {2.0, static_cast<double>(INFINITY)}) {
    ASSERT_GRL_OK(grl_clip_grad_norm(&rr, 1, 1.0, pn, norm.out()));
    EXPECT_TRUE(std::isnan(download(norm).v[0])) << pn;
  }
}

TEST_F(Optim, ClipGradValueMatchesReference) {
  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16}) {
    const std::vector<Shape> shapes = {{37}, {3, 5}, {1000}};
    std::vector<T> ps;
    std::vector<grl_tensor> rp;
    std::vector<Host> gs;
    for (const Shape& s : shapes) {
      ps.emplace_back(upload(dev, Host::zeros(s), dt));
      rp.push_back(ps.back());
      gs.push_back(random_grad(s, dt));
      set_grad(dev, ps.back(), gs.back(), dt);
    }
    ASSERT_GRL_OK(grl_clip_grad_value(rp.data(), 3, 0.3));
    for (size_t i = 0; i < 3; ++i) {
      T g;
      ASSERT_GRL_OK(grl_tensor_grad(ps[i], g.out()));
      Host want = gs[i];
      for (auto& x : want.v) x = std::clamp(x, round_to(dt, -0.3), round_to(dt, 0.3));
      EXPECT_TRUE(close(download(g), want, {0, 0})) << grl_dtype_name(dt);
    }
  }
}

// ---- errors -----------------------------------------------------------------------------------
TEST_F(Optim, CreateRejectsBadOptionsAndParameters) {
  T p(upload(dev, Host::random({4}, rng())));
  grl_tensor rp = p;
  Opt opt;
  auto bad = [&](grl_optimizer_kind k, std::function<void(grl_optimizer_options&)> f, const char* needle) {
    grl_optimizer_options o = options(k, f);
    EXPECT_GRL_ERROR(grl_optimizer_create(&rp, 1, &o, opt.out()), GRL_ERROR_INVALID_ARGUMENT, needle);
    EXPECT_EQ(opt.o, nullptr);
  };
  bad(GRL_OPTIM_SGD, [](auto& o) { o.version = 0; }, "version is 0");
  bad(GRL_OPTIM_SGD, [](auto& o) { o.kind = static_cast<grl_optimizer_kind>(7); }, "kind is 7");
  bad(GRL_OPTIM_SGD, [](auto& o) { o.kind = static_cast<grl_optimizer_kind>(-1); }, "kind is -1");
  bad(GRL_OPTIM_SGD, [](auto& o) { o.lr = 0; }, "lr is 0");
  bad(GRL_OPTIM_ADAM, [](auto& o) { o.lr = NAN; }, "lr is nan");
  bad(GRL_OPTIM_ADAM, [](auto& o) { o.lr = INFINITY; }, "lr is inf");
  bad(GRL_OPTIM_SGD, [](auto& o) { o.weight_decay = INFINITY; }, "weight_decay is inf");
  bad(GRL_OPTIM_ADAM, [](auto& o) { o.eps = NAN; }, "eps is nan");
  bad(GRL_OPTIM_SGD, [](auto& o) { o.momentum = -0.5; }, "momentum is -0.5");
  bad(GRL_OPTIM_SGD, [](auto& o) { o.dampening = NAN; }, "dampening is nan");
  bad(GRL_OPTIM_SGD, [](auto& o) { o.nesterov = 1; }, "nesterov needs momentum > 0");
  bad(GRL_OPTIM_SGD, [](auto& o) { o.nesterov = 1, o.momentum = 0.9, o.dampening = 0.1; }, "dampening 0.1");
  bad(GRL_OPTIM_SGD, [](auto& o) { o.nesterov = 2, o.momentum = 0.9; }, "nesterov is 2");
  bad(GRL_OPTIM_ADAM, [](auto& o) { o.beta1 = 1.0; }, "beta1 is 1");
  bad(GRL_OPTIM_ADAMW, [](auto& o) { o.beta2 = -0.1; }, "beta2 is -0.1");
  bad(GRL_OPTIM_ADAM, [](auto& o) { o.amsgrad = 2; }, "amsgrad is 2");
  bad(GRL_OPTIM_RMSPROP, [](auto& o) { o.alpha = 1.5; }, "alpha is 1.5");
  bad(GRL_OPTIM_RMSPROP, [](auto& o) { o.momentum = -1; }, "momentum is -1");
  bad(GRL_OPTIM_RMSPROP, [](auto& o) { o.centered = 3; }, "centered is 3");
  bad(GRL_OPTIM_ADAGRAD, [](auto& o) { o.lr_decay = -1; }, "lr_decay is -1");
  bad(GRL_OPTIM_ADAGRAD, [](auto& o) { o.initial_accumulator_value = -1; }, "initial_accumulator_value is -1");
  bad(GRL_OPTIM_NLMS, [](auto& o) { o.mu_decay = 0; }, "mu_decay is 0");
  bad(GRL_OPTIM_NLMS, [](auto& o) { o.mu_decay = 1.5; }, "mu_decay is 1.5");
  bad(GRL_OPTIM_NLMS, [](auto& o) { o.mu_min = -1; }, "mu_min is -1");
  bad(GRL_OPTIM_NLMS, [](auto& o) { o.weight_decay = 0.1; }, "NLMS has no weight decay");
  bad(GRL_OPTIM_NATURAL_GRADIENT, [](auto& o) { o.fisher_decay = 1; }, "fisher_decay is 1");

  grl_optimizer_options o = options(GRL_OPTIM_ADAM);
  EXPECT_GRL_ERROR(grl_optimizer_create(&rp, 1, &o, nullptr), GRL_ERROR_NULL_ARGUMENT, "out");
  EXPECT_GRL_ERROR(grl_optimizer_create(&rp, 1, nullptr, opt.out()), GRL_ERROR_NULL_ARGUMENT, "opts");
  EXPECT_GRL_ERROR(grl_optimizer_create(nullptr, 1, &o, opt.out()), GRL_ERROR_NULL_ARGUMENT, "params");
  EXPECT_GRL_ERROR(grl_optimizer_create(&rp, 0, &o, opt.out()), GRL_ERROR_INVALID_ARGUMENT, "n_params is 0");
  grl_tensor with_null[2] = {p, nullptr};
  EXPECT_GRL_ERROR(grl_optimizer_create(with_null, 2, &o, opt.out()), GRL_ERROR_NULL_ARGUMENT, "params[1]");
  T ip(upload(dev, Host::zeros({3}), GRL_I32));
  grl_tensor ints[2] = {p, ip};
  EXPECT_GRL_ERROR(grl_optimizer_create(ints, 2, &o, opt.out()), GRL_ERROR_DTYPE, "params[1] has dtype i32");
  grl_tensor dup[2] = {p, p};
  EXPECT_GRL_ERROR(grl_optimizer_create(dup, 2, &o, opt.out()), GRL_ERROR_INVALID_ARGUMENT, "same tensor");
  T big(upload(dev, Host::random({10}, rng()))), s1, s2;
  ASSERT_GRL_OK(grl_slice(big, 0, 0, 6, 1, s1.out()));
  ASSERT_GRL_OK(grl_slice(big, 0, 4, 10, 1, s2.out()));
  grl_tensor overlap[2] = {s1, s2};
  EXPECT_GRL_ERROR(grl_optimizer_create(overlap, 2, &o, opt.out()), GRL_ERROR_INVALID_ARGUMENT, "share memory");
  T s3;
  ASSERT_GRL_OK(grl_slice(big, 0, 6, 10, 1, s3.out()));
  grl_tensor disjoint[2] = {s1, s3};  // two views of one storage that do not overlap are fine
  ASSERT_GRL_OK(grl_optimizer_create(disjoint, 2, &o, opt.out()));
  T m(upload(dev, Host::random({3, 4}, rng()))), mt;
  ASSERT_GRL_OK(grl_transpose(m, 0, 1, mt.out()));
  grl_tensor strided = mt;
  EXPECT_GRL_ERROR(grl_optimizer_create(&strided, 1, &o, opt.out()), GRL_ERROR_INVALID_ARGUMENT, "not contiguous");
  T leaf(upload(dev, Host::random({4}, rng()))), sum;
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(leaf, 1));
  ASSERT_GRL_OK(grl_add(leaf, leaf, sum.out()));
  grl_tensor nonleaf = sum;
  EXPECT_GRL_ERROR(grl_optimizer_create(&nonleaf, 1, &o, opt.out()), GRL_ERROR_INVALID_ARGUMENT, "only leaves");

  grl_device other = nullptr;
  grl_device_options dopt = GRL_DEVICE_OPTIONS_INIT;
  dopt.validation = 1;
  ASSERT_GRL_OK(grl_device_create(&dopt, &other));
  {
    T op(upload(other, Host::random({4}, rng())));
    grl_tensor two[2] = {p, op};
    EXPECT_GRL_ERROR(grl_optimizer_create(two, 2, &o, opt.out()), GRL_ERROR_DEVICE_MISMATCH, "params[1]");
    EXPECT_GRL_ERROR(grl_clip_grad_norm(two, 2, 1.0, 2.0, nullptr), GRL_ERROR_DEVICE_MISMATCH, "params[1]");
    EXPECT_GRL_ERROR(grl_clip_grad_value(two, 2, 1.0), GRL_ERROR_DEVICE_MISMATCH, "params[1]");
  }
  grl_device_release(other);
}

TEST_F(Optim, CallsRejectBadArguments) {
  T p(upload(dev, Host::random({4}, rng())));
  grl_tensor rp = p;
  grl_optimizer_options o = options(GRL_OPTIM_ADAM);
  Opt opt;
  ASSERT_GRL_OK(grl_optimizer_create(&rp, 1, &o, opt.out()));
  double d = 0;
  int64_t n = 0;
  int32_t c = 0;
  const char* name = nullptr;
  T t;
  EXPECT_GRL_ERROR(grl_optimizer_step(nullptr), GRL_ERROR_NULL_ARGUMENT, "opt");
  EXPECT_GRL_ERROR(grl_optimizer_zero_grad(nullptr), GRL_ERROR_NULL_ARGUMENT, "opt");
  EXPECT_GRL_ERROR(grl_optimizer_set_lr(nullptr, 0.1), GRL_ERROR_NULL_ARGUMENT, "opt");
  EXPECT_GRL_ERROR(grl_optimizer_set_lr(opt, -0.1), GRL_ERROR_INVALID_ARGUMENT, "lr is -0.1");
  EXPECT_GRL_ERROR(grl_optimizer_set_lr(opt, NAN), GRL_ERROR_INVALID_ARGUMENT, "lr is nan");
  EXPECT_GRL_ERROR(grl_optimizer_get_lr(opt, nullptr), GRL_ERROR_NULL_ARGUMENT, "out");
  EXPECT_GRL_ERROR(grl_optimizer_get_lr(nullptr, &d), GRL_ERROR_NULL_ARGUMENT, "opt");
  EXPECT_GRL_ERROR(grl_optimizer_step_count(opt, nullptr), GRL_ERROR_NULL_ARGUMENT, "out");
  EXPECT_GRL_ERROR(grl_optimizer_step_count(nullptr, &n), GRL_ERROR_NULL_ARGUMENT, "opt");
  EXPECT_GRL_ERROR(grl_optimizer_state_count(opt, nullptr), GRL_ERROR_NULL_ARGUMENT, "out");
  ASSERT_GRL_OK(grl_optimizer_state_count(opt, &c));
  EXPECT_EQ(c, 3);
  EXPECT_GRL_ERROR(grl_optimizer_state_name(opt, 3, &name), GRL_ERROR_INVALID_ARGUMENT, "index is 3");
  EXPECT_GRL_ERROR(grl_optimizer_state_name(opt, -1, &name), GRL_ERROR_INVALID_ARGUMENT, "index is -1");
  EXPECT_GRL_ERROR(grl_optimizer_state_tensor(opt, 3, t.out()), GRL_ERROR_INVALID_ARGUMENT, "index is 3");
  EXPECT_EQ(t.t, nullptr);
  EXPECT_GRL_ERROR(grl_optimizer_state_tensor(opt, 0, nullptr), GRL_ERROR_NULL_ARGUMENT, "out");
  EXPECT_GRL_ERROR(grl_optimizer_get_scalars(opt, nullptr), GRL_ERROR_NULL_ARGUMENT, "out");
  EXPECT_GRL_ERROR(grl_optimizer_set_scalars(opt, nullptr), GRL_ERROR_NULL_ARGUMENT, "values");
  const double bad_step[3] = {-1, 0.1, 0}, frac_step[3] = {1.5, 0.1, 0}, bad_lr[3] = {1, NAN, 0},
               bad_mu[3] = {1, 0.1, -1};
  EXPECT_GRL_ERROR(grl_optimizer_set_scalars(opt, bad_step), GRL_ERROR_INVALID_ARGUMENT, "step count) is -1");
  EXPECT_GRL_ERROR(grl_optimizer_set_scalars(opt, frac_step), GRL_ERROR_INVALID_ARGUMENT, "step count) is 1.5");
  EXPECT_GRL_ERROR(grl_optimizer_set_scalars(opt, bad_lr), GRL_ERROR_INVALID_ARGUMENT, "(the lr) is nan");
  EXPECT_GRL_ERROR(grl_optimizer_set_scalars(opt, bad_mu), GRL_ERROR_INVALID_ARGUMENT, "mu) is -1");
  ASSERT_GRL_OK(grl_optimizer_step_count(opt, &n));
  EXPECT_EQ(n, 0);  // nothing changed by the refused calls
  ASSERT_GRL_OK(grl_optimizer_get_lr(opt, &d));
  EXPECT_EQ(d, 1e-3);

  // While capturing: scalars cannot be read or changed (a replay reads them from the device).
  ASSERT_GRL_OK(grl_graph_begin_capture(dev));
  double sc[3];
  EXPECT_GRL_ERROR(grl_optimizer_set_lr(opt, 0.5), GRL_ERROR_INVALID_ARGUMENT, "capturing");
  EXPECT_GRL_ERROR(grl_optimizer_get_scalars(opt, sc), GRL_ERROR_INVALID_ARGUMENT, "capturing");
  const double ok[3] = {0, 0.1, 0};
  EXPECT_GRL_ERROR(grl_optimizer_set_scalars(opt, ok), GRL_ERROR_INVALID_ARGUMENT, "capturing");
  EXPECT_GRL_ERROR(grl_optimizer_step_count(opt, &n), GRL_ERROR_INVALID_ARGUMENT, "capturing");
  grl_graph g = nullptr;
  ASSERT_GRL_OK(grl_graph_end_capture(dev, &g));
  grl_graph_release(g);

  // Clipping.
  EXPECT_GRL_ERROR(grl_clip_grad_norm(&rp, 0, 1.0, 2.0, nullptr), GRL_ERROR_INVALID_ARGUMENT, "n_params is 0");
  EXPECT_GRL_ERROR(grl_clip_grad_norm(nullptr, 1, 1.0, 2.0, nullptr), GRL_ERROR_NULL_ARGUMENT, "params");
  grl_tensor nul = nullptr;
  EXPECT_GRL_ERROR(grl_clip_grad_norm(&nul, 1, 1.0, 2.0, nullptr), GRL_ERROR_NULL_ARGUMENT, "params[0]");
  EXPECT_GRL_ERROR(grl_clip_grad_norm(&rp, 1, -1.0, 2.0, nullptr), GRL_ERROR_INVALID_ARGUMENT, "max_norm is -1");
  EXPECT_GRL_ERROR(grl_clip_grad_norm(&rp, 1, NAN, 2.0, nullptr), GRL_ERROR_INVALID_ARGUMENT, "max_norm is nan");
  for (double bad_p : {0.0, -1.0, static_cast<double>(NAN), -static_cast<double>(INFINITY)})
    EXPECT_GRL_ERROR(grl_clip_grad_norm(&rp, 1, 1.0, bad_p, nullptr), GRL_ERROR_INVALID_ARGUMENT, "norm_type is");
  EXPECT_GRL_ERROR(grl_clip_grad_value(&rp, 1, -1.0), GRL_ERROR_INVALID_ARGUMENT, "clip_value is -1");
  EXPECT_GRL_ERROR(grl_clip_grad_value(&rp, 1, NAN), GRL_ERROR_INVALID_ARGUMENT, "clip_value is nan");
  EXPECT_GRL_ERROR(grl_clip_grad_value(nullptr, 1, 1.0), GRL_ERROR_NULL_ARGUMENT, "params");
}

TEST_F(Optim, SchedulerRejectsBadOptions) {
  T p(upload(dev, Host::random({4}, rng())));
  grl_tensor rp = p;
  grl_optimizer_options oo = options(GRL_OPTIM_SGD);
  Opt opt;
  ASSERT_GRL_OK(grl_optimizer_create(&rp, 1, &oo, opt.out()));
  Sched s;
  auto bad = [&](grl_lr_schedule_kind k, std::function<void(grl_lr_schedule_options&)> f, grl_status st,
                 const char* needle) {
    grl_lr_schedule_options o = GRL_LR_SCHEDULE_OPTIONS_INIT(k);
    f(o);
    EXPECT_GRL_ERROR(grl_lr_scheduler_create(opt, &o, &s.s), st, needle);
    EXPECT_EQ(s.s, nullptr);
  };
  const auto IA = GRL_ERROR_INVALID_ARGUMENT;
  bad(GRL_LR_STEP, [](auto& o) { o.version = 2; }, IA, "version is 2");
  bad(GRL_LR_STEP, [](auto& o) { o.kind = static_cast<grl_lr_schedule_kind>(8); }, IA, "kind is 8");
  bad(GRL_LR_STEP, [](auto& o) { o.gamma = -1; }, IA, "gamma is -1");
  bad(GRL_LR_EXPONENTIAL, [](auto& o) { o.gamma = NAN; }, IA, "gamma is nan");
  bad(GRL_LR_STEP, [](auto& o) { o.step_size = 0; }, IA, "step_size is 0");
  bad(GRL_LR_MULTISTEP, [](auto& o) { o.n_milestones = 2; }, GRL_ERROR_NULL_ARGUMENT, "milestones is NULL");
  static const int64_t neg[] = {3, -1};
  bad(GRL_LR_MULTISTEP, [](auto& o) { o.milestones = neg, o.n_milestones = 2; }, IA, "milestones[1] is -1");
  bad(GRL_LR_MULTISTEP, [](auto& o) { o.n_milestones = -1; }, IA, "n_milestones is -1");
  bad(GRL_LR_COSINE, [](auto& o) { o.t_max = 0; }, IA, "t_max is 0");
  bad(GRL_LR_COSINE, [](auto& o) { o.eta_min = -1; }, IA, "eta_min is -1");
  bad(GRL_LR_COSINE_WARM_RESTARTS, [](auto& o) { o.t_0 = 0; }, IA, "t_0 is 0");
  bad(GRL_LR_COSINE_WARM_RESTARTS, [](auto& o) { o.t_mult = 0; }, IA, "t_mult is 0");
  bad(GRL_LR_LINEAR_WARMUP, [](auto& o) { o.warmup_steps = 5, o.start_factor = 0; }, IA, "start_factor is 0");
  bad(GRL_LR_LINEAR_WARMUP, [](auto& o) { o.warmup_steps = 5, o.start_factor = 1.5; }, IA, "start_factor is 1.5");
  bad(GRL_LR_LINEAR_WARMUP, [](auto&) {}, IA, "warmup_steps is 0");
  bad(GRL_LR_ONE_CYCLE, [](auto& o) { o.t_max = 0; }, IA, "t_max is 0");
  bad(GRL_LR_ONE_CYCLE, [](auto& o) { o.t_max = 10, o.pct_start = 1.5; }, IA, "pct_start is 1.5");
  bad(GRL_LR_ONE_CYCLE, [](auto& o) { o.t_max = 10, o.div_factor = 0; }, IA, "div_factor is 0");
  bad(GRL_LR_ONE_CYCLE, [](auto& o) { o.t_max = 10, o.final_div_factor = -1; }, IA, "final_div_factor is -1");
  bad(GRL_LR_REDUCE_ON_PLATEAU, [](auto& o) { o.gamma = 1; }, IA, "gamma is 1");
  bad(GRL_LR_REDUCE_ON_PLATEAU, [](auto& o) { o.mode_max = 2; }, IA, "mode_max is 2");
  bad(GRL_LR_REDUCE_ON_PLATEAU, [](auto& o) { o.patience = -1; }, IA, "patience is -1");
  bad(GRL_LR_REDUCE_ON_PLATEAU, [](auto& o) { o.threshold = -1; }, IA, "threshold is -1");
  bad(GRL_LR_REDUCE_ON_PLATEAU, [](auto& o) { o.cooldown = -1; }, IA, "cooldown is -1");
  bad(GRL_LR_REDUCE_ON_PLATEAU, [](auto& o) { o.min_lr = -1; }, IA, "min_lr is -1");
  grl_lr_schedule_options o = GRL_LR_SCHEDULE_OPTIONS_INIT(GRL_LR_STEP);
  EXPECT_GRL_ERROR(grl_lr_scheduler_create(nullptr, &o, &s.s), GRL_ERROR_NULL_ARGUMENT, "opt");
  EXPECT_GRL_ERROR(grl_lr_scheduler_create(opt, nullptr, &s.s), GRL_ERROR_NULL_ARGUMENT, "opts");
  EXPECT_GRL_ERROR(grl_lr_scheduler_create(opt, &o, nullptr), GRL_ERROR_NULL_ARGUMENT, "out");
  EXPECT_GRL_ERROR(grl_lr_scheduler_step(nullptr, 0, nullptr), GRL_ERROR_NULL_ARGUMENT, "sched");
  double lr = 0;
  ASSERT_GRL_OK(grl_optimizer_get_lr(opt, &lr));
  EXPECT_EQ(lr, 0.01);  // no refused scheduler touched the lr
  // The scheduler keeps its optimizer alive.
  ASSERT_GRL_OK(grl_lr_scheduler_create(opt, &o, &s.s));
  grl_optimizer_release(opt.o);
  opt.o = nullptr;
  ASSERT_GRL_OK(grl_lr_scheduler_step(s, 0, &lr));
  EXPECT_NEAR(lr, 1e-3, 1e-15);  // StepLR's defaults: gamma 0.1 every step
}
