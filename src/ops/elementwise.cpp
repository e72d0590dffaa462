// Elementwise family: broadcasting binary arithmetic and comparisons, scalar forms, unary math,
// clamp and where. Activations reuse the unary kernel (src/ops/activation.cpp).
#include "ops/elementwise.h"

#include <cmath>

#include "autograd/autograd.h"
#include "ops/compose.h"

namespace grl {

namespace {

struct BinaryPush {
  uint64_t a, b, out;
  int64_t iscalar;
  float fscalar;
  uint32_t n, op, ndim, scalar, vec4_ok;
  uint32_t shape[4], sa[4], sb[4];
};
static_assert(sizeof(BinaryPush) == 104);

struct UnaryPush {
  uint64_t x, out;
  uint32_t n, op, ndim, vec4_ok;
  float p0, p1;
  uint32_t shape[4], sx[4];
};
static_assert(sizeof(UnaryPush) == 72);

struct WherePush {
  uint64_t cond, a, b, out;
  uint32_t n, ndim;
  uint32_t shape[4], sc[4], sa[4], sb[4];
};
static_assert(sizeof(WherePush) == 104);

const KernelSet& binary_kernels() {
  static const KernelSet k("elementwise/binary", {GRL_F32, GRL_F16, GRL_BF16, GRL_I32, GRL_I64, GRL_U8});
  return k;
}

// Flat f32 launches take four elements per thread with 16-byte accesses when everything lines up.
bool vec4_ok(const Geometry& g, grl_dtype dt, int64_t n, std::initializer_list<uint64_t> addrs) {
  if (g.ndim != 0 || dt != GRL_F32 || n % 4 != 0) return false;
  for (uint64_t a : addrs)
    if (a % 16 != 0) return false;
  return true;
}

uint64_t launch_groups(bool vec4, int64_t n) { return groups_for(vec4 ? n / 4 : n); }

bool is_compare(BinaryOp op) { return static_cast<uint32_t>(op) >= static_cast<uint32_t>(BinaryOp::Eq); }

void set_geometry(const Geometry& g, uint32_t& ndim, uint32_t* shape, std::initializer_list<uint32_t*> strides) {
  ndim = static_cast<uint32_t>(g.ndim);
  for (int d = 0; d < 4; ++d) shape[d] = g.shape[static_cast<size_t>(d)];
  size_t k = 0;
  for (uint32_t* s : strides) {
    for (int d = 0; d < 4; ++d) s[d] = g.stride[k][static_cast<size_t>(d)];
    ++k;
  }
}

}  // namespace

TensorRef binary(const char* fn, BinaryOp op, Tensor& a, Tensor& b) {
  same_device(fn, "a", a, "b", b);
  same_dtype(fn, "a", a, "b", b);
  const Kernel& k = binary_kernels().get(fn, "a", a.dtype);
  Shape shape = broadcast(fn, "a", a.shape, "b", b.shape);
  check_numel_u32(fn, shape.numel());
  TensorRef out = new_tensor(a.device(), is_compare(op) ? GRL_U8 : a.dtype, shape);
  if (shape.numel() == 0) return out;
  TensorRef ta = TensorRef::retain(&a), tb = TensorRef::retain(&b);
  Geometry g = elementwise_geometry(shape, {&a, &b});
  if (!g.fits) {
    ta = materialize(a, shape);
    tb = materialize(b, shape);
    g = elementwise_geometry(shape, {ta.get(), tb.get()});
  }
  BinaryPush pc{};
  pc.a = ta->address();
  pc.b = tb->address();
  pc.out = out->address();
  pc.n = static_cast<uint32_t>(shape.numel());
  pc.op = static_cast<uint32_t>(op);
  set_geometry(g, pc.ndim, pc.shape, {pc.sa, pc.sb});
  pc.vec4_ok = !is_compare(op) && vec4_ok(g, a.dtype, shape.numel(), {pc.a, pc.b, pc.out});
  a.dev().dispatch_1d(k, &pc, sizeof pc, launch_groups(pc.vec4_ok, pc.n), {ta->block(), tb->block()}, {out->block()});
  return out;
}

TensorRef binary_scalar(const char* fn, BinaryOp op, Tensor& a, double s) {
  const Kernel& k = binary_kernels().get(fn, "a", a.dtype);
  if (!is_float(a.dtype) && (s != std::floor(s) || !std::isfinite(s)))
    fail(GRL_ERROR_DTYPE, "%s: the scalar %g is not an integer but 'a' has dtype %s (cast 'a' to a float dtype "
         "first)", fn, s, dtype_name(a.dtype));
  check_numel_u32(fn, a.numel());
  TensorRef out = new_tensor(a.device(), is_compare(op) ? GRL_U8 : a.dtype, a.shape);
  if (a.numel() == 0) return out;
  Geometry g = elementwise_geometry(a.shape, {&a});
  TensorRef ta = TensorRef::retain(&a);
  if (!g.fits) {
    ta = materialize(a, a.shape);
    g = elementwise_geometry(a.shape, {ta.get()});
  }
  BinaryPush pc{};
  pc.a = ta->address();
  pc.b = ta->address();
  pc.out = out->address();
  pc.iscalar = static_cast<int64_t>(s);
  pc.fscalar = static_cast<float>(s);
  pc.scalar = 1;
  pc.n = static_cast<uint32_t>(a.numel());
  pc.op = static_cast<uint32_t>(op);
  set_geometry(g, pc.ndim, pc.shape, {pc.sa});
  pc.vec4_ok = !is_compare(op) && vec4_ok(g, a.dtype, a.numel(), {pc.a, pc.out});
  a.dev().dispatch_1d(k, &pc, sizeof pc, launch_groups(pc.vec4_ok, pc.n), {ta->block()}, {out->block()});
  return out;
}

TensorRef unary(const char* fn, UnaryOp op, Tensor& x, float p0, float p1) {
  static const KernelSet any("elementwise/unary", {GRL_F32, GRL_F16, GRL_BF16, GRL_I32, GRL_I64});
  static const KernelSet floats("elementwise/unary", {GRL_F32, GRL_F16, GRL_BF16});
  bool int_ok = op == UnaryOp::Neg || op == UnaryOp::Abs || op == UnaryOp::Clamp || op == UnaryOp::Relu;
  const Kernel& k = (int_ok ? any : floats).get(fn, "x", x.dtype);
  check_numel_u32(fn, x.numel());
  TensorRef out = new_tensor(x.device(), x.dtype, x.shape);
  if (x.numel() == 0) return out;
  Geometry g = elementwise_geometry(x.shape, {&x});
  TensorRef tx = TensorRef::retain(&x);
  if (!g.fits) {
    tx = materialize(x, x.shape);
    g = elementwise_geometry(x.shape, {tx.get()});
  }
  UnaryPush pc{};
  pc.x = tx->address();
  pc.out = out->address();
  pc.n = static_cast<uint32_t>(x.numel());
  pc.op = static_cast<uint32_t>(op);
  pc.p0 = p0;
  pc.p1 = p1;
  set_geometry(g, pc.ndim, pc.shape, {pc.sx});
  pc.vec4_ok = vec4_ok(g, x.dtype, x.numel(), {pc.x, pc.out});
  x.dev().dispatch_1d(k, &pc, sizeof pc, launch_groups(pc.vec4_ok, pc.n), {tx->block()}, {out->block()});
  return out;
}

TensorRef where(const char* fn, Tensor& cond, Tensor& a, Tensor& b) {
  static const KernelSet ks("elementwise/where", {GRL_F32, GRL_F16, GRL_BF16, GRL_I32, GRL_I64, GRL_U8});
  same_device(fn, "cond", cond, "a", a);
  same_device(fn, "a", a, "b", b);
  same_dtype(fn, "a", a, "b", b);
  if (cond.dtype != GRL_U8)
    fail(GRL_ERROR_DTYPE, "%s: 'cond' has dtype %s; expected u8 (a mask, as comparisons return)", fn,
         dtype_name(cond.dtype));
  const Kernel& k = ks.get(fn, "a", a.dtype);
  Shape shape = broadcast(fn, "a", a.shape, "b", b.shape);
  shape = broadcast(fn, "cond", cond.shape, "a and b", shape);
  check_numel_u32(fn, shape.numel());
  TensorRef out = new_tensor(a.device(), a.dtype, shape);
  if (shape.numel() == 0) return out;
  TensorRef tc = TensorRef::retain(&cond), ta = TensorRef::retain(&a), tb = TensorRef::retain(&b);
  Geometry g = elementwise_geometry(shape, {&cond, &a, &b});
  if (!g.fits) {
    tc = materialize(cond, shape);
    ta = materialize(a, shape);
    tb = materialize(b, shape);
    g = elementwise_geometry(shape, {tc.get(), ta.get(), tb.get()});
  }
  WherePush pc{};
  pc.cond = tc->address();
  pc.a = ta->address();
  pc.b = tb->address();
  pc.out = out->address();
  pc.n = static_cast<uint32_t>(shape.numel());
  set_geometry(g, pc.ndim, pc.shape, {pc.sc, pc.sa, pc.sb});
  a.dev().dispatch_1d(k, &pc, sizeof pc, groups_for(pc.n), {tc->block(), ta->block(), tb->block()}, {out->block()});
  return out;
}


TensorRef unary_grad(UnaryOp op, Tensor& x, Tensor& g, float p0, float p1) {
  static const KernelSet ks("elementwise/unary_grad", {GRL_F32, GRL_F16, GRL_BF16});
  const Kernel& k = ks.get("backward", "x", x.dtype);
  TensorRef cx = contiguous(x), cg = contiguous(g);
  TensorRef out = new_tensor(x.device(), x.dtype, x.shape);
  if (x.numel() == 0) return out;
  struct {
    uint64_t x, g, out;
    uint32_t n, op;
    float p0, p1;
  } pc{cx->address(), cg->address(), out->address(), static_cast<uint32_t>(x.numel()), static_cast<uint32_t>(op), p0, p1};
  static_assert(sizeof pc == 40);
  x.dev().dispatch_1d(k, &pc, sizeof pc, groups_for(x.numel()), {cx->block(), cg->block()}, {out->block()});
  return out;
}

void record_unary(const char* name, UnaryOp op, Tensor& x, Tensor& out, float p0, float p1) {
  if (!autograd::needs_grad({&x})) return;
  TensorRef sx = autograd::saved(x);
  autograd::record(name, out, {&x}, [op, sx, p0, p1](Tensor& g) {
    std::vector<TensorRef> r;
    if (op == UnaryOp::Neg)
      r.push_back(unary("backward", UnaryOp::Neg, g));
    else
      r.push_back(unary_grad(op, *sx, g, p0, p1));
    return r;
  });
}

namespace {

TensorRef mul(Tensor& a, Tensor& b) { return binary("backward", BinaryOp::Mul, a, b); }
TensorRef mul_s(Tensor& a, double s) { return binary_scalar("backward", BinaryOp::Mul, a, s); }

// Gradient mask for minimum/maximum: 1 where this side wins, 0.5 on ties (as PyTorch).
TensorRef winner_mask(Tensor& self, Tensor& other, bool is_max) {
  TensorRef wins = binary("backward", is_max ? BinaryOp::Gt : BinaryOp::Lt, self, other);
  TensorRef ties = binary("backward", BinaryOp::Eq, self, other);
  TensorRef w = op::call(grl_cast, wins.get(), self.dtype);
  TensorRef t = op::call(grl_cast, ties.get(), self.dtype);
  TensorRef half = mul_s(*t, 0.5);
  return binary("backward", BinaryOp::Add, *w, *half);
}

std::vector<TensorRef> binary_backward(BinaryOp op, Tensor& g, Tensor& a, Tensor& b, Tensor& out) {
  switch (op) {
    case BinaryOp::Add: return {TensorRef::retain(&g), TensorRef::retain(&g)};
    case BinaryOp::Sub: return {TensorRef::retain(&g), unary("backward", UnaryOp::Neg, g)};
    case BinaryOp::Mul: return {mul(g, b), mul(g, a)};
    case BinaryOp::Div: {
      TensorRef ga = binary("backward", BinaryOp::Div, g, b);
      TensorRef q = binary("backward", BinaryOp::Div, *ga, b);  // g / b^2
      TensorRef gb = mul(*q, a);
      return {ga, unary("backward", UnaryOp::Neg, *gb)};
    }
    case BinaryOp::Pow: {
      TensorRef bm1 = binary_scalar("backward", BinaryOp::Sub, b, 1.0);
      TensorRef p = binary("backward", BinaryOp::Pow, a, *bm1);
      TensorRef ga = mul(*p, b);
      ga = mul(g, *ga);
      // d/db a^b = a^b log a, defined for a > 0 (0 elsewhere).
      TensorRef pos = binary_scalar("backward", BinaryOp::Gt, a, 0.0);
      TensorRef one = op::scalar_like(a, 1.0, a.shape);
      TensorRef safe = where("backward", *pos, a, *one);
      TensorRef lg = unary("backward", UnaryOp::Log, *safe);
      TensorRef zero = op::zeros_like(a);
      lg = where("backward", *pos, *lg, *zero);
      TensorRef gb = mul(out, *lg);
      return {ga, mul(g, *gb)};
    }
    case BinaryOp::Min:
    case BinaryOp::Max: {
      bool mx = op == BinaryOp::Max;
      TensorRef ma = winner_mask(a, b, mx), mb = winner_mask(b, a, mx);
      return {mul(g, *ma), mul(g, *mb)};
    }
    default: return {};
  }
}

std::vector<TensorRef> scalar_backward(BinaryOp op, Tensor& g, Tensor& a, double s, Tensor& out) {
  switch (op) {
    case BinaryOp::Add:
    case BinaryOp::Sub: return {TensorRef::retain(&g)};
    case BinaryOp::RSub: return {unary("backward", UnaryOp::Neg, g)};
    case BinaryOp::Mul: return {mul_s(g, s)};
    case BinaryOp::Div: return {mul_s(g, 1.0 / s)};
    case BinaryOp::RDiv: {  // d/da s/a = -s/a^2 = -out/a
      TensorRef q = binary("backward", BinaryOp::Div, out, a);
      TensorRef gq = mul(g, *q);
      return {unary("backward", UnaryOp::Neg, *gq)};
    }
    case BinaryOp::Pow: {
      TensorRef p = binary_scalar("backward", BinaryOp::Pow, a, s - 1.0);
      TensorRef gp = mul(g, *p);
      return {mul_s(*gp, s)};
    }
    case BinaryOp::RPow: {
      TensorRef go = mul(g, out);
      return {mul_s(*go, std::log(s))};
    }
    case BinaryOp::Min:
    case BinaryOp::Max: {
      TensorRef wins = binary_scalar("backward", op == BinaryOp::Max ? BinaryOp::Gt : BinaryOp::Lt, a, s);
      TensorRef ties = binary_scalar("backward", BinaryOp::Eq, a, s);
      TensorRef w = op::call(grl_cast, wins.get(), a.dtype);
      TensorRef t = op::call(grl_cast, ties.get(), a.dtype);
      TensorRef half = mul_s(*t, 0.5);
      TensorRef m = binary("backward", BinaryOp::Add, *w, *half);
      return {mul(g, *m)};
    }
    default: return {};
  }
}

void record_binary(const char* name, BinaryOp op, Tensor& a, Tensor& b, Tensor& out) {
  if (static_cast<uint32_t>(op) >= static_cast<uint32_t>(BinaryOp::Eq) || !autograd::needs_grad({&a, &b})) return;
  TensorRef sa = autograd::saved(a), sb = autograd::saved(b), so = autograd::saved(out);
  autograd::record(name, out, {&a, &b}, [op, sa, sb, so](Tensor& g) { return binary_backward(op, g, *sa, *sb, *so); });
}

void record_scalar(const char* name, BinaryOp op, Tensor& a, double s, Tensor& out) {
  if (static_cast<uint32_t>(op) >= static_cast<uint32_t>(BinaryOp::Eq) || !autograd::needs_grad({&a})) return;
  TensorRef sa = autograd::saved(a), so = autograd::saved(out);
  autograd::record(name, out, {&a}, [op, sa, s, so](Tensor& g) { return scalar_backward(op, g, *sa, s, *so); });
}

}  // namespace

GRL_BACKWARD_RULE(add);
GRL_BACKWARD_RULE(sub);
GRL_BACKWARD_RULE(mul);
GRL_BACKWARD_RULE(div);
GRL_BACKWARD_RULE(pow);
GRL_BACKWARD_RULE(minimum);
GRL_BACKWARD_RULE(maximum);
GRL_BACKWARD_RULE(add_scalar);
GRL_BACKWARD_RULE(sub_scalar);
GRL_BACKWARD_RULE(rsub_scalar);
GRL_BACKWARD_RULE(mul_scalar);
GRL_BACKWARD_RULE(div_scalar);
GRL_BACKWARD_RULE(rdiv_scalar);
GRL_BACKWARD_RULE(pow_scalar);
GRL_BACKWARD_RULE(rpow_scalar);
GRL_BACKWARD_RULE(minimum_scalar);
GRL_BACKWARD_RULE(maximum_scalar);
GRL_BACKWARD_RULE(neg);
GRL_BACKWARD_RULE(abs);
GRL_BACKWARD_RULE(exp);
GRL_BACKWARD_RULE(log);
GRL_BACKWARD_RULE(sqrt);
GRL_BACKWARD_RULE(rsqrt);
GRL_BACKWARD_RULE(sin);
GRL_BACKWARD_RULE(cos);
GRL_BACKWARD_RULE(tanh);
GRL_BACKWARD_RULE(sigmoid);
GRL_BACKWARD_RULE(clamp);
GRL_BACKWARD_RULE(where);

}  // namespace grl

