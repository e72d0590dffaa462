// Memory family: place, grid and time cells, the theta-gamma code, key-value memory, pooling,
// injection, the episodic store and sparse expansion, against float64 references; bad inputs.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "testing.h"

using namespace gt;

class Memory : public DeviceTest {};

namespace {

const double kPi = 3.14159265358979323846;

Host rounded(Host h, grl_dtype dt) {
  for (auto& v : h.v) v = round_to(dt, v);
  return h;
}

Host rnd(Shape s, grl_dtype dt, double lo = -2, double hi = 2) { return rounded(Host::random(s, rng(), lo, hi), dt); }

// Per-dtype tolerance of a result computed in f32 and rounded once to dt; f32 results of
// transcendental chains get a little more room than one rounding.
Tol tol_f(grl_dtype dt) { return dt == GRL_F32 ? Tol{2e-5, 2e-6} : tol(dt); }

Host place_ref(const Host& x, const Host& c, const Host* s, double sigma, double A, double base) {
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

Host grid_ref(const Host& x, const Host& sp, const Host& th, const Host& ph, double A) {
  int64_t B = x.shape[0], N = sp.shape[0];
  Host r = Host::zeros({B, N});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n = 0; n < N; ++n) {
      double k = 4 * kPi / (std::sqrt(3.0) * sp[n]), s = 0;
      for (int j = 0; j < 3; ++j) {
        double a = th[n] + j * kPi / 3;
        s += std::cos(k * (std::cos(a) * (x[2 * b] - ph[2 * n]) + std::sin(a) * (x[2 * b + 1] - ph[2 * n + 1])));
      }
      r[b * N + n] = A * std::max(0.0, s) / 3;
    }
  return r;
}

// softmax(q k^T / tau) V over rows of q; keys/values [M, .] or [B, M, .] with q [B, Q, d].
Host kv_ref(const Host& q, const Host& k, const Host& v, double tau) {
  bool batched = k.shape.size() == 3;
  int64_t M = k.shape[batched ? 1 : 0], d = k.shape.back(), dv = v.shape.back();
  int64_t rows = q.numel() / d, per = batched ? q.shape[1] : rows;
  if (tau <= 0) tau = std::sqrt(static_cast<double>(d));
  Shape os = q.shape;
  os.back() = dv;
  Host r = Host::zeros(os);
  for (int64_t i = 0; i < rows; ++i) {
    int64_t bb = per ? i / per : 0;
    std::vector<double> s(static_cast<size_t>(M));
    double mx = -1e300;
    for (int64_t m = 0; m < M; ++m) {
      double dot = 0;
      for (int64_t e = 0; e < d; ++e) dot += q[i * d + e] * k[(bb * M + m) * d + e];
      s[static_cast<size_t>(m)] = dot / tau;
      mx = std::max(mx, dot / tau);
    }
    double z = 0;
    for (auto& x : s) z += (x = std::exp(x - mx));
    for (int64_t c = 0; c < dv; ++c) {
      double a = 0;
      for (int64_t m = 0; m < M; ++m) a += s[static_cast<size_t>(m)] * v[(bb * M + m) * dv + c];
      r[i * dv + c] = a / z;
    }
  }
  return r;
}

// Top-k (value desc, index asc) of z rows, zeros elsewhere, L2-normalised.
Host sparse_ref(const Host& z, int k) {
  int64_t H = z.shape.back(), rows = z.numel() / H;
  Host r = Host::zeros(z.shape);
  for (int64_t i = 0; i < rows; ++i) {
    std::vector<int64_t> idx(static_cast<size_t>(H));
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return z[i * H + a] > z[i * H + b]; });
    double ss = 0;
    for (int j = 0; j < k; ++j) ss += z[i * H + idx[static_cast<size_t>(j)]] * z[i * H + idx[static_cast<size_t>(j)]];
    double n = std::max(std::sqrt(ss), 1e-12);
    for (int j = 0; j < k; ++j) r[i * H + idx[static_cast<size_t>(j)]] = z[i * H + idx[static_cast<size_t>(j)]] / n;
  }
  return r;
}

Host linear_ref(const Host& x, const Host& w, const Host* b) {
  int64_t in = w.shape[1], H = w.shape[0], rows = x.numel() / in;
  Shape s = x.shape;
  s.back() = H;
  Host r = Host::zeros(s);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t h = 0; h < H; ++h) {
      double a = b ? (*b)[h] : 0;
      for (int64_t e = 0; e < in; ++e) a += x[i * in + e] * w[h * in + e];
      r[i * H + h] = a;
    }
  return r;
}

}  // namespace

TEST_F(Memory, PlaceCellsAgainstFloat64) {
  struct C {
    int64_t B, N, D;
    bool per_cell;
  };
  for (C c : {C{1, 1, 2, false}, C{7, 13, 2, true}, C{300, 5, 3, false}, C{33, 9, 3, true}, C{0, 4, 2, true},
              C{3, 0, 2, false}, C{4, 6, 1, true}}) {
    for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16}) {
      Host x = rnd({c.B, c.D}, dt, -1, 1), ctr = rnd({c.N, c.D}, dt, -1, 1), s = rnd({c.N}, dt, 0.3, 0.8);
      T tx(upload(dev, x, dt)), tc(upload(dev, ctr, dt)), ts(upload(dev, s, dt)), out;
      ASSERT_GRL_OK(grl_place_cells(tx, tc, c.per_cell ? ts.t : nullptr, 0.5, 20.0, 1.5, out.out()));
      Host ref = rounded(place_ref(x, ctr, c.per_cell ? &s : nullptr, 0.5, 20.0, 1.5), dt);
      Tol t = tol_f(dt);
      EXPECT_TRUE(close(download(out), ref, t)) << grl_dtype_name(dt) << " B" << c.B << " N" << c.N << " D" << c.D;
    }
  }
}

