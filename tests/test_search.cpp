// Search family: pairwise distances, top-k and the flat index (multi-tile, multi-chunk, fused and
// blocked paths, ids, remove, ties) against float64 brute force, and their bad inputs.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "testing.h"

using namespace gt;

class Search : public DeviceTest {};

namespace {

// Float64 metric between rows (the formulas of grl_metric, without the f32 expansion).
double metric_ref(grl_metric m, const double* q, const double* b, int64_t D) {
  double dot = 0, qq = 0, bb = 0, d2 = 0;
  for (int64_t j = 0; j < D; ++j) {
    dot += q[j] * b[j];
    qq += q[j] * q[j];
    bb += b[j] * b[j];
    d2 += (q[j] - b[j]) * (q[j] - b[j]);
  }
  switch (m) {
    case GRL_METRIC_L2SQR: return d2;
    case GRL_METRIC_L2: return std::sqrt(d2);
    case GRL_METRIC_INNER_PRODUCT: return dot;
    default: return dot / (std::max(std::sqrt(qq), 1e-8) * std::max(std::sqrt(bb), 1e-8));
  }
}

double sqnorm(const double* x, int64_t D) {
  double s = 0;
  for (int64_t j = 0; j < D; ++j) s += x[j] * x[j];
  return s;
}

bool larger_nearer(grl_metric m) { return m == GRL_METRIC_INNER_PRODUCT || m == GRL_METRIC_COSINE; }

// Allowed error of an f32 result: the |q|^2 + |b|^2 - 2 q.b expansion loses bits relative to
// the norms, the dot products relative to |q||b|.
double metric_tol(grl_metric m, const double* q, const double* b, int64_t D) {
  const double qq = sqnorm(q, D), bb = sqnorm(b, D);
  switch (m) {
    case GRL_METRIC_L2SQR: return 2e-5 * (qq + bb) + 1e-6;
    case GRL_METRIC_L2: return 2e-5 * (qq + bb) / std::max(std::sqrt(metric_ref(m, q, b, D)), 1e-2) + 1e-5;
    case GRL_METRIC_INNER_PRODUCT: return 2e-5 * std::sqrt(qq * bb) + 1e-6;
    default: return 2e-5;
  }
}

Host rounded(const Host& h, grl_dtype dt) {
  Host r = h;
  for (auto& v : r.v) v = round_to(dt, v);
  return r;
}

std::vector<int64_t> download_i64(grl_tensor t) {
  Host h = download(t);
  std::vector<int64_t> v(h.v.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(h.v[i]);
  return v;
}

// Best-first order of a row under the top-k rule: NaN above everything, ties to the lower index.
std::vector<int64_t> ref_order(const std::vector<double>& row, bool largest) {
  std::vector<int64_t> idx(row.size());
  std::iota(idx.begin(), idx.end(), 0);
  auto rank = [&](double v) {
    if (std::isnan(v)) return largest ? HUGE_VAL : -HUGE_VAL;  // NaN first when largest, last when smallest
    return largest ? v : -v;
  };
  auto nan_first = [&](double v) { return std::isnan(v) ? (largest ? 1 : -1) : 0; };
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
    const double va = row[static_cast<size_t>(a)], vb = row[static_cast<size_t>(b)];
    if (nan_first(va) != nan_first(vb)) return nan_first(va) > nan_first(vb);
    return rank(va) > rank(vb);
  });
  return idx;
}