using namespace grl;

#define GRL_BINARY(name, op)                                                  \
  extern "C" GRL_API grl_status name(grl_tensor a, grl_tensor b, grl_tensor* out) { \
    GRL_API_BEGIN();                                                          \
    Tensor& ta = arg_tensor(__func__, "a", a);                                \
    Tensor& tb = arg_tensor(__func__, "b", b);                                \
    GRL_CHECK_OUT(out);                                                       \
    DeviceLock lock(ta.dev().mutex());                                        \
    TensorRef r = binary(__func__, op, ta, tb);                               \
    record_binary(__func__ + 4, op, ta, tb, *r);                              \
    *out = r.release();                                                       \
    GRL_API_END();                                                            \
  }

#define GRL_SCALAR(name, op)                                                  \
  extern "C" GRL_API grl_status name(grl_tensor a, double s, grl_tensor* out) { \
    GRL_API_BEGIN();                                                          \
    Tensor& ta = arg_tensor(__func__, "a", a);                                \
    GRL_CHECK_OUT(out);                                                       \
    DeviceLock lock(ta.dev().mutex());                                        \
    TensorRef r = binary_scalar(__func__, op, ta, s);                         \
    record_scalar(__func__ + 4, op, ta, s, *r);                               \
    *out = r.release();                                                       \
    GRL_API_END();                                                            \
  }

