// Linear algebra family: matmul (numpy semantics, batch broadcasting), linear, bmm and outer over
// f32/f16/bf16, strided and transposed operands, the kernel paths by size, and the error contract.
#include <cmath>
#include <sstream>

#include "testing.h"

using namespace gt;

class Linalg : public DeviceTest {};

namespace {

// A float64 reference value and, per output, sum |a||b| (+ |bias|): the scale of the rounding
// error of any summation order.
struct Ref {
  Host v, mag;
};

// numpy matmul with plain loops: 1-d operands promoted (and the added dim dropped), batch dims
// broadcast.
Ref ref_matmul(const Host& a, const Host& b) {
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
  Ref r{Host::zeros(os), Host::zeros(os)};
  for (int64_t z = 0; z < numel(ob); ++z) {
    const int64_t ia = bcast_index(ob, ab, z) * M * K, ib = bcast_index(ob, bb, z) * K * N;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0, g = 0;
        for (int64_t k = 0; k < K; ++k) {
          const double x = a[ia + m * K + k], y = b[ib + k * N + n];
          s += x * y;
          g += std::abs(x * y);
        }
        r.v[(z * M + m) * N + n] = s;
        r.mag[(z * M + m) * N + n] = g;
      }
  }
  return r;
}

// y = x W^T + b over the last axis of x.
Ref ref_linear(const Host& x, const Host& w, const Host* bias) {
  const int64_t N = w.shape[0], K = w.shape[1], P = K ? x.numel() / K : 0;
  Shape os = x.shape;
  os.back() = N;
  Ref r{Host::zeros(os), Host::zeros(os)};
  const int64_t rows = numel(os) / std::max<int64_t>(N, 1);
  for (int64_t p = 0; p < rows; ++p)
    for (int64_t n = 0; n < N; ++n) {
      double s = bias ? (*bias)[n] : 0, g = bias ? std::abs((*bias)[n]) : 0;
      for (int64_t k = 0; k < K && p < P; ++k) {
        s += x[p * K + k] * w[n * K + k];
        g += std::abs(x[p * K + k] * w[n * K + k]);
      }
      r.v[p * N + n] = s;
      r.mag[p * N + n] = g;
    }
  return r;
}

// Tolerance relative to sum |a||b| per output, stated per dtype: f32 accumulation over the rounded
// inputs, plus the final rounding to f16/bf16.
double rel_tol(grl_dtype dt) {
  switch (dt) {
    case GRL_F32: return 1e-5;
    case GRL_F16: return 2e-3;
    default: return 1.6e-2;
  }
}

::testing::AssertionResult near(const Host& got, const Ref& r, grl_dtype dt) {
  if (got.shape != r.v.shape)
    return ::testing::AssertionFailure() << "shape " << str(got.shape) << " != expected " << str(r.v.shape);
  int bad = 0;
  std::ostringstream o;
  for (int64_t i = 0; i < r.v.numel(); ++i) {
    // f16 results below 2^-14 are subnormal: their rounding is absolute, up to 2^-25.
    const double err = std::abs(got[i] - r.v[i]), lim = rel_tol(dt) * r.mag[i] + (dt == GRL_F16 ? 0x1p-25 : 0.0);
    if (!(err <= lim)) {
      if (bad < 5) o << "\n  [" << i << "] got " << got[i] << " expected " << r.v[i] << " (limit " << lim << ")";
      ++bad;
    }
  }
  if (bad) return ::testing::AssertionFailure() << bad << " of " << r.v.numel() << " values differ:" << o.str();
  return ::testing::AssertionSuccess();
}

Host rnd(const Shape& s, grl_dtype dt) {
  Host h = Host::random(s, rng(), -1.0, 1.0);
  for (auto& x : h.v) x = round_to(dt, x);
  return h;
}

Host transpose2(const Host& h) {
  Host t = Host::zeros({h.shape[1], h.shape[0]});
  for (int64_t i = 0; i < h.shape[0]; ++i)
    for (int64_t j = 0; j < h.shape[1]; ++j) t[j * h.shape[0] + i] = h[i * h.shape[1] + j];
  return t;
}

