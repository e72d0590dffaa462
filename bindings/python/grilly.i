/* grilly.i — SWIG interface of the private module grilly._grilly, generated from include/grilly.h.
 * Owns the typemaps (out-parameters become return values), the GIL release and the status check. */
%module(package="grilly") _grilly

%{
#include <grilly.h>

/* Set by grilly._errors through _set_error_classes: {status (int): exception class}. */
static PyObject* grilly_error_classes = NULL;

/* Raises the exception class mapped from `status`, built as cls(message, status). The message is
 * read right after the failed call, on the same thread (it is thread-local in the core). */
static void grilly_raise(grl_status status) {
  const char* msg = grl_last_error_message();
  PyObject* cls = NULL;
  if (grilly_error_classes) {
    PyObject* key = PyLong_FromLong((long)status);
    if (key) {
      cls = PyDict_GetItemWithError(grilly_error_classes, key); /* borrowed */
      Py_DECREF(key);
    }
    if (!cls && !PyErr_Occurred()) cls = PyDict_GetItemString(grilly_error_classes, "default");
  }
  if (!cls) cls = PyExc_RuntimeError;
  PyObject* exc = PyObject_CallFunction(cls, "si", (msg && msg[0]) ? msg : grl_status_string(status),
                                        (int)status);
  if (exc) {
    PyErr_SetObject((PyObject*)Py_TYPE(exc), exc);
    Py_DECREF(exc);
  }
}

static PyObject* grilly_handle_or_none(void* p, swig_type_info* ty) {
  if (!p) Py_RETURN_NONE;
  return SWIG_NewPointerObj(p, ty, 0); /* SWIG never owns grilly handles */
}
%}

/* ------------------------------------------------------------------------------------------------
 * One handler for every wrapped call: the GIL is released while the C function runs. A negative
 * grl_status result is turned into an exception by the grl_status out typemap below, which runs
 * right after the call on the same thread.
 * --------------------------------------------------------------------------------------------- */
%exception {
  Py_BEGIN_ALLOW_THREADS
  $action
  Py_END_ALLOW_THREADS
}

%typemap(out) grl_status {
  if ((int)$1 < 0) {
    grilly_raise($1);
    SWIG_fail;
  }
  $result = Py_None;
  Py_INCREF(Py_None);
}

/* Helpers that touch Python objects must keep the GIL. */
%exception _set_error_classes %{ $action %}

/* ------------------------------------------------------------------------------------------------
 * Out-parameters: handles and scalars come back as the function's result.
 * --------------------------------------------------------------------------------------------- */
%define GRILLY_HANDLE_OUT(TYPE)
%typemap(in, numinputs=0) TYPE* out (TYPE tmp = NULL) { $1 = &tmp; }
%typemap(argout) TYPE* out {
  Py_DECREF($result);
  $result = grilly_handle_or_none((void*)tmp$argnum, $descriptor(TYPE));
}
%enddef
GRILLY_HANDLE_OUT(grl_tensor)
GRILLY_HANDLE_OUT(grl_device)
GRILLY_HANDLE_OUT(grl_graph)
GRILLY_HANDLE_OUT(grl_optimizer)
GRILLY_HANDLE_OUT(grl_lr_scheduler)
GRILLY_HANDLE_OUT(grl_tensor_map)

%define GRILLY_SCALAR_OUT(TYPE, CONVERT)
%typemap(in, numinputs=0) TYPE* out (TYPE tmp = 0) { $1 = &tmp; }
%typemap(argout) TYPE* out {
  Py_DECREF($result);
  $result = CONVERT;
}
%enddef
GRILLY_SCALAR_OUT(uint32_t, PyLong_FromUnsignedLong((unsigned long)tmp$argnum))
GRILLY_SCALAR_OUT(int32_t, PyLong_FromLong((long)tmp$argnum))
GRILLY_SCALAR_OUT(int64_t, PyLong_FromLongLong((long long)tmp$argnum))
GRILLY_SCALAR_OUT(uint64_t, PyLong_FromUnsignedLongLong((unsigned long long)tmp$argnum))
GRILLY_SCALAR_OUT(size_t, PyLong_FromSize_t(tmp$argnum))
GRILLY_SCALAR_OUT(double, PyFloat_FromDouble(tmp$argnum))