// A brute-force kNN in float64 of the vectors held (by position), checked against the device's
// answer: every returned distance is the reference distance of its label, the ranks follow the
// reference order, and where a rank's reference distance is apart from its neighbours' by more
// than the tolerance (no near-tie), the label is exactly the reference one.
::testing::AssertionResult check_knn(grl_metric m, const Host& base, const std::vector<int64_t>& ids, const Host& qs,
                                     int64_t k, grl_tensor dist, grl_tensor labels) {
  const int64_t N = base.shape[0], D = base.shape[1], Q = qs.shape[0];
  Host gd = download(dist);
  std::vector<int64_t> gl = download_i64(labels);
  if (gd.shape != Shape{Q, k}) return ::testing::AssertionFailure() << "distances shape " << str(gd.shape);
  for (int64_t i = 0; i < Q; ++i) {
    const double* q = &qs.v[static_cast<size_t>(i * D)];
    std::vector<double> d(static_cast<size_t>(N));
    for (int64_t j = 0; j < N; ++j)
      d[static_cast<size_t>(j)] = metric_ref(m, q, &base.v[static_cast<size_t>(j * D)], D);
    std::vector<int64_t> order(static_cast<size_t>(N));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return larger_nearer(m) ? d[static_cast<size_t>(a)] > d[static_cast<size_t>(b)]
                              : d[static_cast<size_t>(a)] < d[static_cast<size_t>(b)];
    });
    for (int64_t r = 0; r < k; ++r) {
      const int64_t want = order[static_cast<size_t>(r)];
      const double tol = metric_tol(m, q, &base.v[static_cast<size_t>(want * D)], D);
      const double dr = d[static_cast<size_t>(want)];
      auto dist_at = [&](int64_t rank) { return d[static_cast<size_t>(order[static_cast<size_t>(rank)])]; };
      const bool apart = (r == 0 || std::abs(dist_at(r - 1) - dr) > 4 * tol) &&
                         (r + 1 == N || std::abs(dist_at(r + 1) - dr) > 4 * tol);
      const int64_t got = gl[static_cast<size_t>(i * k + r)];
      const double gdist = gd[i * k + r];
      if (std::abs(gdist - dr) > 2 * tol)
        return ::testing::AssertionFailure() << "query " << i << " rank " << r << ": distance " << gdist
                                             << ", reference " << dr << " (label " << got << ")";
      if (apart && got != ids[static_cast<size_t>(want)])
        return ::testing::AssertionFailure() << "query " << i << " rank " << r << ": label " << got << ", reference "
                                             << ids[static_cast<size_t>(want)] << " (distance " << dr << ")";
      auto it = std::find(ids.begin(), ids.end(), got);
      if (it == ids.end()) return ::testing::AssertionFailure() << "query " << i << ": unknown label " << got;
    }
  }
  return ::testing::AssertionSuccess();
}

grl_index_flat make_index(grl_device dev, int64_t D, grl_metric m, int64_t tile_rows, int64_t chunk_rows) {
  grl_index_flat_options o = GRL_INDEX_FLAT_OPTIONS_INIT;
  o.metric = m;
  o.tile_rows = tile_rows;
  o.chunk_rows = chunk_rows;
  grl_index_flat idx = nullptr;
  EXPECT_EQ(grl_index_flat_create(dev, D, &o, &idx), GRL_OK) << grl_last_error_message();
  return idx;
}

struct Index {
  grl_index_flat i = nullptr;
  explicit Index(grl_index_flat x) : i(x) {}
  ~Index() { grl_index_flat_release(i); }
  operator grl_index_flat() const { return i; }
};

}  // namespace

TEST_F(Search, PairwiseDistancesAgainstFloat64) {
  // f32 takes both kernels (D % 4 == 0: 4-wide loads); f16 the scalar one, bf16 the 4-wide one,
  // to keep the CPU driver's shader compiles few.
  using Shapes = std::vector<std::array<int64_t, 3>>;
  const Shapes f32 = {{1, 1, 1}, {3, 5, 7}, {130, 260, 12}, {7, 129, 33}, {0, 4, 3}, {2, 0, 3}, {3, 2, 0}};
  const Shapes f16 = {{1, 1, 1}, {3, 5, 7}, {7, 129, 33}, {0, 4, 3}};
  const Shapes bf16 = {{9, 20, 8}, {3, 2, 0}, {2, 0, 4}};
  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16}) {
    for (grl_metric m : {GRL_METRIC_L2SQR, GRL_METRIC_L2, GRL_METRIC_INNER_PRODUCT, GRL_METRIC_COSINE}) {
      for (auto [Q, N, D] : dt == GRL_F32 ? f32 : dt == GRL_F16 ? f16 : bf16) {
        SCOPED_TRACE(std::string(grl_dtype_name(dt)) + " metric " + std::to_string(m) + " Q " + std::to_string(Q) +
                     " N " + std::to_string(N) + " D " + std::to_string(D));
        Host hq = rounded(Host::random({Q, D}, rng()), dt), hb = rounded(Host::random({N, D}, rng()), dt);
        T q(upload(dev, hq, dt)), b(upload(dev, hb, dt)), out;
        ASSERT_GRL_OK(grl_pairwise_distances(q, b, m, out.out()));
        Host got = download(out);
        ASSERT_EQ(got.shape, (Shape{Q, N}));
        EXPECT_EQ(grl_tensor_dtype(out), GRL_F32);
        for (int64_t i = 0; i < Q; ++i)
          for (int64_t j = 0; j < N; ++j) {
            const double* qi = &hq.v[static_cast<size_t>(i * D)];
            const double* bj = &hb.v[static_cast<size_t>(j * D)];
            const double ref = metric_ref(m, qi, bj, D);
            ASSERT_NEAR(got[i * N + j], ref, metric_tol(m, qi, bj, D)) << "at " << i << ", " << j;
          }
      }
    }
  }
}