TEST_F(Memory, GridCellsPeakAtTheirPhaseAndMatchFloat64) {
  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16}) {
    int64_t B = 37, N = 11;
    Host x = rnd({B, 2}, dt, -1.5, 1.5), sp = rnd({N}, dt, 0.4, 1.0), th = rnd({N}, dt, 0, kPi / 3),
         ph = rnd({N, 2}, dt, -0.5, 0.5);
    for (int64_t i = 0; i < 2; ++i) x[i] = ph[i];  // position 0 sits on cell 0's vertex
    T tx(upload(dev, x, dt)), ts(upload(dev, sp, dt)), tt(upload(dev, th, dt)), tp(upload(dev, ph, dt)), out;
    ASSERT_GRL_OK(grl_grid_cells(tx, ts, tt, tp, 10.0, out.out()));
    Host got = download(out), ref = grid_ref(x, sp, th, ph, 10.0);
    // f32 cosines of arguments up to ~40 rad: absolute error scales with the argument.
    Tol t = dt == GRL_F32 ? Tol{1e-4, 1e-4} : dt == GRL_F16 ? Tol{3e-3, 2e-2} : Tol{2e-2, 8e-2};
    EXPECT_TRUE(close(got, rounded(ref, dt), t)) << grl_dtype_name(dt);
    EXPECT_NEAR(got[0], 10.0, dt == GRL_F32 ? 1e-4 : 0.1);
    for (double v : got.v) EXPECT_GE(v, 0.0);
  }
  // The lattice repeats: moving by one spacing along the orientation gives the same rate.
  Host x = Host::zeros({2, 2}), sp = Host::zeros({1}), th = Host::zeros({1}), ph = Host::zeros({1, 2});
  sp[0] = 0.5;
  th[0] = 0.3;
  x[0] = 0.1, x[1] = 0.2;
  x[2] = 0.1 + 0.5 * std::cos(0.3 + kPi / 6);  // one spacing along orientation + 30 degrees: a lattice vector
  x[3] = 0.2 + 0.5 * std::sin(0.3 + kPi / 6);
  T tx(upload(dev, x)), ts(upload(dev, sp)), tt(upload(dev, th)), tp(upload(dev, ph)), out;
  ASSERT_GRL_OK(grl_grid_cells(tx, ts, tt, tp, 1.0, out.out()));
  Host got = download(out);
  EXPECT_NEAR(got[0], got[1], 1e-5);
  EXPECT_NEAR(got[0], grid_ref(x, sp, th, ph, 1.0)[0], 1e-5);
}

TEST_F(Memory, TimeCellsAndTheirTuning) {
  T pref, sig;
  ASSERT_GRL_OK(grl_time_cells_tuning(dev, 5, 10.0, 1000.0, 1, 0.2, GRL_F32, pref.out(), sig.out()));
  Host p = download(pref), s = download(sig);
  ASSERT_EQ(p.shape, (Shape{5}));
  for (int i = 0; i < 5; ++i) {
    double ti = 10.0 * std::pow(100.0, i / 4.0);
    EXPECT_NEAR(p[i], ti, 1e-5 * ti);
    EXPECT_NEAR(s[i], 0.2 * ti, 1e-5 * ti);
  }
  T lp, ls, one_p, one_s;
  ASSERT_GRL_OK(grl_time_cells_tuning(dev, 4, 1.0, 4.0, 0, 0.5, GRL_F16, lp.out(), ls.out()));
  EXPECT_EQ(grl_tensor_dtype(lp), GRL_F16);
  EXPECT_EQ(download(lp).v, (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(download(ls).v, (std::vector<double>{0.5, 1, 1.5, 2}));
  ASSERT_GRL_OK(grl_time_cells_tuning(dev, 1, 3.0, 3.0, 1, 0.1, GRL_F32, one_p.out(), one_s.out()));
  EXPECT_NEAR(download(one_p)[0], 3.0, 1e-6);

  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16}) {
    for (Shape ts_shape : {Shape{2, 3}, Shape{}, Shape{257}, Shape{0}}) {
      int64_t N = 6;
      Host t = rnd(ts_shape, dt, 0, 50), c = rnd({N}, dt, 0, 50), sg = rnd({N}, dt, 2, 10);
      T tt(upload(dev, t, dt)), tc(upload(dev, c, dt)), tsg(upload(dev, sg, dt)), out;
      ASSERT_GRL_OK(grl_time_cells(tt, tc, tsg, 5.0, out.out()));
      Shape os = ts_shape;
      os.push_back(N);
      Host ref = Host::zeros(os);
      for (int64_t b = 0; b < t.numel(); ++b)
        for (int64_t i = 0; i < N; ++i)
          ref[b * N + i] = round_to(dt, 5.0 * std::exp(-(t[b] - c[i]) * (t[b] - c[i]) / (2 * sg[i] * sg[i])));
      Tol tl = dt == GRL_F32 ? Tol{1e-4, 1e-5} : tol(dt);  // exp of arguments up to ~300
      EXPECT_TRUE(close(download(out), ref, tl)) << grl_dtype_name(dt) << " " << str(ts_shape);
    }
  }
}

TEST_F(Memory, ThetaGammaPhaseCode) {
  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16}) {
    for (Shape s : {Shape{3, 5}, Shape{1}, Shape{2, 2, 7}, Shape{0, 4}}) {
      Host p = rnd(s, dt, 0, 1);
      double prec = 2 * kPi / s.back(), period = 125.0;
      T tp(upload(dev, p, dt)), ph, tm;
      ASSERT_GRL_OK(grl_theta_gamma_code(tp, period, prec, ph.out(), tm.out()));
      Host rp = Host::zeros(s), rt = Host::zeros(s);
      int64_t n = s.back();
      for (int64_t i = 0; i < p.numel(); ++i) {
        double turns = static_cast<double>(i % n) / n - prec * p[i] / (2 * kPi);
        turns -= std::floor(turns);
        rp[i] = round_to(dt, 2 * kPi * turns);
        rt[i] = round_to(dt, period * turns);
      }
      Tol t = dt == GRL_F32 ? Tol{1e-5, 1e-5} : tol(dt);
      Tol tt = dt == GRL_F32 ? Tol{1e-5, 2e-4} : Tol{tol(dt).rtol, tol(dt).atol * 100};
      EXPECT_TRUE(close(download(ph), rp, t)) << grl_dtype_name(dt) << " " << str(s);
      EXPECT_TRUE(close(download(tm), rt, tt)) << grl_dtype_name(dt) << " " << str(s);
    }
  }
  // Without precession item i of n fires exactly at 2 pi i / n.
  Host p = Host::zeros({4});
  T tp(upload(dev, p)), ph, tm;
  ASSERT_GRL_OK(grl_theta_gamma_code(tp, 100.0, 0.0, ph.out(), tm.out()));
  Host got = download(tm);
  EXPECT_EQ(got.v, (std::vector<double>{0, 25, 50, 75}));
}