#define GRL_UNARY(name, op)                                                   \
  extern "C" GRL_API grl_status name(grl_tensor x, grl_tensor* out) {         \
    GRL_API_BEGIN();                                                          \
    Tensor& tx = arg_tensor(__func__, "x", x);                                \
    GRL_CHECK_OUT(out);                                                       \
    DeviceLock lock(tx.dev().mutex());                                        \
    TensorRef r = unary(__func__, op, tx);                                    \
    record_unary(__func__ + 4, op, tx, *r);                                   \
    *out = r.release();                                                       \
    GRL_API_END();                                                            \
  }

GRL_BINARY(grl_add, BinaryOp::Add)
GRL_BINARY(grl_sub, BinaryOp::Sub)
GRL_BINARY(grl_mul, BinaryOp::Mul)
GRL_BINARY(grl_div, BinaryOp::Div)
GRL_BINARY(grl_pow, BinaryOp::Pow)
GRL_BINARY(grl_minimum, BinaryOp::Min)
GRL_BINARY(grl_maximum, BinaryOp::Max)
GRL_BINARY(grl_eq, BinaryOp::Eq)
GRL_BINARY(grl_ne, BinaryOp::Ne)
GRL_BINARY(grl_lt, BinaryOp::Lt)
GRL_BINARY(grl_le, BinaryOp::Le)
GRL_BINARY(grl_gt, BinaryOp::Gt)
GRL_BINARY(grl_ge, BinaryOp::Ge)