TEST_F(Search, PairwiseDistancesOfStridedInputs) {
  Host hq = Host::random({6, 5}, rng()), hb = Host::random({5, 9}, rng());
  T q(upload(dev, hq)), b(upload(dev, hb)), qt, out;
  // base given transposed: a [9, 5] view of [5, 9] (not contiguous)
  ASSERT_GRL_OK(grl_transpose(b, 0, 1, qt.out()));
  ASSERT_GRL_OK(grl_pairwise_distances(q, qt, GRL_METRIC_INNER_PRODUCT, out.out()));
  Host got = download(out);
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 9; ++j) {
      double ref = 0;
      for (int64_t c = 0; c < 5; ++c) ref += hq[i * 5 + c] * hb[c * 9 + j];
      EXPECT_NEAR(got[i * 9 + j], ref, 1e-5);
    }
}

TEST_F(Search, PairwiseDistancesBadInputs) {
  T a(upload(dev, Host::random({3, 4}, rng()))), b(upload(dev, Host::random({5, 3}, rng()))), out;
  T c(upload(dev, Host::random({3, 4}, rng()), GRL_F16)), v(upload(dev, Host::random({4}, rng())));
  T ints(upload(dev, Host::random({3, 4}, rng()), GRL_I32));
  EXPECT_GRL_ERROR(grl_pairwise_distances(a, b, GRL_METRIC_L2SQR, out.out()), GRL_ERROR_SHAPE,
                   "same number of columns");
  EXPECT_GRL_ERROR(grl_pairwise_distances(a, v, GRL_METRIC_L2SQR, out.out()), GRL_ERROR_SHAPE, "'base' must be 2-d");
  EXPECT_GRL_ERROR(grl_pairwise_distances(a, c, GRL_METRIC_L2SQR, out.out()), GRL_ERROR_DTYPE, "base");
  EXPECT_GRL_ERROR(grl_pairwise_distances(ints, a, GRL_METRIC_L2SQR, out.out()), GRL_ERROR_DTYPE,
                   "'queries' has dtype i32");
  EXPECT_GRL_ERROR(grl_pairwise_distances(a, a, static_cast<grl_metric>(7), out.out()), GRL_ERROR_INVALID_ARGUMENT,
                   "'metric' is 7");
  EXPECT_GRL_ERROR(grl_pairwise_distances(nullptr, a, GRL_METRIC_L2SQR, out.out()), GRL_ERROR_NULL_ARGUMENT, "queries");
  EXPECT_GRL_ERROR(grl_pairwise_distances(a, a, GRL_METRIC_L2SQR, nullptr), GRL_ERROR_NULL_ARGUMENT, "out");
  grl_device_options o = GRL_DEVICE_OPTIONS_INIT;
  o.validation = 1;
  grl_device d2 = nullptr;
  ASSERT_GRL_OK(grl_device_create(&o, &d2));
  {
    T other(upload(d2, Host::random({3, 4}, rng()))), out2;
    EXPECT_GRL_ERROR(grl_pairwise_distances(a, other, GRL_METRIC_L2SQR, out2.out()), GRL_ERROR_DEVICE_MISMATCH,
                     "another device");
    Index idx(make_index(dev, 4, GRL_METRIC_L2SQR, 0, 0));
    EXPECT_GRL_ERROR(grl_index_flat_add(idx, other, nullptr), GRL_ERROR_DEVICE_MISMATCH, "another device");
    ASSERT_GRL_OK(grl_index_flat_add(idx, a, nullptr));
    T dd, ll;
    EXPECT_GRL_ERROR(grl_index_flat_search(idx, other, 1, dd.out(), ll.out()), GRL_ERROR_DEVICE_MISMATCH,
                     "another device");
  }
  grl_device_release(d2);
}

