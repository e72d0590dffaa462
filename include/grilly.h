/* grilly.h — the public C ABI of grilly, a Vulkan compute library for neural networks.
 * This is the only public header: opaque refcounted handles, status codes, devices, tensors and ops.
 *
 * Conventions (see docs/conventions.md):
 *  - Every fallible call returns grl_status (GRL_OK = 0, errors < 0). Results come back through the
 *    last parameter, named `out`; on failure `out` is left untouched and nothing leaks.
 *  - Every call that returns grl_status first clears this thread's error message; on failure it sets
 *    a message naming the function, the argument, what was expected and what was given.
 *  - Handles are refcounted. A function that returns a handle through `out` gives the caller one
 *    reference, to be dropped with the matching *_release. Release accepts NULL and any thread.
 *    Children keep their parents alive: a tensor keeps its device alive.
 *  - Ops are deferred: a call checks its arguments, allocates its output and records GPU work. The
 *    host waits only on a host read, grl_device_synchronize, or when a batch of work is full.
 *  - Shapes are int64_t, byte counts size_t, booleans uint32_t (0 or 1), axes int32_t (negative
 *    axes count from the end).
 *  Thread safety: see docs/threading.md. A grl_device may be used from several threads at once (its
 *  calls are serialised inside). Ops on tensors are safe from several threads; a tensor's data
 *  must not be written (upload) from one thread while another thread reads it.
 */
#ifndef GRILLY_H
#define GRILLY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(GRILLY_BUILD) && defined(__GNUC__)
#define GRL_API __attribute__((visibility("default")))
#else
#define GRL_API
#endif

#define GRL_VERSION_MAJOR 0
#define GRL_VERSION_MINOR 1
#define GRL_VERSION_PATCH 0
#define GRL_MAX_DIMS 8

/* ------------------------------------------------------------------------------------------------
 * Status codes and errors
 * --------------------------------------------------------------------------------------------- */
typedef enum grl_status {
  GRL_OK = 0,
  GRL_ERROR_INVALID_ARGUMENT = -1, /* a value is out of its documented range */
  GRL_ERROR_NULL_ARGUMENT = -2,    /* a required handle or pointer is NULL */
  GRL_ERROR_SHAPE = -3,            /* shapes do not fit the op's rule */
  GRL_ERROR_DTYPE = -4,            /* the op does not take this dtype, or dtypes disagree */
  GRL_ERROR_DEVICE_MISMATCH = -5,  /* tensors live on different devices */
  GRL_ERROR_INDEX = -6,            /* an index is out of range (may be reported at the next sync) */
  GRL_ERROR_OUT_OF_MEMORY = -7,    /* host or device memory is exhausted */
  GRL_ERROR_NO_DEVICE = -8,        /* no Vulkan, or no device matches the request */
  GRL_ERROR_DEVICE = -9,           /* the Vulkan driver failed (device lost, ...) */
  GRL_ERROR_UNSUPPORTED = -10,     /* valid request the device or build cannot do */
  GRL_ERROR_IO = -11,              /* a file could not be read or written */
  GRL_ERROR_INTERNAL = -99,        /* a bug in grilly: please report it with the message */
  GRL_STATUS_FORCE32 = 0x7fffffff
} grl_status;

/* The message of the last failed call on this thread ("" when the last call succeeded). The pointer
 * stays valid until this thread's next grilly call. */
GRL_API const char* grl_last_error_message(void);
/* The status of the last failed call on this thread (GRL_OK after a success). */
GRL_API grl_status grl_last_error_status(void);
/* A short constant name for a status, e.g. "GRL_ERROR_SHAPE". */
GRL_API const char* grl_status_string(grl_status status);

/* Library version: (major << 22) | (minor << 12) | patch, and the same as "0.1.0". */
GRL_API uint32_t grl_version(void);
GRL_API const char* grl_version_string(void);

/* ------------------------------------------------------------------------------------------------
 * Handles
 * --------------------------------------------------------------------------------------------- */
typedef struct grl_device_s* grl_device; /* a Vulkan device with its memory pool and command stream */
typedef struct grl_tensor_s* grl_tensor; /* an n-d array (or a view of one) on a device */
typedef struct grl_graph_s* grl_graph;   /* a captured, replayable sequence of ops (see training) */

