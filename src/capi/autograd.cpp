// C ABI for autograd: requires_grad, .grad, backward, detach, grad mode, custom functions.
#include "autograd/autograd.h"
#include "capi/api.h"
#include "ops/compose.h"

using namespace grl;
namespace ag = grl::autograd;

extern "C" {

GRL_API grl_status grl_tensor_set_requires_grad(grl_tensor t, uint32_t requires_grad) {
  GRL_API_BEGIN();
  Tensor& x = arg_tensor(__func__, "t", t);
  if (x.ag && x.ag->grad_fn)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: only leaves can be marked; this tensor was produced by '%s' (detach it "
         "first)", __func__, x.ag->grad_fn->name);
  if (requires_grad && !is_float(x.dtype))
    fail(GRL_ERROR_DTYPE, "%s: only floating tensors can require gradients; t has dtype %s", __func__,
         dtype_name(x.dtype));
  if (!x.ag) x.ag = std::make_shared<ag::Meta>();
  x.ag->requires_grad = requires_grad != 0;
  GRL_API_END();
}

GRL_API uint32_t grl_tensor_requires_grad(grl_tensor t) { return ag::requires_grad(t) ? 1u : 0u; }

GRL_API uint32_t grl_tensor_is_leaf(grl_tensor t) { return t && !(t->ag && t->ag->grad_fn) ? 1u : 0u; }

GRL_API const char* grl_tensor_grad_fn_name(grl_tensor t) {
  return t && t->ag && t->ag->grad_fn ? t->ag->grad_fn->name : "";
}

GRL_API grl_status grl_tensor_grad(grl_tensor t, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& x = arg_tensor(__func__, "t", t);
  GRL_CHECK_OUT(out);
  *out = x.ag && x.ag->grad ? TensorRef(x.ag->grad).release() : nullptr;
  GRL_API_END();
}

GRL_API grl_status grl_tensor_set_grad(grl_tensor t, grl_tensor grad) {
  GRL_API_BEGIN();
  Tensor& x = arg_tensor(__func__, "t", t);
  if (grad) {
    same_device(__func__, "t", x, "grad", *grad);
    same_dtype(__func__, "t", x, "grad", *grad);
    if (!(grad->shape == x.shape))
      fail(GRL_ERROR_SHAPE, "%s: grad has shape %s but t has %s", __func__, grad->shape.str().c_str(),
           x.shape.str().c_str());
  }
  if (!x.ag) x.ag = std::make_shared<ag::Meta>();
  x.ag->grad = grad ? TensorRef::retain(grad) : TensorRef();
  GRL_API_END();
}

GRL_API grl_status grl_tensor_zero_grad(grl_tensor t) {
  GRL_API_BEGIN();
  Tensor& x = arg_tensor(__func__, "t", t);
  if (x.ag) x.ag->grad = TensorRef();
  GRL_API_END();
}

GRL_API grl_status grl_tensor_backward(grl_tensor t, grl_tensor grad_output, uint32_t retain_graph) {
  GRL_API_BEGIN();
  Tensor& x = arg_tensor(__func__, "t", t);
  if (grad_output) {
    same_device(__func__, "t", x, "grad_output", *grad_output);
    same_dtype(__func__, "t", x, "grad_output", *grad_output);
  }
  DeviceLock lock(x.dev().mutex());
  ag::backward(x, grad_output, retain_graph != 0);
  GRL_API_END();
}

GRL_API grl_status grl_tensor_detach(grl_tensor t, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& x = arg_tensor(__func__, "t", t);
  GRL_CHECK_OUT(out);
  *out = ag::saved(x).release();
  GRL_API_END();
}

GRL_API grl_status grl_set_grad_enabled(uint32_t enabled, uint32_t* out) {
  GRL_API_BEGIN();
  if (out) *out = ag::grad_enabled() ? 1u : 0u;
  ag::set_grad_enabled(enabled != 0);
  GRL_API_END();
}

GRL_API uint32_t grl_is_grad_enabled(void) { return ag::grad_enabled() ? 1u : 0u; }

GRL_API grl_status grl_custom_apply(const grl_custom_function* fn, const grl_tensor* inputs, int32_t n_inputs,
                                    grl_tensor* out) {
  GRL_API_BEGIN();
  arg_not_null(__func__, "fn", fn);
  GRL_CHECK_OUT(out);
  if (fn->version != GRL_CUSTOM_FUNCTION_VERSION)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: fn->version is %u; expected %u", __func__, fn->version,
         GRL_CUSTOM_FUNCTION_VERSION);
  if (!fn->forward) fail(GRL_ERROR_NULL_ARGUMENT, "%s: fn->forward is NULL", __func__);
  if (n_inputs < 0 || n_inputs > 64)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: n_inputs is %d; expected 0..64", __func__, n_inputs);
  if (n_inputs) arg_not_null(__func__, "inputs", inputs);
  std::vector<TensorRef> ins;
  for (int i = 0; i < n_inputs; ++i) ins.push_back(TensorRef::retain(&arg_tensor(__func__, "inputs[i]", inputs[i])));
  // The context lives as long as the node (or ends here when no node is recorded).
  struct Ctx {
    grl_custom_function f;
    explicit Ctx(const grl_custom_function& fn) : f(fn) {}
    Ctx(const Ctx&) = delete;
    Ctx& operator=(const Ctx&) = delete;
    ~Ctx() {
      if (f.release) f.release(f.ctx);
    }
  };
  auto ctx = std::make_shared<Ctx>(*fn);
  grl_tensor raw = nullptr;
  {
    ag::GradMode off(false);
    grl_status s = fn->forward(fn->ctx, inputs, n_inputs, &raw);
    if (s != GRL_OK || !raw)
      fail(s != GRL_OK ? s : GRL_ERROR_INVALID_ARGUMENT, "%s: the forward of '%s' failed: %s", __func__,
           fn->name ? fn->name : "custom", s != GRL_OK ? grl_last_error_message() : "it returned no tensor");
  }
  TensorRef result(raw);
  bool need = false;
  for (auto& t : ins) need = need || ag::requires_grad(t.get());
  if (need && ag::grad_enabled()) {
    if (!fn->backward) fail(GRL_ERROR_NULL_ARGUMENT, "%s: fn->backward is NULL but an input requires gradients", __func__);
    // A forward may hand back an input (or any tensor autograd already knows); the node must go
    // on an alias, or the input would stop being a leaf.
    if (result->ag) result = ag::saved(*result);
    std::vector<TensorRef> saved;
    for (auto& t : ins) saved.push_back(ag::saved(*t));
    const char* name = fn->name ? fn->name : "custom";
    Tensor* in_ptrs[64] = {};
    for (int i = 0; i < n_inputs; ++i) in_ptrs[i] = ins[static_cast<size_t>(i)].get();
    auto node_fn = [ctx, saved, n_inputs, name](Tensor& g) {
      std::vector<grl_tensor> raw_in(static_cast<size_t>(n_inputs));
      for (int i = 0; i < n_inputs; ++i) raw_in[static_cast<size_t>(i)] = saved[static_cast<size_t>(i)].get();
      std::vector<grl_tensor> grads(static_cast<size_t>(n_inputs), nullptr);
      grl_status s = ctx->f.backward(ctx->f.ctx, &g, raw_in.data(), n_inputs, grads.data());
      std::vector<TensorRef> result;
      for (auto* gi : grads) result.emplace_back(gi);
      if (s != GRL_OK) fail(s, "custom function '%s': backward failed: %s", name, grl_last_error_message());
      for (int i = 0; i < n_inputs; ++i) {
        auto& gi = result[static_cast<size_t>(i)];
        if (gi && !(gi->shape == saved[static_cast<size_t>(i)]->shape))
          fail(GRL_ERROR_SHAPE, "custom function '%s': backward gave a gradient of shape %s for input %d of shape %s",
               name, gi->shape.str().c_str(), i, saved[static_cast<size_t>(i)]->shape.str().c_str());
      }
      return result;
    };
    std::vector<Tensor*> ptrs(in_ptrs, in_ptrs + n_inputs);
    ag::record_n(name, *result, ptrs, node_fn);
  }
  *out = result.release();
  GRL_API_END();
}

GRL_API uint32_t grl_autograd_rule_count(void) { return static_cast<uint32_t>(ag::rules().size()); }

GRL_API const char* grl_autograd_rule_name(uint32_t index) {
  return index < ag::rules().size() ? ag::rules()[index] : nullptr;
}

}  // extern "C"