// A device view of logical values `h` (2-d) whose memory is transposed: strides (1, rows).
grl_tensor upload_transposed(grl_device dev, const Host& h, grl_dtype dt) {
  T base(upload(dev, transpose2(h), dt));
  grl_tensor v = nullptr;
  EXPECT_EQ(grl_transpose(base, 0, 1, &v), GRL_OK) << grl_last_error_message();
  return v;
}

uint64_t allocations(grl_device dev) {
  grl_memory_stats s;
  EXPECT_EQ(grl_device_memory_stats(dev, &s), GRL_OK);
  return s.allocations;
}

const grl_dtype kFloats[] = {GRL_F32, GRL_F16, GRL_BF16};

}  // namespace

TEST_F(Linalg, MatmulShapesAgainstFloat64) {
  // {a shape, b shape}: edge sizes, sizes off every tile multiple, K = 1 and K = 0, vectors.
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{1, 1}, {1, 1}},         {{1, 9}, {9, 13}},          {{11, 1}, {1, 14}},       {{37, 19}, {19, 1}},
      {{63, 65}, {65, 67}},     {{128, 128}, {128, 128}},   {{130, 257}, {257, 129}}, {{3, 0}, {0, 4}},
      {{2, 1, 5, 7}, {3, 7, 4}}, {{7}, {7}},                {{6}, {6, 9}},            {{9, 6}, {6}},
      {{6}, {2, 6, 5}},         {{2, 3, 6}, {6}},           {{64, 784}, {784, 256}},  {{33, 64}, {64, 48}},
      {{4, 1, 8}, {4, 8, 12}},  {{2, 2, 9, 16}, {2, 16, 8}},  {{3, 40}, {40, 24}},      {{4, 37}, {37, 13}},
      {{50, 16}, {16, 3}},      {{2, 2, 36}, {36, 2}},
  };
  for (grl_dtype dt : kFloats)
    for (const auto& [sa, sb] : cases) {
      Host a = rnd(sa, dt), b = rnd(sb, dt);
      T ta(upload(dev, a, dt)), tb(upload(dev, b, dt)), out;
      ASSERT_GRL_OK(grl_matmul(ta, tb, out.out()));
      EXPECT_EQ(grl_tensor_dtype(out), dt);
      EXPECT_TRUE(near(download(out), ref_matmul(a, b), dt)) << grl_dtype_name(dt) << " " << str(sa) << " @ " << str(sb);
    }
}

TEST_F(Linalg, DotOfVectorsIsZeroDim) {
  Host a = rnd({33}, GRL_F32), b = rnd({33}, GRL_F32);
  T ta(upload(dev, a)), tb(upload(dev, b)), out;
  ASSERT_GRL_OK(grl_matmul(ta, tb, out.out()));
  EXPECT_EQ(grl_tensor_ndim(out), 0);
  EXPECT_TRUE(near(download(out), ref_matmul(a, b), GRL_F32));
}

TEST_F(Linalg, LargeTilesEveryLayout) {
  // Enough 128x128 tiles to take the large kernel, edges in M and N, 4-wide (K % 4 == 0) and
  // scalar (K odd) loads, and every combination of row-major and transposed operands.
  for (int64_t K : {12, 11}) {
    const int64_t M = 1290, N = 1300;
    Host a = rnd({M, K}, GRL_F32), b = rnd({K, N}, GRL_F32);
    const Ref r = ref_matmul(a, b);
    for (int layout = 0; layout < 4; ++layout) {
      T ta(layout & 1 ? upload_transposed(dev, a, GRL_F32) : upload(dev, a));
      T tb(layout & 2 ? upload_transposed(dev, b, GRL_F32) : upload(dev, b));
      T out;
      ASSERT_GRL_OK(grl_matmul(ta, tb, out.out()));
      EXPECT_TRUE(near(download(out), r, GRL_F32)) << "K " << K << " layout " << layout;
    }
  }
  // f16 and bf16 through the large kernel.
  for (grl_dtype dt : {GRL_F16, GRL_BF16}) {
    Host a = rnd({1290, 8}, dt), b = rnd({8, 1300}, dt);
    T ta(upload(dev, a, dt)), tb(upload(dev, b, dt)), out;
    ASSERT_GRL_OK(grl_matmul(ta, tb, out.out()));
    EXPECT_TRUE(near(download(out), ref_matmul(a, b), dt)) << grl_dtype_name(dt);
  }
}