typedef enum grl_dtype {
  GRL_F32 = 0,
  GRL_F16 = 1,
  GRL_BF16 = 2,
  GRL_I32 = 3,
  GRL_I64 = 4,
  GRL_U8 = 5, /* bytes; comparisons return U8 masks of 0/1 */
  GRL_DTYPE_COUNT = 6,
  GRL_DTYPE_FORCE32 = 0x7fffffff
} grl_dtype;

/* Size of one element in bytes (0 for an invalid dtype) and its name ("f32", ...; "?" if invalid). */
GRL_API size_t grl_dtype_size(grl_dtype dtype);
GRL_API const char* grl_dtype_name(grl_dtype dtype);

/* ------------------------------------------------------------------------------------------------
 * Devices
 * --------------------------------------------------------------------------------------------- */
typedef enum grl_device_type {
  GRL_DEVICE_OTHER = 0,
  GRL_DEVICE_INTEGRATED_GPU = 1,
  GRL_DEVICE_DISCRETE_GPU = 2,
  GRL_DEVICE_VIRTUAL_GPU = 3,
  GRL_DEVICE_CPU = 4,
  GRL_DEVICE_TYPE_FORCE32 = 0x7fffffff
} grl_device_type;

typedef struct grl_device_info {
  char name[256];
  uint32_t index;          /* position in grl_device_count's enumeration */
  uint32_t vendor_id;      /* PCI vendor: 0x10de NVIDIA, 0x1002 AMD, 0x8086 Intel, 0x10005 Mesa */
  uint32_t device_id;
  grl_device_type type;
  uint32_t api_version;    /* Vulkan version, VK_MAKE_API_VERSION encoding */
  uint64_t device_local_bytes;
  uint64_t max_buffer_bytes;
  uint32_t subgroup_size;
  uint32_t max_workgroup_invocations;
  uint32_t max_shared_memory_bytes;
  uint32_t supports_fp16;  /* shaderFloat16 + 16-bit storage */
  uint32_t supports_bf16;  /* VK_KHR_shader_bfloat16 (bf16 is otherwise computed through f32) */
  uint32_t supports_int8;  /* shaderInt8 + 8-bit storage */
  uint32_t supports_cooperative_matrix; /* VK_KHR_ or VK_NV_cooperative_matrix */
  uint32_t host_visible_device_memory;  /* zero-copy host access is possible */
} grl_device_info;

/* Options for grl_device_create. Start from GRL_DEVICE_OPTIONS_INIT; later versions only append. */
typedef struct grl_device_options {
  uint32_t version;          /* GRL_DEVICE_OPTIONS_VERSION */
  int32_t index;             /* >= 0: this enumeration index; -1: choose (or VK_GPU_INDEX) */
  const char* name_contains; /* non-NULL: first device whose name contains this (or VK_GPU_NAME) */
  int32_t allow_cpu;         /* 1 allow, 0 forbid CPU devices, -1 from ALLOW_CPU_VULKAN (default 1) */
  int32_t validation;        /* 1 enable the Vulkan validation layer, 0 off, -1 from GRILLY_VALIDATION */
} grl_device_options;
#define GRL_DEVICE_OPTIONS_VERSION 1
#define GRL_DEVICE_OPTIONS_INIT {GRL_DEVICE_OPTIONS_VERSION, -1, NULL, -1, -1}

/* Number of Vulkan physical devices (0 when Vulkan is present but has none). Fails with
 * GRL_ERROR_NO_DEVICE when no Vulkan loader or driver can be found. */
GRL_API grl_status grl_device_count(uint32_t* out);
/* Describes device `index` of the enumeration without opening it. */
GRL_API grl_status grl_device_describe(uint32_t index, grl_device_info* out);
/* Opens a device. opts may be NULL (automatic choice: discrete GPU, then integrated, then virtual,
 * then CPU with a one-line notice on stderr). Environment: VK_GPU_INDEX, VK_GPU_NAME choose a device
 * when opts does not; ALLOW_CPU_VULKAN=0 forbids CPU devices. Several devices may be open at once. */
GRL_API grl_status grl_device_create(const grl_device_options* opts, grl_device* out);
GRL_API void grl_device_retain(grl_device device);
GRL_API void grl_device_release(grl_device device);
GRL_API grl_status grl_device_get_info(grl_device device, grl_device_info* out);
/* Submits all recorded work and waits for it. Reports errors raised by earlier kernels (such as an
 * out-of-range index, GRL_ERROR_INDEX) that were detected on the device. */
