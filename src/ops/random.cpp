// Random family: counter-based Philox-4x32-10 sampling (uniform, normal, bernoulli), inverted
// dropout (with its backward rule), and the Xavier/Kaiming initialisers built on the uniform and
// normal recipes.
#include <cmath>
#include <limits>

#include "autograd/autograd.h"
#include "ops/launch.h"

namespace grl {

namespace {

enum class Mode : uint32_t { Uniform = 0, Normal = 1, Bernoulli = 2, Dropout = 3 };

struct RandomPush {
  uint64_t x, out, offset;
  uint32_t key0, key1, n, mode, dt, threshold;
  float a, b, hi, below;
};
static_assert(sizeof(RandomPush) == 64);

struct Draw {
  Mode mode = Mode::Uniform;
  uint64_t seed = 0, offset = 0;
  uint32_t threshold = 0;
  float a = 0, b = 0, hi = 0, below = 0;
};

// Writes element i of `out` (contiguous) from counter offset + i; `x` is the dropout input.
void launch(Tensor& out, const Tensor* x, const Draw& d) {
  static const Kernel k("random/philox");
  int64_t n = out.numel();
  if (n == 0) return;
  RandomPush pc{};
  pc.x = x ? x->address() : 0;
  pc.out = out.address();
  pc.offset = d.offset;
  pc.key0 = static_cast<uint32_t>(d.seed);
  pc.key1 = static_cast<uint32_t>(d.seed >> 32);
  pc.n = static_cast<uint32_t>(n);
  pc.mode = static_cast<uint32_t>(d.mode);
  pc.dt = out.dtype;
  pc.threshold = d.threshold;
  pc.a = d.a;
  pc.b = d.b;
  pc.hi = d.hi;
  pc.below = d.below;
  out.dev().dispatch_1d(k, &pc, sizeof pc, groups_for(n), {x ? x->block() : nullptr}, {out.block()});
}

void random_dtype(const char* fn, grl_dtype dt, bool any) {
  arg_dtype(fn, "dtype", dt);
  if (!any && !is_float(dt))
    fail(GRL_ERROR_DTYPE, "%s: 'dtype' is %s; this op produces f32, f16 or bf16", fn, dtype_name(dt));
}

void probability(const char* fn, double p) {
  if (!(p >= 0.0 && p <= 1.0))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: p is %g; expected a probability in [0, 1]", fn, p);
}

// 1 (bernoulli) or drop (dropout) when the top 24 bits k of word 0 satisfy k < ceil(p * 2^24),
// which is exactly k * 2^-24 < p.
uint32_t threshold_of(double p) { return static_cast<uint32_t>(std::ceil(p * 16777216.0)); }

Draw uniform_draw(const char* fn, double low, double high) {
  if (!std::isfinite(low) || !std::isfinite(high) || low > high)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: expected finite low <= high; got low = %g, high = %g", fn, low, high);
  Draw d;
  d.mode = Mode::Uniform;
  d.a = static_cast<float>(low);
  d.b = static_cast<float>(high - low);
  if (!std::isfinite(d.b))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: high - low = %g does not fit f32", fn, high - low);
  d.hi = static_cast<float>(high);
  d.below = std::nextafter(d.hi, -std::numeric_limits<float>::infinity());
  // An empty f32 interval (low and high round to one float): every value is float(low).
  if (!(d.a < d.hi)) d.hi = std::numeric_limits<float>::infinity();
  return d;
}

Draw normal_draw(const char* fn, double mean, double std) {
  if (!std::isfinite(mean) || !std::isfinite(std) || std < 0)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: expected a finite mean and a finite std >= 0; got mean = %g, std = %g", fn,
         mean, std);
  Draw d;
  d.mode = Mode::Normal;
  d.a = static_cast<float>(mean);
  d.b = static_cast<float>(std);
  return d;
}

TensorRef sample(const char* fn, grl_device_s& dev, const int64_t* shape, int32_t ndim, grl_dtype dtype,
                 const Draw& d) {
  Shape s = arg_shape(fn, "shape", shape, ndim);
  check_numel_u32(fn, s.numel());
  TensorRef out = new_tensor(&dev, dtype, s);
  launch(*out, nullptr, d);
  return out;
}

// PyTorch's _calculate_fan_in_and_fan_out.
void fans(const char* fn, const Tensor& t, double& fan_in, double& fan_out) {
  float_dtype(fn, "t", t);
  if (t.shape.ndim < 2)
    fail(GRL_ERROR_SHAPE, "%s: 't' %s has %d dims; fans need a tensor of >= 2 dims", fn, t.shape.str().c_str(),
         t.shape.ndim);
  double receptive = 1;
  for (int d = 2; d < t.shape.ndim; ++d) receptive *= static_cast<double>(t.shape[d]);
  fan_in = static_cast<double>(t.shape[1]) * receptive;
  fan_out = static_cast<double>(t.shape[0]) * receptive;
}

// Writes a draw into t in place (views included): element i is t's i-th element in row-major
// order, counter i (offset 0).
void init_into(const char* fn, Tensor& t, Draw d, uint64_t seed) {
  check_numel_u32(fn, t.numel());
  if (t.numel() == 0) return;
  d.seed = seed;
  d.offset = 0;
  if (t.contiguous()) {
    launch(t, nullptr, d);
    return;
  }
  TensorRef tmp = new_tensor(t.device(), t.dtype, t.shape);
  launch(*tmp, nullptr, d);
  copy_into(t, *tmp);
}

double kaiming_std(const char* fn, const Tensor& t, double a, grl_fan_mode mode) {
  if (mode != GRL_FAN_IN && mode != GRL_FAN_OUT)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: mode is %d; expected GRL_FAN_IN (0) or GRL_FAN_OUT (1)", fn,
         static_cast<int>(mode));
  if (!std::isfinite(a)) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: a is %g; expected a finite slope", fn, a);
  double fan_in, fan_out;
  fans(fn, t, fan_in, fan_out);
  double fan = mode == GRL_FAN_IN ? fan_in : fan_out;
  double gain = std::sqrt(2.0 / (1.0 + a * a));
  return fan > 0 ? gain / std::sqrt(fan) : 0.0;
}