TEST_F(Linalg, TransposedViewsAreReadInPlace) {
  // (M, K, N): 4-wide loads along the transposed dim, odd sizes with scalar loads, a vector case.
  const std::vector<std::array<int64_t, 3>> sizes = {{40, 36, 44}, {37, 29, 41}, {1, 12, 20}, {24, 16, 1}};
  for (grl_dtype dt : kFloats)
    for (const auto& s : sizes)
      for (int layout = 1; layout < 4; ++layout) {
        Host a = rnd({s[0], s[1]}, dt), b = rnd({s[1], s[2]}, dt);
        T ta(layout & 1 ? upload_transposed(dev, a, dt) : upload(dev, a, dt));
        T tb(layout & 2 ? upload_transposed(dev, b, dt) : upload(dev, b, dt));
        if (layout & 1 && s[0] > 1) ASSERT_FALSE(grl_tensor_is_contiguous(ta));
        T out;
        const uint64_t before = allocations(dev);
        ASSERT_GRL_OK(grl_matmul(ta, tb, out.out()));
        EXPECT_EQ(allocations(dev) - before, 1u) << "only the output is allocated: no operand was copied";
        EXPECT_TRUE(near(download(out), ref_matmul(a, b), dt))
            << grl_dtype_name(dt) << " " << s[0] << "x" << s[1] << "x" << s[2] << " layout " << layout;
      }
}

TEST_F(Linalg, BatchBroadcastReadsStrideZeroWithoutCopies) {
  // a [1, M, K] expanded to [5, M, K] (stride 0), b a plain [5, K, N].
  Host a = rnd({1, 9, 12}, GRL_F32), b = rnd({5, 12, 10}, GRL_F32);
  T ta(upload(dev, a)), tb(upload(dev, b)), ex, out;
  const int64_t shape[3] = {5, 9, 12};
  ASSERT_GRL_OK(grl_expand(ta, shape, 3, ex.out()));
  const uint64_t before = allocations(dev);
  ASSERT_GRL_OK(grl_matmul(ex, tb, out.out()));
  EXPECT_EQ(allocations(dev) - before, 1u);
  EXPECT_TRUE(near(download(out), ref_matmul(a, b), GRL_F32));

  // Three batch dims that do not merge (a permuted), so the batch is split between the grid and
  // a loop of dispatches, and b broadcast over two of them.
  Host base = rnd({4, 3, 2, 6, 8}, GRL_F32), bb = rnd({4, 8, 5}, GRL_F32);
  T tbase(upload(dev, base)), tbb(upload(dev, bb)), perm, out2;
  const int32_t axes[5] = {2, 1, 0, 3, 4};
  ASSERT_GRL_OK(grl_permute(tbase, axes, 5, perm.out()));
  Host pa = Host::zeros({2, 3, 4, 6, 8});
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k)
        for (int e = 0; e < 48; ++e) pa[((i * 3 + j) * 4 + k) * 48 + e] = base[((k * 3 + j) * 2 + i) * 48 + e];
  ASSERT_GRL_OK(grl_matmul(perm, tbb, out2.out()));
  EXPECT_TRUE(near(download(out2), ref_matmul(pa, bb), GRL_F32));
}

TEST_F(Linalg, EmptyOperands) {
  struct C {
    Shape a, b, out;
  };
  const std::vector<C> cases = {{{0, 5}, {5, 3}, {0, 3}}, {{4, 5}, {5, 0}, {4, 0}}, {{0, 2, 3}, {3, 4}, {0, 2, 4}}};
  for (const auto& c : cases) {
    T ta(upload(dev, Host::zeros(c.a))), tb(upload(dev, Host::zeros(c.b))), out;
    ASSERT_GRL_OK(grl_matmul(ta, tb, out.out()));
    EXPECT_EQ(download(out).shape, c.out);
  }
  // K = 0: zeros, and the bias alone for linear.
  T x(upload(dev, Host::zeros({3, 0}))), w(upload(dev, Host::zeros({5, 0}))), y, z;
  Host bias = rnd({5}, GRL_F32);
  T tbias(upload(dev, bias));
  ASSERT_GRL_OK(grl_linear(x, w, tbias, y.out()));
  Host got = download(y);
  ASSERT_EQ(got.shape, (Shape{3, 5}));
  for (int64_t i = 0; i < 15; ++i) EXPECT_EQ(got[i], bias[i % 5]);
  ASSERT_GRL_OK(grl_linear(x, w, nullptr, z.out()));
  for (double v : download(z).v) EXPECT_EQ(v, 0.0);
}

