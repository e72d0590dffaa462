// Test support implementation (see testing.h).
#include "testing.h"

#include <cmath>
#include <cstring>
#include <sstream>

namespace gt {

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

int64_t Host::numel() const { return gt::numel(shape); }

Host Host::zeros(Shape s) {
  Host h;
  h.shape = std::move(s);
  h.v.assign(static_cast<size_t>(gt::numel(h.shape)), 0.0);
  return h;
}

Host Host::random(Shape s, std::mt19937_64& r, double lo, double hi) {
  Host h = zeros(std::move(s));
  std::uniform_real_distribution<double> d(lo, hi);
  for (auto& x : h.v) x = d(r);
  return h;
}

std::vector<int64_t> strides(const Shape& s) {
  std::vector<int64_t> st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

Shape broadcast(const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i + a.size() >= n ? a[i + a.size() - n] : 1;
    int64_t db = i + b.size() >= n ? b[i + b.size() - n] : 1;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int64_t bcast_index(const Shape& to, const Shape& from, int64_t i) {
  auto st = strides(from);
  int64_t idx = 0;
  for (size_t d = to.size(); d-- > 0;) {
    int64_t c = i % to[d];
    i /= to[d];
    size_t lead = to.size() - from.size();
    if (d >= lead && from[d - lead] != 1) idx += c * st[d - lead];
  }
  return idx;
}

std::string str(const Shape& s) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? "," : "") << s[i];
  o << "]";
  return o.str();
}

static uint16_t to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffffu;
  if (((x >> 23) & 0xff) == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0));
  if (exp >= 31) return static_cast<uint16_t>(sign | 0x7c00u);
  if (exp <= 0) {
    if (exp < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    uint32_t shift = static_cast<uint32_t>(14 - exp);
    uint32_t half = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1))) ++half;
  return static_cast<uint16_t>(half);
}