%typemap(in, numinputs=0) const char** out (const char* tmp = NULL) { $1 = (char**)&tmp; }
%typemap(argout) const char** out {
  Py_DECREF($result);
  $result = PyUnicode_FromString(tmp$argnum ? tmp$argnum : "");
}

/* Structs filled by the core come back as dicts. */
%typemap(in, numinputs=0) grl_device_info* out (grl_device_info tmp) {
  memset(&tmp, 0, sizeof tmp);
  $1 = &tmp;
}
%typemap(argout) grl_device_info* out {
  Py_DECREF($result);
  $result = Py_BuildValue(
      "{s:s,s:I,s:I,s:I,s:i,s:I,s:K,s:K,s:I,s:I,s:I,s:O,s:O,s:O,s:O,s:O}",
      "name", tmp$argnum.name, "index", tmp$argnum.index, "vendor_id", tmp$argnum.vendor_id,
      "device_id", tmp$argnum.device_id, "type", (int)tmp$argnum.type,
      "api_version", tmp$argnum.api_version,
      "device_local_bytes", (unsigned long long)tmp$argnum.device_local_bytes,
      "max_buffer_bytes", (unsigned long long)tmp$argnum.max_buffer_bytes,
      "subgroup_size", tmp$argnum.subgroup_size,
      "max_workgroup_invocations", tmp$argnum.max_workgroup_invocations,
      "max_shared_memory_bytes", tmp$argnum.max_shared_memory_bytes,
      "supports_fp16", tmp$argnum.supports_fp16 ? Py_True : Py_False,
      "supports_bf16", tmp$argnum.supports_bf16 ? Py_True : Py_False,
      "supports_int8", tmp$argnum.supports_int8 ? Py_True : Py_False,
      "supports_cooperative_matrix", tmp$argnum.supports_cooperative_matrix ? Py_True : Py_False,
      "host_visible_device_memory", tmp$argnum.host_visible_device_memory ? Py_True : Py_False);
  if (!$result) SWIG_fail;
}

%typemap(in, numinputs=0) grl_memory_stats* out (grl_memory_stats tmp) {
  memset(&tmp, 0, sizeof tmp);
  $1 = &tmp;
}
%typemap(argout) grl_memory_stats* out {
  Py_DECREF($result);
  $result = Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K}",
      "bytes_in_use", (unsigned long long)tmp$argnum.bytes_in_use,
      "bytes_cached", (unsigned long long)tmp$argnum.bytes_cached,
      "bytes_reserved", (unsigned long long)tmp$argnum.bytes_reserved,
      "peak_bytes_in_use", (unsigned long long)tmp$argnum.peak_bytes_in_use,
      "allocations", (unsigned long long)tmp$argnum.allocations,
      "pool_hits", (unsigned long long)tmp$argnum.pool_hits,
      "staging_bytes", (unsigned long long)tmp$argnum.staging_bytes,
      "submissions", (unsigned long long)tmp$argnum.submissions);
  if (!$result) SWIG_fail;
}

/* grl_tensor_shape writes up to GRL_MAX_DIMS entries: a tuple of the tensor's ndim comes back. */
%typemap(in) (grl_tensor tensor, int64_t* out) (int64_t tmp[GRL_MAX_DIMS], void* argp = 0) {
  if (!SWIG_IsOK(SWIG_ConvertPtr($input, &argp, $descriptor(grl_tensor), 0))) {
    SWIG_exception_fail(SWIG_TypeError, "grl_tensor_shape: expected a grl_tensor handle");
  }
  $1 = (grl_tensor)argp;
  $2 = tmp;
}
%typemap(argout) (grl_tensor tensor, int64_t* out) {
  int32_t nd = grl_tensor_ndim($1);
  Py_DECREF($result);
  $result = PyTuple_New(nd);
  if (!$result) SWIG_fail;
  for (int32_t i = 0; i < nd; ++i) PyTuple_SET_ITEM($result, i, PyLong_FromLongLong(tmp$argnum[i]));
}