TEST_F(Linalg, LinearAgainstFloat64) {
  // {x shape, out_features}: 3-d x, 4-wide and scalar loads, one row, one output feature, 1-d x
  // (scalar and 4-wide GEMV), a few rows or output features (multi-row GEMV), and the layers of
  // a batch-64 784-256-256-10 MLP (split-k).
  const std::vector<std::pair<Shape, int64_t>> cases = {
      {{2, 3, 20}, 12}, {{2, 5, 17}, 9}, {{1, 40}, 24}, {{6, 33}, 1}, {{21}, 7}, {{300}, 5}, {{3, 40}, 24},
      {{2, 37}, 9},     {{50, 16}, 2},  {{5, 7, 33}, 3}, {{64, 784}, 256}, {{64, 256}, 256}, {{64, 256}, 10},
  };
  for (grl_dtype dt : kFloats)
    for (const auto& [xs, N] : cases)
      for (bool with_bias : {false, true}) {
        Host x = rnd(xs, dt), w = rnd({N, xs.back()}, dt), bias = rnd({N}, dt);
        T tx(upload(dev, x, dt)), tw(upload(dev, w, dt)), tb(upload(dev, bias, dt)), out;
        const uint64_t before = allocations(dev);
        ASSERT_GRL_OK(grl_linear(tx, tw, with_bias ? tb.t : nullptr, out.out()));
        // No W^T is materialized: the output and, for split-k, its f32 partial sums.
        EXPECT_LE(allocations(dev) - before, 2u);
        EXPECT_TRUE(near(download(out), ref_linear(x, w, with_bias ? &bias : nullptr), dt))
            << grl_dtype_name(dt) << " x " << str(xs) << " out " << N << (with_bias ? " bias" : "");
      }
}

TEST_F(Linalg, LinearReadsTransposedWeightAndInput) {
  // weight stored as [in, out] and viewed as [out, in]; x a transposed 2-d view.
  for (grl_dtype dt : kFloats) {
    Host x = rnd({24, 32}, dt), w = rnd({20, 32}, dt), bias = rnd({20}, dt);
    T tx(upload_transposed(dev, x, dt)), tw(upload_transposed(dev, w, dt)), tb(upload(dev, bias, dt)), out;
    const uint64_t before = allocations(dev);
    ASSERT_GRL_OK(grl_linear(tx, tw, tb, out.out()));
    EXPECT_EQ(allocations(dev) - before, 1u);
    EXPECT_TRUE(near(download(out), ref_linear(x, w, &bias), dt)) << grl_dtype_name(dt);
  }
}

TEST_F(Linalg, BmmAndOuter) {
  for (grl_dtype dt : kFloats) {
    for (const auto& [sa, sb] : std::vector<std::pair<Shape, Shape>>{{{3, 5, 7}, {3, 7, 4}}, {{4, 33, 64}, {4, 64, 32}},
                                                                      {{2, 1, 9}, {2, 9, 6}}}) {
      Host a = rnd(sa, dt), b = rnd(sb, dt);
      T ta(upload(dev, a, dt)), tb(upload(dev, b, dt)), out;
      ASSERT_GRL_OK(grl_bmm(ta, tb, out.out()));
      EXPECT_TRUE(near(download(out), ref_matmul(a, b), dt)) << grl_dtype_name(dt) << " " << str(sa);
    }
    for (const auto& [m, n] : std::vector<std::pair<int64_t, int64_t>>{{5, 7}, {128, 64}, {1, 1}, {1, 6}, {6, 1}, {0, 3}}) {
      Host a = rnd({m}, dt), b = rnd({n}, dt);
      T ta(upload(dev, a, dt)), tb(upload(dev, b, dt)), out;
      ASSERT_GRL_OK(grl_outer(ta, tb, out.out()));
      Host a2 = a, b2 = b;
      a2.shape = {m, 1};
      b2.shape = {1, n};
      EXPECT_TRUE(near(download(out), ref_matmul(a2, b2), dt)) << grl_dtype_name(dt) << " " << m << "x" << n;
    }
  }
}