static float from_half(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  int32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  uint32_t x;
  if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else {
      exp = 1;
      while (!(mant & 0x400u)) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      x = sign | (static_cast<uint32_t>(exp - 15 + 127) << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    x = sign | 0x7f800000u | (mant << 13);
  } else {
    x = sign | (static_cast<uint32_t>(exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

static uint16_t to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if (std::isnan(f)) return 0x7fc0;
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

static float from_bf16(uint16_t h) {
  uint32_t x = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

double round_to(grl_dtype dt, double x) {
  switch (dt) {
    case GRL_F32: return static_cast<float>(x);
    case GRL_F16: return from_half(to_half(static_cast<float>(x)));
    case GRL_BF16: return from_bf16(to_bf16(static_cast<float>(x)));
    case GRL_I32: return static_cast<double>(static_cast<int32_t>(x));
    case GRL_I64: return static_cast<double>(static_cast<int64_t>(x));
    case GRL_U8: return static_cast<double>(static_cast<uint8_t>(static_cast<int>(x)));
    default: return x;
  }
}

grl_tensor upload(grl_device dev, const Host& h, grl_dtype dt) {
  size_t n = h.v.size(), es = grl_dtype_size(dt);
  std::vector<uint8_t> bytes(n * es);
  for (size_t i = 0; i < n; ++i) {
    double x = h.v[i];
    uint8_t* p = bytes.data() + i * es;
    switch (dt) {
      case GRL_F32: { float f = static_cast<float>(x); std::memcpy(p, &f, 4); break; }
      case GRL_F16: { uint16_t u = to_half(static_cast<float>(x)); std::memcpy(p, &u, 2); break; }
      case GRL_BF16: { uint16_t u = to_bf16(static_cast<float>(x)); std::memcpy(p, &u, 2); break; }
      case GRL_I32: { int32_t u = static_cast<int32_t>(x); std::memcpy(p, &u, 4); break; }
      case GRL_I64: { int64_t u = static_cast<int64_t>(x); std::memcpy(p, &u, 8); break; }
      default: { uint8_t u = static_cast<uint8_t>(static_cast<int>(x)); *p = u; break; }
    }
  }
  grl_tensor t = nullptr;
  grl_status s = grl_tensor_from_host(dev, dt, h.shape.data(), static_cast<int32_t>(h.shape.size()), bytes.data(),
                                      bytes.size(), &t);
  EXPECT_EQ(s, GRL_OK) << grl_last_error_message();
  return t;
}

grl_tensor upload_i64(grl_device dev, const std::vector<int64_t>& v, Shape s, grl_dtype dt) {
  Host h = Host::zeros(std::move(s));
  for (size_t i = 0; i < v.size(); ++i) h.v[i] = static_cast<double>(v[i]);
  return upload(dev, h, dt);
}

Host download(grl_tensor t) {
  Host h;
  int nd = grl_tensor_ndim(t);
  for (int i = 0; i < nd; ++i) h.shape.push_back(grl_tensor_dim(t, i));
  grl_dtype dt = grl_tensor_dtype(t);
  size_t n = static_cast<size_t>(grl_tensor_numel(t)), es = grl_dtype_size(dt);
  std::vector<uint8_t> bytes(n * es);
  grl_status s = grl_tensor_download(t, bytes.data(), bytes.size());
  EXPECT_EQ(s, GRL_OK) << grl_last_error_message();
  h.v.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = bytes.data() + i * es;
    switch (dt) {
      case GRL_F32: { float f; std::memcpy(&f, p, 4); h.v[i] = f; break; }
      case GRL_F16: { uint16_t u; std::memcpy(&u, p, 2); h.v[i] = from_half(u); break; }
      case GRL_BF16: { uint16_t u; std::memcpy(&u, p, 2); h.v[i] = from_bf16(u); break; }
      case GRL_I32: { int32_t u; std::memcpy(&u, p, 4); h.v[i] = u; break; }
      case GRL_I64: { int64_t u; std::memcpy(&u, p, 8); h.v[i] = static_cast<double>(u); break; }
      default: h.v[i] = *p; break;
    }
  }
  return h;
}

Tol tol(grl_dtype dt) {
  switch (dt) {
    case GRL_F32: return {1e-5, 1e-6};
    case GRL_F16: return {2e-3, 2e-3};
    case GRL_BF16: return {1.6e-2, 1e-2};
    default: return {0, 0};
  }
}

::testing::AssertionResult close(const Host& got, const Host& ref, Tol t) {
  if (got.shape != ref.shape)
    return ::testing::AssertionFailure() << "shape " << str(got.shape) << " != expected " << str(ref.shape);
  int bad = 0;
  std::ostringstream o;
  for (size_t i = 0; i < ref.v.size(); ++i) {
    double g = got.v[i], r = ref.v[i];
    bool ok = (std::isnan(r) && std::isnan(g)) || (std::isinf(r) && g == r) ||
              std::abs(g - r) <= t.atol + t.rtol * std::abs(r);
    if (!ok) {
      if (bad < 5) o << "\n  [" << i << "] got " << g << " expected " << r;
      ++bad;
    }
  }
  if (bad) return ::testing::AssertionFailure() << bad << " of " << ref.v.size() << " values differ:" << o.str();
  return ::testing::AssertionSuccess();
}

grl_device DeviceTest::dev = nullptr;

void DeviceTest::SetUpTestSuite() {
  if (dev) return;
  grl_device_options o = GRL_DEVICE_OPTIONS_INIT;
  o.validation = 1;
  grl_status s = grl_device_create(&o, &dev);
  ASSERT_EQ(s, GRL_OK) << grl_last_error_message();
}

void DeviceTest::TearDownTestSuite() {}

void DeviceTest::SetUp() {
  ASSERT_NE(dev, nullptr);
  grl_device_validation_messages(dev, &messages_before_);
}

void DeviceTest::TearDown() {
  ASSERT_EQ(grl_device_synchronize(dev), GRL_OK) << grl_last_error_message();
  uint64_t after = 0;
  grl_device_validation_messages(dev, &after);
  EXPECT_EQ(after, messages_before_) << "the Vulkan validation layer reported messages during this test";
}

std::mt19937_64& rng() {
  static std::mt19937_64 r(20261123);
  return r;
}

}  // namespace gt