GRL_SCALAR(grl_add_scalar, BinaryOp::Add)
GRL_SCALAR(grl_sub_scalar, BinaryOp::Sub)
GRL_SCALAR(grl_rsub_scalar, BinaryOp::RSub)
GRL_SCALAR(grl_mul_scalar, BinaryOp::Mul)
GRL_SCALAR(grl_div_scalar, BinaryOp::Div)
GRL_SCALAR(grl_rdiv_scalar, BinaryOp::RDiv)
GRL_SCALAR(grl_pow_scalar, BinaryOp::Pow)
GRL_SCALAR(grl_rpow_scalar, BinaryOp::RPow)
GRL_SCALAR(grl_minimum_scalar, BinaryOp::Min)
GRL_SCALAR(grl_maximum_scalar, BinaryOp::Max)
GRL_SCALAR(grl_eq_scalar, BinaryOp::Eq)
GRL_SCALAR(grl_ne_scalar, BinaryOp::Ne)
GRL_SCALAR(grl_lt_scalar, BinaryOp::Lt)
GRL_SCALAR(grl_le_scalar, BinaryOp::Le)
GRL_SCALAR(grl_gt_scalar, BinaryOp::Gt)
GRL_SCALAR(grl_ge_scalar, BinaryOp::Ge)

GRL_UNARY(grl_neg, UnaryOp::Neg)
GRL_UNARY(grl_abs, UnaryOp::Abs)
GRL_UNARY(grl_exp, UnaryOp::Exp)
GRL_UNARY(grl_log, UnaryOp::Log)
GRL_UNARY(grl_sqrt, UnaryOp::Sqrt)
GRL_UNARY(grl_rsqrt, UnaryOp::Rsqrt)
GRL_UNARY(grl_sin, UnaryOp::Sin)
GRL_UNARY(grl_cos, UnaryOp::Cos)
GRL_UNARY(grl_tanh, UnaryOp::Tanh)
GRL_UNARY(grl_sigmoid, UnaryOp::Sigmoid)

