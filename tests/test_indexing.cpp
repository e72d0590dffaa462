// Indexing and shape family: embedding, index_select, gather, scatter_add, concat, stack, split,
// pad, one_hot, arange, full against float64/int references, device-side index errors, and the
// backward rules in every float dtype.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "reference.h"
#include "testing.h"

using namespace gt;

class Indexing : public DeviceTest {};

namespace {

const grl_dtype kAll[] = {GRL_F32, GRL_F16, GRL_BF16, GRL_I32, GRL_I64, GRL_U8};

bool is_int(grl_dtype dt) { return dt == GRL_I32 || dt == GRL_I64 || dt == GRL_U8; }

// Random values exactly representable in dt (so moving data must reproduce them bit for bit);
// integers lie in (-span, span).
Host values(const Shape& s, grl_dtype dt, double span = 1000) {
  Host h = dt == GRL_U8 ? Host::random(s, rng(), 0, 255) : Host::random(s, rng(), is_int(dt) ? -span : -2, is_int(dt) ? span : 2);
  for (auto& v : h.v) v = round_to(dt, is_int(dt) ? std::floor(v) : v);
  return h;
}

std::vector<int64_t> unravel(int64_t i, const Shape& s) {
  std::vector<int64_t> c(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    c[d] = i % s[d];
    i /= s[d];
  }
  return c;
}

int64_t ravel(const std::vector<int64_t>& c, const Shape& s) {
  int64_t i = 0;
  for (size_t d = 0; d < s.size(); ++d) i = i * s[d] + c[d];
  return i;
}

// Host copy of a transposed array (axes a and b swapped).
Host transpose_host(const Host& h, size_t a, size_t b) {
  Shape s = h.shape;
  std::swap(s[a], s[b]);
  Host r = Host::zeros(s);
  for (int64_t i = 0; i < r.numel(); ++i) {
    auto c = unravel(i, s);
    std::swap(c[a], c[b]);
    r[i] = h[ravel(c, h.shape)];
  }
  return r;
}

// An input of the given shape: contiguous, or a transposed view of a differently laid out tensor
// (so kernels that read strides, and the contiguous() fallbacks, are both exercised).
struct Input {
  T t;
  Host h;
};
Input make_input(grl_device dev, const Shape& s, grl_dtype dt, bool strided, double span = 1000) {
  Input in;
  if (!strided || s.size() < 2) {
    in.h = values(s, dt, span);
    in.t = T(upload(dev, in.h, dt));
    return in;
  }
  size_t last = s.size() - 1;
  Shape sw = s;
  std::swap(sw[0], sw[last]);
  Host base = values(sw, dt, span);
  T tb(upload(dev, base, dt));
  EXPECT_EQ(grl_transpose(tb, 0, static_cast<int32_t>(last), in.t.out()), GRL_OK);
  in.h = transpose_host(base, 0, last);
  return in;
}

std::vector<int64_t> random_indices(int64_t n, int64_t hi) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::uniform_int_distribution<int64_t> d(0, hi - 1);
  for (auto& x : v) x = d(rng());
  return v;
}

Host to_host(const std::vector<int64_t>& v, Shape s) {
  Host h = Host::zeros(std::move(s));
  for (size_t i = 0; i < v.size(); ++i) h.v[i] = static_cast<double>(v[i]);
  return h;
}

const Tol kExact{0, 0};

}  // namespace

TEST_F(Indexing, EmbeddingEveryDtypeAndIndexShape) {
  for (grl_dtype dt : kAll)
    for (grl_dtype it : {GRL_I32, GRL_I64})
      for (Shape is : {Shape{3, 4}, Shape{1}, Shape{0}, Shape{}, Shape{2, 1, 5}})
        for (int64_t dim : {int64_t{1}, int64_t{5}, int64_t{67}}) {
          const int64_t num = 7;
          Host w = values({num, dim}, dt);
          auto idx = random_indices(numel(is), num);
          if (!idx.empty()) idx[0] = num - 1;  // the last row is reachable
          T tw(upload(dev, w, dt)), ti(upload_i64(dev, idx, is, it)), out;
          ASSERT_GRL_OK(grl_embedding(tw, ti, out.out()));
          Shape os = is;
          os.push_back(dim);
          Host ref = Host::zeros(os);
          for (int64_t r = 0; r < numel(is); ++r)
            for (int64_t k = 0; k < dim; ++k) ref[r * dim + k] = w[idx[static_cast<size_t>(r)] * dim + k];
          EXPECT_EQ(grl_tensor_dtype(out), dt);
          EXPECT_TRUE(close(download(out), ref, kExact)) << grl_dtype_name(dt) << " " << str(is) << " dim " << dim;
        }
}

TEST_F(Indexing, IndexSelectOnEveryAxis) {
  for (grl_dtype dt : kAll)
    for (bool strided : {false, true})
      for (int32_t axis = -3; axis < 3; ++axis)
        for (int64_t n : {0, 1, 6}) {
          Shape xs = {3, 4, 5};
          Input x = make_input(dev, xs, dt, strided);
          size_t a = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
          auto idx = random_indices(n, xs[a]);
          if (n == 6) idx[1] = idx[4];  // repeated entries
          T ti(upload_i64(dev, idx, {n}, n == 6 ? GRL_I32 : GRL_I64)), out;
          ASSERT_GRL_OK(grl_index_select(x.t, axis, ti, out.out()));
          Shape os = xs;
          os[a] = n;
          Host ref = Host::zeros(os);
          for (int64_t i = 0; i < ref.numel(); ++i) {
            auto c = unravel(i, os);
            c[a] = idx[static_cast<size_t>(c[a])];
            ref[i] = x.h[ravel(c, xs)];
          }
          EXPECT_TRUE(close(download(out), ref, kExact))
              << grl_dtype_name(dt) << " axis " << axis << " n " << n << (strided ? " strided" : "");
        }
}