TEST_F(Linalg, BadArguments) {
  T a(upload(dev, rnd({2, 3}, GRL_F32))), b(upload(dev, rnd({4, 5}, GRL_F32))), out;
  EXPECT_GRL_ERROR(grl_matmul(a, b, out.out()), GRL_ERROR_SHAPE, "[2, 3]");
  EXPECT_GRL_ERROR(grl_matmul(a, b, out.out()), GRL_ERROR_SHAPE, "[4, 5]");
  EXPECT_EQ(out.t, nullptr);
  T s(upload(dev, rnd({}, GRL_F32)));
  EXPECT_GRL_ERROR(grl_matmul(s, a, out.out()), GRL_ERROR_SHAPE, "at least 1 dim");
  T b3(upload(dev, rnd({2, 3, 4}, GRL_F32))), a3(upload(dev, rnd({3, 5, 3}, GRL_F32)));
  EXPECT_GRL_ERROR(grl_matmul(a3, b3, out.out()), GRL_ERROR_SHAPE, "cannot be broadcast");
  EXPECT_GRL_ERROR(grl_bmm(a3, b3, out.out()), GRL_ERROR_SHAPE, "'b' [B, K, N]");
  EXPECT_GRL_ERROR(grl_bmm(a, b, out.out()), GRL_ERROR_SHAPE, "[2, 3]");
  EXPECT_GRL_ERROR(grl_outer(a, b, out.out()), GRL_ERROR_SHAPE, "1-d");

  // linear: in_features mismatch, weight rank, bias size.
  T x(upload(dev, rnd({4, 3}, GRL_F32))), w(upload(dev, rnd({6, 3}, GRL_F32)));
  T bias7(upload(dev, rnd({7}, GRL_F32))), w1(upload(dev, rnd({3}, GRL_F32)));
  EXPECT_GRL_ERROR(grl_linear(x, b, nullptr, out.out()), GRL_ERROR_SHAPE, "[..., 5]");
  EXPECT_GRL_ERROR(grl_linear(x, w1, nullptr, out.out()), GRL_ERROR_SHAPE, "'weight'");
  EXPECT_GRL_ERROR(grl_linear(x, w, bias7, out.out()), GRL_ERROR_SHAPE, "'bias' has shape [7]; expected [6]");

  // Dtypes: integers are refused, operands must agree.
  T ai(upload(dev, rnd({2, 3}, GRL_F32), GRL_I32)), bi(upload(dev, rnd({3, 2}, GRL_F32), GRL_I32));
  T bh(upload(dev, rnd({3, 2}, GRL_F32), GRL_F16)), bias_h(upload(dev, rnd({6}, GRL_F32), GRL_F16));
  EXPECT_GRL_ERROR(grl_matmul(ai, bi, out.out()), GRL_ERROR_DTYPE, "i32");
  EXPECT_GRL_ERROR(grl_matmul(a, bh, out.out()), GRL_ERROR_DTYPE, "f16");
  EXPECT_GRL_ERROR(grl_linear(x, w, bias_h, out.out()), GRL_ERROR_DTYPE, "'bias'");
  EXPECT_GRL_ERROR(grl_outer(ai, ai, out.out()), GRL_ERROR_DTYPE, "floating");

  // NULL handles.
  EXPECT_GRL_ERROR(grl_matmul(nullptr, b, out.out()), GRL_ERROR_NULL_ARGUMENT, "'a'");
  EXPECT_GRL_ERROR(grl_linear(x, nullptr, nullptr, out.out()), GRL_ERROR_NULL_ARGUMENT, "'weight'");
  EXPECT_GRL_ERROR(grl_bmm(a, nullptr, out.out()), GRL_ERROR_NULL_ARGUMENT, "'b'");
  EXPECT_GRL_ERROR(grl_outer(a, a, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  EXPECT_EQ(out.t, nullptr);
}

TEST_F(Linalg, OperandsOnTwoDevices) {
  grl_device_options o = GRL_DEVICE_OPTIONS_INIT;
  o.validation = 1;
  grl_device d2 = nullptr;
  ASSERT_GRL_OK(grl_device_create(&o, &d2));
  {
    Host h = rnd({3, 3}, GRL_F32), v = rnd({3}, GRL_F32);
    T a(upload(dev, h)), b(upload(d2, h)), bias(upload(d2, v)), w(upload(dev, h)), out;
    EXPECT_GRL_ERROR(grl_matmul(a, b, out.out()), GRL_ERROR_DEVICE_MISMATCH, "another device");
    EXPECT_GRL_ERROR(grl_linear(a, w, bias, out.out()), GRL_ERROR_DEVICE_MISMATCH, "'bias'");
    EXPECT_GRL_ERROR(grl_outer(bias, a, out.out()), GRL_ERROR_DEVICE_MISMATCH, "another device");
  }
  grl_device_release(d2);
}

namespace {

// op(a) @ op(b) for 2-d hosts, op transposing where asked, with the rounding scale per output.
Ref ref_product(const Host& a, bool ta, const Host& b, bool tb) {
  const int64_t M = ta ? a.shape[1] : a.shape[0], K = ta ? a.shape[0] : a.shape[1];
  const int64_t N = tb ? b.shape[0] : b.shape[1];
  Ref r{Host::zeros({M, N}), Host::zeros({M, N})};
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0, g = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double x = ta ? a[k * M + m] : a[m * K + k], y = tb ? b[n * K + k] : b[k * N + n];
        s += x * y;
        g += std::abs(x * y);
      }
      r.v[m * N + n] = s;
      r.mag[m * N + n] = g;
    }
  return r;
}

// h seen as 2-d [numel / last, last] (the flattened rows of a batched operand), or reshaped.
Host as2d(Host h, Shape s = {}) {
  if (s.empty()) s = {h.numel() / h.shape.back(), h.shape.back()};
  h.shape = s;
  return h;
}

Ref reshaped(Ref r, const Shape& s) {
  r.v.shape = s;
  r.mag.shape = s;
  return r;
}

Host grad_of(grl_tensor t) {
  T g;
  EXPECT_EQ(grl_tensor_grad(t, g.out()), GRL_OK) << grl_last_error_message();
  if (!g.t) return Host{};
  return download(g);
}

}  // namespace

