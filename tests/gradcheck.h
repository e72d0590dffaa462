// Gradient checks: each case runs an op on the device with autograd, and compares the gradients
// of L = sum(w * y) with central finite differences of the case's own float64 reference.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "testing.h"

namespace gt {

struct GradCase {
  std::string rule;                  // the backward rule checked (grl_autograd_rule_name)
  std::vector<Shape> shapes;         // one per input
  std::function<grl_status(const std::vector<grl_tensor>&, grl_tensor*)> run;
  std::function<Host(const std::vector<Host>&)> ref;  // float64 forward
  double lo = -2, hi = 2;            // input range
  std::vector<int> no_grad = {};     // inputs that are not differentiated (indices, masks)
  std::function<void(std::vector<Host>&)> prepare = nullptr;  // adjusts random inputs
  double rtol = 2e-3, atol = 2e-4;
};

std::vector<GradCase>& grad_cases();

struct RegisterGradCase {
  explicit RegisterGradCase(GradCase c) { grad_cases().push_back(std::move(c)); }
};

#define GT_CAT2(a, b) a##b
#define GT_CAT(a, b) GT_CAT2(a, b)
// GRAD_CASE({"add", {{2, 3}, {3}}, run, ref});
#define GRAD_CASE(...) static const ::gt::RegisterGradCase GT_CAT(grad_case_, __LINE__)(::gt::GradCase __VA_ARGS__)

// Runs one case: analytic gradients on the device vs finite differences of ref.
::testing::AssertionResult gradcheck(grl_device dev, const GradCase& c);

}  // namespace gt