TEST_F(Indexing, GatherWithSmallerIndexAndStridedInput) {
  struct Case {
    Shape x, index;
    int32_t axis;
  };
  const std::vector<Case> cases = {
      {{4, 5, 6}, {2, 3, 7}, 2},   // index longer than x along the gathered axis, smaller elsewhere
      {{4, 5, 6}, {4, 5, 6}, 0},   {{4, 5, 6}, {1, 9, 2}, -2}, {{300}, {1000}, 0}, {{3, 4}, {0, 4}, 1},
      {{2, 3, 2, 3, 2}, {2, 2, 2, 3, 1}, 3},
  };
  for (grl_dtype dt : kAll)
    for (const auto& c : cases)
      for (bool strided : {false, true}) {
        Input x = make_input(dev, c.x, dt, strided);
        size_t a = static_cast<size_t>(c.axis < 0 ? c.axis + static_cast<int32_t>(c.x.size()) : c.axis);
        auto idx = random_indices(numel(c.index), c.x[a]);
        T ti(upload_i64(dev, idx, c.index, dt == GRL_F16 ? GRL_I32 : GRL_I64)), out;
        ASSERT_GRL_OK(grl_gather(x.t, c.axis, ti, out.out()));
        Host ref = Host::zeros(c.index);
        for (int64_t i = 0; i < ref.numel(); ++i) {
          auto co = unravel(i, c.index);
          co[a] = idx[static_cast<size_t>(i)];
          ref[i] = x.h[ravel(co, c.x)];
        }
        EXPECT_TRUE(close(download(out), ref, kExact))
            << grl_dtype_name(dt) << " x " << str(c.x) << " index " << str(c.index) << (strided ? " strided" : "");
      }
  // 0-d operands: the index must be 0.
  Host x = values({}, GRL_F32);
  T tx(upload(dev, x)), ti(upload_i64(dev, {0}, {}, GRL_I64)), out;
  ASSERT_GRL_OK(grl_gather(tx, 0, ti, out.out()));
  EXPECT_TRUE(close(download(out), x, kExact));
}

TEST_F(Indexing, ScatterAddWithRepeatedIndices) {
  struct Case {
    Shape x, index, src;
    int32_t axis;
  };
  const std::vector<Case> cases = {
      {{3, 4}, {1000, 4}, {1000, 4}, 0},        // every row hit hundreds of times: atomics must not lose adds
      {{5, 6}, {3, 4}, {5, 6}, 1},               // src larger than the index
      {{4, 5, 6}, {2, 5, 9}, {3, 5, 9}, -1},
      {{7}, {0}, {0}, 0},                        // empty index: out = x
      {{2, 3, 2, 3, 2}, {2, 2, 2, 4, 2}, {2, 2, 2, 4, 2}, 3},
  };
  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16, GRL_I32, GRL_I64})
    for (const auto& c : cases)
      for (bool strided : {false, true}) {
        // Small integers keep the i32 sums far from overflow.
        Input x = make_input(dev, c.x, dt, false, 50);
        Input src = make_input(dev, c.src, dt, strided, 50);
        size_t a = static_cast<size_t>(c.axis < 0 ? c.axis + static_cast<int32_t>(c.x.size()) : c.axis);
        auto idx = random_indices(numel(c.index), c.x[a]);
        T ti(upload_i64(dev, idx, c.index, strided ? GRL_I32 : GRL_I64)), out;
        ASSERT_GRL_OK(grl_scatter_add(x.t, c.axis, ti, src.t, out.out()));
        Host ref = x.h, mag = x.h;
        for (auto& m : mag.v) m = std::abs(m);
        for (int64_t i = 0; i < numel(c.index); ++i) {
          auto co = unravel(i, c.index);
          double v = src.h[ravel(co, c.src)];
          co[a] = idx[static_cast<size_t>(i)];
          ref[ravel(co, c.x)] += v;
          mag[ravel(co, c.x)] += std::abs(v);
        }
        Host got = download(out);
        ASSERT_EQ(got.shape, c.x);
        // f32 sums in any order are within n * eps of the exact sum; f16/bf16 add one rounding
        // of the f32 accumulator to the output dtype.
        double eps = dt == GRL_F32 ? 6e-8 : 0;
        for (int64_t i = 0; i < got.numel(); ++i) {
          double r = is_int(dt) || dt == GRL_F32 ? ref[i] : round_to(dt, ref[i]);
          double t = eps * 1000 * mag[i] + (dt == GRL_F32 || is_int(dt) ? 0 : tol(dt).rtol * std::abs(ref[i]) + 1e-6 * mag[i]);
          ASSERT_LE(std::abs(got[i] - r), t) << grl_dtype_name(dt) << " x " << str(c.x) << " at " << i;
        }
      }
}