GRL_API grl_status grl_device_synchronize(grl_device device);

typedef struct grl_memory_stats {
  uint64_t bytes_in_use;    /* held by live tensors */
  uint64_t bytes_cached;    /* held by the pool, free for reuse */
  uint64_t bytes_reserved;  /* all device memory the pool holds (in use + cached) */
  uint64_t peak_bytes_in_use;
  uint64_t allocations;     /* tensor storage requests since creation */
  uint64_t pool_hits;       /* requests served from the cache */
  uint64_t staging_bytes;   /* host-visible staging memory held */
  uint64_t submissions;     /* command buffers submitted */
} grl_memory_stats;
GRL_API grl_status grl_device_memory_stats(grl_device device, grl_memory_stats* out);
/* Frees cached pool memory (waits for the device first). */
GRL_API grl_status grl_device_empty_cache(grl_device device);
/* Number of messages the validation layer reported on this device (0 when validation is off). */
GRL_API grl_status grl_device_validation_messages(grl_device device, uint64_t* out);

/* ------------------------------------------------------------------------------------------------
 * Tensors: creation, data transfer, metadata
 * --------------------------------------------------------------------------------------------- */
/* A new tensor of zeros. ndim 0 makes a scalar (one element). */
GRL_API grl_status grl_tensor_zeros(grl_device device, grl_dtype dtype, const int64_t* shape,
                                    int32_t ndim, grl_tensor* out);
/* A new uninitialised tensor (contents unspecified until written). */
GRL_API grl_status grl_tensor_empty(grl_device device, grl_dtype dtype, const int64_t* shape,
                                    int32_t ndim, grl_tensor* out);
/* A new tensor holding a copy of `nbytes` of host data (must equal numel * dtype size). */
GRL_API grl_status grl_tensor_from_host(grl_device device, grl_dtype dtype, const int64_t* shape,
                                        int32_t ndim, const void* data, size_t nbytes,
                                        grl_tensor* out);
GRL_API void grl_tensor_retain(grl_tensor tensor);
GRL_API void grl_tensor_release(grl_tensor tensor);
/* Copies host data into the tensor (row-major, all its elements). nbytes must be numel * size. */
GRL_API grl_status grl_tensor_upload(grl_tensor tensor, const void* data, size_t nbytes);
/* Copies the tensor's elements (row-major, views included) into host memory; waits for the device. */
GRL_API grl_status grl_tensor_download(grl_tensor tensor, void* data, size_t nbytes);
/* Sets every element to `value` (converted to the dtype). */
GRL_API grl_status grl_tensor_fill_(grl_tensor tensor, double value);

/* Metadata getters. They never fail: given NULL they return 0 / GRL_F32 / NULL. */
GRL_API int32_t grl_tensor_ndim(grl_tensor tensor);
GRL_API int64_t grl_tensor_dim(grl_tensor tensor, int32_t axis); /* negative axes allowed */
GRL_API int64_t grl_tensor_stride(grl_tensor tensor, int32_t axis); /* in elements */
GRL_API int64_t grl_tensor_numel(grl_tensor tensor);
GRL_API grl_dtype grl_tensor_dtype(grl_tensor tensor);
GRL_API uint32_t grl_tensor_is_contiguous(grl_tensor tensor);
/* The tensor's device, borrowed (no reference is added). */
GRL_API grl_device grl_tensor_device(grl_tensor tensor);
/* Copies the shape (grl_tensor_ndim entries) into out, which needs room for GRL_MAX_DIMS. */
GRL_API grl_status grl_tensor_shape(grl_tensor tensor, int64_t* out);

/* ------------------------------------------------------------------------------------------------
 * Views and layout. Views share storage with their source; writes through one show in the other.
 * --------------------------------------------------------------------------------------------- */
/* One dimension of new_shape may be -1 (inferred). A view when the layout allows, else a copy. */
GRL_API grl_status grl_reshape(grl_tensor x, const int64_t* shape, int32_t ndim, grl_tensor* out);
GRL_API grl_status grl_transpose(grl_tensor x, int32_t axis0, int32_t axis1, grl_tensor* out);
GRL_API grl_status grl_permute(grl_tensor x, const int32_t* axes, int32_t ndim, grl_tensor* out);
/* Elements start, start+step, ... < end along axis (end clamped to the size, step > 0). */
GRL_API grl_status grl_slice(grl_tensor x, int32_t axis, int64_t start, int64_t end, int64_t step,
                             grl_tensor* out);
