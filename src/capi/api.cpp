// Thread-local error state and the shared argument checks of the C ABI.
#include "capi/api.h"

#include "autograd/autograd.h"

#include <cstring>

namespace grl {

namespace {
thread_local std::string t_message;
thread_local grl_status t_status = GRL_OK;
}  // namespace

void set_error(grl_status status, const std::string& message) {
  t_status = status;
  t_message = message;
}

void clear_error() {
  t_status = GRL_OK;
  t_message.clear();
}

Tensor& arg_tensor(const char* fn, const char* name, grl_tensor t) {
  if (!t) fail(GRL_ERROR_NULL_ARGUMENT, "%s: argument '%s' is NULL (expected a grl_tensor)", fn, name);
  return *t;
}

Tensor* opt_tensor(const char*, const char*, grl_tensor t) { return t; }

void arg_not_null(const char* fn, const char* name, const void* p) {
  if (!p) fail(GRL_ERROR_NULL_ARGUMENT, "%s: argument '%s' is NULL", fn, name);
}

void same_device(const char* fn, const char* name_a, const Tensor& a, const char* name_b, const Tensor& b) {
  if (a.device() != b.device())
    fail(GRL_ERROR_DEVICE_MISMATCH, "%s: '%s' is on device '%s' but '%s' is on another device ('%s'); "
         "move one of them first", fn, name_a, a.dev().info().name, name_b, b.dev().info().name);
}

void same_dtype(const char* fn, const char* name_a, const Tensor& a, const char* name_b, const Tensor& b) {
  if (a.dtype != b.dtype)
    fail(GRL_ERROR_DTYPE, "%s: '%s' has dtype %s but '%s' has dtype %s (cast one with grl_cast)", fn, name_a,
         dtype_name(a.dtype), name_b, dtype_name(b.dtype));
}

void float_dtype(const char* fn, const char* name, const Tensor& t) {
  if (!is_float(t.dtype))
    fail(GRL_ERROR_DTYPE, "%s: '%s' has dtype %s; expected a floating dtype (f32, f16 or bf16)", fn, name,
         dtype_name(t.dtype));
}

void arg_dtype(const char* fn, const char* name, grl_dtype dt) {
  if (!is_valid_dtype(dt))
    fail(GRL_ERROR_DTYPE, "%s: '%s' = %d is not a grl_dtype (expected 0..%d)", fn, name, static_cast<int>(dt),
         GRL_DTYPE_COUNT - 1);
}

int32_t arg_axis(const char* fn, const char* name, int32_t axis, int32_t ndim) {
  int32_t lo = ndim > 0 ? -ndim : -1, hi = ndim > 0 ? ndim - 1 : 0;
  if (axis < lo || axis > hi)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' = %d is out of range for a %d-d tensor (expected %d..%d)", fn, name,
         axis, ndim, lo, hi);
  return axis < 0 ? axis + std::max(ndim, 1) : axis;
}

Shape arg_shape(const char* fn, const char* name, const int64_t* shape, int32_t ndim) {
  if (ndim < 0 || ndim > GRL_MAX_DIMS)
    fail(GRL_ERROR_SHAPE, "%s: '%s' has %d dims; expected 0..%d", fn, name, ndim, GRL_MAX_DIMS);
  if (ndim > 0 && !shape) fail(GRL_ERROR_NULL_ARGUMENT, "%s: argument '%s' is NULL but ndim is %d", fn, name, ndim);
  Shape s;
  s.ndim = ndim;
  int64_t total = 1;
  for (int i = 0; i < ndim; ++i) {
    if (shape[i] < 0)
      fail(GRL_ERROR_SHAPE, "%s: '%s'[%d] = %lld; sizes must be >= 0", fn, name, i, static_cast<long long>(shape[i]));
    s[i] = shape[i];
    if (shape[i] > 0 && total > (int64_t{1} << 40) / shape[i])
      fail(GRL_ERROR_SHAPE, "%s: '%s' describes more than 2^40 elements", fn, name);
    total *= shape[i];
  }
  return s;
}

Shape broadcast(const char* fn, const char* name_a, const Shape& a, const char* name_b, const Shape& b) {
  Shape out;
  out.ndim = std::max(a.ndim, b.ndim);
  for (int i = 0; i < out.ndim; ++i) {
    int ia = a.ndim - out.ndim + i, ib = b.ndim - out.ndim + i;
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1)
      fail(GRL_ERROR_SHAPE, "%s: shapes %s ('%s') and %s ('%s') cannot be broadcast (dim %d: %lld vs %lld)", fn,
           a.str().c_str(), name_a, b.str().c_str(), name_b, i, static_cast<long long>(da),
           static_cast<long long>(db));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

grl_device_s& arg_device(const char* fn, const char* name, grl_device d) {
  if (!d) fail(GRL_ERROR_NULL_ARGUMENT, "%s: argument '%s' is NULL (expected a grl_device)", fn, name);
  return *d;
}

void not_grad_in_place(const char* fn, const char* name, const Tensor* t) {
  if (t && autograd::grad_enabled() && autograd::requires_grad(t))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: '%s' requires gradients and is updated in place; do it with grad mode "
         "off (grl_set_grad_enabled(0, ...)) or on a detached tensor", fn, name);
}

}  // namespace grl

extern "C" {

GRL_API const char* grl_last_error_message(void) { return grl::t_message.c_str(); }
GRL_API grl_status grl_last_error_status(void) { return grl::t_status; }

GRL_API const char* grl_status_string(grl_status s) {
  switch (s) {
    case GRL_OK: return "GRL_OK";
    case GRL_ERROR_INVALID_ARGUMENT: return "GRL_ERROR_INVALID_ARGUMENT";
    case GRL_ERROR_NULL_ARGUMENT: return "GRL_ERROR_NULL_ARGUMENT";
    case GRL_ERROR_SHAPE: return "GRL_ERROR_SHAPE";
    case GRL_ERROR_DTYPE: return "GRL_ERROR_DTYPE";
    case GRL_ERROR_DEVICE_MISMATCH: return "GRL_ERROR_DEVICE_MISMATCH";
    case GRL_ERROR_INDEX: return "GRL_ERROR_INDEX";
    case GRL_ERROR_OUT_OF_MEMORY: return "GRL_ERROR_OUT_OF_MEMORY";
    case GRL_ERROR_NO_DEVICE: return "GRL_ERROR_NO_DEVICE";
    case GRL_ERROR_DEVICE: return "GRL_ERROR_DEVICE";
    case GRL_ERROR_UNSUPPORTED: return "GRL_ERROR_UNSUPPORTED";
    case GRL_ERROR_IO: return "GRL_ERROR_IO";
    case GRL_ERROR_INTERNAL: return "GRL_ERROR_INTERNAL";
    default: return "GRL_ERROR_UNKNOWN";
  }
}

GRL_API uint32_t grl_version(void) {
  return (GRL_VERSION_MAJOR << 22) | (GRL_VERSION_MINOR << 12) | GRL_VERSION_PATCH;
}

#define GRL_STR2(x) #x
#define GRL_STR(x) GRL_STR2(x)
GRL_API const char* grl_version_string(void) {
  return GRL_STR(GRL_VERSION_MAJOR) "." GRL_STR(GRL_VERSION_MINOR) "." GRL_STR(GRL_VERSION_PATCH);
}

GRL_API size_t grl_dtype_size(grl_dtype dtype) { return grl::dtype_size(dtype); }
GRL_API const char* grl_dtype_name(grl_dtype dtype) { return grl::dtype_name(dtype); }

}  // extern "C"
