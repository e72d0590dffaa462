/* grilly.i — SWIG interface of the private module grilly._grilly, generated from include/grilly.h.
 * Owns the typemaps (out-parameters become return values), the GIL release, the status check and
 * the hand-written wrappers, among them the shim that runs Python autograd Functions. */
%module(package="grilly") _grilly

%{
#include <grilly.h>

/* Set by grilly._errors through _set_error_classes: {status (int): exception class}. */
static PyObject* grilly_error_classes = NULL;

/* The Python exception a custom-function callback raised on this thread (grilly_custom_apply):
 * the core only sees a status, so the error raised for the failed C call names it and chains it. */
static _Thread_local PyObject* grilly_pending_exc = NULL;

/* Raises the exception class mapped from `status`, built as cls(message, status). The message is
 * read right after the failed call, on the same thread (it is thread-local in the core). */
static void grilly_raise(grl_status status) {
  const char* msg = grl_last_error_message();
  PyObject* cause = grilly_pending_exc;
  grilly_pending_exc = NULL;
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
  const char* text = (msg && msg[0]) ? msg : grl_status_string(status);
  PyObject* exc = NULL;
  if (cause) {
    PyObject* detail = PyObject_Str(cause);
    PyObject* full = PyUnicode_FromFormat("%s (%s: %U)", text, Py_TYPE(cause)->tp_name,
                                          detail ? detail : Py_None);
    Py_XDECREF(detail);
    PyErr_Clear();
    if (full) {
      exc = PyObject_CallFunction(cls, "Oi", full, (int)status);
      Py_DECREF(full);
    }
  } else {
    exc = PyObject_CallFunction(cls, "si", text, (int)status);
  }
  if (exc) {
    if (cause) {
      Py_INCREF(cause);
      PyException_SetCause(exc, cause); /* steals */
    }
    PyErr_SetObject((PyObject*)Py_TYPE(exc), exc);
    Py_DECREF(exc);
  }
  Py_XDECREF(cause);
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

/* grl_last_error_status reports a status rather than failing with it. */
%typemap(out) grl_status grl_last_error_status { $result = PyLong_FromLong((long)$1); }

/* Helpers that touch Python objects must keep the GIL (they release it around their C calls). */
%exception _set_error_classes %{ $action %}
%exception grilly_split %{ $action %}
%exception grilly_optimizer_get_scalars %{ $action %}
%exception grilly_optimizer_set_scalars %{ $action %}
%exception grilly_save_safetensors %{ $action %}
%exception grilly_custom_apply %{ $action %}
%exception grilly_graph_summary %{ $action %}

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
GRILLY_HANDLE_OUT(grl_snn)
GRILLY_HANDLE_OUT(grl_index_flat)
GRILLY_HANDLE_OUT(grl_episodic_memory)

/* Named tensor out-parameters of the multi-output functions (grl_topk's out_values and
 * out_indices, grl_spiking_neuron's out_spikes, out_v, out_w, ...): the function returns a tuple
 * of them in argument order. The first one turns the status typemap's None into a tuple, so an
 * output the call left NULL keeps its position as None. */
%{
static PyObject* grilly_append_output(PyObject* result, PyObject* obj) {
  if (!obj) {
    Py_XDECREF(result);
    return NULL;
  }
  Py_ssize_t n = (result && PyTuple_Check(result)) ? PyTuple_GET_SIZE(result) : 0;
  PyObject* tuple = PyTuple_New(n + 1);
  if (!tuple) {
    Py_DECREF(obj);
    Py_XDECREF(result);
    return NULL;
  }
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = PyTuple_GET_ITEM(result, i);
    Py_INCREF(item);
    PyTuple_SET_ITEM(tuple, i, item);
  }
  PyTuple_SET_ITEM(tuple, n, obj); /* steals */
  Py_XDECREF(result);
  return tuple;
}
%}
%define GRILLY_TENSOR_OUTS(NAME)
%typemap(in, numinputs=0) grl_tensor* NAME (grl_tensor tmp = NULL) { $1 = &tmp; }
%typemap(argout) grl_tensor* NAME {
  $result = grilly_append_output($result,
                                 grilly_handle_or_none((void*)tmp$argnum, $descriptor(grl_tensor)));
  if (!$result) SWIG_fail;
}
%enddef
GRILLY_TENSOR_OUTS(out_values)
GRILLY_TENSOR_OUTS(out_indices)
GRILLY_TENSOR_OUTS(out_scores)
GRILLY_TENSOR_OUTS(out_distances)
GRILLY_TENSOR_OUTS(out_labels)
GRILLY_TENSOR_OUTS(out_spikes)
GRILLY_TENSOR_OUTS(out_v)
GRILLY_TENSOR_OUTS(out_w)
GRILLY_TENSOR_OUTS(out_membrane)
GRILLY_TENSOR_OUTS(out_refractory)
GRILLY_TENSOR_OUTS(out_preferred)
GRILLY_TENSOR_OUTS(out_sigmas)
GRILLY_TENSOR_OUTS(out_phases)
GRILLY_TENSOR_OUTS(out_times)
GRILLY_TENSOR_OUTS(out_mean)
GRILLY_TENSOR_OUTS(out_whitening)

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

/* grl_live_handle_counts: a dict of the process's live handles by kind. */
%typemap(in, numinputs=0) grl_live_handles* out (grl_live_handles tmp) {
  memset(&tmp, 0, sizeof tmp);
  $1 = &tmp;
}
%typemap(argout) grl_live_handles* out {
  Py_DECREF($result);
  $result = Py_BuildValue("{s:L,s:L,s:L,s:L}", "tensors", (long long)tmp$argnum.tensors,
      "devices", (long long)tmp$argnum.devices, "graphs", (long long)tmp$argnum.graphs,
      "optimizers", (long long)tmp$argnum.optimizers);
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
GRILLY_INT_ARRAY_IN(int64_t, milestones, n_milestones, PyLong_AsLongLong)

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

/* Host id arrays of the flat index: None (NULL, 0) or a C-contiguous buffer of 8-byte integers
 * (a numpy int64 array); the count is the buffer's length. */
%{
/* Whether a buffer format string is a native or little-endian 8-byte integer ('q', 'l', ...). */
static int grilly_int64_format(const char* f) {
  if (!f) return 0;
  if (*f == '@' || *f == '=' || *f == '<') ++f;
  return (*f == 'q' || *f == 'l' || *f == 'Q' || *f == 'L') && f[1] == '\0';
}
%}
%typemap(in) (const int64_t* ids, int64_t n) (Py_buffer view, int got = 0) {
  if ($input == Py_None) {
    $1 = NULL;
    $2 = 0;
  } else {
    if (PyObject_GetBuffer($input, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) SWIG_fail;
    got = 1;
    if (view.itemsize != 8 || !grilly_int64_format(view.format)) {
      SWIG_exception_fail(SWIG_TypeError,
                          "in '$symname', ids must be a C-contiguous int64 array or None");
    }
    $1 = (const int64_t*)view.buf;
    $2 = (int64_t)(view.len / 8);
  }
}
%typemap(freearg) (const int64_t* ids, int64_t n) {
  if (got$argnum) PyBuffer_Release(&view$argnum);
}

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
 * Left out of the generated layer: callbacks, array outputs and option structs. Each has a
 * hand-written replacement below: grilly_device_create, grilly_optimizer_create,
 * grilly_lr_scheduler_create (options spelled out), grilly_split (a list of handles),
 * grilly_optimizer_get_scalars / _set_scalars, grilly_save_safetensors (lists), grilly_graph_summary
 * (a str) and grilly_custom_apply (Python callables).
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
%ignore grl_live_handles;
%ignore grl_optimizer_create;
%ignore grl_optimizer_options;
%ignore grl_lr_scheduler_create;
%ignore grl_lr_schedule_options;
/* Neuromorphic families: option structs spelled out by the shims grilly_lif_step_,
 * grilly_spiking_neuron, grilly_snn_create, grilly_stp_step_, grilly_stp_sequence_,
 * grilly_stdp_step_, grilly_nlms_update_, grilly_nlms_ensemble_update_ and
 * grilly_index_flat_create; the flat index's add takes its ids with their count
 * (grilly_index_flat_add). */
%ignore grl_lif_options;
%ignore grl_lif_step_;
%ignore grl_neuron_options;
%ignore grl_spiking_neuron;
%ignore grl_snn_options;
%ignore grl_snn_create;
%ignore grl_stp_options;
%ignore grl_stp_step_;
%ignore grl_stp_sequence_;
%ignore grl_stdp_options;
%ignore grl_stdp_step_;
%ignore grl_nlms_options;
%ignore grl_nlms_update_;
%ignore grl_nlms_ensemble_update_;
%ignore grl_index_flat_options;
%ignore grl_index_flat_create;
%ignore grl_index_flat_add;

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

%}

/* Helpers of the hand-written wrappers below (not wrapped themselves). */
%{
static grl_tensor grilly_tensor_arg(PyObject* obj, const char* what) {
  void* p = 0;
  if (obj == Py_None || !SWIG_IsOK(SWIG_ConvertPtr(obj, &p, SWIGTYPE_p_grl_tensor_s, 0)) || !p) {
    PyErr_Format(PyExc_TypeError, "%s: expected a grl_tensor handle", what);
    return NULL;
  }
  return (grl_tensor)p;
}

/* ------------------------------------------------------------------------------------------------
 * Custom functions (grl_custom_apply) whose forward and backward are Python callables. The core
 * calls them from inside grl_custom_apply or grl_tensor_backward, where the wrapper has released
 * the GIL, so every callback reacquires it. The context is shared by the caller and the core's
 * release callback and freed when both are done (the core does not release it when it rejects
 * the call before recording).
 * --------------------------------------------------------------------------------------------- */
typedef struct grilly_pyfn {
  PyObject* obj; /* has _forward(list of handles) -> Tensor, _backward(handle, handles) -> list */
  char* name;    /* the core keeps the pointer for the node's life */
  int refs;      /* changed only with the GIL held */
  int started;   /* the forward ran: the core made its context and will call release */
} grilly_pyfn;

static void grilly_pyfn_unref(grilly_pyfn* f) {
  if (--f->refs > 0) return;
  Py_XDECREF(f->obj);
  free(f->name);
  free(f);
}

/* Records the current Python exception for grilly_raise and maps it to a status. */
static grl_status grilly_callback_failed(void) {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (value && tb) PyException_SetTraceback(value, tb);
  Py_XDECREF(type);
  Py_XDECREF(tb);
  grl_status st = GRL_ERROR_INVALID_ARGUMENT;
  if (value) {
    PyObject* code = PyObject_GetAttrString(value, "status");
    if (code && PyLong_Check(code)) {
      long c = PyLong_AsLong(code);
      if (c < 0) st = (grl_status)c;
    }
    Py_XDECREF(code);
    PyErr_Clear();
  }
  Py_XDECREF(grilly_pending_exc);
  grilly_pending_exc = value;
  return st;
}

static PyObject* grilly_handle_list(const grl_tensor* hs, int32_t n) {
  PyObject* list = PyList_New(n);
  if (!list) return NULL;
  for (int32_t i = 0; i < n; ++i) {
    PyObject* h = grilly_handle_or_none((void*)hs[i], SWIGTYPE_p_grl_tensor_s);
    if (!h) {
      Py_DECREF(list);
      return NULL;
    }
    PyList_SET_ITEM(list, i, h);
  }
  return list;
}

/* A new reference to the handle owned by a grilly.Tensor (its `_h`), for the core to own. */
static grl_tensor grilly_take_tensor(PyObject* t, const char* what) {
  PyObject* h = PyObject_GetAttrString(t, "_h");
  if (!h) return NULL;
  grl_tensor p = grilly_tensor_arg(h, what);
  Py_DECREF(h);
  if (p) grl_tensor_retain(p);
  return p;
}

static grl_status grilly_pyfn_forward(void* ctx, const grl_tensor* inputs, int32_t n_inputs,
                                      grl_tensor* out) {
  grilly_pyfn* f = (grilly_pyfn*)ctx;
  PyGILState_STATE g = PyGILState_Ensure();
  grl_status st = GRL_OK;
  f->started = 1;
  PyObject* args = grilly_handle_list(inputs, n_inputs);
  PyObject* res = args ? PyObject_CallMethod(f->obj, "_forward", "O", args) : NULL;
  if (res) {
    *out = grilly_take_tensor(res, "grilly.autograd.Function.forward must return a Tensor");
    if (!*out) st = grilly_callback_failed();
  } else {
    st = grilly_callback_failed();
  }
  Py_XDECREF(res);
  Py_XDECREF(args);
  PyGILState_Release(g);
  return st;
}

static grl_status grilly_pyfn_backward(void* ctx, grl_tensor grad_output, const grl_tensor* inputs,
                                       int32_t n_inputs, grl_tensor* grad_inputs) {
  grilly_pyfn* f = (grilly_pyfn*)ctx;
  PyGILState_STATE g = PyGILState_Ensure();
  grl_status st = GRL_OK;
  PyObject* args = grilly_handle_list(inputs, n_inputs);
  PyObject* gh = args ? grilly_handle_or_none((void*)grad_output, SWIGTYPE_p_grl_tensor_s) : NULL;
  PyObject* res = gh ? PyObject_CallMethod(f->obj, "_backward", "OO", gh, args) : NULL;
  PyObject* seq = res ? PySequence_Fast(res, "grilly.autograd.Function.backward must return a "
                                             "sequence of Tensors or None") : NULL;
  if (!seq) {
    st = grilly_callback_failed();
  } else if (PySequence_Fast_GET_SIZE(seq) != n_inputs) {
    PyErr_Format(PyExc_ValueError, "grilly.autograd.Function.backward returned %zd gradients; "
                 "expected %d (one per input, None where an input needs none)",
                 PySequence_Fast_GET_SIZE(seq), (int)n_inputs);
    st = grilly_callback_failed();
  } else {
    for (int32_t i = 0; i < n_inputs && st == GRL_OK; ++i) {
      PyObject* item = PySequence_Fast_GET_ITEM(seq, i);
      if (item == Py_None) continue;
      grad_inputs[i] = grilly_take_tensor(item, "grilly.autograd.Function.backward gradients");
      if (!grad_inputs[i]) st = grilly_callback_failed();
    }
    if (st != GRL_OK) { /* the core owns only what a successful backward wrote */
      for (int32_t i = 0; i < n_inputs; ++i) {
        grl_tensor_release(grad_inputs[i]);
        grad_inputs[i] = NULL;
      }
    }
  }
  Py_XDECREF(seq);
  Py_XDECREF(res);
  Py_XDECREF(gh);
  Py_XDECREF(args);
  PyGILState_Release(g);
  return st;
}

static void grilly_pyfn_release(void* ctx) {
  if (!Py_IsInitialized()) return; /* at interpreter exit the Python objects are gone already */
  PyGILState_STATE g = PyGILState_Ensure();
  grilly_pyfn_unref((grilly_pyfn*)ctx);
  PyGILState_Release(g);
}

%}

%inline %{
/* grl_optimizer_create with every field of grl_optimizer_options spelled out (a negative lr,
 * weight_decay or eps: the kind's default). */
static grl_status grilly_optimizer_create(const grl_tensor* params, int32_t n_params, int32_t kind,
                                          double lr, double momentum, double dampening,
                                          uint32_t nesterov, double weight_decay, double beta1,
                                          double beta2, double eps, uint32_t amsgrad, double alpha,
                                          uint32_t centered, double lr_decay,
                                          double initial_accumulator_value, double mu_decay,
                                          double mu_min, double fisher_decay, grl_optimizer* out) {
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
  opts.alpha = alpha;
  opts.centered = centered;
  opts.lr_decay = lr_decay;
  opts.initial_accumulator_value = initial_accumulator_value;
  opts.mu_decay = mu_decay;
  opts.mu_min = mu_min;
  opts.fisher_decay = fisher_decay;
  return grl_optimizer_create(params, n_params, &opts, out);
}

/* grl_lr_scheduler_create with the fields of grl_lr_schedule_options spelled out. */
static grl_status grilly_lr_scheduler_create(grl_optimizer opt, int32_t kind, double gamma,
                                             int64_t step_size, const int64_t* milestones,
                                             int32_t n_milestones, int64_t t_max, double eta_min,
                                             int64_t t_0, int64_t t_mult, int64_t warmup_steps,
                                             double start_factor, double pct_start,
                                             double div_factor, double final_div_factor,
                                             int32_t mode_max, int64_t patience, double threshold,
                                             int64_t cooldown, double min_lr, grl_lr_scheduler* out) {
  grl_lr_schedule_options o = GRL_LR_SCHEDULE_OPTIONS_INIT((grl_lr_schedule_kind)kind);
  o.gamma = gamma;
  o.step_size = step_size;
  o.milestones = milestones;
  o.n_milestones = n_milestones;
  o.t_max = t_max;
  o.eta_min = eta_min;
  o.t_0 = t_0;
  o.t_mult = t_mult;
  o.warmup_steps = warmup_steps;
  o.start_factor = start_factor;
  o.pct_start = pct_start;
  o.div_factor = div_factor;
  o.final_div_factor = final_div_factor;
  o.mode_max = mode_max;
  o.patience = patience;
  o.threshold = threshold;
  o.cooldown = cooldown;
  o.min_lr = min_lr;
  return grl_lr_scheduler_create(opt, &o, out);
}

/* grl_split: a list of `len(sizes)` new tensor handles (views). */
static PyObject* grilly_split(grl_tensor x, PyObject* sizes, int32_t axis) {
  PyObject* seq = PySequence_Fast(sizes, "grilly_split: sizes must be a sequence of integers");
  if (!seq) return NULL;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  if (n < 1 || n > 4096) {
    Py_DECREF(seq);
    PyErr_Format(PyExc_ValueError, "grilly_split: expected 1..4096 sizes, got %zd", n);
    return NULL;
  }
  int64_t* sz = (int64_t*)calloc((size_t)n, sizeof(int64_t));
  grl_tensor* outs = (grl_tensor*)calloc((size_t)n, sizeof(grl_tensor));
  PyObject* result = NULL;
  if (!sz || !outs) {
    PyErr_NoMemory();
    goto done;
  }
  for (Py_ssize_t i = 0; i < n; ++i) {
    sz[i] = (int64_t)PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, i));
    if (PyErr_Occurred()) goto done;
  }
  grl_status st;
  Py_BEGIN_ALLOW_THREADS
  st = grl_split(x, sz, (int32_t)n, axis, outs);
  Py_END_ALLOW_THREADS
  if (st < 0) {
    grilly_raise(st);
    goto done;
  }
  result = PyList_New(n);
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* h = result ? SWIG_NewPointerObj(outs[i], SWIGTYPE_p_grl_tensor_s, 0) : NULL;
    if (!h) { /* hand back what Python cannot own */
      for (Py_ssize_t j = i; j < n; ++j) grl_tensor_release(outs[j]);
      Py_CLEAR(result);
      break;
    }
    PyList_SET_ITEM(result, i, h);
  }
done:
  free(sz);
  free(outs);
  Py_DECREF(seq);
  return result;
}