/* Broadcast view: size-1 dims (and new leading dims) repeat with stride 0; -1 keeps a size. */
GRL_API grl_status grl_expand(grl_tensor x, const int64_t* shape, int32_t ndim, grl_tensor* out);
GRL_API grl_status grl_squeeze(grl_tensor x, int32_t axis, grl_tensor* out);
GRL_API grl_status grl_unsqueeze(grl_tensor x, int32_t axis, grl_tensor* out);
/* A contiguous tensor with the same values: x itself (with a new reference) if already contiguous. */
GRL_API grl_status grl_contiguous(grl_tensor x, grl_tensor* out);
/* A contiguous copy, always new storage. */
GRL_API grl_status grl_clone(grl_tensor x, grl_tensor* out);
/* Converts to another dtype (floats round to nearest even; float to int truncates toward zero). */
GRL_API grl_status grl_cast(grl_tensor x, grl_dtype dtype, grl_tensor* out);
/* Copies src (broadcast to dst's shape) into dst, converting dtype; dst may be a view. */
GRL_API grl_status grl_copy_(grl_tensor dst, grl_tensor src);

/* ------------------------------------------------------------------------------------------------
 * Elementwise ops. Binary ops broadcast numpy-style; both operands must have the same dtype.
 * Arithmetic takes f32, f16, bf16, i32, i64; transcendental ops take floating dtypes only.
 * Comparisons return U8 masks (1 where true).
 * --------------------------------------------------------------------------------------------- */
GRL_API grl_status grl_add(grl_tensor a, grl_tensor b, grl_tensor* out);
GRL_API grl_status grl_sub(grl_tensor a, grl_tensor b, grl_tensor* out);
GRL_API grl_status grl_mul(grl_tensor a, grl_tensor b, grl_tensor* out);
GRL_API grl_status grl_div(grl_tensor a, grl_tensor b, grl_tensor* out); /* ints: truncating */
GRL_API grl_status grl_pow(grl_tensor a, grl_tensor b, grl_tensor* out);
GRL_API grl_status grl_minimum(grl_tensor a, grl_tensor b, grl_tensor* out);
GRL_API grl_status grl_maximum(grl_tensor a, grl_tensor b, grl_tensor* out);
GRL_API grl_status grl_eq(grl_tensor a, grl_tensor b, grl_tensor* out);
GRL_API grl_status grl_ne(grl_tensor a, grl_tensor b, grl_tensor* out);
GRL_API grl_status grl_lt(grl_tensor a, grl_tensor b, grl_tensor* out);
GRL_API grl_status grl_le(grl_tensor a, grl_tensor b, grl_tensor* out);
GRL_API grl_status grl_gt(grl_tensor a, grl_tensor b, grl_tensor* out);
GRL_API grl_status grl_ge(grl_tensor a, grl_tensor b, grl_tensor* out);
/* Scalar forms: the scalar is the right operand (rsub: s - a, rdiv: s / a, rpow: s ** a). */
GRL_API grl_status grl_add_scalar(grl_tensor a, double s, grl_tensor* out);
GRL_API grl_status grl_sub_scalar(grl_tensor a, double s, grl_tensor* out);
GRL_API grl_status grl_rsub_scalar(grl_tensor a, double s, grl_tensor* out);
GRL_API grl_status grl_mul_scalar(grl_tensor a, double s, grl_tensor* out);
GRL_API grl_status grl_div_scalar(grl_tensor a, double s, grl_tensor* out);
GRL_API grl_status grl_rdiv_scalar(grl_tensor a, double s, grl_tensor* out);
GRL_API grl_status grl_pow_scalar(grl_tensor a, double s, grl_tensor* out);
GRL_API grl_status grl_rpow_scalar(grl_tensor a, double s, grl_tensor* out);
GRL_API grl_status grl_minimum_scalar(grl_tensor a, double s, grl_tensor* out);
GRL_API grl_status grl_maximum_scalar(grl_tensor a, double s, grl_tensor* out);
GRL_API grl_status grl_eq_scalar(grl_tensor a, double s, grl_tensor* out);
GRL_API grl_status grl_ne_scalar(grl_tensor a, double s, grl_tensor* out);
GRL_API grl_status grl_lt_scalar(grl_tensor a, double s, grl_tensor* out);
GRL_API grl_status grl_le_scalar(grl_tensor a, double s, grl_tensor* out);
GRL_API grl_status grl_gt_scalar(grl_tensor a, double s, grl_tensor* out);
GRL_API grl_status grl_ge_scalar(grl_tensor a, double s, grl_tensor* out);
GRL_API grl_status grl_neg(grl_tensor x, grl_tensor* out);
GRL_API grl_status grl_abs(grl_tensor x, grl_tensor* out);
GRL_API grl_status grl_exp(grl_tensor x, grl_tensor* out);
GRL_API grl_status grl_log(grl_tensor x, grl_tensor* out);
GRL_API grl_status grl_sqrt(grl_tensor x, grl_tensor* out);
GRL_API grl_status grl_rsqrt(grl_tensor x, grl_tensor* out);
GRL_API grl_status grl_sin(grl_tensor x, grl_tensor* out);
GRL_API grl_status grl_cos(grl_tensor x, grl_tensor* out);
GRL_API grl_status grl_tanh(grl_tensor x, grl_tensor* out);
GRL_API grl_status grl_sigmoid(grl_tensor x, grl_tensor* out);
/* min(max(x, lo), hi). */
GRL_API grl_status grl_clamp(grl_tensor x, double lo, double hi, grl_tensor* out);
/* cond (U8, broadcast) ? a : b, with a and b broadcast and of one dtype. */
GRL_API grl_status grl_where(grl_tensor cond, grl_tensor a, grl_tensor b, grl_tensor* out);