double xavier_std(const char* fn, const Tensor& t, double gain) {
  if (!std::isfinite(gain)) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: gain is %g; expected a finite value", fn, gain);
  double fan_in, fan_out;
  fans(fn, t, fan_in, fan_out);
  return fan_in + fan_out > 0 ? std::abs(gain) * std::sqrt(2.0 / (fan_in + fan_out)) : 0.0;
}

}  // namespace

GRL_BACKWARD_RULE(dropout);

}  // namespace grl

using namespace grl;

extern "C" {

GRL_API grl_status grl_rand_uniform(grl_device device, const int64_t* shape, int32_t ndim, grl_dtype dtype,
                                    double low, double high, uint64_t seed, uint64_t offset, grl_tensor* out) {
  GRL_API_BEGIN();
  auto& d = arg_device(__func__, "device", device);
  random_dtype(__func__, dtype, false);
  GRL_CHECK_OUT(out);
  Draw dr = uniform_draw(__func__, low, high);
  dr.seed = seed;
  dr.offset = offset;
  DeviceLock lock(d.impl->mutex());
  *out = sample(__func__, d, shape, ndim, dtype, dr).release();
  GRL_API_END();
}

GRL_API grl_status grl_rand_normal(grl_device device, const int64_t* shape, int32_t ndim, grl_dtype dtype,
                                   double mean, double std, uint64_t seed, uint64_t offset, grl_tensor* out) {
  GRL_API_BEGIN();
  auto& d = arg_device(__func__, "device", device);
  random_dtype(__func__, dtype, false);
  GRL_CHECK_OUT(out);
  Draw dr = normal_draw(__func__, mean, std);
  dr.seed = seed;
  dr.offset = offset;
  DeviceLock lock(d.impl->mutex());
  *out = sample(__func__, d, shape, ndim, dtype, dr).release();
  GRL_API_END();
}

GRL_API grl_status grl_bernoulli(grl_device device, const int64_t* shape, int32_t ndim, double p, grl_dtype dtype,
                                 uint64_t seed, uint64_t offset, grl_tensor* out) {
  GRL_API_BEGIN();
  auto& d = arg_device(__func__, "device", device);
  random_dtype(__func__, dtype, true);
  GRL_CHECK_OUT(out);
  probability(__func__, p);
  Draw dr;
  dr.mode = Mode::Bernoulli;
  dr.threshold = threshold_of(p);
  dr.seed = seed;
  dr.offset = offset;
  DeviceLock lock(d.impl->mutex());
  *out = sample(__func__, d, shape, ndim, dtype, dr).release();
  GRL_API_END();
}

GRL_API grl_status grl_dropout(grl_tensor x, double p, uint32_t training, uint64_t seed, uint64_t offset,
                               grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& t = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  float_dtype(__func__, "x", t);
  probability(__func__, p);
  if (training > 1)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: training is %u; expected 0 or 1", __func__, training);
  check_numel_u32(__func__, t.numel());
  DeviceLock lock(t.dev().mutex());
  TensorRef o = new_tensor(t.device(), t.dtype, t.shape);
  bool identity = training == 0 || p == 0.0, zero = !identity && p == 1.0;
  Draw dr;
  dr.mode = Mode::Dropout;
  dr.threshold = threshold_of(p);
  dr.a = p < 1.0 ? static_cast<float>(1.0 / (1.0 - p)) : 0.0f;
  dr.seed = seed;
  dr.offset = offset;
  if (identity) {
    copy_into(*o, t);
  } else if (zero) {
    fill(*o, 0.0);
  } else {
    TensorRef xc = contiguous(t);
    launch(*o, xc.get(), dr);
  }
  if (autograd::needs_grad({&t})) {
    // The mask is drawn again from the same counters instead of being kept: one pass over g with
    // the forward's kernel, and no saved tensor.
    autograd::record("dropout", *o, {&t}, [identity, zero, dr](Tensor& g) {
      std::vector<TensorRef> r;
      if (identity) {
        r.push_back(TensorRef::retain(&g));
        return r;
      }
      TensorRef gi = new_tensor(g.device(), g.dtype, g.shape);
      if (zero) {
        fill(*gi, 0.0);
      } else {
        TensorRef gc = contiguous(g);
        launch(*gi, gc.get(), dr);
      }
      r.push_back(gi);
      return r;
    });
  }
  *out = o.release();
  GRL_API_END();
}

GRL_API grl_status grl_init_xavier_uniform_(grl_tensor t, double gain, uint64_t seed) {
  GRL_API_BEGIN();
  Tensor& tt = arg_tensor(__func__, "t", t);
  double bound = std::sqrt(3.0) * xavier_std(__func__, tt, gain);
  DeviceLock lock(tt.dev().mutex());
  init_into(__func__, tt, uniform_draw(__func__, -bound, bound), seed);
  GRL_API_END();
}

GRL_API grl_status grl_init_xavier_normal_(grl_tensor t, double gain, uint64_t seed) {
  GRL_API_BEGIN();
  Tensor& tt = arg_tensor(__func__, "t", t);
  double std = xavier_std(__func__, tt, gain);
  DeviceLock lock(tt.dev().mutex());
  init_into(__func__, tt, normal_draw(__func__, 0.0, std), seed);
  GRL_API_END();
}

GRL_API grl_status grl_init_kaiming_uniform_(grl_tensor t, double a, grl_fan_mode mode, uint64_t seed) {
  GRL_API_BEGIN();
  Tensor& tt = arg_tensor(__func__, "t", t);
  double bound = std::sqrt(3.0) * kaiming_std(__func__, tt, a, mode);
  DeviceLock lock(tt.dev().mutex());
  init_into(__func__, tt, uniform_draw(__func__, -bound, bound), seed);
  GRL_API_END();
}

GRL_API grl_status grl_init_kaiming_normal_(grl_tensor t, double a, grl_fan_mode mode, uint64_t seed) {
  GRL_API_BEGIN();
  Tensor& tt = arg_tensor(__func__, "t", t);
  double std = kaiming_std(__func__, tt, a, mode);
  DeviceLock lock(tt.dev().mutex());
  init_into(__func__, tt, normal_draw(__func__, 0.0, std), seed);
  GRL_API_END();
}

}  // extern "C"