/* grl_optimizer_get_scalars: [step count, lr, NLMS mu] as a list of 3 floats. */
static PyObject* grilly_optimizer_get_scalars(grl_optimizer opt) {
  double v[3] = {0, 0, 0};
  grl_status st;
  Py_BEGIN_ALLOW_THREADS
  st = grl_optimizer_get_scalars(opt, v);
  Py_END_ALLOW_THREADS
  if (st < 0) {
    grilly_raise(st);
    return NULL;
  }
  return Py_BuildValue("[ddd]", v[0], v[1], v[2]);
}

/* grl_optimizer_set_scalars from three numbers. */
static PyObject* grilly_optimizer_set_scalars(grl_optimizer opt, double step, double lr, double mu) {
  double v[3] = {step, lr, mu};
  grl_status st;
  Py_BEGIN_ALLOW_THREADS
  st = grl_optimizer_set_scalars(opt, v);
  Py_END_ALLOW_THREADS
  if (st < 0) {
    grilly_raise(st);
    return NULL;
  }
  Py_RETURN_NONE;
}

/* grl_save_safetensors from a list of names and a list of tensor handles of one length. */
static PyObject* grilly_save_safetensors(const char* path, PyObject* names, PyObject* tensors) {
  PyObject* ns = PySequence_Fast(names, "grilly_save_safetensors: names must be a sequence");
  if (!ns) return NULL;
  PyObject* ts = PySequence_Fast(tensors, "grilly_save_safetensors: tensors must be a sequence");
  if (!ts) {
    Py_DECREF(ns);
    return NULL;
  }
  Py_ssize_t n = PySequence_Fast_GET_SIZE(ns);
  PyObject* result = NULL;
  const char** cn = NULL;
  grl_tensor* ct = NULL;
  if (n != PySequence_Fast_GET_SIZE(ts)) {
    PyErr_Format(PyExc_ValueError, "grilly_save_safetensors: %zd names but %zd tensors", n,
                 PySequence_Fast_GET_SIZE(ts));
    goto done;
  }
  cn = (const char**)calloc(n > 0 ? (size_t)n : 1, sizeof(char*));
  ct = (grl_tensor*)calloc(n > 0 ? (size_t)n : 1, sizeof(grl_tensor));
  if (!cn || !ct) {
    PyErr_NoMemory();
    goto done;
  }
  for (Py_ssize_t i = 0; i < n; ++i) {
    /* UTF-8 buffers live as long as the str objects, which `ns` keeps alive. */
    cn[i] = PyUnicode_AsUTF8(PySequence_Fast_GET_ITEM(ns, i));
    if (!cn[i]) goto done;
    ct[i] = grilly_tensor_arg(PySequence_Fast_GET_ITEM(ts, i), "grilly_save_safetensors");
    if (!ct[i]) goto done;
  }
  grl_status st;
  Py_BEGIN_ALLOW_THREADS
  st = grl_save_safetensors(path, cn, ct, (int32_t)n);
  Py_END_ALLOW_THREADS
  if (st < 0) {
    grilly_raise(st);
    goto done;
  }
  result = Py_None;
  Py_INCREF(result);
done:
  free(cn);
  free(ct);
  Py_DECREF(ns);
  Py_DECREF(ts);
  return result;
}