/* ------------------------------------------------------------------------------------------------
 * Activations (floating dtypes)
 * --------------------------------------------------------------------------------------------- */
typedef enum grl_gelu_approximation {
  GRL_GELU_EXACT = 0, /* x * Phi(x) with erf */
  GRL_GELU_TANH = 1,  /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
  GRL_GELU_FORCE32 = 0x7fffffff
} grl_gelu_approximation;

GRL_API grl_status grl_relu(grl_tensor x, grl_tensor* out);
GRL_API grl_status grl_leaky_relu(grl_tensor x, double negative_slope, grl_tensor* out);
GRL_API grl_status grl_elu(grl_tensor x, double alpha, grl_tensor* out);
GRL_API grl_status grl_gelu(grl_tensor x, grl_gelu_approximation approximate, grl_tensor* out);
GRL_API grl_status grl_silu(grl_tensor x, grl_tensor* out);
/* log(1 + exp(beta x)) / beta, and x where beta x > threshold (PyTorch: beta 1, threshold 20). */
GRL_API grl_status grl_softplus(grl_tensor x, double beta, double threshold, grl_tensor* out);
GRL_API grl_status grl_mish(grl_tensor x, grl_tensor* out);
GRL_API grl_status grl_hardswish(grl_tensor x, grl_tensor* out);
GRL_API grl_status grl_hardsigmoid(grl_tensor x, grl_tensor* out);
/* Growing cosine unit: x cos(x). */
GRL_API grl_status grl_gcu(grl_tensor x, grl_tensor* out);
/* RoSwish: (x + alpha) * sigmoid(beta x) - alpha / 2 (grilly defaults alpha 0.817, beta 3.0). */
GRL_API grl_status grl_roswish(grl_tensor x, double alpha, double beta, grl_tensor* out);
/* Gated units over the last axis of size 2H, split as [a, b]: out = act(a) * b, shape [..., H]. */
GRL_API grl_status grl_swiglu(grl_tensor x, grl_tensor* out);
GRL_API grl_status grl_geglu(grl_tensor x, grl_tensor* out); /* exact gelu */
GRL_API grl_status grl_reglu(grl_tensor x, grl_tensor* out);
GRL_API grl_status grl_softmax(grl_tensor x, int32_t axis, grl_tensor* out);
GRL_API grl_status grl_log_softmax(grl_tensor x, int32_t axis, grl_tensor* out);