TEST_F(Linalg, LinearBackwardAgainstFloat64) {
  // {x shape, out_features}: the layers of a batch-64 784-256-256-10 MLP (split-k for dx of the
  // first two), a 3-d x whose rows are flattened into k of dW, and a few rows.
  const std::vector<std::pair<Shape, int64_t>> cases = {
      {{64, 784}, 256}, {{64, 256}, 256}, {{64, 256}, 10}, {{2, 5, 33}, 9}, {{3, 300}, 20}};
  for (grl_dtype dt : kFloats)
    for (const auto& [xs, N] : cases) {
      const int64_t in = xs.back();
      Shape ys = xs;
      ys.back() = N;
      Host x = rnd(xs, dt), w = rnd({N, in}, dt), bias = rnd({N}, dt), g = rnd(ys, dt);
      T tx(upload(dev, x, dt)), tw(upload(dev, w, dt)), tb(upload(dev, bias, dt)), tg(upload(dev, g, dt)), y;
      for (grl_tensor t : {tx.t, tw.t, tb.t}) ASSERT_GRL_OK(grl_tensor_set_requires_grad(t, 1));
      ASSERT_GRL_OK(grl_linear(tx, tw, tb, y.out()));
      ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
      const Host g2 = as2d(g), x2 = as2d(x);
      Ref db{Host::zeros({N}), Host::zeros({N})};
      for (int64_t i = 0; i < g.numel(); ++i) {
        db.v[i % N] += g[i];
        db.mag[i % N] += std::abs(g[i]);
      }
      const std::string what = std::string(grl_dtype_name(dt)) + " x " + str(xs) + " out " + std::to_string(N);
      EXPECT_TRUE(near(grad_of(tx), reshaped(ref_product(g2, false, w, false), xs), dt)) << "dx " << what;
      EXPECT_TRUE(near(grad_of(tw), ref_product(g2, true, x2, false), dt)) << "dW " << what;
      EXPECT_TRUE(near(grad_of(tb), db, dt)) << "db " << what;
    }
}