TEST_F(Search, TopkAgainstStableSort) {
  struct Case {
    Shape shape;
    int64_t k;
    double lo, hi;
    bool ints;  // small integers: many exact ties
  };
  const std::vector<Case> cases = {
      {{1}, 1, -2, 2, false},        {{5, 7}, 3, -2, 2, false},      {{3, 1000}, 10, -2, 2, false},
      {{2, 3, 40}, 40, -2, 2, false}, {{4, 300}, 64, 0, 5, true},     {{2, 5000}, 1024, -3, 3, false},
      {{1, 70000}, 16, -2, 2, false}, {{3, 2048}, 2048, 0, 3, true},  {{6, 9}, 0, -2, 2, false},
      {{0, 5}, 2, -2, 2, false},      {{130, 33}, 5, 0, 4, true},
      // few long rows: split into segments, then merged (ties across segments included)
      {{1, 9000}, 5, 0, 3, true},     {{2, 30000}, 1024, 0, 50, true}, {{3, 12289}, 7, -2, 2, false},
  };
  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16}) {
    for (const Case& c : cases) {
      if (dt != GRL_F32 && numel(c.shape) > 20000) continue;
      for (uint32_t largest : {0u, 1u}) {
        SCOPED_TRACE(std::string(grl_dtype_name(dt)) + " " + str(c.shape) + " k " + std::to_string(c.k) +
                     (largest ? " largest" : " smallest"));
        Host h = Host::random(c.shape, rng(), c.lo, c.hi);
        for (auto& v : h.v) v = c.ints ? std::floor(v) : round_to(dt, v);
        T x(upload(dev, h, dt)), vals, idx;
        ASSERT_GRL_OK(grl_topk(x, c.k, largest, vals.out(), idx.out()));
        Shape so = c.shape;
        so.back() = c.k;
        Host gv = download(vals);
        std::vector<int64_t> gi = download_i64(idx);
        ASSERT_EQ(gv.shape, so);
        EXPECT_EQ(grl_tensor_dtype(vals), dt);
        EXPECT_EQ(grl_tensor_dtype(idx), GRL_I64);
        const int64_t n = c.shape.back(), rows = n ? numel(c.shape) / n : 0;
        for (int64_t r = 0; r < rows; ++r) {
          std::vector<double> row(h.v.begin() + r * n, h.v.begin() + (r + 1) * n);
          std::vector<int64_t> order = ref_order(row, largest);
          for (int64_t j = 0; j < c.k; ++j) {
            ASSERT_EQ(gi[static_cast<size_t>(r * c.k + j)], order[static_cast<size_t>(j)])
                << "row " << r << " rank " << j;
            ASSERT_EQ(gv[r * c.k + j], row[static_cast<size_t>(order[static_cast<size_t>(j)])]);
          }
        }
      }
    }
  }
}

TEST_F(Search, TopkNanZerosAndInfinities) {
  const double nan = std::nan("");
  Host h = Host::zeros({1, 8});
  h.v = {1.0, nan, -0.0, INFINITY, 0.0, -INFINITY, nan, 1.0};
  T x(upload(dev, h)), vals, idx;
  ASSERT_GRL_OK(grl_topk(x, 8, 1, vals.out(), idx.out()));
  EXPECT_EQ(download_i64(idx), (std::vector<int64_t>{1, 6, 3, 0, 7, 2, 4, 5}));
  Host gv = download(vals);
  EXPECT_TRUE(std::signbit(gv[5]));  // the -0 itself comes back
  ASSERT_GRL_OK(grl_topk(x, 8, 0, vals.out(), idx.out()));
  EXPECT_EQ(download_i64(idx), (std::vector<int64_t>{5, 2, 4, 0, 7, 3, 1, 6}));
}

// A long row goes through the segmented path: the values come back as the elements themselves.
TEST_F(Search, TopkLongRowKeepsSignedZeros) {
  const int64_t n = 20000;
  Host h = Host::zeros({1, n});
  for (int64_t i = 0; i < n; ++i) h[i] = (i % 3 == 0) ? -0.0 : 0.0;
  h[12345] = 1.0;
  h[17] = 1.0;
  T x(upload(dev, h)), vals, idx;
  ASSERT_GRL_OK(grl_topk(x, 6, 1, vals.out(), idx.out()));
  EXPECT_EQ(download_i64(idx), (std::vector<int64_t>{17, 12345, 0, 1, 2, 3}));
  Host gv = download(vals);
  for (int64_t j = 2; j < 6; ++j) EXPECT_EQ(std::signbit(gv[j]), (j - 2) % 3 == 0) << "rank " << j;
}