/* ------------------------------------------------------------------------------------------------
 * Reductions. `axes` lists the reduced axes (naxes 0 or axes NULL: all axes); keepdim keeps them as
 * size 1. Floating dtypes accumulate in f32; sum of i32/i64 accumulates in i64 (returns i64).
 * --------------------------------------------------------------------------------------------- */
GRL_API grl_status grl_sum(grl_tensor x, const int32_t* axes, int32_t naxes, uint32_t keepdim,
                           grl_tensor* out);
GRL_API grl_status grl_mean(grl_tensor x, const int32_t* axes, int32_t naxes, uint32_t keepdim,
                            grl_tensor* out);
/* Variance with Bessel-style correction (1: unbiased, 0: population). */
GRL_API grl_status grl_var(grl_tensor x, const int32_t* axes, int32_t naxes, int32_t correction,
                           uint32_t keepdim, grl_tensor* out);
GRL_API grl_status grl_std(grl_tensor x, const int32_t* axes, int32_t naxes, int32_t correction,
                           uint32_t keepdim, grl_tensor* out);
GRL_API grl_status grl_max(grl_tensor x, const int32_t* axes, int32_t naxes, uint32_t keepdim,
                           grl_tensor* out);
GRL_API grl_status grl_min(grl_tensor x, const int32_t* axes, int32_t naxes, uint32_t keepdim,
                           grl_tensor* out);
/* Index (I64) of the first maximum / minimum along one axis. */
GRL_API grl_status grl_argmax(grl_tensor x, int32_t axis, uint32_t keepdim, grl_tensor* out);
GRL_API grl_status grl_argmin(grl_tensor x, int32_t axis, uint32_t keepdim, grl_tensor* out);
/* (sum |x|^p)^(1/p); p = INFINITY gives max |x|. */
GRL_API grl_status grl_norm(grl_tensor x, double p, const int32_t* axes, int32_t naxes,
                            uint32_t keepdim, grl_tensor* out);
GRL_API grl_status grl_logsumexp(grl_tensor x, const int32_t* axes, int32_t naxes, uint32_t keepdim,
                                 grl_tensor* out);
GRL_API grl_status grl_cumsum(grl_tensor x, int32_t axis, grl_tensor* out);

/* ------------------------------------------------------------------------------------------------
 * Linear algebra (floating dtypes; f16/bf16 accumulate in f32)
 * --------------------------------------------------------------------------------------------- */
/* numpy matmul: 1-d operands are promoted and the added dim removed; batch dims broadcast. */
GRL_API grl_status grl_matmul(grl_tensor a, grl_tensor b, grl_tensor* out);
/* y = x W^T + b, x [..., in], weight [out, in], bias [out] or NULL. */
GRL_API grl_status grl_linear(grl_tensor x, grl_tensor weight, grl_tensor bias, grl_tensor* out);
/* Batched [B, M, K] x [B, K, N] -> [B, M, N], no broadcasting. */
GRL_API grl_status grl_bmm(grl_tensor a, grl_tensor b, grl_tensor* out);
/* Outer product of two 1-d tensors: [M] x [N] -> [M, N]. */
GRL_API grl_status grl_outer(grl_tensor a, grl_tensor b, grl_tensor* out);

/* ------------------------------------------------------------------------------------------------
 * Normalization over the last `normalized_ndim` axes; weight/bias have those axes' shape or NULL.
 * --------------------------------------------------------------------------------------------- */
GRL_API grl_status grl_layer_norm(grl_tensor x, int32_t normalized_ndim, grl_tensor weight,
                                  grl_tensor bias, double eps, grl_tensor* out);
GRL_API grl_status grl_rms_norm(grl_tensor x, int32_t normalized_ndim, grl_tensor weight,
                                double eps, grl_tensor* out);

/* ------------------------------------------------------------------------------------------------
 * Indexing and shape. Index tensors are I32 or I64. An index out of range is reported as
 * GRL_ERROR_INDEX: by the call when the index is known on the host, else by the next synchronize or
 * download on the device; the offending output elements are zero, and no memory outside the tensors
 * is touched.
 * --------------------------------------------------------------------------------------------- */