TEST_F(Memory, KvReadSharedAndBatchedAgainstFloat64) {
  struct C {
    Shape q, k, v;
    double tau;
  };
  std::vector<C> cases = {
      {{1, 1}, {1, 1}, {1, 1}, 0},          {{5, 16}, {70, 16}, {70, 300}, 0},  {{2, 3, 8}, {129, 8}, {129, 5}, 0.7},
      {{3, 4, 8}, {3, 65, 8}, {3, 65, 5}, 0}, {{0, 8}, {4, 8}, {4, 3}, 0},      {{4, 6}, {3, 6}, {3, 0}, 0},
      {{2, 1, 3}, {2, 1, 3}, {2, 1, 2}, 2.0},  {{19, 16}, {70, 16}, {70, 7}, 0},   {{3, 9, 8}, {3, 65, 8}, {3, 65, 5}, 0},
      {{3, 300}, {5, 300}, {5, 4}, 0},  // keys longer than the kernel's shared query rows
      {{3, 5}, {1000, 5}, {1000, 3}, 0}, {{2, 3, 4}, {2, 300, 4}, {2, 300, 2}, 0},  // slots split and merged
      {{2, 100, 8}, {2, 400, 8}, {2, 400, 3}, 0},  // over 2^16 scores: matmul, softmax, matmul
  };
  for (const C& c : cases) {
    for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16}) {
      Host q = rnd(c.q, dt), k = rnd(c.k, dt), v = rnd(c.v, dt);
      T tq(upload(dev, q, dt)), tk(upload(dev, k, dt)), tv(upload(dev, v, dt)), out;
      ASSERT_GRL_OK(grl_kv_memory_read(tq, tk, tv, c.tau, out.out()));
      Host ref = rounded(kv_ref(q, k, v, c.tau), dt);
      Tol t = dt == GRL_F32 ? Tol{1e-4, 1e-5} : Tol{tol(dt).rtol * 2, tol(dt).atol * 2};
      EXPECT_TRUE(close(download(out), ref, t)) << grl_dtype_name(dt) << " q" << str(c.q) << " k" << str(c.k);
    }
  }
}

TEST_F(Memory, KvWriteOverwritesAndBlendsInPlace) {
  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16}) {
    for (grl_dtype it : {GRL_I32, GRL_I64}) {
      for (double alpha : {1.0, 0.25}) {
        Host m = rnd({9, 7}, dt), rows = rnd({3, 7}, dt);
        std::vector<int64_t> idx = {4, 0, 8};
        T tm(upload(dev, m, dt)), tr(upload(dev, rows, dt)), ti(upload_i64(dev, idx, {3}, it));
        ASSERT_GRL_OK(grl_kv_memory_write_(tm, ti, tr, alpha));
        Host ref = m;
        for (int j = 0; j < 3; ++j)
          for (int c = 0; c < 7; ++c) {
            double& o = ref[idx[static_cast<size_t>(j)] * 7 + c];
            o = round_to(dt, (1 - alpha) * o + alpha * rows[j * 7 + c]);
          }
        EXPECT_TRUE(close(download(tm), ref, tol(dt))) << grl_dtype_name(dt) << " alpha " << alpha;
      }
    }
  }
  // An index out of range is reported at the next synchronize; the other rows are written.
  Host m = Host::zeros({4, 2}), rows = Host::random({2, 2}, rng());
  T tm(upload(dev, m)), tr(upload(dev, rows)), ti(upload_i64(dev, {1, 4}, {2}, GRL_I32));
  ASSERT_GRL_OK(grl_kv_memory_write_(tm, ti, tr, 1.0));
  EXPECT_GRL_ERROR(grl_device_synchronize(dev), GRL_ERROR_INDEX, "grl_kv_memory_write_");
  Host got = download(tm);
  EXPECT_NEAR(got[2], static_cast<float>(rows[0]), 1e-7);
  EXPECT_EQ(got[6], 0.0);
  // Empty writes are no-ops.
  Host e = Host::zeros({0, 2});
  T te(upload(dev, e)), tie(upload_i64(dev, {}, {0}, GRL_I64));
  ASSERT_GRL_OK(grl_kv_memory_write_(tm, tie, te, 0.5));
}

TEST_F(Memory, PoolingMeanMaxAttention) {
  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16}) {
    int64_t B = 3, n = 5, d = 6;
    Host x = rnd({B, n, d}, dt), w = rnd({d}, dt);
    T tx(upload(dev, x, dt)), tw(upload(dev, w, dt)), mean, mx, att;
    ASSERT_GRL_OK(grl_memory_pool(tx, GRL_MEMORY_POOL_MEAN, nullptr, 0, mean.out()));
    ASSERT_GRL_OK(grl_memory_pool(tx, GRL_MEMORY_POOL_MAX, nullptr, 0, mx.out()));
    ASSERT_GRL_OK(grl_memory_pool(tx, GRL_MEMORY_POOL_ATTENTION, tw, 0.5, att.out()));
    Host rm = Host::zeros({B, d}), rx = Host::zeros({B, d}), ra = Host::zeros({B, d});
    for (int64_t b = 0; b < B; ++b) {
      Host q = Host::zeros({1, d}), k = Host::zeros({n, d});
      for (int64_t e = 0; e < d; ++e) q[e] = w[e];
      for (int64_t i = 0; i < n * d; ++i) k[i] = x[b * n * d + i];
      Host a = kv_ref(q, k, k, 0.5);
      for (int64_t e = 0; e < d; ++e) {
        double s = 0, m = -1e300;
        for (int64_t i = 0; i < n; ++i) {
          s += x[(b * n + i) * d + e];
          m = std::max(m, x[(b * n + i) * d + e]);
        }
        rm[b * d + e] = round_to(dt, s / n);
        rx[b * d + e] = m;
        ra[b * d + e] = round_to(dt, a[e]);
      }
    }
    Tol t = dt == GRL_F32 ? Tol{1e-4, 1e-5} : Tol{tol(dt).rtol * 2, tol(dt).atol * 2};
    EXPECT_TRUE(close(download(mean), rm, t)) << grl_dtype_name(dt);
    EXPECT_TRUE(close(download(mx), rx, Tol{0, 0})) << grl_dtype_name(dt);
    EXPECT_TRUE(close(download(att), ra, t)) << grl_dtype_name(dt);
  }
}

