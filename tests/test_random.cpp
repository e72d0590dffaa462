// Random family: a host Philox-4x32-10 checked against the Random123 known answers, the device
// output against that recipe bit for bit, reproducibility, statistics (moments and
// Kolmogorov-Smirnov), dropout and its backward, and the Xavier/Kaiming initialisers.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "testing.h"

using namespace gt;

class Random : public DeviceTest {};

namespace {

using Words = std::array<uint32_t, 4>;

// Philox-4x32-10 exactly as Random123's philox4x32_R(10, ctr, key).
Words philox(Words ctr, std::array<uint32_t, 2> key) {
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      key[0] += 0x9E3779B9u;
      key[1] += 0xBB67AE85u;
    }
    uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * ctr[0];
    uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * ctr[2];
    ctr = {static_cast<uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<uint32_t>(p1),
           static_cast<uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<uint32_t>(p0)};
  }
  return ctr;
}

// The words of element i of a call with (seed, offset), as include/grilly.h documents.
Words words(uint64_t seed, uint64_t offset, uint64_t i) {
  uint64_t c = offset + i;
  return philox({static_cast<uint32_t>(c), static_cast<uint32_t>(c >> 32), 0, 0},
                {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
}

// The uniform recipe in f32: low + (high - low) * u with u = (w0 >> 8) * 2^-24, one rounding per
// operation, kept below high.
float uniform_ref(uint64_t seed, uint64_t offset, uint64_t i, double low, double high) {
  volatile float u = static_cast<float>(words(seed, offset, i)[0] >> 8) * (1.0f / 16777216.0f);
  volatile float scale = static_cast<float>(high - low);
  volatile float prod = scale * u;
  volatile float r = static_cast<float>(low) + prod;
  float hi = static_cast<float>(high);
  if (static_cast<float>(low) < hi && r >= hi) r = std::nextafter(hi, -std::numeric_limits<float>::infinity());
  return r;
}

// The normal recipe: Box-Muller from words 0 and 1 (angle rounded to f32 as on the device; the
// transcendental functions here in double).
double normal_ref(uint64_t seed, uint64_t offset, uint64_t i, double mean, double std) {
  Words w = words(seed, offset, i);
  float u1 = static_cast<float>((w[0] >> 8) + 1u) * (1.0f / 16777216.0f);
  float u2 = static_cast<float>(w[1] >> 8) * (1.0f / 16777216.0f);
  volatile float theta = 6.2831855f * u2;
  double z = std::sqrt(-2.0 * std::log(static_cast<double>(u1))) * std::cos(static_cast<double>(theta));
  return static_cast<double>(static_cast<float>(mean)) + static_cast<double>(static_cast<float>(std)) * z;
}

bool bernoulli_ref(uint64_t seed, uint64_t offset, uint64_t i, double p) {
  return static_cast<double>(words(seed, offset, i)[0] >> 8) < p * 16777216.0;
}

std::vector<float> download_f32(grl_tensor t) {
  std::vector<float> v(static_cast<size_t>(grl_tensor_numel(t)));
  EXPECT_EQ(grl_tensor_download(t, v.data(), v.size() * 4), GRL_OK) << grl_last_error_message();
  return v;
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double var_of(const std::vector<double>& v) {
  double m = mean_of(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / static_cast<double>(v.size() - 1);
}

// Kolmogorov-Smirnov statistic of the samples against a continuous CDF.
double ks_statistic(std::vector<double> v, const std::function<double(double)>& cdf) {
  std::sort(v.begin(), v.end());
  double n = static_cast<double>(v.size()), d = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    double f = cdf(v[i]);
    d = std::max({d, static_cast<double>(i + 1) / n - f, f - static_cast<double>(i) / n});
  }
  return d;
}

// The asymptotic 0.1% critical value of the one-sample KS statistic.
double ks_critical(size_t n) { return 1.9495 / std::sqrt(static_cast<double>(n)); }

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace

TEST_F(Random, HostPhiloxMatchesRandom123KnownAnswers) {
  EXPECT_EQ(philox({0, 0, 0, 0}, {0, 0}), (Words{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(philox({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}),
            (Words{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(philox({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}),
            (Words{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST_F(Random, UniformMatchesTheRecipeBitForBit) {
  struct Case {
    uint64_t seed, offset;
    double low, high;
    Shape shape;
  };
  const std::vector<Case> cases = {
      {0, 0, 0, 1, {1}},
      {0x123456789abcdef0ull, 0xfffffff0ull, -1.5, 2.5, {3, 345}},  // the counter carries into word 1
      {42, 7, -1e-3, 1e-3, {1000}},
      {~0ull, ~0ull - 5, 10, 11, {17}},  // the counter wraps past 2^64
      {5, 0, 0, 1, {0}},
  };
  for (const auto& c : cases) {
    T out;
    ASSERT_GRL_OK(grl_rand_uniform(dev, c.shape.data(), static_cast<int32_t>(c.shape.size()), GRL_F32, c.low, c.high,
                                   c.seed, c.offset, out.out()));
    std::vector<float> got = download_f32(out);
    ASSERT_EQ(static_cast<int64_t>(got.size()), numel(c.shape));
    for (size_t i = 0; i < got.size(); ++i) {
      float want = uniform_ref(c.seed, c.offset, i, c.low, c.high);
      ASSERT_EQ(bits(got[i]), bits(want)) << "seed " << c.seed << " element " << i << ": " << got[i] << " vs " << want;
      ASSERT_GE(got[i], static_cast<float>(c.low));
      ASSERT_LT(got[i], static_cast<float>(c.high));
    }
  }
  // f16 / bf16 are the f32 recipe rounded to nearest even.
  for (grl_dtype dt : {GRL_F16, GRL_BF16}) {
    Shape s = {513};
    T out;
    ASSERT_GRL_OK(grl_rand_uniform(dev, s.data(), 1, dt, -3, 5, 99, 1000, out.out()));
    Host ref = Host::zeros(s);
    for (int64_t i = 0; i < 513; ++i) ref[i] = round_to(dt, uniform_ref(99, 1000, static_cast<uint64_t>(i), -3, 5));
    EXPECT_TRUE(close(download(out), ref, {0, 0})) << grl_dtype_name(dt);
  }
  // Rounding can reach high (here: 2^24 + 2 cannot be the result of [2^24, 2^24 + 2)); it is
  // kept below.
  Shape s = {4096};
  T out;
  ASSERT_GRL_OK(grl_rand_uniform(dev, s.data(), 1, GRL_F32, 16777216.0, 16777218.0, 3, 0, out.out()));
  for (float v : download_f32(out)) ASSERT_TRUE(v == 16777216.0f) << v;
  // low == high gives low.
  ASSERT_GRL_OK(grl_rand_uniform(dev, s.data(), 1, GRL_F32, 0.25, 0.25, 3, 0, out.out()));
  for (float v : download_f32(out)) ASSERT_EQ(v, 0.25f);
}

TEST_F(Random, NormalMatchesTheRecipe) {
  for (auto [mean, std] : {std::pair{0.0, 1.0}, std::pair{3.0, 0.5}, std::pair{-1.0, 20.0}}) {
    Shape s = {20011};
    T out;
    const uint64_t seed = 0xdeadbeefcafef00dull, offset = 123456789;
    ASSERT_GRL_OK(grl_rand_normal(dev, s.data(), 1, GRL_F32, mean, std, seed, offset, out.out()));
    std::vector<float> got = download_f32(out);
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      double want = normal_ref(seed, offset, i, mean, std);
      ASSERT_TRUE(std::isfinite(got[i]));
      // Float rounding of log/sqrt/cos and the final multiply-add: 1e-5 of the value's scale.
      double err = std::abs(got[i] - want) / (std::abs(mean) + std * std::max(1.0, std::abs(want - mean) / std));
      worst = std::max(worst, err);
      ASSERT_LE(err, 1e-5) << "element " << i << ": " << got[i] << " vs " << want;
    }
    RecordProperty("worst_relative_error", std::to_string(worst));
  }
  for (grl_dtype dt : {GRL_F16, GRL_BF16}) {
    Shape s = {1000};
    T out;
    ASSERT_GRL_OK(grl_rand_normal(dev, s.data(), 1, dt, 0, 1, 5, 0, out.out()));
    Host ref = Host::zeros(s);
    for (int64_t i = 0; i < 1000; ++i) ref[i] = normal_ref(5, 0, static_cast<uint64_t>(i), 0, 1);
    EXPECT_TRUE(close(download(out), ref, tol(dt))) << grl_dtype_name(dt);
  }
}

TEST_F(Random, SeedsAndOffsetsSelectTheStream) {
  Shape s = {1000};
  auto draw = [&](uint64_t seed, uint64_t offset, Shape shape) {
    T out;
    EXPECT_EQ(grl_rand_uniform(dev, shape.data(), static_cast<int32_t>(shape.size()), GRL_F32, 0, 1, seed, offset,
                               out.out()),
              GRL_OK);
    return download_f32(out);
  };
  std::vector<float> a = draw(11, 0, s), b = draw(11, 0, s), c = draw(12, 0, s), d = draw(11, 250, s);
  EXPECT_EQ(a, b);  // same seed and offset: same values
  int same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == c[i];
  EXPECT_LT(same, 3);  // another seed: an independent stream
  for (size_t i = 0; i + 250 < a.size(); ++i) ASSERT_EQ(a[i + 250], d[i]);  // the offset shifts the stream
  // The element index is row-major over the shape: a [10, 100] draw is the [1000] draw.
  EXPECT_EQ(draw(11, 0, {10, 100}), a);
  // Seeds differing only in the high word differ.
  EXPECT_NE(draw(11 + (1ull << 32), 0, s), a);
}

TEST_F(Random, UniformAndNormalStatistics) {
  const size_t n = 100000;
  Shape s = {static_cast<int64_t>(n)};
  T u, z;
  ASSERT_GRL_OK(grl_rand_uniform(dev, s.data(), 1, GRL_F32, 0, 1, 2024, 0, u.out()));
  ASSERT_GRL_OK(grl_rand_normal(dev, s.data(), 1, GRL_F32, 0, 1, 2024, n, z.out()));
  Host hu = download(u), hz = download(z);
  double nn = static_cast<double>(n);
  // Uniform [0, 1): mean 1/2, variance 1/12, within 5 standard errors.
  EXPECT_NEAR(mean_of(hu.v), 0.5, 5 * std::sqrt(1.0 / 12 / nn));
  EXPECT_NEAR(var_of(hu.v), 1.0 / 12, 5 * std::sqrt((1.0 / 80 - 1.0 / 144) / nn));
  EXPECT_LT(ks_statistic(hu.v, [](double x) { return std::clamp(x, 0.0, 1.0); }), ks_critical(n));
  // Standard normal: mean 0, variance 1 (standard error sqrt(2/n)).
  EXPECT_NEAR(mean_of(hz.v), 0.0, 5 / std::sqrt(nn));
  EXPECT_NEAR(var_of(hz.v), 1.0, 5 * std::sqrt(2 / nn));
  EXPECT_LT(ks_statistic(hz.v, normal_cdf), ks_critical(n));
  // A scaled normal in bf16 keeps its moments.
  T zb;
  ASSERT_GRL_OK(grl_rand_normal(dev, s.data(), 1, GRL_BF16, 3, 0.5, 77, 0, zb.out()));
  Host hb = download(zb);
  EXPECT_NEAR(mean_of(hb.v), 3.0, 5 * 0.5 / std::sqrt(nn) + 3 * 4e-3 / std::sqrt(nn));
  EXPECT_NEAR(std::sqrt(var_of(hb.v)), 0.5, 5 * 0.5 / std::sqrt(2 * nn) + 0.5 * 4e-3);
}

TEST_F(Random, Bernoulli) {
  const size_t n = 100000;
  Shape s = {static_cast<int64_t>(n)};
  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16, GRL_U8, GRL_I32, GRL_I64}) {
    const double p = 0.3;
    T out;
    ASSERT_GRL_OK(grl_bernoulli(dev, s.data(), 1, p, dt, 8, 16, out.out()));
    EXPECT_EQ(grl_tensor_dtype(out), dt);
    Host h = download(out);
    double ones = 0;
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(h.v[i], bernoulli_ref(8, 16, i, p) ? 1.0 : 0.0) << grl_dtype_name(dt) << " element " << i;
      ones += h.v[i];
    }
    EXPECT_NEAR(ones / static_cast<double>(n), p, 5 * std::sqrt(p * (1 - p) / static_cast<double>(n)));
  }
  for (double p : {0.0, 1.0}) {
    T out;
    ASSERT_GRL_OK(grl_bernoulli(dev, s.data(), 1, p, GRL_U8, 1, 0, out.out()));
    for (double v : download(out).v) ASSERT_EQ(v, p);
  }
}

TEST_F(Random, DropoutIsInverted) {
  const double p = 0.25;
  const uint64_t seed = 31337, offset = 5;
  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16})
    for (bool strided : {false, true}) {
      Shape s = {200, 500};
      Host base = Host::random(strided ? Shape{500, 200} : s, rng(), 0.5, 2.0);
      for (auto& v : base.v) v = round_to(dt, v);
      T tb(upload(dev, base, dt)), tx;
      Host x = base;
      if (strided) {
        ASSERT_GRL_OK(grl_transpose(tb, 0, 1, tx.out()));
        for (int64_t i = 0; i < 200; ++i)
          for (int64_t j = 0; j < 500; ++j) x[i * 500 + j] = base[j * 200 + i];
      } else {
        tx = T(upload(dev, base, dt));
      }
      T out;
      ASSERT_GRL_OK(grl_dropout(tx, p, 1, seed, offset, out.out()));
      Host h = download(out);
      ASSERT_EQ(h.shape, s);
      const float scale = static_cast<float>(1.0 / (1.0 - p));
      size_t zeros = 0;
      for (size_t i = 0; i < h.v.size(); ++i) {
        bool dropped = bernoulli_ref(seed, offset, i, p);
        double want = dropped ? 0.0 : round_to(dt, static_cast<float>(x.v[i]) * scale);
        ASSERT_EQ(h.v[i], want) << grl_dtype_name(dt) << " element " << i;
        zeros += h.v[i] == 0;
      }
      double frac = static_cast<double>(zeros) / static_cast<double>(h.v.size());
      EXPECT_NEAR(frac, p, 5 * std::sqrt(p * (1 - p) / static_cast<double>(h.v.size())));
    }
  // Not training, or p = 0: an identical copy; p = 1: zeros.
  Host x = Host::random({3, 77}, rng());
  T tx(upload(dev, x)), out;
  ASSERT_GRL_OK(grl_dropout(tx, 0.5, 0, 1, 0, out.out()));
  EXPECT_TRUE(close(download(out), download(tx), {0, 0}));
  ASSERT_GRL_OK(grl_dropout(tx, 0.0, 1, 1, 0, out.out()));
  EXPECT_TRUE(close(download(out), download(tx), {0, 0}));
  ASSERT_GRL_OK(grl_dropout(tx, 1.0, 1, 1, 0, out.out()));
  for (double v : download(out).v) ASSERT_EQ(v, 0.0);
  EXPECT_GRL_ERROR(grl_dropout(tx, 1.5, 1, 1, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "p is 1.5");
  EXPECT_GRL_ERROR(grl_dropout(tx, -0.1, 1, 1, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "[0, 1]");
  EXPECT_GRL_ERROR(grl_dropout(tx, NAN, 1, 1, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "probability");
  EXPECT_GRL_ERROR(grl_dropout(tx, 0.5, 2, 1, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "training");
  T ti(upload(dev, x, GRL_I32));
  EXPECT_GRL_ERROR(grl_dropout(ti, 0.5, 1, 1, 0, out.out()), GRL_ERROR_DTYPE, "'x' has dtype i32");
  // Empty input: an empty output.
  int64_t es[] = {0, 4};
  T te;
  ASSERT_GRL_OK(grl_tensor_zeros(dev, GRL_F32, es, 2, te.out()));
  ASSERT_GRL_OK(grl_dropout(te, 0.5, 1, 1, 0, out.out()));
  EXPECT_EQ(grl_tensor_dim(out, 0), 0);
  EXPECT_EQ(grl_tensor_dim(out, 1), 4);
}

TEST_F(Random, DropoutBackwardRedrawsTheMask) {
  const double p = 0.4;
  const uint64_t seed = 0xfeedbeef12ull, offset = 1000;
  for (grl_dtype dt : {GRL_F32, GRL_F16, GRL_BF16}) {
    Shape s = {50, 40};
    Host x = Host::random(s, rng(), 0.5, 2.0);
    for (auto& v : x.v) v = round_to(dt, v);
    T tx(upload(dev, x, dt)), y;
    ASSERT_GRL_OK(grl_tensor_set_requires_grad(tx, 1));
    ASSERT_GRL_OK(grl_dropout(tx, p, 1, seed, offset, y.out()));
    EXPECT_STREQ(grl_tensor_grad_fn_name(y), "dropout");
    // The gradient arrives as a transposed view: the rule reads it in row-major order.
    Host gt_base = Host::random({40, 50}, rng());
    for (auto& v : gt_base.v) v = round_to(dt, v);
    T tgb(upload(dev, gt_base, dt)), tg, grad;
    ASSERT_GRL_OK(grl_transpose(tgb, 0, 1, tg.out()));
    ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
    ASSERT_GRL_OK(grl_tensor_grad(tx, grad.out()));
    ASSERT_NE(grad.t, nullptr);
    EXPECT_EQ(grl_tensor_dtype(grad), dt);
    Host h = download(grad), hy = download(y);
    const float scale = static_cast<float>(1.0 / (1.0 - p));
    for (int64_t i = 0; i < 50; ++i)
      for (int64_t j = 0; j < 40; ++j) {
        size_t e = static_cast<size_t>(i * 40 + j);
        bool dropped = bernoulli_ref(seed, offset, e, p);
        double g = gt_base.v[static_cast<size_t>(j * 50 + i)];
        ASSERT_EQ(h.v[e], dropped ? 0.0 : round_to(dt, static_cast<float>(g) * scale)) << grl_dtype_name(dt) << " " << e;
        ASSERT_EQ(hy.v[e] == 0.0, dropped);  // the forward used the same mask
      }
  }
  // Not training or p = 0: g passes through; p = 1: a zero gradient.
  for (auto [pp, training] : {std::pair{0.5, 0u}, std::pair{0.0, 1u}, std::pair{1.0, 1u}}) {
    Host x = Host::random({3, 7}, rng()), g = Host::random({3, 7}, rng());
    T tx(upload(dev, x)), tg(upload(dev, g)), y, grad;
    ASSERT_GRL_OK(grl_tensor_set_requires_grad(tx, 1));
    ASSERT_GRL_OK(grl_dropout(tx, pp, training, 3, 0, y.out()));
    ASSERT_GRL_OK(grl_tensor_backward(y, tg, 0));
    ASSERT_GRL_OK(grl_tensor_grad(tx, grad.out()));
    Host h = download(grad);
    for (size_t i = 0; i < h.v.size(); ++i)
      ASSERT_EQ(h.v[i], pp == 1.0 ? 0.0 : static_cast<double>(static_cast<float>(g.v[i]))) << "p " << pp;
  }
}

TEST_F(Random, InitializersFollowPyTorchFans) {
  struct Case {
    Shape shape;
    double fan_in, fan_out;
  };
  const std::vector<Case> cases = {{{256, 128}, 128, 256}, {{64, 32, 3, 3}, 32 * 9, 64 * 9}};
  for (const auto& c : cases) {
    const double n = static_cast<double>(numel(c.shape));
    auto make = [&](grl_dtype dt) {
      T t;
      EXPECT_EQ(grl_tensor_zeros(dev, dt, c.shape.data(), static_cast<int32_t>(c.shape.size()), t.out()), GRL_OK);
      return t;
    };
    // xavier_uniform: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)); element i is the
    // uniform recipe at counter i.
    {
      const double gain = 1.7;
      double b = std::sqrt(3.0) * (gain * std::sqrt(2.0 / (c.fan_in + c.fan_out)));
      T t = make(GRL_F32);
      ASSERT_GRL_OK(grl_init_xavier_uniform_(t, gain, 9));
      Host h = download(t);
      for (size_t i = 0; i < 1000; ++i) ASSERT_EQ(bits(static_cast<float>(h.v[i])), bits(uniform_ref(9, 0, i, -b, b)));
      for (double v : h.v) ASSERT_LE(std::abs(v), b);
      EXPECT_NEAR(mean_of(h.v), 0, 5 * b / std::sqrt(3 * n));
      EXPECT_NEAR(var_of(h.v), b * b / 3, 5 * b * b * std::sqrt((1.0 / 5 - 1.0 / 9) / n));
    }
    // xavier_normal: N(0, gain * sqrt(2 / (fan_in + fan_out))).
    {
      double sd = 0.5 * std::sqrt(2.0 / (c.fan_in + c.fan_out));
      T t = make(GRL_F32);
      ASSERT_GRL_OK(grl_init_xavier_normal_(t, 0.5, 10));
      Host h = download(t);
      EXPECT_NEAR(mean_of(h.v), 0, 5 * sd / std::sqrt(n));
      EXPECT_NEAR(std::sqrt(var_of(h.v)), sd, 5 * sd / std::sqrt(2 * n));
      EXPECT_NEAR(h.v[3], normal_ref(10, 0, 3, 0, sd), 1e-5 * sd * 5);
    }
    // kaiming: gain sqrt(2 / (1 + a^2)), std gain / sqrt(fan), uniform bound sqrt(3) std.
    for (grl_fan_mode mode : {GRL_FAN_IN, GRL_FAN_OUT}) {
      const double a = 0.2;
      double fan = mode == GRL_FAN_IN ? c.fan_in : c.fan_out;
      double sd = std::sqrt(2.0 / (1 + a * a)) / std::sqrt(fan);
      T tu = make(GRL_BF16), tn = make(GRL_F16);
      ASSERT_GRL_OK(grl_init_kaiming_uniform_(tu, a, mode, 11));
      ASSERT_GRL_OK(grl_init_kaiming_normal_(tn, a, mode, 12));
      Host hu = download(tu), hn = download(tn);
      double b = std::sqrt(3.0) * sd;
      for (double v : hu.v) ASSERT_LE(std::abs(v), round_to(GRL_BF16, b));
      EXPECT_NEAR(std::sqrt(var_of(hu.v)), sd, 5 * sd * std::sqrt((1.0 / 5 - 1.0 / 9) / n) + sd * 4e-3);
      EXPECT_NEAR(std::sqrt(var_of(hn.v)), sd, 5 * sd / std::sqrt(2 * n) + sd * 1e-3);
      EXPECT_NEAR(mean_of(hn.v), 0, 5 * sd / std::sqrt(n));
    }
  }
  // In place through a view: element i of the (transposed) view gets counter i.
  int64_t s[] = {40, 30};
  T base, view;
  ASSERT_GRL_OK(grl_tensor_zeros(dev, GRL_F32, s, 2, base.out()));
  ASSERT_GRL_OK(grl_transpose(base, 0, 1, view.out()));
  ASSERT_GRL_OK(grl_init_kaiming_uniform_(view, 0, GRL_FAN_IN, 4));
  double b = std::sqrt(3.0) * (std::sqrt(2.0) / std::sqrt(40.0));  // the view is [30, 40]: fan_in 40
  Host hb = download(base);
  for (int64_t i = 0; i < 30; ++i)
    for (int64_t j = 0; j < 40; ++j)
      ASSERT_EQ(bits(static_cast<float>(hb[j * 30 + i])), bits(uniform_ref(4, 0, static_cast<uint64_t>(i * 40 + j), -b, b)));
  // Bad inputs.
  int64_t one[] = {5};
  T t1, ti;
  ASSERT_GRL_OK(grl_tensor_zeros(dev, GRL_F32, one, 1, t1.out()));
  ASSERT_GRL_OK(grl_tensor_zeros(dev, GRL_I32, s, 2, ti.out()));
  EXPECT_GRL_ERROR(grl_init_xavier_uniform_(t1, 1, 0), GRL_ERROR_SHAPE, ">= 2 dims");
  EXPECT_GRL_ERROR(grl_init_kaiming_normal_(ti, 0, GRL_FAN_IN, 0), GRL_ERROR_DTYPE, "'t' has dtype i32");
  EXPECT_GRL_ERROR(grl_init_kaiming_uniform_(base, 0, static_cast<grl_fan_mode>(2), 0), GRL_ERROR_INVALID_ARGUMENT,
                   "mode is 2");
  EXPECT_GRL_ERROR(grl_init_xavier_normal_(nullptr, 1, 0), GRL_ERROR_NULL_ARGUMENT, "'t'");
}

TEST_F(Random, BadInputs) {
  int64_t s[] = {4, 5};
  T out;
  EXPECT_GRL_ERROR(grl_rand_uniform(dev, s, 2, GRL_F32, 1, 0, 0, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "low <= high");
  EXPECT_GRL_ERROR(grl_rand_uniform(dev, s, 2, GRL_F32, 0, INFINITY, 0, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT,
                   "finite");
  EXPECT_GRL_ERROR(grl_rand_uniform(dev, s, 2, GRL_F32, -3e38, 3e38, 0, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT,
                   "f32");
  EXPECT_GRL_ERROR(grl_rand_uniform(dev, s, 2, GRL_I32, 0, 1, 0, 0, out.out()), GRL_ERROR_DTYPE, "'dtype' is i32");
  EXPECT_GRL_ERROR(grl_rand_normal(dev, s, 2, GRL_U8, 0, 1, 0, 0, out.out()), GRL_ERROR_DTYPE, "'dtype' is u8");
  EXPECT_GRL_ERROR(grl_rand_normal(dev, s, 2, GRL_F32, 0, -1, 0, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "std >= 0");
  EXPECT_GRL_ERROR(grl_bernoulli(dev, s, 2, 1.01, GRL_U8, 0, 0, out.out()), GRL_ERROR_INVALID_ARGUMENT, "p is 1.01");
  EXPECT_GRL_ERROR(grl_bernoulli(dev, s, 2, 0.5, static_cast<grl_dtype>(-1), 0, 0, out.out()), GRL_ERROR_DTYPE,
                   "'dtype'");
  int64_t neg[] = {4, -5};
  EXPECT_GRL_ERROR(grl_rand_uniform(dev, neg, 2, GRL_F32, 0, 1, 0, 0, out.out()), GRL_ERROR_SHAPE, "'shape'[1]");
  EXPECT_GRL_ERROR(grl_rand_uniform(dev, nullptr, 2, GRL_F32, 0, 1, 0, 0, out.out()), GRL_ERROR_NULL_ARGUMENT, "'shape'");
  EXPECT_GRL_ERROR(grl_rand_normal(nullptr, s, 2, GRL_F32, 0, 1, 0, 0, out.out()), GRL_ERROR_NULL_ARGUMENT, "'device'");
  EXPECT_GRL_ERROR(grl_bernoulli(dev, s, 2, 0.5, GRL_F32, 0, 0, nullptr), GRL_ERROR_NULL_ARGUMENT, "'out'");
  EXPECT_GRL_ERROR(grl_dropout(nullptr, 0.5, 1, 0, 0, out.out()), GRL_ERROR_NULL_ARGUMENT, "'x'");
  EXPECT_EQ(out.t, nullptr);
  // A 0-d draw is one element.
  ASSERT_GRL_OK(grl_rand_uniform(dev, nullptr, 0, GRL_F32, 0, 1, 3, 0, out.out()));
  std::vector<float> v = download_f32(out);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(bits(v[0]), bits(uniform_ref(3, 0, 0, 0, 1)));
}
