// Gradient checks of the memory family: place and time cells, the key-value read (shared,
// batched, and through attention pooling) and sparse expansion.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "gradcheck.h"

using namespace gt;

namespace {

Host place(const Host& x, const Host& c, const Host* s, double sigma, double A, double base) {
  int64_t B = x.shape[0], D = x.shape[1], N = c.shape[0];
  Host r = Host::zeros({B, N});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n = 0; n < N; ++n) {
      double d2 = 0;
      for (int64_t k = 0; k < D; ++k) d2 += (x[b * D + k] - c[n * D + k]) * (x[b * D + k] - c[n * D + k]);
      double sg = s ? (*s)[n] : sigma;
      r[b * N + n] = base + A * std::exp(-d2 / (2 * sg * sg));
    }
  return r;
}

Host kv(const Host& q, const Host& k, const Host& v, double tau) {
  bool batched = k.shape.size() == 3;
  int64_t M = k.shape[batched ? 1 : 0], d = k.shape.back(), dv = v.shape.back();
  int64_t rows = q.numel() / d, per = batched ? q.shape[1] : rows;
  if (tau <= 0) tau = std::sqrt(static_cast<double>(d));
  Shape os = q.shape;
  os.back() = dv;
  Host r = Host::zeros(os);
  for (int64_t i = 0; i < rows; ++i) {
    int64_t bb = i / per;
    std::vector<double> s(static_cast<size_t>(M));
    double mx = -1e300, z = 0;
    for (int64_t m = 0; m < M; ++m) {
      double dot = 0;
      for (int64_t e = 0; e < d; ++e) dot += q[i * d + e] * k[(bb * M + m) * d + e];
      s[static_cast<size_t>(m)] = dot / tau;
      mx = std::max(mx, dot / tau);
    }
    for (auto& x : s) z += (x = std::exp(x - mx));
    for (int64_t c = 0; c < dv; ++c) {
      double a = 0;
      for (int64_t m = 0; m < M; ++m) a += s[static_cast<size_t>(m)] * v[(bb * M + m) * dv + c];
      r[i * dv + c] = a / z;
    }
  }
  return r;
}

// z = x W^T + b, top-k per row, L2-normalised.
Host sparse(const Host& x, const Host& w, const Host& b, int k) {
  int64_t in = w.shape[1], H = w.shape[0], rows = x.numel() / in;
  Host r = Host::zeros({rows, H});
  for (int64_t i = 0; i < rows; ++i) {
    std::vector<double> z(static_cast<size_t>(H));
    for (int64_t h = 0; h < H; ++h) {
      double a = b[h];
      for (int64_t e = 0; e < in; ++e) a += x[i * in + e] * w[h * in + e];
      z[static_cast<size_t>(h)] = a;
    }
    std::vector<int64_t> idx(static_cast<size_t>(H));
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t p, int64_t q) { return z[static_cast<size_t>(p)] > z[static_cast<size_t>(q)]; });
    double ss = 0;
    for (int j = 0; j < k; ++j) ss += z[static_cast<size_t>(idx[static_cast<size_t>(j)])] * z[static_cast<size_t>(idx[static_cast<size_t>(j)])];
    double n = std::sqrt(ss);
    for (int j = 0; j < k; ++j) {
      size_t h = static_cast<size_t>(idx[static_cast<size_t>(j)]);
      r[i * H + static_cast<int64_t>(h)] = z[h] / n;
    }
  }
  return r;
}

}  // namespace

GRAD_CASE({"place_cells", {{4, 2}, {3, 2}, {3}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_place_cells(t[0], t[1], t[2], 0, 5.0, 0.5, out); },
           [](const std::vector<Host>& x) { return place(x[0], x[1], &x[2], 0, 5.0, 0.5); }, -1, 1, {},
           [](std::vector<Host>& x) {
             for (auto& v : x[2].v) v = 0.6 + 0.3 * std::abs(v);  // widths > 0
           }});
GRAD_CASE({"place_cells", {{3, 3}, {4, 3}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_place_cells(t[0], t[1], nullptr, 0.8, 3.0, 0, out); },
           [](const std::vector<Host>& x) { return place(x[0], x[1], nullptr, 0.8, 3.0, 0); }, -1, 1});