TEST_F(Indexing, ScatterAddI64CarriesAcrossThe32BitWords) {
  // Sums that cross 2^32 and go negative must come out exact through the split 32-bit atomics.
  std::vector<int64_t> x = {4294967290LL, -5, 0, -4294967296LL};
  std::vector<int64_t> src, idx;
  for (int r = 0; r < 64; ++r) {
    src.push_back(r % 2 ? 3 : 4294967295LL);
    src.push_back(-7);
    src.push_back(r % 3 == 0 ? -4294967297LL : 1);
    src.push_back(1LL << 40);
    idx.insert(idx.end(), {0, 1, 2, 3});
  }
  auto h = [](const std::vector<int64_t>& v, Shape s) {
    std::vector<uint8_t> b(v.size() * 8);
    std::memcpy(b.data(), v.data(), b.size());
    return std::make_pair(b, s);
  };
  auto [xb, xs] = h(x, {1, 4});
  auto [sb, ss] = h(src, {64, 4});
  grl_tensor tx = nullptr, ts = nullptr;
  ASSERT_GRL_OK(grl_tensor_from_host(dev, GRL_I64, xs.data(), 2, xb.data(), xb.size(), &tx));
  ASSERT_GRL_OK(grl_tensor_from_host(dev, GRL_I64, ss.data(), 2, sb.data(), sb.size(), &ts));
  T ttx(tx), tts(ts), ti(upload_i64(dev, std::vector<int64_t>(256, 0), {64, 4})), out;
  ASSERT_GRL_OK(grl_scatter_add(ttx, 0, ti, tts, out.out()));
  std::vector<int64_t> got(4);
  ASSERT_GRL_OK(grl_tensor_download(out, got.data(), 32));
  for (int j = 0; j < 4; ++j) {
    uint64_t want = static_cast<uint64_t>(x[static_cast<size_t>(j)]);
    for (int r = 0; r < 64; ++r) want += static_cast<uint64_t>(src[static_cast<size_t>(r * 4 + j)]);
    EXPECT_EQ(static_cast<uint64_t>(got[static_cast<size_t>(j)]), want) << "column " << j;
  }
}

TEST_F(Indexing, ConcatAndStack) {
  for (grl_dtype dt : kAll)
    for (int32_t axis = -3; axis < 3; ++axis) {
      size_t a = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
      std::vector<Input> ins;
      std::vector<Shape> shapes;
      for (int64_t len : {2, 0, 5, 1}) {
        Shape s = {3, 4, 5};
        s[a] = len;
        shapes.push_back(s);
        ins.push_back(make_input(dev, s, dt, len == 5));
      }
      std::vector<grl_tensor> xs;
      for (auto& in : ins) xs.push_back(in.t);
      T out;
      ASSERT_GRL_OK(grl_concat(xs.data(), 4, axis, out.out()));
      Shape os = {3, 4, 5};
      os[a] = 8;
      Host ref = Host::zeros(os);
      for (int64_t i = 0; i < ref.numel(); ++i) {
        auto c = unravel(i, os);
        size_t k = 0;
        while (c[a] >= shapes[k][a]) c[a] -= shapes[k++][a];
        ref[i] = ins[k].h[ravel(c, shapes[k])];
      }
      EXPECT_TRUE(close(download(out), ref, kExact)) << "concat " << grl_dtype_name(dt) << " axis " << axis;
    }
  for (grl_dtype dt : kAll)
    for (int32_t axis = -3; axis < 3; ++axis) {
      Shape s = {3, 7};
      std::vector<Input> ins;
      for (int k = 0; k < 3; ++k) ins.push_back(make_input(dev, s, dt, k == 1));
      std::vector<grl_tensor> xs;
      for (auto& in : ins) xs.push_back(in.t);
      T out;
      ASSERT_GRL_OK(grl_stack(xs.data(), 3, axis, out.out()));
      size_t a = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
      Shape os = s;
      os.insert(os.begin() + static_cast<long>(a), 3);
      Host ref = Host::zeros(os);
      for (int64_t i = 0; i < ref.numel(); ++i) {
        auto c = unravel(i, os);
        int64_t k = c[a];
        c.erase(c.begin() + static_cast<long>(a));
        ref[i] = ins[static_cast<size_t>(k)].h[ravel(c, s)];
      }
      EXPECT_TRUE(close(download(out), ref, kExact)) << "stack " << grl_dtype_name(dt) << " axis " << axis;
    }
  // One element, and 0-d tensors stacked into a vector.
  Host one = values({1}, GRL_F32);
  T t1(upload(dev, one)), out;
  grl_tensor single[] = {t1};
  ASSERT_GRL_OK(grl_concat(single, 1, 0, out.out()));
  EXPECT_TRUE(close(download(out), one, kExact));
  Host s0 = values({}, GRL_I64), s1 = values({}, GRL_I64);
  T a0(upload(dev, s0, GRL_I64)), a1(upload(dev, s1, GRL_I64));
  grl_tensor scalars[] = {a0, a1};
  ASSERT_GRL_OK(grl_stack(scalars, 2, 0, out.out()));
  Host want = Host::zeros({2});
  want.v = {s0[0], s1[0]};
  EXPECT_TRUE(close(download(out), want, kExact));
}

TEST_F(Indexing, SplitReturnsViews) {
  for (grl_dtype dt : kAll)
    for (int32_t axis : {0, 1, -1}) {
      Shape s = {4, 6, 5};
      Input x = make_input(dev, s, dt, axis == 1);
      size_t a = static_cast<size_t>(axis < 0 ? axis + 3 : axis);
      std::vector<int64_t> sizes = {1, 0, s[a] - 1};
      grl_tensor parts[3] = {nullptr, nullptr, nullptr};
      ASSERT_GRL_OK(grl_split(x.t, sizes.data(), 3, axis, parts));
      int64_t at = 0;
      for (int k = 0; k < 3; ++k) {
        T p(parts[k]);
        Shape ps = s;
        ps[a] = sizes[static_cast<size_t>(k)];
        Host ref = Host::zeros(ps);
        for (int64_t i = 0; i < ref.numel(); ++i) {
          auto c = unravel(i, ps);
          c[a] += at;
          ref[i] = x.h[ravel(c, s)];
        }
        EXPECT_TRUE(close(download(p), ref, kExact)) << grl_dtype_name(dt) << " axis " << axis << " part " << k;
        at += sizes[static_cast<size_t>(k)];
      }
    }
  // The pieces share x's storage: a write to x shows through them.
  Host x = values({6}, GRL_F32);
  T tx(upload(dev, x));
  int64_t sizes[] = {2, 4};
  grl_tensor parts[2] = {nullptr, nullptr};
  ASSERT_GRL_OK(grl_split(tx, sizes, 2, 0, parts));
  T p0(parts[0]), p1(parts[1]);
  ASSERT_GRL_OK(grl_tensor_fill_(tx, 3.0));
  Host got = download(p1);
  EXPECT_EQ(got.v, std::vector<double>(4, 3.0));
}