/* grl_graph_summary as a str: asks for the size (NUL included), then fills a buffer of it. */
static PyObject* grilly_graph_summary(grl_graph graph) {
  size_t need = 0;
  grl_status st;
  Py_BEGIN_ALLOW_THREADS
  st = grl_graph_summary(graph, NULL, 0, &need);
  Py_END_ALLOW_THREADS
  if (st < 0) {
    grilly_raise(st);
    return NULL;
  }
  char* buf = (char*)malloc(need ? need : 1);
  if (!buf) return PyErr_NoMemory();
  buf[0] = '\0';
  Py_BEGIN_ALLOW_THREADS
  st = grl_graph_summary(graph, buf, need ? need : 1, NULL);
  Py_END_ALLOW_THREADS
  PyObject* result = NULL;
  if (st < 0) {
    grilly_raise(st);
  } else {
    result = PyUnicode_FromString(buf);
  }
  free(buf);
  return result;
}

/* grl_custom_apply over a Python object with _forward and _backward methods (grilly.autograd). */
static PyObject* grilly_custom_apply(PyObject* fnobj, const char* name, PyObject* inputs) {
  PyObject* seq = PySequence_Fast(inputs, "grilly_custom_apply: inputs must be a sequence");
  if (!seq) return NULL;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  if (n > 64) {
    Py_DECREF(seq);
    PyErr_Format(PyExc_ValueError, "grilly_custom_apply: at most 64 inputs, got %zd", n);
    return NULL;
  }
  grl_tensor ins[64];
  for (Py_ssize_t i = 0; i < n; ++i) {
    ins[i] = grilly_tensor_arg(PySequence_Fast_GET_ITEM(seq, i), "grilly_custom_apply");
    if (!ins[i]) {
      Py_DECREF(seq);
      return NULL;
    }
  }
  grilly_pyfn* f = (grilly_pyfn*)calloc(1, sizeof(grilly_pyfn));
  char* nm = strdup(name ? name : "custom");
  if (!f || !nm) {
    free(f);
    free(nm);
    Py_DECREF(seq);
    return PyErr_NoMemory();
  }
  Py_INCREF(fnobj);
  f->obj = fnobj;
  f->name = nm;
  f->refs = 1;
  grl_custom_function fn = {GRL_CUSTOM_FUNCTION_VERSION, nm, grilly_pyfn_forward,
                            grilly_pyfn_backward, grilly_pyfn_release, f};
  grl_tensor out = NULL;
  Py_CLEAR(grilly_pending_exc);
  grl_status st;
  /* The core calls release once when it made a context (always, unless it rejected the arguments
   * first): count that reference now and drop ours after the call. */
  f->refs = 2;
  Py_BEGIN_ALLOW_THREADS
  st = grl_custom_apply(&fn, ins, (int32_t)n, &out);
  Py_END_ALLOW_THREADS
  Py_DECREF(seq);
  if (st < 0) {
    /* Rejected before the context existed (the forward never ran): the core holds no reference. */
    if (!f->started) grilly_pyfn_unref(f);
    grilly_pyfn_unref(f);
    grilly_raise(st);
    return NULL;
  }
  grilly_pyfn_unref(f);
  return grilly_handle_or_none((void*)out, SWIGTYPE_p_grl_tensor_s);
}
%}