/* ------------------------------------------------------------------------------------------------
 * Inputs: Python sequences become (pointer, count) pairs; buffers become (data, nbytes).
 * --------------------------------------------------------------------------------------------- */
%define GRILLY_INT_ARRAY_IN(CTYPE, PTR, COUNT, CONVERT)
%typemap(in) (const CTYPE* PTR, int32_t COUNT) (CTYPE tmp[64], PyObject* seq = NULL) {
  if ($input == Py_None) {
    $1 = NULL;
    $2 = 0;
  } else {
    seq = PySequence_Fast($input, "expected a sequence of integers");
    if (!seq) SWIG_fail;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n > 64) SWIG_exception_fail(SWIG_ValueError, "at most 64 entries");
    for (Py_ssize_t i = 0; i < n; ++i) {
      tmp[i] = (CTYPE)CONVERT(PySequence_Fast_GET_ITEM(seq, i));
      if (PyErr_Occurred()) SWIG_fail;
    }
    $1 = tmp;
    $2 = (int32_t)n;
  }
}
%typemap(freearg) (const CTYPE* PTR, int32_t COUNT) { Py_XDECREF(seq$argnum); }
%enddef
GRILLY_INT_ARRAY_IN(int64_t, shape, ndim, PyLong_AsLongLong)
GRILLY_INT_ARRAY_IN(int64_t, pads, npads, PyLong_AsLongLong)
GRILLY_INT_ARRAY_IN(int32_t, axes, ndim, PyLong_AsLong)
GRILLY_INT_ARRAY_IN(int32_t, axes, naxes, PyLong_AsLong)

%define GRILLY_HANDLE_ARRAY_IN(PTR, COUNT)
%typemap(in) (const grl_tensor* PTR, int32_t COUNT) (grl_tensor* arr = NULL, PyObject* seq = NULL) {
  seq = PySequence_Fast($input, "expected a sequence of grl_tensor handles");
  if (!seq) SWIG_fail;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  arr = (grl_tensor*)calloc(n > 0 ? (size_t)n : 1, sizeof(grl_tensor));
  if (!arr) { PyErr_NoMemory(); SWIG_fail; }
  for (Py_ssize_t i = 0; i < n; ++i) {
    void* p = 0;
    PyObject* item = PySequence_Fast_GET_ITEM(seq, i);
    if (item != Py_None && !SWIG_IsOK(SWIG_ConvertPtr(item, &p, $descriptor(grl_tensor), 0))) {
      SWIG_exception_fail(SWIG_TypeError, "expected grl_tensor handles");
    }
    arr[i] = (grl_tensor)p;
  }
  $1 = arr;
  $2 = (int32_t)n;
}
%typemap(freearg) (const grl_tensor* PTR, int32_t COUNT) {
  free(arr$argnum);
  Py_XDECREF(seq$argnum);
}
%enddef
GRILLY_HANDLE_ARRAY_IN(xs, count)
GRILLY_HANDLE_ARRAY_IN(params, n_params)

/* Read-only host data: any C-contiguous buffer (numpy arrays, bytes). */
%typemap(in) (const void* data, size_t nbytes) (Py_buffer view, int got = 0) {
  if (PyObject_GetBuffer($input, &view, PyBUF_C_CONTIGUOUS) != 0) SWIG_fail;
  got = 1;
  $1 = view.buf;
  $2 = (size_t)view.len;
}
%typemap(freearg) (const void* data, size_t nbytes) { if (got$argnum) PyBuffer_Release(&view$argnum); }

