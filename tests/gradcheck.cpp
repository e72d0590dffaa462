// Gradient-check runner and the coverage test: every op with a backward rule must have a case.
#include "gradcheck.h"

#include <cmath>
#include <set>
#include <sstream>

namespace gt {

std::vector<GradCase>& grad_cases() {
  static std::vector<GradCase> cases;
  return cases;
}

static double weighted_sum(const Host& y, const Host& w) {
  double s = 0;
  for (size_t i = 0; i < y.v.size(); ++i) s += y.v[i] * w.v[i];
  return s;
}

::testing::AssertionResult gradcheck(grl_device dev, const GradCase& c) {
  std::vector<Host> xs;
  for (const auto& s : c.shapes) xs.push_back(Host::random(s, rng(), c.lo, c.hi));
  if (c.prepare) c.prepare(xs);
  for (auto& x : xs)
    for (auto& v : x.v) v = static_cast<float>(v);  // the device sees f32 values
  std::vector<bool> diff(xs.size(), true);
  for (int i : c.no_grad) diff[static_cast<size_t>(i)] = false;

  std::vector<grl_tensor> ts;
  for (size_t i = 0; i < xs.size(); ++i) {
    ts.push_back(upload(dev, xs[i]));
    if (diff[i] && grl_tensor_set_requires_grad(ts.back(), 1) != GRL_OK)
      return ::testing::AssertionFailure() << "set_requires_grad: " << grl_last_error_message();
  }
  auto release_all = [&] {
    for (auto t : ts) grl_tensor_release(t);
  };
  grl_tensor y = nullptr;
  if (c.run(ts, &y) != GRL_OK) {
    std::string m = grl_last_error_message();
    release_all();
    return ::testing::AssertionFailure() << "forward failed: " << m;
  }
  Host yref = c.ref(xs);
  Host w = Host::random(yref.shape, rng(), -1, 1);
  for (auto& v : w.v) v = static_cast<float>(v);
  grl_tensor tw = upload(dev, w);
  grl_status s = grl_tensor_backward(y, tw, 0);
  std::string bmsg = grl_last_error_message();
  grl_tensor_release(tw);
  grl_tensor_release(y);
  if (s != GRL_OK) {
    release_all();
    return ::testing::AssertionFailure() << "backward failed: " << bmsg;
  }
  std::ostringstream errs;
  int bad = 0;
  for (size_t k = 0; k < xs.size(); ++k) {
    if (!diff[k]) continue;
    grl_tensor g = nullptr;
    grl_tensor_grad(ts[k], &g);
    if (!g) {
      errs << "\n  input " << k << ": no gradient";
      ++bad;
      continue;
    }
    Host ga = download(g);
    grl_tensor_release(g);
    if (ga.shape != xs[k].shape) {
      errs << "\n  input " << k << ": gradient shape " << str(ga.shape) << " != " << str(xs[k].shape);
      ++bad;
      continue;
    }
    for (int64_t i = 0; i < xs[k].numel(); ++i) {
      std::vector<Host> xp = xs, xm = xs;
      double h = 1e-6 * std::max(1.0, std::abs(xs[k][i]));
      xp[k][i] += h;
      xm[k][i] -= h;
      double num = (weighted_sum(c.ref(xp), w) - weighted_sum(c.ref(xm), w)) / (2 * h);
      double got = ga[i];
      if (!(std::abs(got - num) <= c.atol + c.rtol * std::abs(num))) {
        if (bad < 6) errs << "\n  input " << k << "[" << i << "]: analytic " << got << " numeric " << num;
        ++bad;
      }
    }
  }
  release_all();
  if (bad) return ::testing::AssertionFailure() << c.rule << ": " << bad << " gradient entries differ" << errs.str();
  return ::testing::AssertionSuccess();
}

class Gradcheck : public DeviceTest {};

TEST_F(Gradcheck, EveryCaseMatchesFiniteDifferences) {
  ASSERT_FALSE(grad_cases().empty());
  for (const auto& c : grad_cases()) {
    SCOPED_TRACE(c.rule);
    EXPECT_TRUE(gradcheck(dev, c));
  }
}

TEST(GradcheckCoverage, EveryBackwardRuleHasAFiniteDifferenceCase) {
  std::set<std::string> covered;
  for (const auto& c : grad_cases()) covered.insert(c.rule);
  std::vector<std::string> missing;
  uint32_t n = grl_autograd_rule_count();
  ASSERT_GT(n, 0u);
  for (uint32_t i = 0; i < n; ++i)
    if (!covered.count(grl_autograd_rule_name(i))) missing.push_back(grl_autograd_rule_name(i));
  std::ostringstream o;
  for (auto& m : missing) o << " " << m;
  EXPECT_TRUE(missing.empty()) << missing.size() << " of " << n << " ops with a backward rule have no gradient check:"
                               << o.str();
  for (const auto& name : covered) {
    bool known = false;
    for (uint32_t i = 0; i < n; ++i) known = known || name == grl_autograd_rule_name(i);
    EXPECT_TRUE(known) << "a gradient check names '" << name << "', which has no backward rule";
  }
}

}  // namespace gt