TEST_F(Memory, InjectionModes) {
  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16}) {
    Host h = rnd({2, 3, 4}, dt), m = rnd({2, 3, 4}, dt), m2 = rnd({2, 3, 5}, dt);
    Host gf = rnd({4}, dt), gt_ = rnd({2, 3, 1}, dt, 0, 1);
    T th(upload(dev, h, dt)), tm(upload(dev, m, dt)), tm2(upload(dev, m2, dt)), tgf(upload(dev, gf, dt)),
        tgt(upload(dev, gt_, dt)), cat, gated, mix, res;
    ASSERT_GRL_OK(grl_memory_inject(th, tm2, GRL_MEMORY_INJECT_CONCAT, nullptr, cat.out()));
    ASSERT_GRL_OK(grl_memory_inject(th, tm, GRL_MEMORY_INJECT_GATED, tgf, gated.out()));
    ASSERT_GRL_OK(grl_memory_inject(th, tm, GRL_MEMORY_INJECT_MIX, tgt, mix.out()));
    ASSERT_GRL_OK(grl_memory_inject(th, tm, GRL_MEMORY_INJECT_RESIDUAL, nullptr, res.out()));
    Host rc = Host::zeros({2, 3, 9}), rg = Host::zeros({2, 3, 4}), rx = rg, rr = rg;
    for (int64_t r = 0; r < 6; ++r) {
      for (int64_t e = 0; e < 4; ++e) rc[r * 9 + e] = h[r * 4 + e];
      for (int64_t e = 0; e < 5; ++e) rc[r * 9 + 4 + e] = m2[r * 5 + e];
      for (int64_t e = 0; e < 4; ++e) {
        double hv = h[r * 4 + e], mv = m[r * 4 + e], g = gt_[r];
        rg[r * 4 + e] = round_to(dt, hv + mv / (1 + std::exp(-gf[e])));
        rx[r * 4 + e] = round_to(dt, g * mv + (1 - g) * hv);
        rr[r * 4 + e] = round_to(dt, hv + mv);
      }
    }
    // Composed ops round their intermediates to dt: two roundings' room.
    Tol t = dt == GRL_F32 ? Tol{1e-5, 1e-6} : Tol{tol(dt).rtol * 2, tol(dt).atol * 2};
    EXPECT_TRUE(close(download(cat), rc, Tol{0, 0})) << grl_dtype_name(dt);
    EXPECT_TRUE(close(download(gated), rg, t)) << grl_dtype_name(dt);
    EXPECT_TRUE(close(download(mix), rx, t)) << grl_dtype_name(dt);
    EXPECT_TRUE(close(download(res), rr, t)) << grl_dtype_name(dt);
  }
}

namespace {

// Host mirror of an episodic memory's contents by slot.
struct Mirror {
  int64_t C, dk, dv;
  std::vector<std::vector<double>> keys, values;
};

// Cosine top-k of a query over the first `size` slots (best first, ties to the lower slot).
std::vector<int64_t> cos_topk(const Mirror& m, int64_t size, const double* q, int k, std::vector<double>& scores) {
  double qn = 0;
  for (int64_t e = 0; e < m.dk; ++e) qn += q[e] * q[e];
  qn = std::sqrt(qn);
  std::vector<double> s(static_cast<size_t>(size));
  for (int64_t i = 0; i < size; ++i) {
    double dot = 0, kn = 0;
    for (int64_t e = 0; e < m.dk; ++e) {
      dot += q[e] * m.keys[static_cast<size_t>(i)][static_cast<size_t>(e)];
      kn += m.keys[static_cast<size_t>(i)][static_cast<size_t>(e)] * m.keys[static_cast<size_t>(i)][static_cast<size_t>(e)];
    }
    s[static_cast<size_t>(i)] = dot / (std::max(qn, 1e-8) * std::max(std::sqrt(kn), 1e-8));
  }
  std::vector<int64_t> idx(static_cast<size_t>(size));
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return s[static_cast<size_t>(a)] > s[static_cast<size_t>(b)]; });
  idx.resize(static_cast<size_t>(k));
  scores.clear();
  for (int64_t i : idx) scores.push_back(s[static_cast<size_t>(i)]);
  return idx;
}

}  // namespace

TEST_F(Memory, EpisodicFifoWriteReadAndUsage) {
  const int64_t C = 70, dk = 5, dv = 3;  // more slots than one workgroup's threads
  grl_episodic_memory mem = nullptr;
  ASSERT_GRL_OK(grl_episodic_memory_create(dev, C, dk, dv, GRL_EPISODIC_EVICT_OLDEST, &mem));
  Mirror mir{C, dk, dv, std::vector<std::vector<double>>(C), std::vector<std::vector<double>>(C)};
  int64_t written = 0, size = 0;
  for (int64_t K : {int64_t{50}, int64_t{40}, int64_t{3}, int64_t{150}}) {
    Host k = Host::random({K, dk}, rng()), v = Host::random({K, dv}, rng());
    for (auto& x : k.v) x = static_cast<float>(x);
    for (auto& x : v.v) x = static_cast<float>(x);
    T tk(upload(dev, k)), tv(upload(dev, v));
    ASSERT_GRL_OK(grl_episodic_memory_write(mem, tk, tv));
    for (int64_t j = std::max<int64_t>(0, K - C); j < K; ++j) {
      size_t slot = static_cast<size_t>((written + j) % C);
      mir.keys[slot].assign(k.v.begin() + j * dk, k.v.begin() + (j + 1) * dk);
      mir.values[slot].assign(v.v.begin() + j * dv, v.v.begin() + (j + 1) * dv);
    }
    written += K;
    size = std::min(C, size + K);
    int64_t got_size = -1;
    ASSERT_GRL_OK(grl_episodic_memory_size(mem, &got_size));
    EXPECT_EQ(got_size, size);

    const int kk = 4;
    Host q = Host::random({6, dk}, rng());
    for (auto& x : q.v) x = static_cast<float>(x);
    T tq(upload(dev, q)), ov, os, oi;
    ASSERT_GRL_OK(grl_episodic_memory_read(mem, tq, kk, ov.out(), os.out(), oi.out()));
    Host gv = download(ov), gs = download(os), gi = download(oi);
    ASSERT_EQ(gv.shape, (Shape{6, kk, dv}));
    for (int64_t qi = 0; qi < 6; ++qi) {
      std::vector<double> sc;
      auto idx = cos_topk(mir, size, &q.v[static_cast<size_t>(qi * dk)], kk, sc);
      for (int r = 0; r < kk; ++r) {
        EXPECT_EQ(gi[qi * kk + r], static_cast<double>(idx[static_cast<size_t>(r)])) << "query " << qi << " rank " << r;
        EXPECT_NEAR(gs[qi * kk + r], sc[static_cast<size_t>(r)], 1e-5);
        for (int64_t c = 0; c < dv; ++c)
          EXPECT_EQ(gv[(qi * kk + r) * dv + c], mir.values[static_cast<size_t>(gi[qi * kk + r])][static_cast<size_t>(c)]);
      }
    }
  }
  // Usage counts: read one query twice with k = 2 after a clear and a small write.
  ASSERT_GRL_OK(grl_episodic_memory_clear(mem));
  int64_t s0 = -1;
  ASSERT_GRL_OK(grl_episodic_memory_size(mem, &s0));
  EXPECT_EQ(s0, 0);
  Host k = Host::zeros({3, dk}), v = Host::random({3, dv}, rng());
  for (int i = 0; i < 3; ++i) k[i * dk + i] = 1;  // orthogonal keys
  Host q = Host::zeros({1, dk});
  q[0] = 1, q[1] = 0.5;
  T tk(upload(dev, k)), tv(upload(dev, v)), tq(upload(dev, q)), ov, ov2, use;
  ASSERT_GRL_OK(grl_episodic_memory_write(mem, tk, tv));
  ASSERT_GRL_OK(grl_episodic_memory_read(mem, tq, 2, ov.out(), nullptr, nullptr));
  ASSERT_GRL_OK(grl_episodic_memory_read(mem, tq, 2, ov2.out(), nullptr, nullptr));
  ASSERT_GRL_OK(grl_episodic_memory_usage(mem, use.out()));
  Host u = download(use);
  EXPECT_EQ(u[0], 2);
  EXPECT_EQ(u[1], 2);
  EXPECT_EQ(u[2], 0);
  EXPECT_EQ(u[3], 0);
  grl_episodic_memory_release(mem);
}

