// Gradient checks of the reduction family (sum, mean, var, std, max, min, norm, logsumexp, cumsum)
// over several axis choices, keepdim on and off and negative axes, against float64 forwards here.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "gradcheck.h"

using namespace gt;

namespace {

using Values = std::vector<double>;
using ValuesFn = std::function<double(const Values&)>;
using AxesOp = std::function<grl_status(grl_tensor, const int32_t*, int32_t, uint32_t, grl_tensor*)>;
using Run = std::function<grl_status(const std::vector<grl_tensor>&, grl_tensor*)>;
using Ref = std::function<Host(const std::vector<Host>&)>;

const double kInf = std::numeric_limits<double>::infinity();

// f over the elements of each output position (axes empty: every axis; negative axes count from
// the end), in row-major order of the output.
Host reduce_ref(const Host& x, const std::vector<int32_t>& axes, bool keepdim, const ValuesFn& f) {
  const size_t nd = x.shape.size();
  std::vector<bool> red(nd, axes.empty());
  if (nd > 0)  // a 0-d input takes axis 0 or -1 and reduces nothing
    for (int32_t a : axes) red[static_cast<size_t>(a < 0 ? a + static_cast<int32_t>(nd) : a)] = true;
  Shape out, kept;
  for (size_t d = 0; d < nd; ++d) {
    if (!red[d]) kept.push_back(x.shape[d]);
    if (!red[d] || keepdim) out.push_back(red[d] ? 1 : x.shape[d]);
  }
  std::vector<Values> groups(static_cast<size_t>(numel(kept)));
  auto st = strides(x.shape), kst = strides(kept);
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t o = 0, rem = i;
    size_t k = 0;
    for (size_t d = 0; d < nd; ++d) {
      int64_t c = rem / st[d];
      rem %= st[d];
      if (!red[d]) o += c * kst[k++];
    }
    groups[static_cast<size_t>(o)].push_back(x[i]);
  }
  Host y = Host::zeros(out);
  for (size_t i = 0; i < groups.size(); ++i) y.v[i] = f(groups[i]);
  return y;
}

Host transpose2(const Host& x) {
  Host t = Host::zeros({x.shape[1], x.shape[0]});
  for (int64_t i = 0; i < x.shape[0]; ++i)
    for (int64_t j = 0; j < x.shape[1]; ++j) t[j * x.shape[0] + i] = x[i * x.shape[1] + j];
  return t;
}

double f_sum(const Values& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}
double f_mean(const Values& v) { return f_sum(v) / static_cast<double>(v.size()); }
ValuesFn f_var(int correction) {
  return [correction](const Values& v) {
    double m = f_mean(v), s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return s / (static_cast<double>(v.size()) - correction);
  };
}
ValuesFn f_std(int correction) {
  ValuesFn var = f_var(correction);
  return [var](const Values& v) { return std::sqrt(var(v)); };
}
double f_max(const Values& v) { return *std::max_element(v.begin(), v.end()); }
double f_min(const Values& v) { return *std::min_element(v.begin(), v.end()); }
ValuesFn f_norm(double p) {
  return [p](const Values& v) {
    double s = 0;
    if (p == 0) {
      for (double x : v) s += x != 0;
      return s;
    }
    if (std::isinf(p)) {
      for (double x : v) s = std::max(s, std::abs(x));
      return s;
    }
    for (double x : v) s += std::pow(std::abs(x), p);
    return std::pow(s, 1 / p);
  };
}
double f_lse(const Values& v) {
  double m = f_max(v), s = 0;
  for (double x : v) s += std::exp(x - m);
  return m + std::log(s);
}

AxesOp op_var(int correction) {
  return [correction](grl_tensor x, const int32_t* a, int32_t n, uint32_t k, grl_tensor* o) {
    return grl_var(x, a, n, correction, k, o);
  };
}
AxesOp op_std(int correction) {
  return [correction](grl_tensor x, const int32_t* a, int32_t n, uint32_t k, grl_tensor* o) {
    return grl_std(x, a, n, correction, k, o);
  };
}
AxesOp op_norm(double p) {
  return [p](grl_tensor x, const int32_t* a, int32_t n, uint32_t k, grl_tensor* o) { return grl_norm(x, p, a, n, k, o); };
}

// The op over `axes` (empty: NULL, every axis); `transposed` first swaps the two axes of a 2-d
// input, so the backward reads a strided x.
Run run_axes(AxesOp op, std::vector<int32_t> axes, uint32_t keepdim, bool transposed = false) {
  return [op, axes, keepdim, transposed](const std::vector<grl_tensor>& t, grl_tensor* out) {
    grl_tensor x = t[0], tr = nullptr;
    if (transposed) {
      grl_status s = grl_transpose(x, 0, 1, &tr);
      if (s != GRL_OK) return s;
      x = tr;
    }
    grl_status s = op(x, axes.empty() ? nullptr : axes.data(), static_cast<int32_t>(axes.size()), keepdim, out);
    grl_tensor_release(tr);
    return s;
  };
}

