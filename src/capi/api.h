// The C ABI boundary: the try/catch wrapper every extern "C" body uses, the thread-local error
// message, and argument checks that produce messages naming the function and the argument.
#pragma once
#include <grilly.h>

#include <algorithm>
#include <new>
#include <string>

#include "runtime/error.h"
#include "tensor/tensor.h"

namespace grl {

void set_error(grl_status status, const std::string& message);
void clear_error();

// Validates a tensor argument: non-null. Returns the tensor.
Tensor& arg_tensor(const char* fn, const char* name, grl_tensor t);
// Optional tensor argument (may be NULL): returns nullptr or the tensor.
Tensor* opt_tensor(const char* fn, const char* name, grl_tensor t);
void arg_not_null(const char* fn, const char* name, const void* p);
void same_device(const char* fn, const char* name_a, const Tensor& a, const char* name_b, const Tensor& b);
void same_dtype(const char* fn, const char* name_a, const Tensor& a, const char* name_b, const Tensor& b);
void float_dtype(const char* fn, const char* name, const Tensor& t);
void arg_dtype(const char* fn, const char* name, grl_dtype dt);
// Normalises a possibly negative axis for a rank; throws with the valid range.
int32_t arg_axis(const char* fn, const char* name, int32_t axis, int32_t ndim);
Shape arg_shape(const char* fn, const char* name, const int64_t* shape, int32_t ndim);
// numpy broadcasting of two shapes.
Shape broadcast(const char* fn, const char* name_a, const Shape& a, const char* name_b, const Shape& b);
grl_device_s& arg_device(const char* fn, const char* name, grl_device d);
// A tensor an op writes in place may not require gradients while grad mode is on (the tape would
// keep values the write destroys): GRL_ERROR_INVALID_ARGUMENT naming the argument. t may be null.
void not_grad_in_place(const char* fn, const char* name, const Tensor* t);

// Locks the device of a tensor for the duration of an op.
using DeviceLock = std::lock_guard<std::recursive_mutex>;

}  // namespace grl

// Every extern "C" body: clears the thread's error, maps exceptions to a status and message.
#define GRL_API_BEGIN() \
  ::grl::clear_error(); \
  try {
#define GRL_API_END()                                                                  \
  }                                                                                    \
  catch (const ::grl::Error& e) {                                                      \
    ::grl::set_error(e.status(), e.what());                                            \
    return e.status();                                                                 \
  }                                                                                    \
  catch (const std::bad_alloc&) {                                                      \
    ::grl::set_error(GRL_ERROR_OUT_OF_MEMORY, std::string(__func__) + ": out of host memory"); \
    return GRL_ERROR_OUT_OF_MEMORY;                                                    \
  }                                                                                    \
  catch (const std::exception& e) {                                                    \
    ::grl::set_error(GRL_ERROR_INTERNAL, std::string(__func__) + ": internal error: " + e.what()); \
    return GRL_ERROR_INTERNAL;                                                         \
  }                                                                                    \
  catch (...) {                                                                        \
    ::grl::set_error(GRL_ERROR_INTERNAL, std::string(__func__) + ": unknown internal error"); \
    return GRL_ERROR_INTERNAL;                                                         \
  }                                                                                    \
  return GRL_OK;

// Output-parameter check used at the top of every function returning a handle.
#define GRL_CHECK_OUT(out) ::grl::arg_not_null(__func__, "out", out)
