// Elementwise launchers shared by the elementwise and activation families (and by later families
// that need a quick unary or binary step).
#pragma once
#include "ops/launch.h"

namespace grl {

enum class BinaryOp : uint32_t {
  Add = 0, Sub = 1, Mul = 2, Div = 3, Pow = 4, Min = 5, Max = 6, RSub = 7, RDiv = 8, RPow = 9,
  Eq = 10, Ne = 11, Lt = 12, Le = 13, Gt = 14, Ge = 15,
};

enum class UnaryOp : uint32_t {
  Neg = 0, Abs = 1, Clamp = 2, Relu = 3, Exp = 4, Log = 5, Sqrt = 6, Rsqrt = 7, Sin = 8, Cos = 9,
  Tanh = 10, Sigmoid = 11, LeakyRelu = 12, Elu = 13, Gelu = 14, GeluTanh = 15, Silu = 16,
  Softplus = 17, Mish = 18, Hardswish = 19, Hardsigmoid = 20, Gcu = 21, Roswish = 22,
};

// out = a (op) b with broadcasting; a and b on one device with one dtype.
TensorRef binary(const char* fn, BinaryOp op, Tensor& a, Tensor& b);
// out = a (op) s.
TensorRef binary_scalar(const char* fn, BinaryOp op, Tensor& a, double s);
// out = op(x; p0, p1).
TensorRef unary(const char* fn, UnaryOp op, Tensor& x, float p0 = 0.f, float p1 = 0.f);
TensorRef where(const char* fn, Tensor& cond, Tensor& a, Tensor& b);
// g * f'(x) for a unary op (x and g of one shape and dtype).
TensorRef unary_grad(UnaryOp op, Tensor& x, Tensor& g, float p0 = 0.f, float p1 = 0.f);
// Records the backward rule of a unary op applied to x (producing out) when x requires grad.
void record_unary(const char* name, UnaryOp op, Tensor& x, Tensor& out, float p0 = 0.f, float p1 = 0.f);

}  // namespace grl