TEST_F(Search, TopkBadInputs) {
  T x(upload(dev, Host::random({4, 6}, rng()))), big(upload(dev, Host::random({1, 3000}, rng()))), v, i;
  T ints(upload(dev, Host::random({4, 6}, rng()), GRL_I32)), scalar(upload(dev, Host::random({}, rng())));
  EXPECT_GRL_ERROR(grl_topk(x, 7, 1, v.out(), i.out()), GRL_ERROR_INVALID_ARGUMENT, "'k' is 7");
  EXPECT_GRL_ERROR(grl_topk(x, -1, 1, v.out(), i.out()), GRL_ERROR_INVALID_ARGUMENT, "'k' is -1");
  EXPECT_GRL_ERROR(grl_topk(big, 2049, 1, v.out(), i.out()), GRL_ERROR_INVALID_ARGUMENT, "2048");
  EXPECT_GRL_ERROR(grl_topk(x, 2, 2, v.out(), i.out()), GRL_ERROR_INVALID_ARGUMENT, "'largest'");
  EXPECT_GRL_ERROR(grl_topk(ints, 2, 1, v.out(), i.out()), GRL_ERROR_DTYPE, "i32");
  EXPECT_GRL_ERROR(grl_topk(scalar, 1, 1, v.out(), i.out()), GRL_ERROR_SHAPE, "0-d");
  EXPECT_GRL_ERROR(grl_topk(nullptr, 1, 1, v.out(), i.out()), GRL_ERROR_NULL_ARGUMENT, "'x'");
  EXPECT_GRL_ERROR(grl_topk(x, 1, 1, nullptr, i.out()), GRL_ERROR_NULL_ARGUMENT, "out_values");
  grl_tensor keep = nullptr;
  EXPECT_GRL_ERROR(grl_topk(x, 9, 1, &keep, &keep), GRL_ERROR_INVALID_ARGUMENT, "'k'");
  EXPECT_EQ(keep, nullptr);  // outputs untouched on failure
}

// Multi-tile (300 rows a tile), multi-chunk (128 rows a chunk), two query blocks, both the
// fused (k <= 16) and the blocked (k > 16) paths, every metric, scalar and 4-wide loads.
TEST_F(Search, IndexFlatMatchesBruteForce) {
  struct Case {
    grl_metric m;
    int64_t D, k;
  };
  const std::vector<Case> cases = {
      {GRL_METRIC_L2SQR, 12, 1},   {GRL_METRIC_L2SQR, 12, 10},        {GRL_METRIC_L2SQR, 7, 16},
      {GRL_METRIC_L2SQR, 12, 40},  {GRL_METRIC_L2, 9, 5},             {GRL_METRIC_INNER_PRODUCT, 8, 10},
      {GRL_METRIC_COSINE, 16, 10}, {GRL_METRIC_COSINE, 5, 20},        {GRL_METRIC_INNER_PRODUCT, 4, 300}};
  const int64_t N = 1000, Q = 131;
  for (const Case& c : cases) {
    SCOPED_TRACE("metric " + std::to_string(c.m) + " D " + std::to_string(c.D) + " k " + std::to_string(c.k));
    Index idx(make_index(dev, c.D, c.m, 300, 128));
    Host base = Host::random({N, c.D}, rng()), qs = Host::random({Q, c.D}, rng());
    // two adds, the second crossing a tile boundary
    Host b1 = Host::zeros({250, c.D}), b2 = Host::zeros({N - 250, c.D});
    std::copy(base.v.begin(), base.v.begin() + 250 * c.D, b1.v.begin());
    std::copy(base.v.begin() + 250 * c.D, base.v.end(), b2.v.begin());
    T t1(upload(dev, b1)), t2(upload(dev, b2)), q(upload(dev, qs)), dist, lab;
    ASSERT_GRL_OK(grl_index_flat_add(idx, t1, nullptr));
    ASSERT_GRL_OK(grl_index_flat_add(idx, t2, nullptr));
    int64_t nt = 0;
    ASSERT_GRL_OK(grl_index_flat_ntotal(idx, &nt));
    EXPECT_EQ(nt, N);
    ASSERT_GRL_OK(grl_index_flat_search(idx, q, c.k, dist.out(), lab.out()));
    std::vector<int64_t> ids(static_cast<size_t>(N));
    std::iota(ids.begin(), ids.end(), 0);
    EXPECT_TRUE(check_knn(c.m, base, ids, qs, c.k, dist, lab));
  }
}