TEST_F(Indexing, PadAndCrop) {
  struct Case {
    Shape x;
    std::vector<int64_t> pads;
  };
  const std::vector<Case> cases = {
      {{3, 4}, {1, 2}},                  {{3, 4}, {1, 2, 0, 3}},     {{2, 3, 4}, {-1, 2, 1, -1}},
      {{2, 3, 4}, {-1, -2, -1, -1, 0, 0}}, {{5}, {0, 0}},             {{5}, {-5, 2}},
      {{1}, {3, 3}},                     {{0, 3}, {1, 1, 2, 0}},     {{2, 3}, {}},
  };
  for (grl_dtype dt : kAll)
    for (const auto& c : cases)
      for (bool strided : {false, true}) {
        Input x = make_input(dev, c.x, dt, strided);
        const double value = dt == GRL_U8 ? 7 : -1.5;
        T out;
        ASSERT_GRL_OK(grl_pad(x.t, c.pads.data(), static_cast<int32_t>(c.pads.size()), value, out.out()));
        size_t nd = c.x.size();
        std::vector<int64_t> lo(nd, 0);
        Shape os = c.x;
        for (size_t k = 0; k < c.pads.size() / 2; ++k) {
          size_t d = nd - 1 - k;
          lo[d] = c.pads[2 * k];
          os[d] += c.pads[2 * k] + c.pads[2 * k + 1];
        }
        Host ref = Host::zeros(os);
        for (int64_t i = 0; i < ref.numel(); ++i) {
          auto co = unravel(i, os);
          bool inside = true;
          for (size_t d = 0; d < nd; ++d) {
            co[d] -= lo[d];
            inside = inside && co[d] >= 0 && co[d] < c.x[d];
          }
          ref[i] = inside ? x.h[ravel(co, c.x)] : round_to(dt, value);
        }
        EXPECT_TRUE(close(download(out), ref, kExact))
            << grl_dtype_name(dt) << " x " << str(c.x) << (strided ? " strided" : "");
      }
}

TEST_F(Indexing, OneHot) {
  for (grl_dtype it : {GRL_I32, GRL_I64})
    for (grl_dtype dt : kAll)
      for (Shape s : {Shape{5}, Shape{2, 3}, Shape{0}, Shape{}})
        for (int64_t classes : {1, 4, 300}) {
          auto idx = random_indices(numel(s), classes);
          T ti(upload_i64(dev, idx, s, it)), out;
          ASSERT_GRL_OK(grl_one_hot(ti, classes, dt, out.out()));
          EXPECT_EQ(grl_tensor_dtype(out), dt);
          Shape os = s;
          os.push_back(classes);
          Host ref = Host::zeros(os);
          for (int64_t r = 0; r < numel(s); ++r) ref[r * classes + idx[static_cast<size_t>(r)]] = 1;
          EXPECT_TRUE(close(download(out), ref, kExact)) << grl_dtype_name(dt) << " " << str(s) << " " << classes;
        }
}

TEST_F(Indexing, ArangeAndFull) {
  struct Case {
    double start, end, step;
  };
  const std::vector<Case> cases = {{0, 10, 1},   {0, 1, 0.1},   {5, -3, -1.5}, {-2, 2.5, 0.5},
                                   {3, 3, 1},    {3, 0, 1},     {0, 1000, 3},  {1e6, 1e6 + 17, 1}};
  for (grl_dtype dt : kAll)
    for (const auto& c : cases) {
      if (dt == GRL_F16 && c.start > 65504) continue;  // beyond f16's range
      T out;
      ASSERT_GRL_OK(grl_arange(dev, c.start, c.end, c.step, dt, out.out()));
      int64_t n = static_cast<int64_t>(std::max(0.0, std::ceil((c.end - c.start) / c.step)));
      Host ref = Host::zeros({n});
      for (int64_t i = 0; i < n; ++i) ref[i] = round_to(dt, c.start + static_cast<double>(i) * c.step);
      EXPECT_TRUE(close(download(out), ref, kExact))
          << grl_dtype_name(dt) << " " << c.start << " " << c.end << " " << c.step;
    }
  for (grl_dtype dt : kAll)
    for (Shape s : {Shape{}, Shape{0}, Shape{3, 257}}) {
      const double v = dt == GRL_U8 ? 200 : -3.25;
      T out;
      ASSERT_GRL_OK(grl_full(dev, s.data(), static_cast<int32_t>(s.size()), v, dt, out.out()));
      Host ref = Host::zeros(s);
      for (auto& x : ref.v) x = round_to(dt, v);
      EXPECT_TRUE(close(download(out), ref, kExact)) << grl_dtype_name(dt) << " " << str(s);
    }
}

