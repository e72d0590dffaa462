// Activation family: pointwise activations (through the shared unary kernel and its backward),
// gated linear units over the last axis, and softmax / log-softmax along any axis, with their
// backward rules and kernels.
#include <cmath>

#include "autograd/autograd.h"
#include "ops/compose.h"
#include "ops/elementwise.h"

namespace grl {

namespace {

struct GluPush {
  uint64_t x, out;
  uint32_t n, h, op, pad;
};
static_assert(sizeof(GluPush) == 32);

// softmax_rows*.comp and softmax_long.comp.
struct RowPush {
  uint64_t x, out;
  uint32_t rows, n, log, vec;
};
static_assert(sizeof(RowPush) == 32);

// softmax_cols.comp.
struct ColPush {
  uint64_t x, out;
  uint32_t cols, len, inner, log, segs, pad;
};
static_assert(sizeof(ColPush) == 40);

// glu_grad.comp.
struct GluGradPush {
  uint64_t x, g, dx;
  uint32_t n, h, op, pad;
};
static_assert(sizeof(GluGradPush) == 40);

// softmax_grad_rows*.comp and softmax_grad_long.comp.
struct RowGradPush {
  uint64_t y, g, dx;
  uint32_t rows, n, log, vec;
};
static_assert(sizeof(RowGradPush) == 40);

// softmax_grad_cols.comp.
struct ColGradPush {
  uint64_t y, g, dx;
  uint32_t cols, len, inner, log, segs, pad;
};
static_assert(sizeof(ColGradPush) == 48);

enum class Glu : uint32_t { Swiglu = 0, Geglu = 1, Reglu = 2 };

// The kernel of a row family for contiguous rows of length n: the smallest register-resident one
// that holds the row, else the streamed one (see row_kernel for the capacities).
const Kernel& pick_row_kernel(const KernelSet (&in_registers)[6], const KernelSet& streamed, const char* fn,
                              grl_dtype dt, int64_t n) {
  for (int i = 0; i < 6; ++i)
    if (n <= (int64_t{512} << i) && (i < 5 || dt == GRL_F32)) return in_registers[i].get(fn, "x", dt);
  return streamed.get(fn, "x", dt);
}

// The kernel for contiguous rows of length n: the smallest register-resident one that holds the
// row (softmax_rows_<capacity>.comp, 32 to 1024 threads with 16 elements each, so every thread has
// four wide loads in flight), else softmax_long.comp, which streams rows of any length. 16-bit rows
// longer than 8192 stream too: on an H100 that beats 1024 threads holding 8-byte packs
// (2.2 vs 1.6 TB/s, f16 softmax).
const Kernel& row_kernel(const char* fn, grl_dtype dt, int64_t n) {
  static const KernelSet in_registers[] = {
      {"activation/softmax_rows_512", {GRL_F32, GRL_F16, GRL_BF16}},
      {"activation/softmax_rows_1024", {GRL_F32, GRL_F16, GRL_BF16}},
      {"activation/softmax_rows_2048", {GRL_F32, GRL_F16, GRL_BF16}},
      {"activation/softmax_rows_4096", {GRL_F32, GRL_F16, GRL_BF16}},
      {"activation/softmax_rows_8192", {GRL_F32, GRL_F16, GRL_BF16}},
      {"activation/softmax_rows_16384", {GRL_F32}},
  };
  static const KernelSet streamed("activation/softmax_long", {GRL_F32, GRL_F16, GRL_BF16});
  return pick_row_kernel(in_registers, streamed, fn, dt, n);
}

// The backward's row kernels, with the forward's capacities: y and g together take twice the
// forward's registers, still well within what a thread has at 16 elements of each.
const Kernel& row_grad_kernel(const char* fn, grl_dtype dt, int64_t n) {
  static const KernelSet in_registers[] = {
      {"activation/softmax_grad_rows_512", {GRL_F32, GRL_F16, GRL_BF16}},
      {"activation/softmax_grad_rows_1024", {GRL_F32, GRL_F16, GRL_BF16}},
      {"activation/softmax_grad_rows_2048", {GRL_F32, GRL_F16, GRL_BF16}},
      {"activation/softmax_grad_rows_4096", {GRL_F32, GRL_F16, GRL_BF16}},
      {"activation/softmax_grad_rows_8192", {GRL_F32, GRL_F16, GRL_BF16}},
      {"activation/softmax_grad_rows_16384", {GRL_F32}},
  };
  static const KernelSet streamed("activation/softmax_grad_long", {GRL_F32, GRL_F16, GRL_BF16});
  return pick_row_kernel(in_registers, streamed, fn, dt, n);
}

// Threads per column of the column kernels: more while columns are few and long, so the GPU has
// work in flight.
uint32_t col_segments(int64_t cols, int64_t len) {
  uint32_t segs = 1;
  while (segs < 32 && segs * 16 <= len && cols * segs < (int64_t{1} << 18)) segs *= 2;
  return segs;
}

// A backward operand: contiguous, in the dtype of the tensor it belongs with.
TensorRef operand(Tensor& g, grl_dtype dt) {
  if (g.dtype == dt) return contiguous(g);
  return op::call(grl_cast, &g, dt);
}

void finite_param(const char* fn, const char* name, double v) {
  if (!std::isfinite(v))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' = %g; expected a finite number", fn, name, v);
}

TensorRef activation(const char* fn, UnaryOp op, Tensor& x, float p0 = 0.f, float p1 = 0.f) {
  float_dtype(fn, "x", x);
  return unary(fn, op, x, p0, p1);
}

// `keep` (may be null) receives the contiguous input, for the backward.
TensorRef glu(const char* fn, Glu op, Tensor& x, TensorRef* keep) {
  static const KernelSet ks("activation/glu", {GRL_F32, GRL_F16, GRL_BF16});
  const Kernel& k = ks.get(fn, "x", x.dtype);
  if (x.shape.ndim == 0 || x.shape[x.shape.ndim - 1] % 2 != 0)
    fail(GRL_ERROR_SHAPE, "%s: 'x' has shape %s; expected a last axis of even size 2H (split as [a, b])", fn,
         x.shape.str().c_str());
  check_numel_u32(fn, x.numel());
  Shape shape = x.shape;
  const int64_t h = shape[shape.ndim - 1] / 2;
  shape[shape.ndim - 1] = h;
  TensorRef out = new_tensor(x.device(), x.dtype, shape);
  if (shape.numel() == 0) return out;
  TensorRef tx = contiguous(x);
  if (keep) *keep = tx;
  GluPush pc{};
  pc.x = tx->address();
  pc.out = out->address();
  pc.n = static_cast<uint32_t>(shape.numel());
  pc.h = static_cast<uint32_t>(h);
  pc.op = static_cast<uint32_t>(op);
  x.dev().dispatch_1d(k, &pc, sizeof pc, groups_for(pc.n), {tx->block()}, {out->block()});
  return out;
}

TensorRef softmax(const char* fn, Tensor& x, int32_t axis, bool log) {
  static const KernelSet cols_k("activation/softmax_cols", {GRL_F32, GRL_F16, GRL_BF16});
  const Kernel& kc = cols_k.get(fn, "x", x.dtype);
  const int32_t ax = arg_axis(fn, "axis", axis, x.shape.ndim);
  check_numel_u32(fn, x.numel());
  TensorRef out = new_tensor(x.device(), x.dtype, x.shape);
  if (x.numel() == 0) return out;
  int64_t outer = 1, len = 1, inner = 1;
  for (int i = 0; i < x.shape.ndim; ++i) (i < ax ? outer : i == ax ? len : inner) *= x.shape[i];
  TensorRef tx = contiguous(x);
  Device& dev = x.dev();
  if (inner == 1) {
    const uint64_t align = 4 * tx->elsize();
    RowPush pc{};
    pc.x = tx->address();
    pc.out = out->address();
    pc.rows = static_cast<uint32_t>(outer);
    pc.n = static_cast<uint32_t>(len);
    pc.log = log ? 1 : 0;
    pc.vec = len % 4 == 0 && pc.x % align == 0 && pc.out % align == 0;
    dev.dispatch_1d(row_kernel(fn, x.dtype, len), &pc, sizeof pc, pc.rows, {tx->block()}, {out->block()});
  } else {
    const uint32_t segs = col_segments(outer * inner, len);
    ColPush pc{};
    pc.x = tx->address();
    pc.out = out->address();
    pc.cols = static_cast<uint32_t>(outer * inner);
    pc.len = static_cast<uint32_t>(len);
    pc.inner = static_cast<uint32_t>(inner);
    pc.log = log ? 1 : 0;
    pc.segs = segs;
    dev.dispatch_1d(kc, &pc, sizeof pc, groups_for(pc.cols, 256 / segs), {tx->block()}, {out->block()});
  }
  return out;
}

// dx of a gated unit from its contiguous input x [..., 2h] and the output gradient.
TensorRef glu_grad(Glu op, Tensor& x, Tensor& g_in) {
  static const KernelSet ks("activation/glu_grad", {GRL_F32, GRL_F16, GRL_BF16});
  const Kernel& k = ks.get("glu backward", "x", x.dtype);
  TensorRef dx = new_tensor(x.device(), x.dtype, x.shape);
  const int64_t h = x.shape[x.shape.ndim - 1] / 2;
  const int64_t n = h == 0 ? 0 : x.numel() / 2;
  if (n == 0) return dx;
  TensorRef g = operand(g_in, x.dtype);
  GluGradPush pc{x.address(), g->address(), dx->address(), static_cast<uint32_t>(n), static_cast<uint32_t>(h),
                 static_cast<uint32_t>(op), 0};
  x.dev().dispatch_1d(k, &pc, sizeof pc, groups_for(n), {x.block(), g->block()}, {dx->block()});
  return dx;
}

// dx of softmax / log-softmax along axis `ax` from the forward's (contiguous) output y.
TensorRef softmax_grad(Tensor& y, Tensor& g_in, int32_t ax, bool log) {
  static const KernelSet cols_k("activation/softmax_grad_cols", {GRL_F32, GRL_F16, GRL_BF16});
  const char* fn = log ? "log_softmax backward" : "softmax backward";
  TensorRef dx = new_tensor(y.device(), y.dtype, y.shape);
  if (y.numel() == 0) return dx;
  TensorRef g = operand(g_in, y.dtype);
  int64_t outer = 1, len = 1, inner = 1;
  for (int i = 0; i < y.shape.ndim; ++i) (i < ax ? outer : i == ax ? len : inner) *= y.shape[i];
  Device& dev = y.dev();
  if (inner == 1) {
    const uint64_t align = 4 * y.elsize();
    RowGradPush pc{};
    pc.y = y.address();
    pc.g = g->address();
    pc.dx = dx->address();
    pc.rows = static_cast<uint32_t>(outer);
    pc.n = static_cast<uint32_t>(len);
    pc.log = log ? 1 : 0;
    pc.vec = len % 4 == 0 && pc.y % align == 0 && pc.g % align == 0 && pc.dx % align == 0;
    dev.dispatch_1d(row_grad_kernel(fn, y.dtype, len), &pc, sizeof pc, pc.rows, {y.block(), g->block()},
                    {dx->block()});
  } else {
    ColGradPush pc{};
    pc.y = y.address();
    pc.g = g->address();
    pc.dx = dx->address();
    pc.cols = static_cast<uint32_t>(outer * inner);
    pc.len = static_cast<uint32_t>(len);
    pc.inner = static_cast<uint32_t>(inner);
    pc.log = log ? 1 : 0;
    pc.segs = col_segments(outer * inner, len);
    dev.dispatch_1d(cols_k.get(fn, "x", y.dtype), &pc, sizeof pc, groups_for(pc.cols, 256 / pc.segs),
                    {y.block(), g->block()}, {dx->block()});
  }
  return dx;
}

void record_glu(const char* name, Glu op, Tensor& x, TensorRef& cx, Tensor& out) {
  if (!autograd::needs_grad({&x})) return;
  // An empty result has no contiguous copy: the backward then only needs x's shape.
  TensorRef sx = cx ? autograd::saved(*cx) : autograd::saved(x);
  autograd::record(name, out, {&x}, [op, sx](Tensor& g) {
    std::vector<TensorRef> r;
    r.push_back(glu_grad(op, *sx, g));
    return r;
  });
}

void record_softmax(const char* name, Tensor& x, int32_t axis, bool log, Tensor& out) {
  if (!autograd::needs_grad({&x})) return;
  TensorRef sy = autograd::saved(out);
  const int32_t ax = axis < 0 ? axis + x.shape.ndim : axis;
  autograd::record(name, out, {&x}, [sy, ax, log](Tensor& g) {
    std::vector<TensorRef> r;
    r.push_back(softmax_grad(*sy, g, ax, log));
    return r;
  });
}

}  // namespace

GRL_BACKWARD_RULE(relu);
GRL_BACKWARD_RULE(leaky_relu);
GRL_BACKWARD_RULE(elu);
GRL_BACKWARD_RULE(gelu);
GRL_BACKWARD_RULE(silu);
GRL_BACKWARD_RULE(softplus);
GRL_BACKWARD_RULE(mish);
GRL_BACKWARD_RULE(hardswish);
GRL_BACKWARD_RULE(hardsigmoid);
GRL_BACKWARD_RULE(gcu);
GRL_BACKWARD_RULE(roswish);
GRL_BACKWARD_RULE(swiglu);
GRL_BACKWARD_RULE(geglu);
GRL_BACKWARD_RULE(reglu);
GRL_BACKWARD_RULE(softmax);
GRL_BACKWARD_RULE(log_softmax);

}  // namespace grl