/* weight [num, dim], indices [...] -> [..., dim]. */
GRL_API grl_status grl_embedding(grl_tensor weight, grl_tensor indices, grl_tensor* out);
/* Picks entries of x along axis by a 1-d index. */
GRL_API grl_status grl_index_select(grl_tensor x, int32_t axis, grl_tensor index, grl_tensor* out);
/* torch.gather: out[i][j] = x[index[i][j]][j] (axis 0), index has x's ndim. */
GRL_API grl_status grl_gather(grl_tensor x, int32_t axis, grl_tensor index, grl_tensor* out);
/* out = x with src added at index along axis (torch.scatter_add, out of place). */
GRL_API grl_status grl_scatter_add(grl_tensor x, int32_t axis, grl_tensor index, grl_tensor src,
                                   grl_tensor* out);
GRL_API grl_status grl_concat(const grl_tensor* xs, int32_t count, int32_t axis, grl_tensor* out);
GRL_API grl_status grl_stack(const grl_tensor* xs, int32_t count, int32_t axis, grl_tensor* out);
/* Splits x along axis into `count` pieces of the given sizes (summing to the axis size); writes
 * `count` new tensors (views) to out. */
GRL_API grl_status grl_split(grl_tensor x, const int64_t* sizes, int32_t count, int32_t axis,
                             grl_tensor* out);
/* Constant padding, PyTorch order: pads = (last_lo, last_hi, second_last_lo, ...), npads even and
 * at most 2*ndim; negative pads crop. */
GRL_API grl_status grl_pad(grl_tensor x, const int64_t* pads, int32_t npads, double value,
                           grl_tensor* out);
/* indices [...] -> [..., num_classes] of `dtype` with 1 at the index. */
GRL_API grl_status grl_one_hot(grl_tensor indices, int64_t num_classes, grl_dtype dtype,
                               grl_tensor* out);
/* start, start+step, ... < end (> end for negative step). */
GRL_API grl_status grl_arange(grl_device device, double start, double end, double step,
                              grl_dtype dtype, grl_tensor* out);
GRL_API grl_status grl_full(grl_device device, const int64_t* shape, int32_t ndim, double value,
                            grl_dtype dtype, grl_tensor* out);

/* ------------------------------------------------------------------------------------------------
 * Random numbers: Philox-4x32-10, counter-based. Element i of a call with (seed, offset) is drawn
 * from counter (offset + i): the same seed and offset give the same bits on every device. Callers
 * advance `offset` by the element count to draw fresh numbers with one seed.
 * --------------------------------------------------------------------------------------------- */
GRL_API grl_status grl_rand_uniform(grl_device device, const int64_t* shape, int32_t ndim,
                                    grl_dtype dtype, double low, double high, uint64_t seed,
                                    uint64_t offset, grl_tensor* out);
GRL_API grl_status grl_rand_normal(grl_device device, const int64_t* shape, int32_t ndim,
                                   grl_dtype dtype, double mean, double std, uint64_t seed,
                                   uint64_t offset, grl_tensor* out);
/* 1 with probability p (in the given dtype). */
GRL_API grl_status grl_bernoulli(grl_device device, const int64_t* shape, int32_t ndim, double p,
                                 grl_dtype dtype, uint64_t seed, uint64_t offset, grl_tensor* out);
/* Inverted dropout: zero with probability p, survivors scaled by 1/(1-p); identity when
 * training is 0 or p is 0. */
GRL_API grl_status grl_dropout(grl_tensor x, double p, uint32_t training, uint64_t seed,
                               uint64_t offset, grl_tensor* out);

typedef enum grl_fan_mode {
  GRL_FAN_IN = 0,
  GRL_FAN_OUT = 1,
  GRL_FAN_MODE_FORCE32 = 0x7fffffff
} grl_fan_mode;
/* Initialisers write into an existing floating tensor of >= 2 dims (PyTorch's fan rules). */
GRL_API grl_status grl_init_xavier_uniform_(grl_tensor t, double gain, uint64_t seed);
GRL_API grl_status grl_init_xavier_normal_(grl_tensor t, double gain, uint64_t seed);
/* a: the negative slope of the following leaky_relu (0 for relu); gain sqrt(2 / (1 + a^2)). */
GRL_API grl_status grl_init_kaiming_uniform_(grl_tensor t, double a, grl_fan_mode mode,
                                             uint64_t seed);
GRL_API grl_status grl_init_kaiming_normal_(grl_tensor t, double a, grl_fan_mode mode,
                                            uint64_t seed);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* GRILLY_H */