// An index outside the range is found by the kernel: the call succeeds, the next synchronize (or
// download) fails with GRL_ERROR_INDEX naming the op and the index, the affected outputs are zero,
// and the device keeps working.
TEST_F(Indexing, OutOfRangeIndicesReportedAtSynchronize) {
  Host w = values({5, 3}, GRL_F32);
  T tw(upload(dev, w));
  for (int64_t bad : {int64_t{5}, int64_t{-1}, int64_t{1} << 40}) {
    grl_dtype it = bad > INT32_MAX ? GRL_I64 : GRL_I32;
    std::string needle_index = "index " + std::to_string(bad) + " is out of range";

    T ti(upload_i64(dev, {0, bad, 4}, {3}, it)), out;
    ASSERT_GRL_OK(grl_embedding(tw, ti, out.out()));
    EXPECT_GRL_ERROR(grl_device_synchronize(dev), GRL_ERROR_INDEX, "grl_embedding: " + needle_index);
    Host got = download(out);
    for (int k = 0; k < 3; ++k) {
      EXPECT_EQ(got[k], static_cast<float>(w[k]));
      EXPECT_EQ(got[3 + k], 0.0);
      EXPECT_EQ(got[6 + k], static_cast<float>(w[12 + k]));
    }

    ASSERT_GRL_OK(grl_index_select(tw, 0, ti, out.out()));
    EXPECT_GRL_ERROR(grl_device_synchronize(dev), GRL_ERROR_INDEX, "grl_index_select: " + needle_index);

    T tg(upload_i64(dev, {0, 1, 2, bad, 0, 1}, {2, 3}, it));
    ASSERT_GRL_OK(grl_gather(tw, 0, tg, out.out()));
    EXPECT_GRL_ERROR(grl_device_synchronize(dev), GRL_ERROR_INDEX, "grl_gather: " + needle_index);
    got = download(out);
    EXPECT_EQ(got[3], 0.0);
    EXPECT_EQ(got[4], static_cast<float>(w[1]));

    // scatter_add drops the bad contribution; the download itself reports the error.
    Host src = values({2, 3}, GRL_F32);
    T ts(upload(dev, src));
    ASSERT_GRL_OK(grl_scatter_add(tw, 0, tg, ts, out.out()));
    std::vector<float> buf(15);
    EXPECT_GRL_ERROR(grl_tensor_download(out, buf.data(), buf.size() * 4), GRL_ERROR_INDEX,
                     "grl_scatter_add: " + needle_index);
    EXPECT_EQ(buf[0], static_cast<float>(w[0]) + static_cast<float>(src[0]));  // (0, 0) <- src (0, 0)
    EXPECT_EQ(buf[1], static_cast<float>(w[1]) + static_cast<float>(src[4]));  // (0, 1) <- src (1, 1)
    EXPECT_EQ(buf[4], static_cast<float>(w[4]) + static_cast<float>(src[1]));  // (1, 1) <- src (0, 1)
    EXPECT_EQ(buf[3], static_cast<float>(w[3]));  // (1, 0): its only source had the bad index

    ASSERT_GRL_OK(grl_one_hot(ti, 5, GRL_F32, out.out()));
    EXPECT_GRL_ERROR(grl_device_synchronize(dev), GRL_ERROR_INDEX, "grl_one_hot: " + needle_index);
    got = download(out);
    for (int c = 0; c < 5; ++c) {
      EXPECT_EQ(got[c], c == 0 ? 1.0 : 0.0);
      EXPECT_EQ(got[5 + c], 0.0);
      EXPECT_EQ(got[10 + c], c == 4 ? 1.0 : 0.0);
    }
  }
  // The device works normally afterwards, and a clean op reports nothing.
  T ti(upload_i64(dev, {4, 0}, {2})), out;
  ASSERT_GRL_OK(grl_embedding(tw, ti, out.out()));
  ASSERT_GRL_OK(grl_device_synchronize(dev));
  Host got = download(out);
  EXPECT_EQ(got[0], static_cast<float>(w[12]));
  EXPECT_EQ(got[5], static_cast<float>(w[2]));
  // An index into an empty dimension is out of range too.
  int64_t es[] = {0, 3};
  T empty;
  ASSERT_GRL_OK(grl_tensor_zeros(dev, GRL_F32, es, 2, empty.out()));
  ASSERT_GRL_OK(grl_embedding(empty, ti, out.out()));
  EXPECT_GRL_ERROR(grl_device_synchronize(dev), GRL_ERROR_INDEX, "grl_embedding: index 4");
}