using namespace grl;

#define GRL_ACTIVATION(name, op)                                      \
  extern "C" GRL_API grl_status name(grl_tensor x, grl_tensor* out) { \
    GRL_API_BEGIN();                                                  \
    Tensor& tx = arg_tensor(__func__, "x", x);                        \
    GRL_CHECK_OUT(out);                                               \
    DeviceLock lock(tx.dev().mutex());                                \
    TensorRef r = activation(__func__, op, tx);                       \
    record_unary(__func__ + 4, op, tx, *r);                           \
    *out = r.release();                                               \
    GRL_API_END();                                                    \
  }

#define GRL_GLU(name, op)                                             \
  extern "C" GRL_API grl_status name(grl_tensor x, grl_tensor* out) { \
    GRL_API_BEGIN();                                                  \
    Tensor& tx = arg_tensor(__func__, "x", x);                        \
    GRL_CHECK_OUT(out);                                               \
    DeviceLock lock(tx.dev().mutex());                                \
    TensorRef cx;                                                     \
    TensorRef r = glu(__func__, op, tx, autograd::needs_grad({&tx}) ? &cx : nullptr); \
    record_glu(__func__ + 4, op, tx, cx, *r);                         \
    *out = r.release();                                               \
    GRL_API_END();                                                    \
  }