TEST_F(Search, IndexFlatDefaultTilesAndAutomaticChunks) {
  const int64_t N = 2700, D = 32, Q = 5, k = 10;
  Index idx(make_index(dev, D, GRL_METRIC_L2SQR, 0, 0));
  Host base = Host::random({N, D}, rng()), qs = Host::random({Q, D}, rng());
  // bf16 vectors (stored as f32), added in pieces so that the tile grows twice
  base = rounded(base, GRL_BF16);
  T b(upload(dev, base, GRL_BF16)), q(upload(dev, qs, GRL_F16)), dist, lab;
  for (auto [lo, hi] : {std::pair<int64_t, int64_t>{0, 10}, {10, 1500}, {1500, N}, {N, N}}) {
    T part;
    ASSERT_GRL_OK(grl_slice(b, 0, lo, hi, 1, part.out()));
    ASSERT_GRL_OK(grl_index_flat_add(idx, part, nullptr));
  }
  ASSERT_GRL_OK(grl_index_flat_search(idx, q, k, dist.out(), lab.out()));
  EXPECT_TRUE(check_knn(GRL_METRIC_L2SQR, base, std::vector<int64_t>([&] {
                          std::vector<int64_t> v(N);
                          std::iota(v.begin(), v.end(), 0);
                          return v;
                        }()),
                        rounded(qs, GRL_F16), k, dist, lab));
}

// Exact ties: one vector stored at several positions (across tiles and chunks) comes back in
// the order it was added, with its ids.
TEST_F(Search, IndexFlatTiesGoToTheEarlierVector) {
  const int64_t N = 900, D = 8;
  for (int64_t k : {int64_t{10}, int64_t{25}}) {
    SCOPED_TRACE("k " + std::to_string(k));
    Index idx(make_index(dev, D, GRL_METRIC_L2SQR, 300, 128));
    Host base = Host::random({N, D}, rng());
    const std::vector<int64_t> dup = {640, 17, 301, 899, 150};  // copies of row 640 (scrambled on purpose)
    for (int64_t p : dup)
      for (int64_t j = 0; j < D; ++j) base[p * D + j] = base[640 * D + j];
    std::vector<int64_t> ids(static_cast<size_t>(N));
    for (int64_t i = 0; i < N; ++i) ids[static_cast<size_t>(i)] = 5000 - 3 * i;
    Host qs = Host::zeros({1, D});
    for (int64_t j = 0; j < D; ++j) qs[j] = base[640 * D + j] + 1e-3 * (j % 3);
    T b(upload(dev, base)), q(upload(dev, qs)), dist, lab;
    ASSERT_GRL_OK(grl_index_flat_add(idx, b, ids.data()));
    ASSERT_GRL_OK(grl_index_flat_search(idx, q, k, dist.out(), lab.out()));
    std::vector<int64_t> got = download_i64(lab);
    Host gd = download(dist);
    const std::vector<int64_t> want_pos = {17, 150, 301, 640, 899};
    for (size_t r = 0; r < want_pos.size(); ++r) {
      EXPECT_EQ(got[r], ids[static_cast<size_t>(want_pos[r])]) << "rank " << r;
      EXPECT_EQ(gd[static_cast<int64_t>(r)], gd[0]);
    }
    EXPECT_TRUE(check_knn(GRL_METRIC_L2SQR, base, ids, qs, k, dist, lab));
  }
}

// A tile grows (1024 rows, then 2048) and keeps the rows and ids it held.
TEST_F(Search, IndexFlatGrowsKeepingIds) {
  const int64_t N = 1500, D = 4, Q = 7, k = 6;
  Index idx(make_index(dev, D, GRL_METRIC_COSINE, 0, 0));
  Host base = Host::random({N, D}, rng()), qs = Host::random({Q, D}, rng());
  std::vector<int64_t> ids(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) ids[static_cast<size_t>(i)] = (i * 7919) % 100003 - 50000;
  T b(upload(dev, base)), q(upload(dev, qs)), dist, lab;
  for (auto [lo, hi] : {std::pair<int64_t, int64_t>{0, 1000}, {1000, 1001}, {1001, N}}) {
    T part;
    ASSERT_GRL_OK(grl_slice(b, 0, lo, hi, 1, part.out()));
    ASSERT_GRL_OK(grl_index_flat_add(idx, part, ids.data() + lo));
  }
  ASSERT_GRL_OK(grl_index_flat_search(idx, q, k, dist.out(), lab.out()));
  EXPECT_TRUE(check_knn(GRL_METRIC_COSINE, base, ids, qs, k, dist, lab));
}

