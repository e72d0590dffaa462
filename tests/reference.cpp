// Shared float64 references (see reference.h).
#include "reference.h"

#include <cmath>

namespace gt {

Host rounded(Host h, grl_dtype dt) {
  for (auto& v : h.v) v = round_to(dt, v);
  return h;
}

Host rounded_random(Shape s, grl_dtype dt, double lo, double hi) {
  return rounded(Host::random(std::move(s), rng(), lo, hi), dt);
}

Host softmax_ref(const Host& x, int axis, bool log) {
  int64_t outer = 1, len = x.shape[static_cast<size_t>(axis)], inner = 1;
  for (int i = 0; i < axis; ++i) outer *= x.shape[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < x.shape.size(); ++i) inner *= x.shape[i];
  Host y = Host::zeros(x.shape);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      auto at = [&](int64_t k) { return (o * len + k) * inner + in; };
      double m = -INFINITY, s = 0;
      for (int64_t k = 0; k < len; ++k) m = std::max(m, x[at(k)]);
      for (int64_t k = 0; k < len; ++k) s += std::exp(x[at(k)] - m);
      for (int64_t k = 0; k < len; ++k) y[at(k)] = log ? x[at(k)] - m - std::log(s) : std::exp(x[at(k)] - m) / s;
    }
  return y;
}

Host norm_ref(const Host& x, int64_t n, const Host* w, const Host* b, double eps, bool rms) {
  Host y = Host::zeros(x.shape);
  for (int64_t r = 0; r * n < x.numel(); ++r) {
    const double* v = x.v.data() + r * n;
    double mean = 0, var = 0;
    if (!rms) {
      for (int64_t i = 0; i < n; ++i) mean += v[i];
      mean /= static_cast<double>(n);
    }
    for (int64_t i = 0; i < n; ++i) var += (v[i] - mean) * (v[i] - mean);
    var /= static_cast<double>(n);
    const double rstd = 1 / std::sqrt(var + eps);
    for (int64_t i = 0; i < n; ++i) {
      double t = (v[i] - mean) * rstd;
      if (w) t *= (*w)[i];
      if (b) t += (*b)[i];
      y[r * n + i] = t;
    }
  }
  return y;
}

}  // namespace gt
