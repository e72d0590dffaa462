// Gradient checks of the loss family: every loss's backward rule against finite differences of a
// float64 forward written here, with each reduction, ignored targets, smoothing and soft targets.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "gradcheck.h"

namespace gt {
namespace {

// Integer targets are made inside `run` (gradcheck uploads every input as f32).
grl_tensor make_index(grl_tensor like, const std::vector<int64_t>& v, Shape s, grl_dtype dt = GRL_I64) {
  grl_tensor t = nullptr;
  if (dt == GRL_I64) {
    grl_tensor_from_host(grl_tensor_device(like), GRL_I64, s.data(), static_cast<int32_t>(s.size()), v.data(),
                         v.size() * sizeof(int64_t), &t);
  } else {
    std::vector<int32_t> w(v.begin(), v.end());
    grl_tensor_from_host(grl_tensor_device(like), GRL_I32, s.data(), static_cast<int32_t>(s.size()), w.data(),
                         w.size() * sizeof(int32_t), &t);
  }
  return t;
}

Host reduced(const std::vector<double>& per, const Shape& item, grl_reduction r, double div) {
  if (r == GRL_REDUCTION_NONE) {
    Host h = Host::zeros(item);
    h.v = per;
    return h;
  }
  double s = 0;
  for (double v : per) s += v;
  Host h = Host::zeros({});
  h.v[0] = r == GRL_REDUCTION_SUM ? s : s / div;
  return h;
}

// Elementwise losses of x[0] (input) and x[1] (target).
Host elementwise(const std::vector<Host>& x, grl_reduction r, double (*f)(double, double)) {
  std::vector<double> per(x[0].v.size());
  for (size_t i = 0; i < per.size(); ++i) per[i] = f(x[0].v[i], x[1].v[i]);
  return reduced(per, x[0].shape, r, static_cast<double>(per.size()));
}

// Keeps |input - target| away from the kinks at 0 and at `kink` (smooth_l1's beta, huber's delta).
std::function<void(std::vector<Host>&)> away_from_kinks(double kink) {
  return [kink](std::vector<Host>& x) {
    for (size_t i = 0; i < x[0].v.size(); ++i) {
      double d = x[0].v[i] - x[1].v[i];
      if (std::abs(d) < 0.05) x[0].v[i] += d < 0 ? -0.1 : 0.1;
      d = x[0].v[i] - x[1].v[i];
      if (kink > 0 && std::abs(std::abs(d) - kink) < 0.05) x[0].v[i] += d < 0 ? -0.1 : 0.1;
    }
  };
}

// ---- mse, l1, smooth_l1, huber: input and target both differentiated ----
GRAD_CASE({"mse_loss", {{3, 4}, {3, 4}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_mse_loss(x[0], x[1], GRL_REDUCTION_MEAN, out);
           },
           [](const std::vector<Host>& x) {
             return elementwise(x, GRL_REDUCTION_MEAN, [](double a, double b) { return (a - b) * (a - b); });
           }});

GRAD_CASE({"l1_loss", {{2, 5}, {2, 5}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_l1_loss(x[0], x[1], GRL_REDUCTION_NONE, out);
           },
           [](const std::vector<Host>& x) {
             return elementwise(x, GRL_REDUCTION_NONE, [](double a, double b) { return std::abs(a - b); });
           },
           -2, 2, {}, away_from_kinks(0)});

GRAD_CASE({"smooth_l1_loss", {{4, 3}, {4, 3}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_smooth_l1_loss(x[0], x[1], 0.5, GRL_REDUCTION_SUM, out);
           },
           [](const std::vector<Host>& x) {
             return elementwise(x, GRL_REDUCTION_SUM, [](double a, double b) {
               double d = std::abs(a - b);
               return d < 0.5 ? d * d : d - 0.25;  // 0.5 d^2 / beta with beta 0.5
             });
           },
           -2, 2, {}, away_from_kinks(0.5)});

GRAD_CASE({"huber_loss", {{10}, {10}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_huber_loss(x[0], x[1], 0.7, GRL_REDUCTION_MEAN, out);
           },
           [](const std::vector<Host>& x) {
             return elementwise(x, GRL_REDUCTION_MEAN, [](double a, double b) {
               double d = std::abs(a - b);
               return d < 0.7 ? 0.5 * d * d : 0.7 * (d - 0.35);
             });
           },
           -2, 2, {}, away_from_kinks(0.7)});

// ---- cross_entropy and nll_loss ----
// x [N, C, inner...] or probabilities p of x's shape; targets t[position], ignored when == ignore.
Host ce(const Host& x, const std::vector<int64_t>* t, const Host* p, int64_t ignore, double eps, grl_reduction r,
        bool nll) {
  const Shape& s = x.shape;
  int64_t N = s[0], C = s[1], inner = 1;
  Shape item = {N};
  for (size_t d = 2; d < s.size(); ++d) {
    inner *= s[d];
    item.push_back(s[d]);
  }
  std::vector<double> per(static_cast<size_t>(N * inner), 0.0);
  double counted = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < inner; ++j) {
      auto at = [&](int64_t c) { return (n * C + c) * inner + j; };
      size_t row = static_cast<size_t>(n * inner + j);
      double m = -INFINITY, se = 0;
      for (int64_t c = 0; c < C; ++c) m = std::max(m, x[at(c)]);
      for (int64_t c = 0; c < C; ++c) se += std::exp(x[at(c)] - m);
      double lse = m + std::log(se);
      if (p) {
        for (int64_t c = 0; c < C; ++c) per[row] += ((1 - eps) * (*p)[at(c)] + eps / C) * (lse - x[at(c)]);
        counted += 1;
        continue;
      }
      int64_t tt = (*t)[row];
      if (tt == ignore) continue;
      counted += 1;
      if (nll) {
        per[row] = -x[at(tt)];
        continue;
      }
      double smooth = 0;
      for (int64_t c = 0; c < C; ++c) smooth += lse - x[at(c)];
      per[row] = (1 - eps) * (lse - x[at(tt)]) + eps / C * smooth;
    }
  return reduced(per, item, r, counted);
}

const std::vector<int64_t> kCeT = {3, 0, 4, 1};              // [4], C = 5
const std::vector<int64_t> kCeIgnored = {2, 1, 2, 0, 2};     // [5], C = 3, ignore_index 2
const std::vector<int64_t> kCeSpatial = {0, 3, 2, 2, 1, 0};  // [3, 2], C = 4

GRAD_CASE({"cross_entropy", {{4, 5}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             grl_tensor t = make_index(x[0], kCeT, {4});
             grl_status s = grl_cross_entropy(x[0], t, -100, 0.0, GRL_REDUCTION_MEAN, out);
             grl_tensor_release(t);  // the rule keeps what it needs
             return s;
           },
           [](const std::vector<Host>& x) { return ce(x[0], &kCeT, nullptr, -100, 0.0, GRL_REDUCTION_MEAN, false); },
           -3, 3});

// ignore_index hit by three of five targets (i32): the mean divides by the other two.
GRAD_CASE({"cross_entropy", {{5, 3}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             grl_tensor t = make_index(x[0], kCeIgnored, {5}, GRL_I32);
             grl_status s = grl_cross_entropy(x[0], t, 2, 0.0, GRL_REDUCTION_MEAN, out);
             grl_tensor_release(t);
             return s;
           },
           [](const std::vector<Host>& x) { return ce(x[0], &kCeIgnored, nullptr, 2, 0.0, GRL_REDUCTION_MEAN, false); },
           -3, 3});

// Label smoothing over [N, C, d] with per-position losses.
GRAD_CASE({"cross_entropy", {{3, 4, 2}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             grl_tensor t = make_index(x[0], kCeSpatial, {3, 2});
             grl_status s = grl_cross_entropy(x[0], t, -100, 0.2, GRL_REDUCTION_NONE, out);
             grl_tensor_release(t);
             return s;
           },
           [](const std::vector<Host>& x) { return ce(x[0], &kCeSpatial, nullptr, -100, 0.2, GRL_REDUCTION_NONE, false); },
           -3, 3});

// Smoothing with an ignored target, summed.
GRAD_CASE({"cross_entropy", {{5, 3}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             grl_tensor t = make_index(x[0], kCeIgnored, {5});
             grl_status s = grl_cross_entropy(x[0], t, 2, 0.1, GRL_REDUCTION_SUM, out);
             grl_tensor_release(t);
             return s;
           },
           [](const std::vector<Host>& x) { return ce(x[0], &kCeIgnored, nullptr, 2, 0.1, GRL_REDUCTION_SUM, false); },
           -3, 3});

// Probabilities (soft targets, differentiated too) with smoothing.
GRAD_CASE({"cross_entropy", {{3, 5}, {3, 5}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_cross_entropy(x[0], x[1], -100, 0.1, GRL_REDUCTION_MEAN, out);
           },
           [](const std::vector<Host>& x) { return ce(x[0], nullptr, &x[1], -100, 0.1, GRL_REDUCTION_MEAN, false); },
           -2, 2, {}, [](std::vector<Host>& x) {
             for (auto& v : x[1].v) v = std::abs(v) / 2;  // probabilities in [0, 1]
           }});

GRAD_CASE({"nll_loss", {{4, 5}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             grl_tensor t = make_index(x[0], kCeT, {4});
             grl_status s = grl_nll_loss(x[0], t, 4, GRL_REDUCTION_MEAN, out);  // kCeT[2] == 4 is ignored
             grl_tensor_release(t);
             return s;
           },
           [](const std::vector<Host>& x) { return ce(x[0], &kCeT, nullptr, 4, 0.0, GRL_REDUCTION_MEAN, true); }});

GRAD_CASE({"nll_loss", {{3, 4, 2}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             grl_tensor t = make_index(x[0], kCeSpatial, {3, 2}, GRL_I32);
             grl_status s = grl_nll_loss(x[0], t, -100, GRL_REDUCTION_NONE, out);
             grl_tensor_release(t);
             return s;
           },
           [](const std::vector<Host>& x) { return ce(x[0], &kCeSpatial, nullptr, -100, 0.0, GRL_REDUCTION_NONE, true); }});

// ---- binary cross-entropy: input and target differentiated, weight [C] not ----
GRAD_CASE({"binary_cross_entropy", {{3, 4}, {3, 4}, {4}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_binary_cross_entropy(x[0], x[1], x[2], GRL_REDUCTION_MEAN, out);
           },
           [](const std::vector<Host>& x) {
             std::vector<double> per(12);
             for (int64_t i = 0; i < 12; ++i)
               per[static_cast<size_t>(i)] =
                   -x[2][i % 4] * (x[1][i] * std::log(x[0][i]) + (1 - x[1][i]) * std::log1p(-x[0][i]));
             return reduced(per, {3, 4}, GRL_REDUCTION_MEAN, 12);
           },
           0.1, 0.9, {2}});

GRAD_CASE({"binary_cross_entropy", {{6}, {6}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_binary_cross_entropy(x[0], x[1], nullptr, GRL_REDUCTION_NONE, out);
           },
           [](const std::vector<Host>& x) {
             return elementwise(x, GRL_REDUCTION_NONE,
                                [](double a, double b) { return -(b * std::log(a) + (1 - b) * std::log1p(-a)); });
           },
           0.1, 0.9});

GRAD_CASE({"bce_with_logits", {{2, 3}, {2, 3}, {3}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_bce_with_logits(x[0], x[1], x[2], GRL_REDUCTION_SUM, out);
           },
           [](const std::vector<Host>& x) {
             std::vector<double> per(6);
             for (int64_t i = 0; i < 6; ++i) {
               double a = x[0][i], t = x[1][i], lw = 1 + (x[2][i % 3] - 1) * t;
               per[static_cast<size_t>(i)] = (1 - t) * a + lw * (std::max(-a, 0.0) + std::log1p(std::exp(-std::abs(a))));
             }
             return reduced(per, {2, 3}, GRL_REDUCTION_SUM, 6);
           },
           -2, 2, {2}, [](std::vector<Host>& x) {
             for (auto& v : x[1].v) v = (v + 2) / 4;  // targets in [0, 1]
             for (auto& v : x[2].v) v = std::abs(v) + 0.5;
           }});

GRAD_CASE({"bce_with_logits", {{5}, {5}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_bce_with_logits(x[0], x[1], nullptr, GRL_REDUCTION_NONE, out);
           },
           [](const std::vector<Host>& x) {
             return elementwise(x, GRL_REDUCTION_NONE, [](double a, double t) {
               return (1 - t) * a + std::max(-a, 0.0) + std::log1p(std::exp(-std::abs(a)));
             });
           }});

// ---- kl_div: batchmean with probabilities, and log targets per element ----
GRAD_CASE({"kl_div", {{3, 4}, {3, 4}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_kl_div(x[0], x[1], 0, GRL_REDUCTION_MEAN, out);
           },
           [](const std::vector<Host>& x) {
             std::vector<double> per(12);
             for (size_t i = 0; i < 12; ++i) per[i] = x[1].v[i] * std::log(x[1].v[i]) - x[1].v[i] * x[0].v[i];
             return reduced(per, {3, 4}, GRL_REDUCTION_MEAN, 3);  // batchmean: over N = 3
           },
           -2, 2, {}, [](std::vector<Host>& x) {
             for (auto& v : x[1].v) v = std::abs(v) / 2 + 0.05;
           }});

GRAD_CASE({"kl_div", {{2, 5}, {2, 5}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_kl_div(x[0], x[1], 1, GRL_REDUCTION_NONE, out);
           },
           [](const std::vector<Host>& x) {
             return elementwise(x, GRL_REDUCTION_NONE, [](double a, double t) { return std::exp(t) * (t - a); });
           }});

// ---- margin ranking: x1, x2 and a floating y (+-1) all differentiated ----
GRAD_CASE({"margin_ranking_loss", {{8}, {8}, {8}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_margin_ranking_loss(x[0], x[1], x[2], 0.2, GRL_REDUCTION_MEAN, out);
           },
           [](const std::vector<Host>& x) {
             std::vector<double> per(8);
             for (int64_t i = 0; i < 8; ++i)
               per[static_cast<size_t>(i)] = std::max(0.0, -x[2][i] * (x[0][i] - x[1][i]) + 0.2);
             return reduced(per, {8}, GRL_REDUCTION_MEAN, 8);
           },
           -2, 2, {}, [](std::vector<Host>& x) {
             for (int64_t i = 0; i < 8; ++i) {
               x[2][i] = i % 2 ? 1.0 : -1.0;
               double v = -x[2][i] * (x[0][i] - x[1][i]) + 0.2;
               if (std::abs(v) < 0.1) x[0][i] += 0.3;  // off the hinge
             }
           }});

// ---- row losses over pairs ----
Host cosine(const std::vector<Host>& x, double margin, grl_reduction r) {
  const int64_t N = x[0].shape[0], D = x[0].shape[1];
  std::vector<double> per(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) {
    double s0 = 0, s1 = 0, s2 = 0;
    for (int64_t k = 0; k < D; ++k) {
      double a = x[0][i * D + k], b = x[1][i * D + k];
      s0 += a * b;
      s1 += a * a;
      s2 += b * b;
    }
    double cs = s0 / std::sqrt((s1 + 1e-12) * (s2 + 1e-12));
    double y = x[2][i];
    per[static_cast<size_t>(i)] = y == 1 ? 1 - cs : std::max(0.0, cs - margin);
  }
  return reduced(per, {N}, r, static_cast<double>(N));
}

GRAD_CASE({"cosine_embedding_loss", {{4, 5}, {4, 5}, {4}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_cosine_embedding_loss(x[0], x[1], x[2], 0.1, GRL_REDUCTION_MEAN, out);
           },
           [](const std::vector<Host>& x) { return cosine(x, 0.1, GRL_REDUCTION_MEAN); }, -2, 2, {2},
           [](std::vector<Host>& x) {
             x[2].v = {1, -1, 1, -1};
             // Row 1: x2 close to -x1 (cos near -1, the hinge inactive); row 3: close to x1 (active).
             for (int64_t k = 0; k < 5; ++k) {
               x[1][5 + k] = -x[0][5 + k] + 0.2 * x[1][5 + k];
               x[1][15 + k] = x[0][15 + k] + 0.2 * x[1][15 + k];
             }
           }});

GRAD_CASE({"cosine_embedding_loss", {{3, 4}, {3, 4}, {3}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_cosine_embedding_loss(x[0], x[1], x[2], -0.5, GRL_REDUCTION_NONE, out);
           },
           [](const std::vector<Host>& x) { return cosine(x, -0.5, GRL_REDUCTION_NONE); }, -2, 2, {2},
           [](std::vector<Host>& x) {
             x[2].v = {-1, -1, 1};
             // Row 0 on the hinge's active side (cos near 1), row 1 on its flat side (cos near -1).
             for (int64_t k = 0; k < 4; ++k) {
               x[1][k] = x[0][k] + 0.2 * x[1][k];
               x[1][4 + k] = -x[0][4 + k] + 0.2 * x[1][4 + k];
             }
           }});

double pnorm(const Host& a, const Host& b, int64_t row, int64_t D, double p) {
  double s = 0;
  for (int64_t k = 0; k < D; ++k) s += std::pow(std::abs(a[row * D + k] - b[row * D + k] + 1e-6), p);
  return std::pow(s, 1 / p);
}

Host triplet(const std::vector<Host>& x, double margin, double p, grl_reduction r) {
  const int64_t N = x[0].shape[0], D = x[0].shape[1];
  std::vector<double> per(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i)
    per[static_cast<size_t>(i)] = std::max(0.0, margin + pnorm(x[0], x[1], i, D, p) - pnorm(x[0], x[2], i, D, p));
  return reduced(per, {N}, r, static_cast<double>(N));
}

// Rows whose hinge sits near 0 are moved to a clearly active or inactive side.
std::function<void(std::vector<Host>&)> triplet_prepare(double margin, double p) {
  return [margin, p](std::vector<Host>& x) {
    const int64_t N = x[0].shape[0], D = x[0].shape[1];
    for (int64_t i = 0; i < N; ++i) {
      double v = margin + pnorm(x[0], x[1], i, D, p) - pnorm(x[0], x[2], i, D, p);
      if (std::abs(v) < 0.2)
        for (int64_t k = 0; k < D; ++k) x[2][i * D + k] += 1.0;  // farther negative: inactive
    }
  };
}

GRAD_CASE({"triplet_margin_loss", {{4, 3}, {4, 3}, {4, 3}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_triplet_margin_loss(x[0], x[1], x[2], 1.0, 2.0, GRL_REDUCTION_MEAN, out);
           },
           [](const std::vector<Host>& x) { return triplet(x, 1.0, 2.0, GRL_REDUCTION_MEAN); }, -2, 2, {},
           triplet_prepare(1.0, 2.0)});

GRAD_CASE({"triplet_margin_loss", {{3, 4}, {3, 4}, {3, 4}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_triplet_margin_loss(x[0], x[1], x[2], 2.0, 3.0, GRL_REDUCTION_SUM, out);
           },
           [](const std::vector<Host>& x) { return triplet(x, 2.0, 3.0, GRL_REDUCTION_SUM); }, -2, 2, {},
           triplet_prepare(2.0, 3.0)});

Host contrastive(const std::vector<Host>& x, double margin, grl_reduction r) {
  const int64_t N = x[0].shape[0], D = x[0].shape[1];
  std::vector<double> per(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) {
    double s = 0;
    for (int64_t k = 0; k < D; ++k) s += (x[0][i * D + k] - x[1][i * D + k]) * (x[0][i * D + k] - x[1][i * D + k]);
    double d = std::sqrt(s), h = std::max(0.0, margin - d), y = x[2][i];
    per[static_cast<size_t>(i)] = 0.5 * (y * s + (1 - y) * h * h);
  }
  return reduced(per, {N}, r, static_cast<double>(N));
}

GRAD_CASE({"contrastive_loss", {{4, 3}, {4, 3}, {4}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             return grl_contrastive_loss(x[0], x[1], x[2], 2.5, GRL_REDUCTION_MEAN, out);
           },
           [](const std::vector<Host>& x) { return contrastive(x, 2.5, GRL_REDUCTION_MEAN); }, -2, 2, {2},
           [](std::vector<Host>& x) {
             x[2].v = {1, 0, 1, 0};
             // Dissimilar rows: row 1 inside the margin (d about 1), row 3 outside (d about 5.2).
             for (int64_t k = 0; k < 3; ++k) {
               x[1][3 + k] = x[0][3 + k] + (k == 0 ? 1.0 : 0.1 * x[1][3 + k]);
               x[1][9 + k] = x[0][9 + k] + 3.0;
             }
           }});

}  // namespace
}  // namespace gt
