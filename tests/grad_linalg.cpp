// Gradient checks of the linear algebra family: matmul (1-d promotion, batch broadcasting), linear,
// bmm and outer against float64 forwards written here, with transposed and strided operands.
#include <cstdint>
#include <vector>

#include "gradcheck.h"

namespace gt {
namespace {

// numpy matmul: 1-d operands promoted (and the added dim dropped), batch dims broadcast.
Host ref_matmul(const Host& a, const Host& b) {
  Shape as = a.shape, bs = b.shape;
  const bool a1 = as.size() == 1, b1 = bs.size() == 1;
  if (a1) as.insert(as.begin(), 1);
  if (b1) bs.push_back(1);
  const int64_t M = as[as.size() - 2], K = as[as.size() - 1], N = bs[bs.size() - 1];
  const Shape ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
  const Shape ob = broadcast(ab, bb);
  Shape os = ob;
  if (!a1) os.push_back(M);
  if (!b1) os.push_back(N);
  Host y = Host::zeros(os);
  for (int64_t z = 0; z < numel(ob); ++z) {
    const int64_t ia = bcast_index(ob, ab, z) * M * K, ib = bcast_index(ob, bb, z) * K * N;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += a[ia + m * K + k] * b[ib + k * N + n];
        y[(z * M + m) * N + n] = s;
      }
  }
  return y;
}

// y = x W^T (+ b) over the last axis of x.
Host ref_linear(const Host& x, const Host& w, const Host* bias) {
  const int64_t N = w.shape[0], K = w.shape[1], rows = x.numel() / K;
  Shape os = x.shape;
  os.back() = N;
  Host y = Host::zeros(os);
  for (int64_t p = 0; p < rows; ++p)
    for (int64_t n = 0; n < N; ++n) {
      double s = bias ? (*bias)[n] : 0.0;
      for (int64_t k = 0; k < K; ++k) s += x[p * K + k] * w[n * K + k];
      y[p * N + n] = s;
    }
  return y;
}

// out[i0, i1, ...] = h[i_axes[0], ...]: the values of grl_permute's view.
Host permute(const Host& h, const std::vector<int>& axes) {
  Shape os;
  for (int a : axes) os.push_back(h.shape[static_cast<size_t>(a)]);
  const std::vector<int64_t> hs = strides(h.shape), ostr = strides(os);
  Host r = Host::zeros(os);
  for (int64_t i = 0; i < r.numel(); ++i) {
    int64_t src = 0;
    for (size_t d = 0; d < os.size(); ++d) src += (i / ostr[d] % os[d]) * hs[static_cast<size_t>(axes[d])];
    r[i] = h[src];
  }
  return r;
}

Host transpose(const Host& h, int a0, int a1) {
  std::vector<int> axes;
  for (int i = 0; i < static_cast<int>(h.shape.size()); ++i) axes.push_back(i);
  std::swap(axes[static_cast<size_t>(a0)], axes[static_cast<size_t>(a1)]);
  return permute(h, axes);
}

grl_status matmul2(const std::vector<grl_tensor>& x, grl_tensor* out) { return grl_matmul(x[0], x[1], out); }
Host ref_matmul2(const std::vector<Host>& x) { return ref_matmul(x[0], x[1]); }

// ---- matmul: 2-d (GEMV and tiled paths), vectors, batch broadcasting ----
GRAD_CASE({"matmul", {{3, 4}, {4, 5}}, matmul2, ref_matmul2});
GRAD_CASE({"matmul", {{6, 5}, {5, 7}}, matmul2, ref_matmul2});
GRAD_CASE({"matmul", {{6}, {6}}, matmul2, ref_matmul2});
GRAD_CASE({"matmul", {{4}, {4, 3}}, matmul2, ref_matmul2});
GRAD_CASE({"matmul", {{3, 4}, {4}}, matmul2, ref_matmul2});
// Both operands broadcast over a batch dim the other has.
GRAD_CASE({"matmul", {{2, 1, 3, 4}, {5, 4, 2}}, matmul2, ref_matmul2});
// b broadcast over a's batch: its gradient is one GEMM over the batch folded into k (and, with
// M = 1, a fold starting from k = 1).
GRAD_CASE({"matmul", {{2, 3, 4}, {4, 2}}, matmul2, ref_matmul2});
GRAD_CASE({"matmul", {{3, 1, 4}, {4, 5}}, matmul2, ref_matmul2});
// 1-d operands against batched ones: the gradient comes back 1-d after the batch sum.
GRAD_CASE({"matmul", {{4}, {2, 4, 3}}, matmul2, ref_matmul2});
GRAD_CASE({"matmul", {{2, 3, 4}, {4}}, matmul2, ref_matmul2});

// Transposed operands read in place, and a transposed result (the rule reads a strided gradient).
GRAD_CASE({"matmul", {{4, 3}, {5, 4}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             T at, bt, y;
             grl_status s = grl_transpose(x[0], 0, 1, at.out());
             if (s == GRL_OK) s = grl_transpose(x[1], 0, 1, bt.out());
             if (s == GRL_OK) s = grl_matmul(at, bt, y.out());
             if (s == GRL_OK) s = grl_transpose(y, 0, 1, out);
             return s;
           },
           [](const std::vector<Host>& x) {
             return transpose(ref_matmul(transpose(x[0], 0, 1), transpose(x[1], 0, 1)), 0, 1);
           }});

// a [4] against b stored [K, B, N] and viewed [B, K, N]: b's batch stride continues n, so a's
// gradient folds the whole batch into one GEMM.
GRAD_CASE({"matmul", {{4}, {4, 3, 5}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             T bt;
             grl_status s = grl_transpose(x[1], 0, 1, bt.out());
             return s == GRL_OK ? grl_matmul(x[0], bt, out) : s;
           },
           [](const std::vector<Host>& x) { return ref_matmul(x[0], transpose(x[1], 0, 1)); }});

// ---- linear: 3-d x with and without bias, 1-d x, and strided x, weight and gradient ----
GRAD_CASE({"linear", {{2, 3, 4}, {5, 4}, {5}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) { return grl_linear(x[0], x[1], x[2], out); },
           [](const std::vector<Host>& x) { return ref_linear(x[0], x[1], &x[2]); }});
GRAD_CASE({"linear", {{2, 3, 4}, {5, 4}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) { return grl_linear(x[0], x[1], nullptr, out); },
           [](const std::vector<Host>& x) { return ref_linear(x[0], x[1], nullptr); }});
GRAD_CASE({"linear", {{4}, {3, 4}, {3}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) { return grl_linear(x[0], x[1], x[2], out); },
           [](const std::vector<Host>& x) { return ref_linear(x[0], x[1], &x[2]); }});
// x [3, 2, 4] viewed [2, 3, 4] (its rows are no single run of memory), weight stored [in, out],
// and the result transposed.
GRAD_CASE({"linear", {{3, 2, 4}, {4, 5}, {5}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             T xt, wt, y;
             grl_status s = grl_transpose(x[0], 0, 1, xt.out());
             if (s == GRL_OK) s = grl_transpose(x[1], 0, 1, wt.out());
             if (s == GRL_OK) s = grl_linear(xt, wt, x[2], y.out());
             if (s == GRL_OK) s = grl_transpose(y, 0, 2, out);
             return s;
           },
           [](const std::vector<Host>& x) {
             return transpose(ref_linear(transpose(x[0], 0, 1), transpose(x[1], 0, 1), &x[2]), 0, 2);
           }});

// ---- bmm: plain, and transposed/permuted operands ----
GRAD_CASE({"bmm", {{2, 3, 4}, {2, 4, 5}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) { return grl_bmm(x[0], x[1], out); },
           [](const std::vector<Host>& x) { return ref_matmul(x[0], x[1]); }});
GRAD_CASE({"bmm", {{2, 3, 4}, {3, 2, 5}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             T at, bp;
             const int32_t axes[3] = {1, 0, 2};
             grl_status s = grl_transpose(x[0], 1, 2, at.out());
             if (s == GRL_OK) s = grl_permute(x[1], axes, 3, bp.out());
             return s == GRL_OK ? grl_bmm(at, bp, out) : s;
           },
           [](const std::vector<Host>& x) { return ref_matmul(transpose(x[0], 1, 2), permute(x[1], {1, 0, 2})); }});

// ---- outer: plain, and a strided a (every other element) ----
Host ref_outer(const Host& a, const Host& b) {
  Host y = Host::zeros({a.numel(), b.numel()});
  for (int64_t i = 0; i < a.numel(); ++i)
    for (int64_t j = 0; j < b.numel(); ++j) y[i * b.numel() + j] = a[i] * b[j];
  return y;
}

GRAD_CASE({"outer", {{4}, {5}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) { return grl_outer(x[0], x[1], out); },
           [](const std::vector<Host>& x) { return ref_outer(x[0], x[1]); }});
GRAD_CASE({"outer", {{8}, {5}},
           [](const std::vector<grl_tensor>& x, grl_tensor* out) {
             T as;
             grl_status s = grl_slice(x[0], 0, 1, 8, 2, as.out());
             return s == GRL_OK ? grl_outer(as, x[1], out) : s;
           },
           [](const std::vector<Host>& x) {
             Host a = Host::zeros({4});
             for (int64_t i = 0; i < 4; ++i) a[i] = x[0][1 + 2 * i];
             return ref_outer(a, x[1]);
           }});

}  // namespace
}  // namespace gt
