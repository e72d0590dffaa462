// Throwing wrappers that let the core (backward rules, optimizers, losses) compose public ops:
// call(grl_sum, x, axes, n, keepdim) returns a TensorRef or throws the op's error.
#pragma once
#include <string>

#include "capi/api.h"

namespace grl::op {

template <typename F, typename... Args>
TensorRef call(F f, Args... args) {
  grl_tensor out = nullptr;
  grl_status s = f(args..., &out);
  if (s != GRL_OK) throw Error(s, grl_last_error_message());
  return TensorRef(out);
}

template <typename F, typename... Args>
void call_void(F f, Args... args) {
  grl_status s = f(args...);
  if (s != GRL_OK) throw Error(s, grl_last_error_message());
}

// Sums g over the dims that were broadcast so that it has `shape` again.
TensorRef sum_to(Tensor& g, const Shape& shape);
TensorRef zeros_like(Tensor& t);
TensorRef scalar_like(Tensor& t, double value, const Shape& shape);

}  // namespace grl::op