GRAD_CASE({"time_cells", {{2, 3}, {4}, {4}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_time_cells(t[0], t[1], t[2], 2.0, out); },
           [](const std::vector<Host>& x) {
             Shape s = x[0].shape;
             s.push_back(4);
             Host r = Host::zeros(s);
             for (int64_t b = 0; b < x[0].numel(); ++b)
               for (int64_t i = 0; i < 4; ++i) {
                 double d = x[0][b] - x[1][i];
                 r[b * 4 + i] = 2.0 * std::exp(-d * d / (2 * x[2][i] * x[2][i]));
               }
             return r;
           },
           -2, 2, {}, [](std::vector<Host>& x) {
             for (auto& v : x[2].v) v = 0.8 + 0.4 * std::abs(v);
           }});
GRAD_CASE({"kv_memory_read", {{3, 4}, {5, 4}, {5, 3}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_kv_memory_read(t[0], t[1], t[2], 0, out); },
           [](const std::vector<Host>& x) { return kv(x[0], x[1], x[2], 0); }});
GRAD_CASE({"kv_memory_read", {{2, 2, 3}, {2, 4, 3}, {2, 4, 2}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_kv_memory_read(t[0], t[1], t[2], 0.7, out); },
           [](const std::vector<Host>& x) { return kv(x[0], x[1], x[2], 0.7); }});
// Attention pooling reaches the same rule with keys = values = x, through reshape and expand of w.
GRAD_CASE({"kv_memory_read", {{2, 3, 4}, {4}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) {
             return grl_memory_pool(t[0], GRL_MEMORY_POOL_ATTENTION, t[1], 0, out);
           },
           [](const std::vector<Host>& x) {
             int64_t B = 2, n = 3, d = 4;
             Host r = Host::zeros({B, d});
             for (int64_t b = 0; b < B; ++b) {
               Host q = Host::zeros({1, d}), k = Host::zeros({n, d});
               for (int64_t e = 0; e < d; ++e) q[e] = x[1][e];
               for (int64_t i = 0; i < n * d; ++i) k[i] = x[0][b * n * d + i];
               Host a = kv(q, k, k, 0);
               for (int64_t e = 0; e < d; ++e) r[b * d + e] = a[e];
             }
             return r;
           }});
GRAD_CASE({"sparse_expansion", {{3, 4}, {9, 4}, {9}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_sparse_expansion(t[0], t[1], t[2], 3, out); },
           [](const std::vector<Host>& x) { return sparse(x[0], x[1], x[2], 3); }, -1, 1, {},
           [](std::vector<Host>& x) {
             // Spread the biases so that the k-th and (k+1)-th activations of a row are far apart.
             for (int64_t h = 0; h < 9; ++h) x[2][h] = 0.5 * static_cast<double>(h) - 2.0;
           }});
// Positions near each cell's phase (within 0.1 spacing), so the summed waves stay positive and
// away from the rectification.
GRAD_CASE({"grid_cells", {{5, 2}, {3}, {3}, {3, 2}},
           [](const std::vector<grl_tensor>& t, grl_tensor* out) { return grl_grid_cells(t[0], t[1], t[2], t[3], 4.0, out); },
           [](const std::vector<Host>& x) {
             const double pi = 3.14159265358979323846;
             Host r = Host::zeros({5, 3});
             for (int64_t b = 0; b < 5; ++b)
               for (int64_t n = 0; n < 3; ++n) {
                 double k = 4 * pi / (std::sqrt(3.0) * x[1][n]), s = 0;
                 for (int j = 0; j < 3; ++j) {
                   double a = x[2][n] + j * pi / 3;
                   s += std::cos(k * (std::cos(a) * (x[0][2 * b] - x[3][2 * n]) + std::sin(a) * (x[0][2 * b + 1] - x[3][2 * n + 1])));
                 }
                 r[b * 3 + n] = 4.0 * std::max(0.0, s) / 3;
               }
             return r;
           },
           -0.2, 0.2, {1, 2, 3}, [](std::vector<Host>& x) {
             for (auto& v : x[1].v) v = 3.0 + std::abs(v);  // spacing 3 to 3.2: |x - p| < 0.3
             for (auto& v : x[3].v) v = 0.0;
           }});