/* ------------------------------------------------------------------------------------------------
 * Neuromorphic families: the functions taking an options struct, with its fields spelled out
 * (the struct starts from its _INIT macro, so its version is always right).
 * --------------------------------------------------------------------------------------------- */
%inline %{
/* grl_lif_step_ with grl_lif_options spelled out. */
static grl_status grilly_lif_step_(grl_tensor v, grl_tensor refractory, grl_tensor input, double dt,
                                   double tau_mem, double v_rest, double v_reset, double v_thresh,
                                   double r_m, double t_ref, int32_t spike_dtype, grl_tensor* out) {
  grl_lif_options o = GRL_LIF_OPTIONS_INIT;
  o.dt = dt;
  o.tau_mem = tau_mem;
  o.v_rest = v_rest;
  o.v_reset = v_reset;
  o.v_thresh = v_thresh;
  o.r_m = r_m;
  o.t_ref = t_ref;
  o.spike_dtype = spike_dtype;
  return grl_lif_step_(v, refractory, input, &o, out);
}

/* grl_spiking_neuron with grl_neuron_options spelled out; want_v / want_w ask for the final state
 * (else NULL is passed and None comes back in its place). Returns (spikes, v, w). */
static grl_status grilly_spiking_neuron(grl_tensor x, grl_tensor v0, grl_tensor w0,
                                        grl_tensor tau_param, int32_t kind, double tau,
                                        uint32_t decay_input, double v_thresh, double v_reset,
                                        uint32_t soft_reset, uint32_t detach_reset, double v_rest,
                                        int32_t surrogate, double alpha, uint32_t soft_spike,
                                        double tau_w, double a, double b, uint32_t want_v,
                                        uint32_t want_w, grl_tensor* out_spikes, grl_tensor* out_v,
                                        grl_tensor* out_w) {
  grl_neuron_options o = GRL_NEURON_OPTIONS_INIT;
  o.kind = (grl_neuron_kind)kind;
  o.tau = tau;
  o.decay_input = decay_input;
  o.v_thresh = v_thresh;
  o.v_reset = v_reset;
  o.soft_reset = soft_reset;
  o.detach_reset = detach_reset;
  o.v_rest = v_rest;
  o.surrogate = (grl_surrogate)surrogate;
  o.alpha = alpha;
  o.soft_spike = soft_spike;
  o.tau_w = tau_w;
  o.a = a;
  o.b = b;
  return grl_spiking_neuron(x, v0, w0, tau_param, &o, out_spikes, want_v ? out_v : NULL,
                            want_w ? out_w : NULL);
}

/* grl_snn_create with grl_snn_options (and its grl_lif_options) spelled out. */
static grl_status grilly_snn_create(grl_device device, int64_t n_neurons, double dt,
                                    double tau_mem, double v_rest, double v_reset, double v_thresh,
                                    double r_m, double t_ref, int32_t spike_dtype, int32_t dtype,
                                    grl_snn* out) {
  grl_snn_options o = GRL_SNN_OPTIONS_INIT;
  o.lif.dt = dt;
  o.lif.tau_mem = tau_mem;
  o.lif.v_rest = v_rest;
  o.lif.v_reset = v_reset;
  o.lif.v_thresh = v_thresh;
  o.lif.r_m = r_m;
  o.lif.t_ref = t_ref;
  o.lif.spike_dtype = spike_dtype;
  o.dtype = (grl_dtype)dtype;
  return grl_snn_create(device, n_neurons, &o, out);
}

/* grl_stp_step_ with grl_stp_options spelled out. */
static grl_status grilly_stp_step_(grl_tensor u, grl_tensor x, grl_tensor spikes, double U,
                                   double tau_d, double tau_f, double dt, grl_tensor* out) {
  grl_stp_options o = GRL_STP_OPTIONS_INIT;
  o.U = U;
  o.tau_d = tau_d;
  o.tau_f = tau_f;
  o.dt = dt;
  return grl_stp_step_(u, x, spikes, &o, out);
}

/* grl_stp_sequence_ with grl_stp_options spelled out. */
static grl_status grilly_stp_sequence_(grl_tensor u, grl_tensor x, grl_tensor spikes, double U,
                                       double tau_d, double tau_f, double dt, grl_tensor* out) {
  grl_stp_options o = GRL_STP_OPTIONS_INIT;
  o.U = U;
  o.tau_d = tau_d;
  o.tau_f = tau_f;
  o.dt = dt;
  return grl_stp_sequence_(u, x, spikes, &o, out);
}

/* grl_stdp_step_ with grl_stdp_options spelled out. */
static grl_status grilly_stdp_step_(grl_tensor w, grl_tensor pre_spikes, grl_tensor post_spikes,
                                    grl_tensor pre_trace, grl_tensor post_trace,
                                    grl_tensor pre_slow, grl_tensor post_slow, double dt,
                                    double tau_plus,
                                    double tau_minus, double a_plus, double a_minus,
                                    int32_t trace_mode, int32_t bound, double w_min, double w_max,
                                    int32_t batch_reduction, uint32_t triplet, double tau_x,
                                    double tau_y, double a3_plus, double a3_minus) {
  grl_stdp_options o = GRL_STDP_OPTIONS_INIT;
  o.dt = dt;
  o.tau_plus = tau_plus;
  o.tau_minus = tau_minus;
  o.a_plus = a_plus;
  o.a_minus = a_minus;
  o.trace_mode = (grl_stdp_trace_mode)trace_mode;
  o.bound = (grl_stdp_bound)bound;
  o.w_min = w_min;
  o.w_max = w_max;
  o.batch_reduction = (grl_reduction)batch_reduction;
  o.triplet = triplet;
  o.tau_x = tau_x;
  o.tau_y = tau_y;
  o.a3_plus = a3_plus;
  o.a3_minus = a3_minus;
  return grl_stdp_step_(w, pre_spikes, post_spikes, pre_trace, post_trace, pre_slow, post_slow, &o);
}

/* grl_nlms_update_ with grl_nlms_options spelled out; out receives the a-priori errors. */
static grl_status grilly_nlms_update_(grl_tensor w, grl_tensor b, grl_tensor mu, grl_tensor x,
                                      grl_tensor target, double eps, double mu_decay, double mu_min,
                                      uint32_t update_bias, double rmse_decay, grl_tensor* out) {
  grl_nlms_options o = GRL_NLMS_OPTIONS_INIT;
  o.eps = eps;
  o.mu_decay = mu_decay;
  o.mu_min = mu_min;
  o.update_bias = update_bias;
  o.rmse_decay = rmse_decay;
  return grl_nlms_update_(w, b, mu, x, target, &o, out);
}

/* grl_nlms_ensemble_update_ with grl_nlms_options spelled out. */
static grl_status grilly_nlms_ensemble_update_(grl_tensor w, grl_tensor b, grl_tensor mu,
                                               grl_tensor msq, grl_tensor x, grl_tensor target,
                                               double eps, double mu_decay, double mu_min,
                                               uint32_t update_bias, double rmse_decay,
                                               grl_tensor* out) {
  grl_nlms_options o = GRL_NLMS_OPTIONS_INIT;
  o.eps = eps;
  o.mu_decay = mu_decay;
  o.mu_min = mu_min;
  o.update_bias = update_bias;
  o.rmse_decay = rmse_decay;
  return grl_nlms_ensemble_update_(w, b, mu, msq, x, target, &o, out);
}

/* grl_index_flat_create with grl_index_flat_options spelled out. */
static grl_status grilly_index_flat_create(grl_device device, int64_t dim, int32_t metric,
                                           int64_t tile_rows, int64_t chunk_rows,
                                           grl_index_flat* out) {
  grl_index_flat_options o = GRL_INDEX_FLAT_OPTIONS_INIT;
  o.metric = (grl_metric)metric;
  o.tile_rows = tile_rows;
  o.chunk_rows = chunk_rows;
  return grl_index_flat_create(device, dim, &o, out);
}

/* grl_index_flat_add with the ids' count (ids None: the automatic ids). The core reads one id
 * per row of vectors, so a count that differs is refused here (grilly.IndexFlat.add checks it
 * first, with a message). */
static grl_status grilly_index_flat_add(grl_index_flat index, grl_tensor vectors,
                                        const int64_t* ids, int64_t n) {
  if (ids && vectors && (grl_tensor_ndim(vectors) < 1 || grl_tensor_dim(vectors, 0) != n)) {
    return GRL_ERROR_SHAPE;
  }
  return grl_index_flat_add(index, vectors, ids);
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
