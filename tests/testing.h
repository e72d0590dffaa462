// Test support: a shared validated device, host tensors in float64 with numpy-style broadcasting
// for references, dtype conversions and per-dtype tolerances.
#pragma once
#include <grilly.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace gt {

using Shape = std::vector<int64_t>;

// A host array in float64: the reference side of every check.
struct Host {
  Shape shape;
  std::vector<double> v;
  int64_t numel() const;
  static Host zeros(Shape s);
  static Host random(Shape s, std::mt19937_64& rng, double lo = -2.0, double hi = 2.0);
  double& operator[](int64_t i) { return v[static_cast<size_t>(i)]; }
  double operator[](int64_t i) const { return v[static_cast<size_t>(i)]; }
};

int64_t numel(const Shape& s);
std::vector<int64_t> strides(const Shape& s);
Shape broadcast(const Shape& a, const Shape& b);
// Index into `from` (broadcast to `to`) for flat index i of `to`.
int64_t bcast_index(const Shape& to, const Shape& from, int64_t i);
std::string str(const Shape& s);

// Rounds a double to what the dtype can hold (f16/bf16 round to nearest even; ints truncate).
double round_to(grl_dtype dt, double x);
// Device tensor from host values (converted to dtype).
grl_tensor upload(grl_device dev, const Host& h, grl_dtype dt = GRL_F32);
grl_tensor upload_i64(grl_device dev, const std::vector<int64_t>& v, Shape s, grl_dtype dt = GRL_I64);
// Host values of a device tensor (any dtype), with its shape.
Host download(grl_tensor t);

struct Tol {
  double rtol, atol;
};
// Tolerances per dtype for a result computed in f32 from rounded inputs.
Tol tol(grl_dtype dt);
// Checks shape and every value; reports the first few mismatches.
::testing::AssertionResult close(const Host& got, const Host& ref, Tol t);

// RAII for tensors created in tests.
struct T {
  grl_tensor t = nullptr;
  T() = default;
  explicit T(grl_tensor x) : t(x) {}
  T(const T&) = delete;
  T& operator=(const T&) = delete;
  T(T&& o) noexcept : t(o.t) { o.t = nullptr; }
  T& operator=(T&& o) noexcept {
    std::swap(t, o.t);
    return *this;
  }
  ~T() { grl_tensor_release(t); }
  operator grl_tensor() const { return t; }
  grl_tensor* out() {
    grl_tensor_release(t);
    t = nullptr;
    return &t;
  }
};

// Shared device with validation on. Tests derive from this fixture; each test fails if the
// validation layer reported anything during it.
class DeviceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;
  static grl_device dev;
  uint64_t messages_before_ = 0;
};

std::mt19937_64& rng();

// Expects a failed status and a message mentioning `needle`.
#define EXPECT_GRL_ERROR(call, status, needle)                                              \
  do {                                                                                      \
    grl_status s_ = (call);                                                                 \
    EXPECT_EQ(s_, status) << grl_status_string(s_) << ": " << grl_last_error_message();     \
    EXPECT_NE(std::string(grl_last_error_message()).find(needle), std::string::npos)        \
        << "message: " << grl_last_error_message();                                         \
  } while (0)

#define ASSERT_GRL_OK(call)                                                                 \
  do {                                                                                      \
    grl_status s_ = (call);                                                                 \
    ASSERT_EQ(s_, GRL_OK) << grl_status_string(s_) << ": " << grl_last_error_message();     \
  } while (0)

}  // namespace gt