TEST_F(Memory, EpisodicLeastUsedEviction) {
  const int64_t C = 4, dk = 2, dv = 1;
  grl_episodic_memory mem = nullptr;
  ASSERT_GRL_OK(grl_episodic_memory_create(dev, C, dk, dv, GRL_EPISODIC_EVICT_LEAST_USED, &mem));
  // Slots 0..3 hold keys at angles 0, 90, 180, 270 degrees with values 0..3.
  Host k = Host::zeros({4, dk}), v = Host::zeros({4, dv});
  const double dirs[4][2] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
  for (int i = 0; i < 4; ++i) {
    k[i * 2] = dirs[i][0], k[i * 2 + 1] = dirs[i][1];
    v[i] = i;
  }
  T tk(upload(dev, k)), tv(upload(dev, v));
  ASSERT_GRL_OK(grl_episodic_memory_write(mem, tk, tv));
  // Use slots 0 and 2 (query along 0 degrees returns slot 0; along 180, slot 2), slot 3 once.
  Host q = Host::zeros({4, dk});
  q[0] = 1, q[2] = -1, q[4] = 1.0, q[5] = 0.01, q[6] = 0.01, q[7] = -1;
  T tq(upload(dev, q)), ov;
  ASSERT_GRL_OK(grl_episodic_memory_read(mem, tq, 1, ov.out(), nullptr, nullptr));
  // Usage now: slot 0: 2, slot 1: 0, slot 2: 1, slot 3: 1. Two new items evict slot 1 (least used),
  // then slot 2 (usage 1, older than slot 3).
  Host k2 = Host::zeros({2, dk}), v2 = Host::zeros({2, dv});
  k2[0] = 0.6, k2[1] = 0.8, v2[0] = 10;
  k2[2] = -0.6, k2[3] = 0.8, v2[1] = 11;
  T tk2(upload(dev, k2)), tv2(upload(dev, v2)), use;
  ASSERT_GRL_OK(grl_episodic_memory_write(mem, tk2, tv2));
  ASSERT_GRL_OK(grl_episodic_memory_usage(mem, use.out()));
  Host u = download(use);
  EXPECT_EQ(u.v, (std::vector<double>{2, 0, 0, 1}));
  // Reading back the new keys finds them in slots 1 and 2.
  T tq2(upload(dev, k2)), ov2, oi2;
  ASSERT_GRL_OK(grl_episodic_memory_read(mem, tq2, 1, ov2.out(), nullptr, oi2.out()));
  EXPECT_EQ(download(oi2).v, (std::vector<double>{1, 2}));
  EXPECT_EQ(download(ov2).v, (std::vector<double>{10, 11}));
  grl_episodic_memory_release(mem);
}

TEST_F(Memory, SparseExpansionAgainstFloat64) {
  struct C {
    Shape x;
    int64_t H;
    int k;
    bool bias;
  };
  for (C c : {C{{5, 7}, 40, 3, true}, C{{2, 3, 7}, 300, 32, false}, C{{1, 4}, 1, 1, true}, C{{0, 4}, 8, 2, true},
              C{{3, 9}, 65, 5, true}}) {
    for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16}) {
      int64_t in = c.x.back();
      Host x = rnd(c.x, dt), w = rnd({c.H, in}, dt), b = rnd({c.H}, dt);
      T tx(upload(dev, x, dt)), tw(upload(dev, w, dt)), tb(upload(dev, b, dt)), out, z;
      ASSERT_GRL_OK(grl_sparse_expansion(tx, tw, c.bias ? tb.t : nullptr, c.k, out.out()));
      // The selection is made on the device's z (linear in dt), so the reference starts from it.
      ASSERT_GRL_OK(grl_linear(tx, tw, c.bias ? tb.t : nullptr, z.out()));
      Host zh = download(z);
      Host ref = rounded(sparse_ref(zh, c.k), dt);
      Host zr = linear_ref(x, w, c.bias ? &b : nullptr);
      EXPECT_TRUE(close(zh, rounded(zr, dt), Tol{tol(dt).rtol * 4, tol(dt).atol * 20}));
      EXPECT_TRUE(close(download(out), ref, tol_f(dt))) << grl_dtype_name(dt) << " " << str(c.x) << " H" << c.H;
    }
  }
  // Ties go to the lower index.
  Host x = Host::zeros({1, 1}), w = Host::zeros({4, 1});
  x[0] = 1;
  w.v = {1, 2, 2, 2};
  T tx(upload(dev, x)), tw(upload(dev, w)), out;
  ASSERT_GRL_OK(grl_sparse_expansion(tx, tw, nullptr, 2, out.out()));
  Host got = download(out);
  double r = 1 / std::sqrt(2.0);
  EXPECT_NEAR(got[0], 0, 0);
  EXPECT_NEAR(got[1], r, 1e-6);
  EXPECT_NEAR(got[2], r, 1e-6);
  EXPECT_NEAR(got[3], 0, 0);
}