TEST_F(Indexing, BadInputs) {
  Host x = values({3, 4}, GRL_F32);
  T tx(upload(dev, x)), ti(upload_i64(dev, {0, 1}, {2})), tf(upload(dev, x)), out;
  T t2(upload_i64(dev, {0, 1, 2, 0}, {2, 2})), tu8(upload_i64(dev, {0, 1}, {2}, GRL_U8));
  // Index dtypes.
  EXPECT_GRL_ERROR(grl_embedding(tx, tf, out.out()), GRL_ERROR_DTYPE, "'indices' has dtype f32");
  EXPECT_GRL_ERROR(grl_index_select(tx, 0, tu8, out.out()), GRL_ERROR_DTYPE, "i32 or i64");
  EXPECT_GRL_ERROR(grl_gather(tx, 0, tf, out.out()), GRL_ERROR_DTYPE, "'index' has dtype f32");
  EXPECT_GRL_ERROR(grl_one_hot(tf, 3, GRL_F32, out.out()), GRL_ERROR_DTYPE, "'indices'");
  // Shapes.
  EXPECT_GRL_ERROR(grl_embedding(ti, ti, out.out()), GRL_ERROR_SHAPE, "num_embeddings");
  EXPECT_GRL_ERROR(grl_index_select(tx, 0, t2, out.out()), GRL_ERROR_SHAPE, "1-d index");
  EXPECT_GRL_ERROR(grl_index_select(tx, 2, ti, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'axis' = 2");
  EXPECT_GRL_ERROR(grl_gather(tx, 0, ti, out.out()), GRL_ERROR_SHAPE, "same number");
  T big(upload_i64(dev, std::vector<int64_t>(10, 0), {2, 5}));
  EXPECT_GRL_ERROR(grl_gather(tx, 0, big, out.out()), GRL_ERROR_SHAPE, "dim 1");
  EXPECT_GRL_ERROR(grl_scatter_add(tx, 1, big, tx, out.out()), GRL_ERROR_SHAPE, "'src'");
  T tu(upload(dev, x, GRL_U8)), ti32(upload(dev, x, GRL_I32));
  EXPECT_GRL_ERROR(grl_scatter_add(tu, 0, t2, tu, out.out()), GRL_ERROR_DTYPE, "u8");
  EXPECT_GRL_ERROR(grl_scatter_add(tx, 0, t2, ti32, out.out()), GRL_ERROR_DTYPE, "'src' has dtype i32");
  EXPECT_GRL_ERROR(grl_one_hot(ti, 0, GRL_F32, out.out()), GRL_ERROR_INVALID_ARGUMENT, "num_classes");
  EXPECT_GRL_ERROR(grl_one_hot(ti, 3, static_cast<grl_dtype>(9), out.out()), GRL_ERROR_DTYPE, "'dtype'");
  // concat / stack / split / pad.
  Host y = values({3, 5}, GRL_F32);
  T ty(upload(dev, y));
  grl_tensor two[] = {tx, ty};
  EXPECT_GRL_ERROR(grl_concat(two, 2, 0, out.out()), GRL_ERROR_SHAPE, "xs[1] [3, 5]");
  ASSERT_GRL_OK(grl_concat(two, 2, 1, out.out()));
  EXPECT_GRL_ERROR(grl_stack(two, 2, 0, out.out()), GRL_ERROR_SHAPE, "one shape");
  EXPECT_GRL_ERROR(grl_stack(two, 2, 3, out.out()), GRL_ERROR_INVALID_ARGUMENT, "'axis' = 3");
  grl_tensor mixed[] = {tx, ti32};
  EXPECT_GRL_ERROR(grl_concat(mixed, 2, 0, out.out()), GRL_ERROR_DTYPE, "'xs[1]' has dtype i32");
  grl_tensor with_null[] = {tx, nullptr};
  EXPECT_GRL_ERROR(grl_concat(with_null, 2, 0, out.out()), GRL_ERROR_NULL_ARGUMENT, "'xs[1]'");
  EXPECT_GRL_ERROR(grl_concat(two, 0, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "count");
  EXPECT_GRL_ERROR(grl_stack(nullptr, 2, 0, out.out()), GRL_ERROR_NULL_ARGUMENT, "'xs'");
  int64_t sizes[] = {1, 1};
  grl_tensor parts[2] = {nullptr, nullptr};
  EXPECT_GRL_ERROR(grl_split(tx, sizes, 2, 0, parts), GRL_ERROR_SHAPE, "sum to 2");
  EXPECT_EQ(parts[0], nullptr);
  int64_t neg[] = {4, -1};
  EXPECT_GRL_ERROR(grl_split(tx, neg, 2, 0, parts), GRL_ERROR_SHAPE, "sizes[1] = -1");
  int64_t pads[] = {1, 1, 1};
  EXPECT_GRL_ERROR(grl_pad(tx, pads, 3, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "npads is 3");
  int64_t crop[] = {-3, -2};
  EXPECT_GRL_ERROR(grl_pad(tx, crop, 2, 0, out.out()), GRL_ERROR_SHAPE, "negative size");
  EXPECT_GRL_ERROR(grl_pad(tx, nullptr, 2, 0, out.out()), GRL_ERROR_NULL_ARGUMENT, "'pads'");
  // arange / full.
  EXPECT_GRL_ERROR(grl_arange(dev, 0, 1, 0, GRL_F32, out.out()), GRL_ERROR_INVALID_ARGUMENT, "step");
  EXPECT_GRL_ERROR(grl_arange(dev, 0, NAN, 1, GRL_F32, out.out()), GRL_ERROR_INVALID_ARGUMENT, "finite");
  EXPECT_GRL_ERROR(grl_arange(nullptr, 0, 1, 1, GRL_F32, out.out()), GRL_ERROR_NULL_ARGUMENT, "'device'");
  int64_t shp[] = {2, -1};
  EXPECT_GRL_ERROR(grl_full(dev, shp, 2, 1, GRL_F32, out.out()), GRL_ERROR_SHAPE, "'shape'[1]");
  // NULL handles and outputs.
  EXPECT_GRL_ERROR(grl_embedding(nullptr, ti, out.out()), GRL_ERROR_NULL_ARGUMENT, "'weight'");
  EXPECT_GRL_ERROR(grl_gather(tx, 0, nullptr, out.out()), GRL_ERROR_NULL_ARGUMENT, "'index'");
  EXPECT_GRL_ERROR(grl_scatter_add(tx, 0, t2, nullptr, out.out()), GRL_ERROR_NULL_ARGUMENT, "'src'");
  EXPECT_GRL_ERROR(grl_index_select(tx, 0, ti, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  EXPECT_GRL_ERROR(grl_split(tx, sizes, 2, 0, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  EXPECT_EQ(out.t, nullptr);
}

TEST_F(Indexing, TensorsFromAnotherDevice) {
  grl_device_options o = GRL_DEVICE_OPTIONS_INIT;
  o.validation = 1;
  grl_device d2 = nullptr;
  ASSERT_GRL_OK(grl_device_create(&o, &d2));
  {
    Host x = values({3, 4}, GRL_F32);
    T tx(upload(dev, x)), ix(upload(d2, x)), ti(upload_i64(dev, {0, 1}, {2})), ti2(upload_i64(d2, {0, 1}, {2}));
    T t2(upload_i64(d2, {0, 1, 2, 0}, {2, 2})), out;
    EXPECT_GRL_ERROR(grl_embedding(tx, ti2, out.out()), GRL_ERROR_DEVICE_MISMATCH, "another device");
    EXPECT_GRL_ERROR(grl_index_select(tx, 0, ti2, out.out()), GRL_ERROR_DEVICE_MISMATCH, "another device");
    EXPECT_GRL_ERROR(grl_gather(tx, 0, t2, out.out()), GRL_ERROR_DEVICE_MISMATCH, "another device");
    EXPECT_GRL_ERROR(grl_scatter_add(tx, 0, t2, tx, out.out()), GRL_ERROR_DEVICE_MISMATCH, "another device");
    grl_tensor two[] = {tx, ix};
    EXPECT_GRL_ERROR(grl_concat(two, 2, 0, out.out()), GRL_ERROR_DEVICE_MISMATCH, "'xs[1]'");
    EXPECT_GRL_ERROR(grl_stack(two, 2, 0, out.out()), GRL_ERROR_DEVICE_MISMATCH, "'xs[1]'");
    EXPECT_EQ(out.t, nullptr);
    // Ops on the second device report their index errors there, not on the first.
    T bad(upload_i64(d2, {0, 9}, {2}));
    ASSERT_GRL_OK(grl_embedding(ix, bad, out.out()));
    ASSERT_GRL_OK(grl_device_synchronize(dev));
    EXPECT_GRL_ERROR(grl_device_synchronize(d2), GRL_ERROR_INDEX, "grl_embedding: index 9");
  }
  grl_device_release(d2);
}

// ---- backward rules (the finite-difference checks are in grad_indexing.cpp; these cover the
// 16-bit dtypes, heavy index repetition, strided gradients and the shapes gradcheck does not) ----

namespace {

const grl_dtype kFloats[] = {GRL_F32, GRL_F16, GRL_BF16};

// Integer-valued gradients: every sum is exact in the f32 accumulator, so the only rounding is the
// final one to the input's dtype and the results compare exactly.
Host small_ints(const Shape& s) {
  Host h = Host::random(s, rng(), -3, 4);
  for (auto& v : h.v) v = std::floor(v);
  return h;
}

grl_tensor leaf(grl_device dev, const Shape& s, grl_dtype dt) {
  grl_tensor t = upload(dev, values(s, dt), dt);
  EXPECT_EQ(grl_tensor_set_requires_grad(t, 1), GRL_OK);
  return t;
}

Host grad_of(grl_tensor x) {
  T g;
  EXPECT_EQ(grl_tensor_grad(x, g.out()), GRL_OK);
  if (!g.t) {
    ADD_FAILURE() << "no gradient";
    return Host{};
  }
  EXPECT_EQ(grl_tensor_dtype(g), grl_tensor_dtype(x));
  return download(g);
}

}  // namespace

TEST_F(Indexing, BackwardSumsRepeatedIndicesInEveryFloatDtype) {
  for (grl_dtype dt : kFloats) {
    SCOPED_TRACE(grl_dtype_name(dt));
    {  // embedding: 600 lookups of 4 rows, so one row collects about 150 contributions
      const int64_t num = 7, dim = 33;
      T w(leaf(dev, {num, dim}, dt)), y;
      std::vector<int64_t> idx = random_indices(600, 4);
      for (auto& v : idx) v = std::vector<int64_t>{0, 2, 5, 6}[static_cast<size_t>(v)];
      T ti(upload_i64(dev, idx, {20, 30}, GRL_I32));
      ASSERT_GRL_OK(grl_embedding(w, ti, y.out()));
      EXPECT_STREQ(grl_tensor_grad_fn_name(y), "embedding");
      Host g = small_ints({20, 30, dim});
      T tg(upload(dev, g, dt));
      ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
      Host ref = Host::zeros({num, dim});
      for (size_t r = 0; r < idx.size(); ++r)
        for (int64_t k = 0; k < dim; ++k) ref[idx[r] * dim + k] += g[static_cast<int64_t>(r) * dim + k];
      EXPECT_TRUE(close(grad_of(w), rounded(ref, dt), kExact)) << "embedding";
    }
    {  // index_select along the middle axis
      T x(leaf(dev, {3, 5, 4}, dt)), y;
      const std::vector<int64_t> idx = {4, 4, 0, 4, 2, 4};
      T ti(upload_i64(dev, idx, {6}, GRL_I64));
      ASSERT_GRL_OK(grl_index_select(x, 1, ti, y.out()));
      Host g = small_ints({3, 6, 4});
      T tg(upload(dev, g, dt));
      ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
      Host ref = Host::zeros({3, 5, 4});
      for (int64_t o = 0; o < 3; ++o)
        for (int64_t j = 0; j < 6; ++j)
          for (int64_t k = 0; k < 4; ++k) ref[(o * 5 + idx[static_cast<size_t>(j)]) * 4 + k] += g[(o * 6 + j) * 4 + k];
      EXPECT_TRUE(close(grad_of(x), rounded(ref, dt), kExact)) << "index_select";
    }
    {  // gather along axis 0 with an index taller than x
      T x(leaf(dev, {4, 6}, dt)), y;
      std::vector<int64_t> idx = random_indices(9 * 6, 4);
      T ti(upload_i64(dev, idx, {9, 6}, GRL_I64));
      ASSERT_GRL_OK(grl_gather(x, 0, ti, y.out()));
      Host g = small_ints({9, 6});
      T tg(upload(dev, g, dt));
      ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
      Host ref = Host::zeros({4, 6});
      for (int64_t i = 0; i < 9; ++i)
        for (int64_t j = 0; j < 6; ++j) ref[idx[static_cast<size_t>(i * 6 + j)] * 6 + j] += g[i * 6 + j];
      EXPECT_TRUE(close(grad_of(x), rounded(ref, dt), kExact)) << "gather";
    }
    {  // scatter_add: x gets g, src gets g read back at the index (zero outside the index's corner)
      T x(leaf(dev, {4, 6}, dt)), src(leaf(dev, {3, 7}, dt)), y;
      std::vector<int64_t> idx = random_indices(3 * 6, 6);
      T ti(upload_i64(dev, idx, {3, 6}, GRL_I32));
      ASSERT_GRL_OK(grl_scatter_add(x, 1, ti, src, y.out()));
      Host g = rounded(values({4, 6}, GRL_F32), dt);
      T tg(upload(dev, g, dt));
      ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
      EXPECT_TRUE(close(grad_of(x), g, kExact)) << "scatter_add x";
      Host ref = Host::zeros({3, 7});
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 6; ++j) ref[i * 7 + j] = g[i * 6 + idx[static_cast<size_t>(i * 6 + j)]];
      EXPECT_TRUE(close(grad_of(src), ref, kExact)) << "scatter_add src";
    }
  }
}

TEST_F(Indexing, BackwardOfShapeOpsMovesGradientsExactly) {
  for (grl_dtype dt : kFloats) {
    SCOPED_TRACE(grl_dtype_name(dt));
    {  // concat with an empty input, the gradient arriving as a transposed (strided) view
      T a(leaf(dev, {2, 3}, dt)), b(leaf(dev, {2, 0}, dt)), c(leaf(dev, {2, 4}, dt)), y;
      grl_tensor xs[] = {a, b, c};
      ASSERT_GRL_OK(grl_concat(xs, 3, 1, y.out()));
      Host gtr = rounded(values({7, 2}, GRL_F32), dt);
      T tgt(upload(dev, gtr, dt)), tg;
      ASSERT_GRL_OK(grl_transpose(tgt, 0, 1, tg.out()));
      ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
      Host ga = grad_of(a), gb = grad_of(b), gc = grad_of(c);
      EXPECT_EQ(gb.shape, (Shape{2, 0}));
      for (int64_t i = 0; i < 2; ++i) {
        for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(ga[i * 3 + j], gtr[j * 2 + i]);
        for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(gc[i * 4 + j], gtr[(3 + j) * 2 + i]);
      }
    }
    {  // stack on a new last axis
      T a(leaf(dev, {3, 2}, dt)), b(leaf(dev, {3, 2}, dt)), y;
      grl_tensor xs[] = {a, b};
      ASSERT_GRL_OK(grl_stack(xs, 2, -1, y.out()));
      Host g = rounded(values({3, 2, 2}, GRL_F32), dt);
      T tg(upload(dev, g, dt));
      ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
      Host ga = grad_of(a), gb = grad_of(b);
      for (int64_t i = 0; i < 6; ++i) {
        EXPECT_EQ(ga[i], g[2 * i]);
        EXPECT_EQ(gb[i], g[2 * i + 1]);
      }
    }
    {  // split: each piece's backward reaches x on its own; the leaf sums them
      T x(leaf(dev, {5, 4}, dt));
      const int64_t sizes[] = {2, 3};
      grl_tensor parts[2] = {nullptr, nullptr};
      ASSERT_GRL_OK(grl_split(x, sizes, 2, 0, parts));
      T p0(parts[0]), p1(parts[1]);
      EXPECT_STREQ(grl_tensor_grad_fn_name(p1), "split");
      Host g0 = rounded(values({2, 4}, GRL_F32), dt), g1 = rounded(values({3, 4}, GRL_F32), dt);
      T tg0(upload(dev, g0, dt)), tg1(upload(dev, g1, dt));
      ASSERT_GRL_OK(grl_tensor_backward(p1, tg1, 0));
      Host gx = grad_of(x);
      for (int64_t i = 0; i < 20; ++i) EXPECT_EQ(gx[i], i < 8 ? 0.0 : g1[i - 8]);
      ASSERT_GRL_OK(grl_tensor_backward(p0, tg0, 0));
      gx = grad_of(x);
      for (int64_t i = 0; i < 20; ++i) EXPECT_EQ(gx[i], i < 8 ? g0[i] : g1[i - 8]);
    }
    {  // pad that crops one side and pads others: the gradient is g cropped, zero where cropped
      T x(leaf(dev, {3, 4}, dt)), y;
      const int64_t pads[] = {-1, 2, 1, 0};  // last dim: crop 1, pad 2; first: pad 1 before
      ASSERT_GRL_OK(grl_pad(x, pads, 4, 9.0, y.out()));
      Host g = rounded(values({4, 5}, GRL_F32), dt);
      T tg(upload(dev, g, dt));
      ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
      Host gx = grad_of(x);
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(gx[i * 4 + j], j == 0 ? 0.0 : g[(i + 1) * 5 + (j - 1)]);
    }
  }
}

TEST_F(Indexing, BackwardDropsAnOutOfRangeIndexAndReportsIt) {
  T w(leaf(dev, {5, 3}, GRL_F32)), y;
  T ti(upload_i64(dev, {0, 9, 4, 0}, {4}, GRL_I32));
  ASSERT_GRL_OK(grl_embedding(w, ti, y.out()));
  EXPECT_GRL_ERROR(grl_device_synchronize(dev), GRL_ERROR_INDEX, "grl_embedding: index 9");
  Host g = small_ints({4, 3});
  T tg(upload(dev, g));
  ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
  EXPECT_GRL_ERROR(grl_device_synchronize(dev), GRL_ERROR_INDEX, "grl_embedding backward: index 9");
  Host gw = grad_of(w);
  for (int64_t k = 0; k < 3; ++k) {
    EXPECT_EQ(gw[k], g[k] + g[9 + k]);
    EXPECT_EQ(gw[12 + k], g[6 + k]);
    for (int64_t r : {1, 2, 3}) EXPECT_EQ(gw[r * 3 + k], 0.0);
  }
}