TEST_F(Linalg, MatmulBackwardAgainstFloat64) {
  // 2-d products in every layout, with a dA of 128x128 tiles (1290 x 1300 from k = 12) and a
  // split-k dB (k = 1290); a batched a against a broadcast b (dB folds the batch into k).
  for (int layout : {0, 3}) {
    Host a = rnd({1290, 1300}, GRL_F32), b = rnd({1300, 12}, GRL_F32), g = rnd({1290, 12}, GRL_F32);
    T ta(layout & 1 ? upload_transposed(dev, a, GRL_F32) : upload(dev, a));
    T tb(layout & 2 ? upload_transposed(dev, b, GRL_F32) : upload(dev, b));
    T tg(upload(dev, g)), y;
    ASSERT_GRL_OK(grl_tensor_set_requires_grad(ta, 1));
    ASSERT_GRL_OK(grl_tensor_set_requires_grad(tb, 1));
    ASSERT_GRL_OK(grl_matmul(ta, tb, y.out()));
    ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
    EXPECT_TRUE(near(grad_of(ta), ref_product(g, false, b, true), GRL_F32)) << "dA layout " << layout;
    EXPECT_TRUE(near(grad_of(tb), ref_product(a, true, g, false), GRL_F32)) << "dB layout " << layout;
  }
  for (grl_dtype dt : kFloats)
    for (int layout = 0; layout < 4; ++layout) {
      Host a = rnd({37, 29}, dt), b = rnd({29, 41}, dt), g = rnd({37, 41}, dt);
      T ta(layout & 1 ? upload_transposed(dev, a, dt) : upload(dev, a, dt));
      T tb(layout & 2 ? upload_transposed(dev, b, dt) : upload(dev, b, dt));
      T tg(upload(dev, g, dt)), y;
      ASSERT_GRL_OK(grl_tensor_set_requires_grad(ta, 1));
      ASSERT_GRL_OK(grl_tensor_set_requires_grad(tb, 1));
      ASSERT_GRL_OK(grl_matmul(ta, tb, y.out()));
      ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
      EXPECT_TRUE(near(grad_of(ta), ref_product(g, false, b, true), dt)) << grl_dtype_name(dt) << " layout " << layout;
      EXPECT_TRUE(near(grad_of(tb), ref_product(a, true, g, false), dt)) << grl_dtype_name(dt) << " layout " << layout;
    }
  for (grl_dtype dt : kFloats) {
    Host a = rnd({2, 40, 36}, dt), b = rnd({36, 44}, dt), g = rnd({2, 40, 44}, dt);
    T ta(upload(dev, a, dt)), tb(upload(dev, b, dt)), tg(upload(dev, g, dt)), y;
    ASSERT_GRL_OK(grl_tensor_set_requires_grad(ta, 1));
    ASSERT_GRL_OK(grl_tensor_set_requires_grad(tb, 1));
    ASSERT_GRL_OK(grl_matmul(ta, tb, y.out()));
    ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
    const Host g2 = as2d(g), a2 = as2d(a);
    EXPECT_TRUE(near(grad_of(ta), reshaped(ref_product(g2, false, b, true), {2, 40, 36}), dt)) << grl_dtype_name(dt);
    EXPECT_TRUE(near(grad_of(tb), ref_product(a2, true, g2, false), dt)) << grl_dtype_name(dt);
  }
}