TEST_F(Memory, BadInputs) {
  Host h2 = Host::random({4, 2}, rng()), h3 = Host::random({4, 3}, rng()), h1 = Host::random({4}, rng());
  T x2(upload(dev, h2)), x3(upload(dev, h3)), v4(upload(dev, h1)), x2h(upload(dev, h2, GRL_F16)),
      xi(upload(dev, h2, GRL_I32)), out, out2;
  // Place cells.
  EXPECT_GRL_ERROR(grl_place_cells(nullptr, x2, nullptr, 1, 1, 0, out.out()), GRL_ERROR_NULL_ARGUMENT, "'positions'");
  EXPECT_GRL_ERROR(grl_place_cells(x2, x3, nullptr, 1, 1, 0, out.out()), GRL_ERROR_SHAPE, "'centers'");
  EXPECT_GRL_ERROR(grl_place_cells(x2, x2h, nullptr, 1, 1, 0, out.out()), GRL_ERROR_DTYPE, "centers");
  EXPECT_GRL_ERROR(grl_place_cells(xi, xi, nullptr, 1, 1, 0, out.out()), GRL_ERROR_DTYPE, "positions");
  EXPECT_GRL_ERROR(grl_place_cells(x2, x2, nullptr, 0.0, 1, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'sigma'");
  EXPECT_GRL_ERROR(grl_place_cells(x2, x2, nullptr, 1, -1, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'max_rate'");
  EXPECT_GRL_ERROR(grl_place_cells(x2, x2, x2, 1, 1, 0, out.out()), GRL_ERROR_SHAPE, "'sigmas'");
  EXPECT_GRL_ERROR(grl_place_cells(x2, x2, nullptr, 1, 1, 0, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  Host h9 = Host::random({2, 9}, rng());
  T x9(upload(dev, h9));
  EXPECT_GRL_ERROR(grl_place_cells(x9, x9, nullptr, 1, 1, 0, out.out()), GRL_ERROR_SHAPE, "1 to 8");
  // Grid cells.
  EXPECT_GRL_ERROR(grl_grid_cells(x3, v4, v4, x2, 1, out.out()), GRL_ERROR_SHAPE, "2-D");
  EXPECT_GRL_ERROR(grl_grid_cells(x2, v4, x2, x2, 1, out.out()), GRL_ERROR_SHAPE, "'orientation'");
  EXPECT_GRL_ERROR(grl_grid_cells(x2, v4, v4, x3, 1, out.out()), GRL_ERROR_SHAPE, "'phase'");
  EXPECT_GRL_ERROR(grl_grid_cells(x2, v4, v4, x2, NAN, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'max_rate'");
  // Time cells and tuning.
  EXPECT_GRL_ERROR(grl_time_cells(v4, v4, nullptr, 1, out.out()), GRL_ERROR_NULL_ARGUMENT, "'sigmas'");
  EXPECT_GRL_ERROR(grl_time_cells(v4, x2, v4, 1, out.out()), GRL_ERROR_SHAPE, "'preferred'");
  EXPECT_GRL_ERROR(grl_time_cells_tuning(dev, 0, 1, 2, 0, 0.1, GRL_F32, out.out(), out2.out()), GRL_ERROR_INVALID_ARGUMENT, "'n'");
  EXPECT_GRL_ERROR(grl_time_cells_tuning(dev, 3, 0, 2, 1, 0.1, GRL_F32, out.out(), out2.out()), GRL_ERROR_INVALID_ARGUMENT, "'t_min'");
  EXPECT_GRL_ERROR(grl_time_cells_tuning(dev, 3, 2, 1, 1, 0.1, GRL_F32, out.out(), out2.out()), GRL_ERROR_INVALID_ARGUMENT, "'t_max'");
  EXPECT_GRL_ERROR(grl_time_cells_tuning(dev, 3, 1, 2, 2, 0.1, GRL_F32, out.out(), out2.out()), GRL_ERROR_INVALID_ARGUMENT, "'log_spaced'");
  EXPECT_GRL_ERROR(grl_time_cells_tuning(dev, 3, 1, 2, 1, 0.0, GRL_F32, out.out(), out2.out()), GRL_ERROR_INVALID_ARGUMENT, "'weber'");
  EXPECT_GRL_ERROR(grl_time_cells_tuning(dev, 3, 1, 2, 1, 0.1, GRL_I32, out.out(), out2.out()), GRL_ERROR_DTYPE, "'dtype'");
  EXPECT_GRL_ERROR(grl_time_cells_tuning(nullptr, 3, 1, 2, 1, 0.1, GRL_F32, out.out(), out2.out()), GRL_ERROR_NULL_ARGUMENT, "'device'");
  EXPECT_EQ(out.t, nullptr);
  EXPECT_EQ(out2.t, nullptr);
  // Theta-gamma.
  EXPECT_GRL_ERROR(grl_theta_gamma_code(x2, 0.0, 0, out.out(), out2.out()), GRL_ERROR_INVALID_ARGUMENT, "'theta_period'");
  EXPECT_GRL_ERROR(grl_theta_gamma_code(x2, 1.0, INFINITY, out.out(), out2.out()), GRL_ERROR_INVALID_ARGUMENT, "'precession'");
  EXPECT_GRL_ERROR(grl_theta_gamma_code(xi, 1.0, 0, out.out(), out2.out()), GRL_ERROR_DTYPE, "progress");
  EXPECT_GRL_ERROR(grl_theta_gamma_code(x2, 1.0, 0, out.out(), nullptr), GRL_ERROR_NULL_ARGUMENT, "'out_times'");
  // Key-value read and write.
  EXPECT_GRL_ERROR(grl_kv_memory_read(x3, x2, x2, 0, out.out()), GRL_ERROR_SHAPE, "'q'");
  EXPECT_GRL_ERROR(grl_kv_memory_read(x2, x2, x9, 0, out.out()), GRL_ERROR_SHAPE, "values");
  EXPECT_GRL_ERROR(grl_kv_memory_read(x2, x2, x2h, 0, out.out()), GRL_ERROR_DTYPE, "values");
  EXPECT_GRL_ERROR(grl_kv_memory_read(x2, x2, x2, NAN, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'tau'");
  EXPECT_GRL_ERROR(grl_kv_memory_read(x2, v4, v4, 0, out.out()), GRL_ERROR_SHAPE, "'keys'");
  Host e = Host::zeros({0, 2});
  T empty(upload(dev, e));
  EXPECT_GRL_ERROR(grl_kv_memory_read(x2, empty, empty, 0, out.out()), GRL_ERROR_SHAPE, "at least one slot");
  T ti(upload_i64(dev, {0, 1, 2, 3}, {4}, GRL_I64)), tf(upload(dev, h1));
  EXPECT_GRL_ERROR(grl_kv_memory_write_(x2, ti, x3, 1.0), GRL_ERROR_SHAPE, "'rows'");
  EXPECT_GRL_ERROR(grl_kv_memory_write_(x2, tf, x2, 1.0), GRL_ERROR_DTYPE, "'indices'");
  EXPECT_GRL_ERROR(grl_kv_memory_write_(x2, ti, x2, 1.5), GRL_ERROR_INVALID_ARGUMENT, "'alpha'");
  EXPECT_GRL_ERROR(grl_kv_memory_write_(x2, ti, x2h, 1.0), GRL_ERROR_DTYPE, "rows");
  T xt;
  ASSERT_GRL_OK(grl_transpose(x2, 0, 1, xt.out()));
  T ti2(upload_i64(dev, {0, 1}, {2}, GRL_I64));
  EXPECT_GRL_ERROR(grl_kv_memory_write_(xt, ti2, xt, 1.0), GRL_ERROR_INVALID_ARGUMENT, "contiguous");
  // Pooling and injection.
  Host p3 = Host::random({2, 3, 4}, rng());
  T x34(upload(dev, p3));
  EXPECT_GRL_ERROR(grl_memory_pool(x2, GRL_MEMORY_POOL_MEAN, nullptr, 0, out.out()), GRL_ERROR_SHAPE, "[B, n, d]");
  EXPECT_GRL_ERROR(grl_memory_pool(x34, GRL_MEMORY_POOL_ATTENTION, nullptr, 0, out.out()), GRL_ERROR_NULL_ARGUMENT, "'w'");
  EXPECT_GRL_ERROR(grl_memory_pool(x34, GRL_MEMORY_POOL_ATTENTION, x2, 0, out.out()), GRL_ERROR_SHAPE, "'w'");
  EXPECT_GRL_ERROR(grl_memory_pool(x34, (grl_memory_pool_mode)7, nullptr, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'mode'");
  EXPECT_GRL_ERROR(grl_memory_inject(x2, x3, GRL_MEMORY_INJECT_RESIDUAL, nullptr, out.out()), GRL_ERROR_SHAPE, "'m'");
  EXPECT_GRL_ERROR(grl_memory_inject(x2, x2, GRL_MEMORY_INJECT_GATED, nullptr, out.out()), GRL_ERROR_NULL_ARGUMENT, "'gate'");
  EXPECT_GRL_ERROR(grl_memory_inject(x2, x2, GRL_MEMORY_INJECT_MIX, x3, out.out()), GRL_ERROR_SHAPE, "'gate'");
  EXPECT_GRL_ERROR(grl_memory_inject(x2, v4, GRL_MEMORY_INJECT_CONCAT, nullptr, out.out()), GRL_ERROR_SHAPE, "concat");
  EXPECT_GRL_ERROR(grl_memory_inject(x2, x2h, GRL_MEMORY_INJECT_CONCAT, nullptr, out.out()), GRL_ERROR_DTYPE, "'m'");
  EXPECT_GRL_ERROR(grl_memory_inject(x2, x2, (grl_memory_inject_mode)9, nullptr, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'mode'");
  // Sparse expansion.
  EXPECT_GRL_ERROR(grl_sparse_expansion(x2, x3, nullptr, 1, out.out()), GRL_ERROR_SHAPE, "'x'");
  EXPECT_GRL_ERROR(grl_sparse_expansion(x2, x2, nullptr, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'k'");
  EXPECT_GRL_ERROR(grl_sparse_expansion(x2, x2, nullptr, 5, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'k'");
  EXPECT_GRL_ERROR(grl_sparse_expansion(x2, x2, x2, 1, out.out()), GRL_ERROR_SHAPE, "'bias'");
  EXPECT_GRL_ERROR(grl_sparse_expansion(xi, x2, nullptr, 1, out.out()), GRL_ERROR_DTYPE, "'x'");
  EXPECT_EQ(out.t, nullptr);
  // Episodic memory.
  grl_episodic_memory mem = nullptr;
  EXPECT_GRL_ERROR(grl_episodic_memory_create(dev, 0, 2, 2, GRL_EPISODIC_EVICT_OLDEST, &mem), GRL_ERROR_INVALID_ARGUMENT, "'capacity'");
  EXPECT_GRL_ERROR(grl_episodic_memory_create(dev, 4, 0, 2, GRL_EPISODIC_EVICT_OLDEST, &mem), GRL_ERROR_INVALID_ARGUMENT, "'key_dim'");
  EXPECT_GRL_ERROR(grl_episodic_memory_create(dev, 4, 2, 2, (grl_episodic_eviction)5, &mem), GRL_ERROR_INVALID_ARGUMENT, "'eviction'");
  EXPECT_GRL_ERROR(grl_episodic_memory_create(nullptr, 4, 2, 2, GRL_EPISODIC_EVICT_OLDEST, &mem), GRL_ERROR_NULL_ARGUMENT, "'device'");
  EXPECT_EQ(mem, nullptr);
  ASSERT_GRL_OK(grl_episodic_memory_create(dev, 4, 2, 3, GRL_EPISODIC_EVICT_OLDEST, &mem));
  EXPECT_GRL_ERROR(grl_episodic_memory_read(mem, x2, 1, out.out(), nullptr, nullptr), GRL_ERROR_INVALID_ARGUMENT, "empty");
  EXPECT_GRL_ERROR(grl_episodic_memory_write(mem, x2, x2), GRL_ERROR_SHAPE, "'values'");
  EXPECT_GRL_ERROR(grl_episodic_memory_write(mem, x2h, x3), GRL_ERROR_DTYPE, "'keys'");
  EXPECT_GRL_ERROR(grl_episodic_memory_write(nullptr, x2, x3), GRL_ERROR_NULL_ARGUMENT, "'mem'");
  Host h53 = Host::random({5, 3}, rng());
  T x53(upload(dev, h53));
  EXPECT_GRL_ERROR(grl_episodic_memory_write(mem, x2, x53), GRL_ERROR_SHAPE, "one row per key");
  ASSERT_GRL_OK(grl_episodic_memory_write(mem, x2, x3));
  EXPECT_GRL_ERROR(grl_episodic_memory_read(mem, x2, 5, out.out(), nullptr, nullptr), GRL_ERROR_INVALID_ARGUMENT, "'k'");
  EXPECT_GRL_ERROR(grl_episodic_memory_read(mem, x3, 1, out.out(), nullptr, nullptr), GRL_ERROR_SHAPE, "'queries'");
  EXPECT_GRL_ERROR(grl_episodic_memory_read(mem, x2, 1, nullptr, nullptr, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out_values'");
  int64_t sz = 0;
  EXPECT_GRL_ERROR(grl_episodic_memory_size(mem, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  EXPECT_GRL_ERROR(grl_episodic_memory_size(nullptr, &sz), GRL_ERROR_NULL_ARGUMENT, "'mem'");
  grl_episodic_memory_retain(mem);
  grl_episodic_memory_release(mem);
  grl_episodic_memory_release(mem);
  grl_episodic_memory_release(nullptr);
}

TEST_F(Memory, OperandsOnTwoDevices) {
  grl_device_options o = GRL_DEVICE_OPTIONS_INIT;
  o.validation = 1;
  grl_device d2 = nullptr;
  ASSERT_GRL_OK(grl_device_create(&o, &d2));
  {
    Host h = Host::random({3, 2}, rng()), s = Host::random({3}, rng(), 0.5, 1);
    T a(upload(dev, h)), b(upload(d2, h)), sb(upload(d2, s)), out;
    EXPECT_GRL_ERROR(grl_place_cells(a, b, nullptr, 1, 1, 0, out.out()), GRL_ERROR_DEVICE_MISMATCH, "another device");
    EXPECT_GRL_ERROR(grl_kv_memory_read(a, a, b, 0, out.out()), GRL_ERROR_DEVICE_MISMATCH, "another device");
    EXPECT_GRL_ERROR(grl_time_cells(a, sb, sb, 1, out.out()), GRL_ERROR_DEVICE_MISMATCH, "another device");
    EXPECT_GRL_ERROR(grl_memory_inject(a, b, GRL_MEMORY_INJECT_RESIDUAL, nullptr, out.out()), GRL_ERROR_DEVICE_MISMATCH,
                     "another device");
    grl_episodic_memory mem = nullptr;
    ASSERT_GRL_OK(grl_episodic_memory_create(dev, 4, 2, 2, GRL_EPISODIC_EVICT_OLDEST, &mem));
    EXPECT_GRL_ERROR(grl_episodic_memory_write(mem, b, b), GRL_ERROR_DEVICE_MISMATCH, "another device");
    grl_episodic_memory_release(mem);
  }
  grl_device_release(d2);
}

// The backward kernels in 16-bit dtypes against the f32 gradients of the same (rounded) inputs.
TEST_F(Memory, BackwardIn16BitDtypesMatchesF32) {
  for (grl_dtype dt : {GRL_F16, GRL_BF16}) {
    Host q = rnd({5, 6}, dt), k = rnd({70, 6}, dt), v = rnd({70, 3}, dt), w = rnd({5, 3}, dt);
    Host x = rnd({6, 2}, dt, -1, 1), c = rnd({4, 2}, dt, -1, 1), gw = rnd({6, 4}, dt);
    std::vector<std::vector<Host>> grads;
    for (grl_dtype run : {GRL_F32, dt}) {
      T tq(upload(dev, q, run)), tk(upload(dev, k, run)), tv(upload(dev, v, run)), tw(upload(dev, w, run)), out;
      T tx(upload(dev, x, run)), tc(upload(dev, c, run)), tg(upload(dev, gw, run)), pout;
      for (grl_tensor t : {tq.t, tk.t, tv.t, tx.t, tc.t}) ASSERT_GRL_OK(grl_tensor_set_requires_grad(t, 1));
      ASSERT_GRL_OK(grl_kv_memory_read(tq, tk, tv, 0, out.out()));
      ASSERT_GRL_OK(grl_tensor_backward(out, tw, 0));
      ASSERT_GRL_OK(grl_place_cells(tx, tc, nullptr, 0.7, 2.0, 0, pout.out()));
      ASSERT_GRL_OK(grl_tensor_backward(pout, tg, 0));
      std::vector<Host> gs;
      for (grl_tensor t : {tq.t, tk.t, tv.t, tx.t, tc.t}) {
        T g;
        ASSERT_GRL_OK(grl_tensor_grad(t, g.out()));
        ASSERT_NE(g.t, nullptr);
        EXPECT_EQ(grl_tensor_dtype(g), run);
        gs.push_back(download(g));
      }
      grads.push_back(gs);
    }
    Tol t = dt == GRL_F16 ? Tol{1e-2, 1e-2} : Tol{5e-2, 5e-2};
    for (size_t i = 0; i < grads[0].size(); ++i)
      EXPECT_TRUE(close(grads[1][i], grads[0][i], t)) << grl_dtype_name(dt) << " input " << i;
  }
}

// Where the three waves sum below zero the rate is rectified and the position gets no gradient.
TEST_F(Memory, GridCellGradientIsZeroWhereRectified) {
  const double k = 4 * kPi / std::sqrt(3.0);  // spacing 1
  Host x = Host::zeros({2, 2}), sp = Host::zeros({1}), th = Host::zeros({1}), ph = Host::zeros({1, 2});
  sp[0] = 1;
  x[0] = kPi / k;  // waves at pi, pi/2, -pi/2: sum -1
  x[2] = 0.05, x[3] = 0.02;
  T tx(upload(dev, x)), ts(upload(dev, sp)), tt(upload(dev, th)), tp(upload(dev, ph)), out, g;
  ASSERT_GRL_OK(grl_tensor_set_requires_grad(tx, 1));
  ASSERT_GRL_OK(grl_grid_cells(tx, ts, tt, tp, 2.0, out.out()));
  EXPECT_STREQ(grl_tensor_grad_fn_name(out), "grid_cells");
  Host w = Host::zeros({2, 1});
  w[0] = 1, w[1] = 1;
  T tw(upload(dev, w));
  ASSERT_GRL_OK(grl_tensor_backward(out, tw, 0));
  ASSERT_GRL_OK(grl_tensor_grad(tx, g.out()));
  Host gx = download(g);
  EXPECT_EQ(download(out)[0], 0.0);
  EXPECT_EQ(gx[0], 0.0);
  EXPECT_EQ(gx[1], 0.0);
  EXPECT_NE(gx[2], 0.0);  // inside the field the gradient points back to the vertex
  EXPECT_LT(gx[2], 0.0);
}