Ref ref_axes(ValuesFn f, std::vector<int32_t> axes, bool keepdim, bool transposed = false) {
  return [f, axes, keepdim, transposed](const std::vector<Host>& x) {
    return reduce_ref(transposed ? transpose2(x[0]) : x[0], axes, keepdim, f);
  };
}

// Distinct values at least 0.6 grid steps apart in a random order: max and min stay away from
// ties by more than the finite-difference step.
void distinct(std::vector<Host>& xs) {
  for (auto& x : xs) {
    const size_t n = x.v.size();
    std::uniform_real_distribution<double> jitter(-0.2, 0.2);
    for (size_t i = 0; i < n; ++i) x.v[i] = -2 + 4 * (static_cast<double>(i) + 0.5 + jitter(rng())) / n;
    std::shuffle(x.v.begin(), x.v.end(), rng());
  }
}

// Distinct magnitudes in [0.3, 2] with random signs (the INFINITY norm).
void distinct_abs(std::vector<Host>& xs) {
  for (auto& x : xs) {
    const size_t n = x.v.size();
    std::uniform_real_distribution<double> jitter(-0.2, 0.2);
    std::bernoulli_distribution sign(0.5);
    for (size_t i = 0; i < n; ++i)
      x.v[i] = (0.3 + 1.7 * (static_cast<double>(i) + 0.5 + jitter(rng())) / n) * (sign(rng()) ? 1 : -1);
    std::shuffle(x.v.begin(), x.v.end(), rng());
  }
}

// |x| >= 0.1: sign(x) and |x|^(p-1) are smooth there.
void away_from_zero(std::vector<Host>& xs) {
  for (auto& x : xs)
    for (auto& v : x.v)
      if (std::abs(v) < 0.1) v = v >= 0 ? 0.1 : -0.1;
}

Ref cumsum_ref(int32_t axis, bool transposed = false) {
  return [axis, transposed](const std::vector<Host>& in) {
    Host x = transposed ? transpose2(in[0]) : in[0];
    const int nd = static_cast<int>(x.shape.size());
    const size_t a = static_cast<size_t>(axis < 0 ? axis + nd : axis);
    const int64_t stride = strides(x.shape)[a], len = x.shape[a];
    Host y = Host::zeros(x.shape);
    for (int64_t i = 0; i < x.numel(); ++i) {
      if ((i / stride) % len != 0) continue;
      double acc = 0;
      for (int64_t r = 0; r < len; ++r) y[i + r * stride] = acc += x[i + r * stride];
    }
    return y;
  };
}

Run cumsum_run(int32_t axis, bool transposed = false) {
  return run_axes([axis](grl_tensor x, const int32_t*, int32_t, uint32_t, grl_tensor* o) { return grl_cumsum(x, axis, o); },
                  {}, 0, transposed);
}

}  // namespace

// ---- sum: adjacent and separated axes, every axis, a 0-d input, and 6-d alternating axes (the
// backward's fallback when the broadcast geometry needs more than 4 dims) ----
GRAD_CASE({"sum", {{3, 4}}, run_axes(grl_sum, {1}, 0), ref_axes(f_sum, {1}, false)});
GRAD_CASE({"sum", {{2, 3, 4}}, run_axes(grl_sum, {0, 2}, 1), ref_axes(f_sum, {0, 2}, true)});
GRAD_CASE({"sum", {{2, 3, 4}}, run_axes(grl_sum, {}, 0), ref_axes(f_sum, {}, false)});
GRAD_CASE({"sum", {{2, 3, 4}}, run_axes(grl_sum, {-2}, 1), ref_axes(f_sum, {-2}, true)});
GRAD_CASE({"sum", {{2, 2, 2, 2, 2, 2}}, run_axes(grl_sum, {0, -2, 2}, 0), ref_axes(f_sum, {0, -2, 2}, false)});
GRAD_CASE({"sum", {{}}, run_axes(grl_sum, {0}, 1), ref_axes(f_sum, {0}, true)});

// ---- mean ----
GRAD_CASE({"mean", {{3, 4}}, run_axes(grl_mean, {0}, 1), ref_axes(f_mean, {0}, true)});
GRAD_CASE({"mean", {{2, 3, 4}}, run_axes(grl_mean, {}, 1), ref_axes(f_mean, {}, true)});
GRAD_CASE({"mean", {{2, 3, 4}}, run_axes(grl_mean, {-1, 0}, 0), ref_axes(f_mean, {-1, 0}, false)});

// ---- var and std, corrections 0, 1 and 2 ----
GRAD_CASE({"var", {{3, 5}}, run_axes(op_var(1), {1}, 0), ref_axes(f_var(1), {1}, false)});
GRAD_CASE({"var", {{2, 3, 4}}, run_axes(op_var(0), {}, 1), ref_axes(f_var(0), {}, true)});
GRAD_CASE({"var", {{2, 3, 4}}, run_axes(op_var(1), {0, -1}, 1), ref_axes(f_var(1), {0, -1}, true)});
GRAD_CASE({"var", {{4, 3}}, run_axes(op_var(2), {-2}, 0, true), ref_axes(f_var(2), {-2}, false, true)});
GRAD_CASE({"std", {{3, 5}}, run_axes(op_std(1), {-1}, 1), ref_axes(f_std(1), {-1}, true)});
GRAD_CASE({"std", {{2, 3, 4}}, run_axes(op_std(0), {}, 0), ref_axes(f_std(0), {}, false)});
GRAD_CASE({"std", {{2, 3, 4}}, run_axes(op_std(1), {2, 0}, 0), ref_axes(f_std(1), {2, 0}, false)});

