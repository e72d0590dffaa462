// Shared pieces of the memory family's sources (memory.cpp, memory_store.cpp): the argument
// checks both use.
#pragma once
#include <grilly.h>

#include "tensor/tensor.h"

namespace grl::mem {

uint32_t u32(int64_t v);
// Throws GRL_ERROR_INVALID_ARGUMENT unless v is finite (and > lo when strict, >= lo otherwise).
void finite(const char* fn, const char* name, double v);
void at_least(const char* fn, const char* name, double v, double lo, bool strict);
// Throws GRL_ERROR_SHAPE naming `what` when t has another rank or dim `axis` is not `want`.
void rank(const char* fn, const char* name, const Tensor& t, int32_t ndim, const char* what);
void dim_is(const char* fn, const char* name, const Tensor& t, int axis, int64_t want, const char* what);
// Same device and dtype as a first operand.
void joins(const char* fn, const char* name, const Tensor& t, const char* first, const Tensor& f);

}  // namespace grl::mem