extern "C" GRL_API grl_status grl_clamp(grl_tensor x, double lo, double hi, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  if (std::isnan(lo) || std::isnan(hi) || lo > hi)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: expected lo <= hi, got lo = %g, hi = %g", __func__, lo, hi);
  DeviceLock lock(tx.dev().mutex());
  TensorRef r = unary(__func__, UnaryOp::Clamp, tx, static_cast<float>(lo), static_cast<float>(hi));
  record_unary("clamp", UnaryOp::Clamp, tx, *r, static_cast<float>(lo), static_cast<float>(hi));
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_where(grl_tensor cond, grl_tensor a, grl_tensor b, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tc = arg_tensor(__func__, "cond", cond);
  Tensor& ta = arg_tensor(__func__, "a", a);
  Tensor& tb = arg_tensor(__func__, "b", b);
  GRL_CHECK_OUT(out);
  DeviceLock lock(ta.dev().mutex());
  TensorRef r = where(__func__, tc, ta, tb);
  if (autograd::needs_grad({&ta, &tb})) {
    TensorRef sc = autograd::saved(tc);
    autograd::record("where", *r, {&tc, &ta, &tb}, [sc](Tensor& g) {
      TensorRef zero = op::zeros_like(g);
      std::vector<TensorRef> grads;
      grads.emplace_back();
      grads.push_back(where("backward", *sc, g, *zero));
      grads.push_back(where("backward", *sc, *zero, g));
      return grads;
    });
  }
  *out = r.release();
  GRL_API_END();
}