// ---- max and min over distinct values (ties: Reduction.MaxMinTiesShareTheGradient) ----
GRAD_CASE({"max", {{3, 5}}, run_axes(grl_max, {1}, 0), ref_axes(f_max, {1}, false), -2, 2, {}, distinct});
GRAD_CASE({"max", {{2, 3, 4}}, run_axes(grl_max, {}, 1), ref_axes(f_max, {}, true), -2, 2, {}, distinct});
GRAD_CASE({"max", {{2, 3, 4}}, run_axes(grl_max, {-3, -1}, 0), ref_axes(f_max, {-3, -1}, false), -2, 2, {}, distinct});
GRAD_CASE({"max", {{4, 3}}, run_axes(grl_max, {0}, 1, true), ref_axes(f_max, {0}, true, true), -2, 2, {}, distinct});
GRAD_CASE({"min", {{3, 5}}, run_axes(grl_min, {-1}, 1), ref_axes(f_min, {-1}, true), -2, 2, {}, distinct});
GRAD_CASE({"min", {{2, 3, 4}}, run_axes(grl_min, {}, 0), ref_axes(f_min, {}, false), -2, 2, {}, distinct});
GRAD_CASE({"min", {{2, 3, 4}}, run_axes(grl_min, {1}, 0), ref_axes(f_min, {1}, false), -2, 2, {}, distinct});

// ---- norm: p = 1, 2, 3.5, 0.5, INFINITY and 0 ----
GRAD_CASE({"norm", {{3, 4}}, run_axes(op_norm(1), {1}, 0), ref_axes(f_norm(1), {1}, false), -2, 2, {}, away_from_zero});
GRAD_CASE({"norm", {{2, 3, 4}}, run_axes(op_norm(2), {}, 1), ref_axes(f_norm(2), {}, true)});
GRAD_CASE({"norm", {{2, 3, 4}}, run_axes(op_norm(2), {-1}, 0), ref_axes(f_norm(2), {-1}, false)});
GRAD_CASE({"norm", {{2, 3, 4}}, run_axes(op_norm(3.5), {0, 2}, 0), ref_axes(f_norm(3.5), {0, 2}, false), -2, 2, {},
           away_from_zero});
GRAD_CASE({"norm", {{3, 4}}, run_axes(op_norm(0.5), {-1}, 1), ref_axes(f_norm(0.5), {-1}, true), -2, 2, {},
           away_from_zero});
GRAD_CASE({"norm", {{3, 5}}, run_axes(op_norm(kInf), {-1}, 0), ref_axes(f_norm(kInf), {-1}, false), -2, 2, {},
           distinct_abs});
GRAD_CASE({"norm", {{2, 3, 4}}, run_axes(op_norm(kInf), {}, 1), ref_axes(f_norm(kInf), {}, true), -2, 2, {},
           distinct_abs});
GRAD_CASE({"norm", {{3, 4}}, run_axes(op_norm(0), {0}, 0), ref_axes(f_norm(0), {0}, false), -2, 2, {},
           away_from_zero});

// ---- logsumexp ----
GRAD_CASE({"logsumexp", {{3, 5}}, run_axes(grl_logsumexp, {1}, 0), ref_axes(f_lse, {1}, false), -3, 3});
GRAD_CASE({"logsumexp", {{2, 3, 4}}, run_axes(grl_logsumexp, {}, 1), ref_axes(f_lse, {}, true), -3, 3});
GRAD_CASE({"logsumexp", {{2, 3, 4}}, run_axes(grl_logsumexp, {-1, -3}, 1), ref_axes(f_lse, {-1, -3}, true), -3, 3});
GRAD_CASE({"logsumexp", {{4, 3}}, run_axes(grl_logsumexp, {-1}, 0, true), ref_axes(f_lse, {-1}, false, true), -3, 3});

// ---- cumsum: rows, columns, a middle axis and a strided input ----
GRAD_CASE({"cumsum", {{5}}, cumsum_run(0), cumsum_ref(0)});
GRAD_CASE({"cumsum", {{3, 4}}, cumsum_run(1), cumsum_ref(1)});
GRAD_CASE({"cumsum", {{3, 4}}, cumsum_run(-2), cumsum_ref(-2)});
GRAD_CASE({"cumsum", {{2, 3, 4}}, cumsum_run(1), cumsum_ref(1)});
GRAD_CASE({"cumsum", {{4, 3}}, cumsum_run(-1, true), cumsum_ref(-1, true)});