TEST_F(Linalg, BackwardReadsOperandsInPlace) {
  // Each gradient is one GEMM into its own new tensor: no transposed copy of an operand, no
  // batched product summed afterwards, and nothing for inputs that need no gradient. The engine
  // may add one copy per leaf when it stores .grad, so the count is bounded by gradients + leaves.
  auto backward_allocations = [&](grl_tensor y, const Shape& ys) {
    T tg(upload(dev, rnd(ys, GRL_F32)));
    const uint64_t before = allocations(dev);
    EXPECT_EQ(grl_tensor_backward(y, tg, 0), GRL_OK) << grl_last_error_message();
    return allocations(dev) - before;
  };
  {  // the last MLP layer with the weight stored [in, out]: dx and dW only
    T x(upload(dev, rnd({64, 256}, GRL_F32))), w(upload_transposed(dev, rnd({10, 256}, GRL_F32), GRL_F32)), y;
    ASSERT_GRL_OK(grl_tensor_set_requires_grad(x, 1));
    ASSERT_GRL_OK(grl_tensor_set_requires_grad(w, 1));
    ASSERT_GRL_OK(grl_linear(x, w, nullptr, y.out()));
    const uint64_t n = backward_allocations(y, {64, 10});
    EXPECT_GE(n, 2u);
    EXPECT_LE(n, 2u + 2u);
  }
  {  // linear on 3-d x, only the weight learns: dW is one GEMM over all 64 rows
    T x(upload(dev, rnd({4, 16, 32}, GRL_F32))), w(upload(dev, rnd({24, 32}, GRL_F32))), y;
    ASSERT_GRL_OK(grl_tensor_set_requires_grad(w, 1));
    ASSERT_GRL_OK(grl_linear(x, w, nullptr, y.out()));
    const uint64_t n = backward_allocations(y, {4, 16, 24});
    EXPECT_GE(n, 1u);
    EXPECT_LE(n, 1u + 1u);
  }
  for (int which = 0; which < 2; ++which) {  // [3, 20, 16] @ [16, 24]: dA, then dB (batch folded into k)
    T a(upload(dev, rnd({3, 20, 16}, GRL_F32))), b(upload(dev, rnd({16, 24}, GRL_F32))), y;
    ASSERT_GRL_OK(grl_tensor_set_requires_grad(which ? b : a, 1));
    ASSERT_GRL_OK(grl_matmul(a, b, y.out()));
    const uint64_t n = backward_allocations(y, {3, 20, 24});
    EXPECT_GE(n, 1u) << (which ? "dB" : "dA");
    EXPECT_LE(n, 1u + 1u) << (which ? "dB" : "dA");
  }
}

TEST_F(Linalg, BackwardOfEmptyProducts) {
  // m = 0 or rows = 0: empty dA / dx, zero dB / dW / db; k = 0: empty gradients on both sides.
  struct C {
    Shape a, b;
  };
  for (const auto& c : std::vector<C>{{{0, 5}, {5, 3}}, {{3, 0}, {0, 4}}, {{2, 0, 3}, {3, 4}}}) {
    T ta(upload(dev, rnd(c.a, GRL_F32))), tb(upload(dev, rnd(c.b, GRL_F32))), y;
    ASSERT_GRL_OK(grl_tensor_set_requires_grad(ta, 1));
    ASSERT_GRL_OK(grl_tensor_set_requires_grad(tb, 1));
    ASSERT_GRL_OK(grl_matmul(ta, tb, y.out()));
    Shape ys(static_cast<size_t>(grl_tensor_ndim(y)));
    ASSERT_GRL_OK(grl_tensor_shape(y, ys.data()));
    T tg(upload(dev, Host::zeros(ys)));
    ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
    const Host ga = grad_of(ta), gb = grad_of(tb);
    EXPECT_EQ(ga.shape, c.a);
    EXPECT_EQ(gb.shape, c.b);
    for (double v : gb.v) EXPECT_EQ(v, 0.0);
  }
  T x(upload(dev, Host::zeros({0, 4}))), w(upload(dev, rnd({3, 4}, GRL_F32))), bias(upload(dev, rnd({3}, GRL_F32)));
  T y, tg(upload(dev, Host::zeros({0, 3})));
  for (grl_tensor t : {x.t, w.t, bias.t}) ASSERT_GRL_OK(grl_tensor_set_requires_grad(t, 1));
  ASSERT_GRL_OK(grl_linear(x, w, bias, y.out()));
  ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
  EXPECT_EQ(grad_of(x).shape, (Shape{0, 4}));
  const Host gw = grad_of(w), gbias = grad_of(bias);
  EXPECT_EQ(gw.shape, (Shape{3, 4}));
  EXPECT_EQ(gbias.shape, (Shape{3}));
  for (double v : gw.v) EXPECT_EQ(v, 0.0);
  for (double v : gbias.v) EXPECT_EQ(v, 0.0);
}