GRL_ACTIVATION(grl_relu, UnaryOp::Relu)
GRL_ACTIVATION(grl_silu, UnaryOp::Silu)
GRL_ACTIVATION(grl_mish, UnaryOp::Mish)
GRL_ACTIVATION(grl_hardswish, UnaryOp::Hardswish)
GRL_ACTIVATION(grl_hardsigmoid, UnaryOp::Hardsigmoid)
GRL_ACTIVATION(grl_gcu, UnaryOp::Gcu)

GRL_GLU(grl_swiglu, Glu::Swiglu)
GRL_GLU(grl_geglu, Glu::Geglu)
GRL_GLU(grl_reglu, Glu::Reglu)

extern "C" GRL_API grl_status grl_leaky_relu(grl_tensor x, double negative_slope, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  finite_param(__func__, "negative_slope", negative_slope);
  DeviceLock lock(tx.dev().mutex());
  const float slope = static_cast<float>(negative_slope);
  TensorRef r = activation(__func__, UnaryOp::LeakyRelu, tx, slope);
  record_unary("leaky_relu", UnaryOp::LeakyRelu, tx, *r, slope);
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_elu(grl_tensor x, double alpha, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  finite_param(__func__, "alpha", alpha);
  DeviceLock lock(tx.dev().mutex());
  const float a = static_cast<float>(alpha);
  TensorRef r = activation(__func__, UnaryOp::Elu, tx, a);
  record_unary("elu", UnaryOp::Elu, tx, *r, a);
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_gelu(grl_tensor x, grl_gelu_approximation approximate, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  if (approximate != GRL_GELU_EXACT && approximate != GRL_GELU_TANH)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'approximate' = %d; expected GRL_GELU_EXACT (0) or GRL_GELU_TANH (1)",
         __func__, static_cast<int>(approximate));
  DeviceLock lock(tx.dev().mutex());
  const UnaryOp op = approximate == GRL_GELU_TANH ? UnaryOp::GeluTanh : UnaryOp::Gelu;
  TensorRef r = activation(__func__, op, tx);
  record_unary("gelu", op, tx, *r);
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_softplus(grl_tensor x, double beta, double threshold, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  if (!std::isfinite(beta) || beta == 0.0)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'beta' = %g; expected a finite, non-zero number (PyTorch's default is 1)",
         __func__, beta);
  if (std::isnan(threshold))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'threshold' is NaN; expected a number (PyTorch's default is 20)", __func__);
  DeviceLock lock(tx.dev().mutex());
  const float b = static_cast<float>(beta), t = static_cast<float>(threshold);
  TensorRef r = activation(__func__, UnaryOp::Softplus, tx, b, t);
  record_unary("softplus", UnaryOp::Softplus, tx, *r, b, t);
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_roswish(grl_tensor x, double alpha, double beta, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  finite_param(__func__, "alpha", alpha);
  finite_param(__func__, "beta", beta);
  DeviceLock lock(tx.dev().mutex());
  const float a = static_cast<float>(alpha), b = static_cast<float>(beta);
  TensorRef r = activation(__func__, UnaryOp::Roswish, tx, a, b);
  record_unary("roswish", UnaryOp::Roswish, tx, *r, a, b);
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_softmax(grl_tensor x, int32_t axis, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  DeviceLock lock(tx.dev().mutex());
  TensorRef r = softmax(__func__, tx, axis, false);
  record_softmax("softmax", tx, axis, false, *r);
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_log_softmax(grl_tensor x, int32_t axis, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  DeviceLock lock(tx.dev().mutex());
  TensorRef r = softmax(__func__, tx, axis, true);
  record_softmax("log_softmax", tx, axis, true, *r);
  *out = r.release();
  GRL_API_END();
}