TEST_F(Search, IndexFlatIdsRemoveAndReset) {
  const int64_t N = 640, D = 6, Q = 9, k = 12;
  Index idx(make_index(dev, D, GRL_METRIC_INNER_PRODUCT, 200, 128));
  Host base = Host::random({N, D}, rng()), qs = Host::random({Q, D}, rng());
  std::vector<int64_t> ids(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) ids[static_cast<size_t>(i)] = 1000 + 7 * i;
  T b(upload(dev, base)), q(upload(dev, qs)), dist, lab;
  ASSERT_GRL_OK(grl_index_flat_add(idx, b, ids.data()));
  // remove every third vector, the first and the last, plus ids that are not there
  std::vector<int64_t> drop = {ids.front(), ids.back(), -5, 3};
  for (int64_t i = 3; i < N - 1; i += 3) drop.push_back(ids[static_cast<size_t>(i)]);
  int64_t removed = -1;
  ASSERT_GRL_OK(grl_index_flat_remove(idx, drop.data(), static_cast<int64_t>(drop.size()), &removed));
  std::vector<int64_t> kept_ids;
  Host kept = Host::zeros({0, D});
  for (int64_t i = 0; i < N; ++i) {
    if (std::find(drop.begin(), drop.end(), ids[static_cast<size_t>(i)]) != drop.end()) continue;
    kept_ids.push_back(ids[static_cast<size_t>(i)]);
    kept.v.insert(kept.v.end(), base.v.begin() + i * D, base.v.begin() + (i + 1) * D);
  }
  kept.shape = {static_cast<int64_t>(kept_ids.size()), D};
  EXPECT_EQ(removed, N - kept.shape[0]);
  int64_t nt = 0;
  ASSERT_GRL_OK(grl_index_flat_ntotal(idx, &nt));
  EXPECT_EQ(nt, kept.shape[0]);
  for (int64_t kk : {k, int64_t{30}}) {
    ASSERT_GRL_OK(grl_index_flat_search(idx, q, kk, dist.out(), lab.out()));
    EXPECT_TRUE(check_knn(GRL_METRIC_INNER_PRODUCT, kept, kept_ids, qs, kk, dist, lab));
  }
  ASSERT_GRL_OK(grl_index_flat_remove(idx, nullptr, 0, nullptr));
  // reset, then automatic ids from 0 again
  ASSERT_GRL_OK(grl_index_flat_reset(idx));
  ASSERT_GRL_OK(grl_index_flat_ntotal(idx, &nt));
  EXPECT_EQ(nt, 0);
  ASSERT_GRL_OK(grl_index_flat_add(idx, b, nullptr));
  ASSERT_GRL_OK(grl_index_flat_search(idx, q, 3, dist.out(), lab.out()));
  std::vector<int64_t> seq(static_cast<size_t>(N));
  std::iota(seq.begin(), seq.end(), 0);
  EXPECT_TRUE(check_knn(GRL_METRIC_INNER_PRODUCT, base, seq, qs, 3, dist, lab));
  int64_t dim = 0;
  ASSERT_GRL_OK(grl_index_flat_dim(idx, &dim));
  EXPECT_EQ(dim, D);
  // an empty query batch
  T q0(upload(dev, Host::zeros({0, D}))), d0, l0;
  ASSERT_GRL_OK(grl_index_flat_search(idx, q0, 2, d0.out(), l0.out()));
  EXPECT_EQ(grl_tensor_dim(d0, 0), 0);
  EXPECT_EQ(grl_tensor_dim(l0, 1), 2);
}

TEST_F(Search, IndexFlatRetainKeepsTheIndexAliveAfterOneRelease) {
  grl_live_handles before{}, after{};
  ASSERT_GRL_OK(grl_live_handle_counts(&before));
  grl_index_flat idx = make_index(dev, 3, GRL_METRIC_L2SQR, 0, 0);
  ASSERT_NE(idx, nullptr);
  T base(upload(dev, Host::random({5, 3}, rng())));
  ASSERT_GRL_OK(grl_index_flat_add(idx, base, nullptr));
  grl_index_flat_retain(idx);
  grl_index_flat_release(idx);  // the retained reference keeps it, with its vectors
  int64_t n = 0;
  ASSERT_GRL_OK(grl_index_flat_ntotal(idx, &n));
  EXPECT_EQ(n, 5);
  grl_index_flat_release(idx);
  grl_index_flat_release(nullptr);  // accepted, does nothing
  base = T();
  ASSERT_GRL_OK(grl_live_handle_counts(&after));
  EXPECT_EQ(after.tensors, before.tensors);  // the last release freed the tiles' tensors
}