/* Writable host memory for downloads (a C-contiguous numpy array or bytearray). */
%typemap(in) (void* data, size_t nbytes) (Py_buffer view, int got = 0) {
  if (PyObject_GetBuffer($input, &view, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) != 0) SWIG_fail;
  got = 1;
  $1 = view.buf;
  $2 = (size_t)view.len;
}
%typemap(freearg) (void* data, size_t nbytes) { if (got$argnum) PyBuffer_Release(&view$argnum); }

/* A NULL handle is passed as None (optional bias, weight, grad_output...). */
%typemap(in) grl_tensor (void* argp = 0) {
  if ($input == Py_None) {
    $1 = NULL;
  } else if (!SWIG_IsOK(SWIG_ConvertPtr($input, &argp, $descriptor(grl_tensor), 0))) {
    SWIG_exception_fail(SWIG_TypeError, "in '$symname', argument $argnum ('$1_name') must be a grl_tensor handle or None");
  } else {
    $1 = (grl_tensor)argp;
  }
}
%typemap(typecheck, precedence=SWIG_TYPECHECK_POINTER) grl_tensor {
  void* vptr = 0;
  $1 = ($input == Py_None || SWIG_IsOK(SWIG_ConvertPtr($input, &vptr, $descriptor(grl_tensor), 0))) ? 1 : 0;
}

/* ------------------------------------------------------------------------------------------------
 * Left out of this first layer: callbacks, array outputs and option structs with pointers. The
 * hand-written replacements below cover what the Python package uses.
 * --------------------------------------------------------------------------------------------- */
%ignore grl_custom_apply;
%ignore grl_custom_function;
%ignore grl_split;
%ignore grl_graph_summary;
%ignore grl_optimizer_get_scalars;
%ignore grl_optimizer_set_scalars;
%ignore grl_save_safetensors;
%ignore grl_device_create;
%ignore grl_device_options;
%ignore grl_device_info;
%ignore grl_memory_stats;
%ignore grl_optimizer_create;
%ignore grl_optimizer_options;
%ignore grl_lr_scheduler_create;
%ignore grl_lr_schedule_options;

%include <stdint.i>
%include "grilly.h"

%inline %{
/* grl_device_create with the options spelled out (index -1: choose; name_contains None: any;
 * allow_cpu / validation -1: from the environment). */
static grl_status grilly_device_create(int32_t index, const char* name_contains, int32_t allow_cpu,
                                       int32_t validation, grl_device* out) {
  grl_device_options opts = GRL_DEVICE_OPTIONS_INIT;
  opts.index = index;
  opts.name_contains = name_contains;
  opts.allow_cpu = allow_cpu;
  opts.validation = validation;
  return grl_device_create(&opts, out);
}

/* grl_optimizer_create with the options of SGD and Adam(W) spelled out (a negative lr,
 * weight_decay or eps: the kind's default); the other fields keep GRL_OPTIMIZER_OPTIONS_INIT's. */
static grl_status grilly_optimizer_create(const grl_tensor* params, int32_t n_params, int32_t kind,
                                          double lr, double momentum, double dampening,
                                          uint32_t nesterov, double weight_decay, double beta1,
                                          double beta2, double eps, uint32_t amsgrad,
                                          grl_optimizer* out) {
  grl_optimizer_options opts = GRL_OPTIMIZER_OPTIONS_INIT((grl_optimizer_kind)kind);
  opts.lr = lr;
  opts.momentum = momentum;
  opts.dampening = dampening;
  opts.nesterov = nesterov;
  opts.weight_decay = weight_decay;
  opts.beta1 = beta1;
  opts.beta2 = beta2;
  opts.eps = eps;
  opts.amsgrad = amsgrad;
  return grl_optimizer_create(params, n_params, &opts, out);
}

%}

%inline %{
static PyObject* _set_error_classes(PyObject* mapping) {
  if (!PyDict_Check(mapping)) {
    PyErr_SetString(PyExc_TypeError, "expected a dict");
    return NULL;
  }
  Py_XDECREF(grilly_error_classes);
  Py_INCREF(mapping);
  grilly_error_classes = mapping;
  Py_RETURN_NONE;
}
%}