TEST_F(Search, IndexFlatBadInputs) {
  grl_index_flat idx = nullptr;
  grl_index_flat_options o = GRL_INDEX_FLAT_OPTIONS_INIT;
  EXPECT_GRL_ERROR(grl_index_flat_create(dev, 0, nullptr, &idx), GRL_ERROR_INVALID_ARGUMENT, "'dim'");
  EXPECT_GRL_ERROR(grl_index_flat_create(nullptr, 4, nullptr, &idx), GRL_ERROR_NULL_ARGUMENT, "device");
  EXPECT_GRL_ERROR(grl_index_flat_create(dev, 4, nullptr, nullptr), GRL_ERROR_NULL_ARGUMENT, "out");
  o.metric = static_cast<grl_metric>(9);
  EXPECT_GRL_ERROR(grl_index_flat_create(dev, 4, &o, &idx), GRL_ERROR_INVALID_ARGUMENT, "'metric'");
  o = GRL_INDEX_FLAT_OPTIONS_INIT;
  o.tile_rows = -1;
  EXPECT_GRL_ERROR(grl_index_flat_create(dev, 4, &o, &idx), GRL_ERROR_INVALID_ARGUMENT, "tile_rows");
  o = GRL_INDEX_FLAT_OPTIONS_INIT;
  o.chunk_rows = -3;
  EXPECT_GRL_ERROR(grl_index_flat_create(dev, 4, &o, &idx), GRL_ERROR_INVALID_ARGUMENT, "chunk_rows");
  o.chunk_rows = 65409;
  EXPECT_GRL_ERROR(grl_index_flat_create(dev, 4, &o, &idx), GRL_ERROR_INVALID_ARGUMENT, "at most 65408");
  o = GRL_INDEX_FLAT_OPTIONS_INIT;
  o.version = 99;
  EXPECT_GRL_ERROR(grl_index_flat_create(dev, 4, &o, &idx), GRL_ERROR_INVALID_ARGUMENT, "version");
  EXPECT_EQ(idx, nullptr);

  Index ix(make_index(dev, 4, GRL_METRIC_L2SQR, 0, 0));
  T a(upload(dev, Host::random({3, 4}, rng()))), w(upload(dev, Host::random({3, 5}, rng())));
  T ints(upload(dev, Host::random({3, 4}, rng()), GRL_I32)), d, l;
  EXPECT_GRL_ERROR(grl_index_flat_search(ix, a, 1, d.out(), l.out()), GRL_ERROR_INVALID_ARGUMENT, "ntotal = 0");
  EXPECT_GRL_ERROR(grl_index_flat_add(ix, w, nullptr), GRL_ERROR_SHAPE, "[n, 4]");
  EXPECT_GRL_ERROR(grl_index_flat_add(ix, ints, nullptr), GRL_ERROR_DTYPE, "i32");
  EXPECT_GRL_ERROR(grl_index_flat_add(nullptr, a, nullptr), GRL_ERROR_NULL_ARGUMENT, "'index'");
  EXPECT_GRL_ERROR(grl_index_flat_add(ix, nullptr, nullptr), GRL_ERROR_NULL_ARGUMENT, "vectors");
  ASSERT_GRL_OK(grl_index_flat_add(ix, a, nullptr));
  EXPECT_GRL_ERROR(grl_index_flat_search(ix, a, 4, d.out(), l.out()), GRL_ERROR_INVALID_ARGUMENT, "'k' is 4");
  EXPECT_GRL_ERROR(grl_index_flat_search(ix, a, 0, d.out(), l.out()), GRL_ERROR_INVALID_ARGUMENT, "'k' is 0");
  EXPECT_GRL_ERROR(grl_index_flat_search(ix, w, 1, d.out(), l.out()), GRL_ERROR_SHAPE, "[Q, 4]");
  EXPECT_GRL_ERROR(grl_index_flat_search(ix, a, 1, nullptr, l.out()), GRL_ERROR_NULL_ARGUMENT, "out_distances");
  EXPECT_GRL_ERROR(grl_index_flat_remove(ix, nullptr, 2, nullptr), GRL_ERROR_NULL_ARGUMENT, "'ids'");
  EXPECT_GRL_ERROR(grl_index_flat_remove(ix, nullptr, -1, nullptr), GRL_ERROR_INVALID_ARGUMENT, "'n'");
  int64_t nt = 0;
  EXPECT_GRL_ERROR(grl_index_flat_ntotal(nullptr, &nt), GRL_ERROR_NULL_ARGUMENT, "'index'");
  EXPECT_GRL_ERROR(grl_index_flat_ntotal(ix, nullptr), GRL_ERROR_NULL_ARGUMENT, "out");
  grl_index_flat_release(nullptr);
}
