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

/* Handles alive in this process (created and not yet destroyed), for leak checks in tests and
 * bindings. Internal holders count too: a tensor saved by autograd, kept by a graph or by an
 * optimizer stays alive until whatever holds it is released. Counts are read without locking
 * and may lag calls running on other threads. */
typedef struct grl_live_handles {
  int64_t tensors;
  int64_t devices;
  int64_t graphs;
  int64_t optimizers;
} grl_live_handles;
GRL_API grl_status grl_live_handle_counts(grl_live_handles* out);
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
/* RoSwish: (x + alpha) * sigmoid(beta x) - alpha / 2 (the original grilly's defaults: alpha 1, beta 1). */
GRL_API grl_status grl_roswish(grl_tensor x, double alpha, double beta, grl_tensor* out);
/* Gated units over the last axis of size 2H, split as [a, b]: out = act(a) * b, shape [..., H]. */
GRL_API grl_status grl_swiglu(grl_tensor x, grl_tensor* out);
GRL_API grl_status grl_geglu(grl_tensor x, grl_tensor* out); /* exact gelu */
GRL_API grl_status grl_reglu(grl_tensor x, grl_tensor* out);
GRL_API grl_status grl_softmax(grl_tensor x, int32_t axis, grl_tensor* out);
GRL_API grl_status grl_log_softmax(grl_tensor x, int32_t axis, grl_tensor* out);

/* ------------------------------------------------------------------------------------------------
 * Reductions. `axes` lists the reduced axes (naxes 0 or axes NULL: all axes; negative axes count
 * from the end; an axis listed twice is GRL_ERROR_INVALID_ARGUMENT); keepdim (0 or 1) keeps them as
 * size 1. A 0-d tensor takes axis 0 or -1 and gives a 0-d result.
 * Dtypes: f32, f16 and bf16 accumulate in f32 and return their own dtype. sum of i32/i64
 * accumulates in i64 and returns i64; max/min of i32/i64 return the same dtype; mean, var, std,
 * norm and logsumexp take floating dtypes only (GRL_ERROR_DTYPE: cast integers first). u8 is
 * not taken.
 * Empty reductions (a reduced axis of size 0): sum and norm give 0, mean, var and std NaN,
 * logsumexp -inf; max, min, argmax, argmin and the INFINITY norm have no value for an empty set
 * and fail with GRL_ERROR_SHAPE. NaN propagates through max and min.
 * --------------------------------------------------------------------------------------------- */
GRL_API grl_status grl_sum(grl_tensor x, const int32_t* axes, int32_t naxes, uint32_t keepdim,
                           grl_tensor* out);
GRL_API grl_status grl_mean(grl_tensor x, const int32_t* axes, int32_t naxes, uint32_t keepdim,
                            grl_tensor* out);
/* Variance with Bessel-style correction (1: unbiased, 0: population): the sum of squared
 * deviations over max(N - correction, 0), where a zero divisor gives inf (NaN when all values are
 * equal), as PyTorch. Computed stably (Welford/Chan), also for a large mean with a small spread. */
GRL_API grl_status grl_var(grl_tensor x, const int32_t* axes, int32_t naxes, int32_t correction,
                           uint32_t keepdim, grl_tensor* out);
GRL_API grl_status grl_std(grl_tensor x, const int32_t* axes, int32_t naxes, int32_t correction,
                           uint32_t keepdim, grl_tensor* out);
GRL_API grl_status grl_max(grl_tensor x, const int32_t* axes, int32_t naxes, uint32_t keepdim,
                           grl_tensor* out);
GRL_API grl_status grl_min(grl_tensor x, const int32_t* axes, int32_t naxes, uint32_t keepdim,
                           grl_tensor* out);
/* Index (I64) of the first maximum / minimum along one axis; NaN counts as both the maximum and
 * the minimum (the first NaN wins), as PyTorch. */
GRL_API grl_status grl_argmax(grl_tensor x, int32_t axis, uint32_t keepdim, grl_tensor* out);
GRL_API grl_status grl_argmin(grl_tensor x, int32_t axis, uint32_t keepdim, grl_tensor* out);
/* (sum |x|^p)^(1/p) for p > 0; p = INFINITY gives max |x|; p = 0 counts the nonzero elements (NaN
 * counts). A negative or NaN p is GRL_ERROR_INVALID_ARGUMENT. */
GRL_API grl_status grl_norm(grl_tensor x, double p, const int32_t* axes, int32_t naxes,
                            uint32_t keepdim, grl_tensor* out);
/* log(sum(exp(x))) without overflow; +inf in the input gives +inf, all -inf gives -inf. */
GRL_API grl_status grl_logsumexp(grl_tensor x, const int32_t* axes, int32_t naxes, uint32_t keepdim,
                                 grl_tensor* out);
/* Inclusive prefix sums along one axis, same shape: float dtypes keep their dtype (f32
 * accumulation), i32/i64 return i64. */
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
 * Indexing and shape. Index tensors are I32 or I64 (anything else: GRL_ERROR_DTYPE). An index
 * must lie in [0, size): negative indices do not count from the end, they are out of range.
 * Indices live on the device, so kernels check them: a call whose index is out of range still
 * returns GRL_OK, the output elements that index selects are zero (scatter_add drops that
 * contribution), and no memory outside the tensors is read or written; the next
 * grl_device_synchronize or grl_tensor_download on that device returns GRL_ERROR_INDEX with a
 * message naming the op and the bad index (the first one recorded when there are several). The
 * report is then cleared and the device works normally. Ops that only move data take every dtype
 * and copy the bits exactly.
 * --------------------------------------------------------------------------------------------- */
/* weight [num, dim], indices [...] -> [..., dim]. */
GRL_API grl_status grl_embedding(grl_tensor weight, grl_tensor indices, grl_tensor* out);
/* Picks entries of x (>= 1 dims) along axis by a 1-d index. */
GRL_API grl_status grl_index_select(grl_tensor x, int32_t axis, grl_tensor index, grl_tensor* out);
/* torch.gather: out[i][j] = x[index[i][j]][j] (axis 0); index has x's ndim and no dim larger than
 * x's except along axis; out has index's shape. */
GRL_API grl_status grl_gather(grl_tensor x, int32_t axis, grl_tensor index, grl_tensor* out);
/* out = x with src added at index along axis (torch.scatter_add, out of place): for every position
 * p of index, out[p with p[axis] = index[p]] += src[p]. x, index, src have one ndim; index is no
 * larger than src in any dim, nor than x outside axis. Takes f32, f16, bf16, i32, i64 (src of x's
 * dtype). Repeated indices are summed with atomics, so float sums come in no fixed order (the last
 * bits may differ between runs); f16/bf16 accumulate in f32 and round once at the end. */
GRL_API grl_status grl_scatter_add(grl_tensor x, int32_t axis, grl_tensor index, grl_tensor src,
                                   grl_tensor* out);
/* count >= 1 tensors of one dtype, device and rank (>= 1), equal outside axis. */
GRL_API grl_status grl_concat(const grl_tensor* xs, int32_t count, int32_t axis, grl_tensor* out);
/* count >= 1 tensors of one shape, dtype and device; a new axis (-(ndim+1) .. ndim) of size count. */
GRL_API grl_status grl_stack(const grl_tensor* xs, int32_t count, int32_t axis, grl_tensor* out);
/* Splits x along axis into `count` pieces of the given sizes (summing to the axis size); writes
 * `count` new tensors (views) to out. */
GRL_API grl_status grl_split(grl_tensor x, const int64_t* sizes, int32_t count, int32_t axis,
                             grl_tensor* out);
/* Constant padding, PyTorch order: pads = (last_lo, last_hi, second_last_lo, ...), npads even and
 * at most 2*ndim; negative pads crop. */
GRL_API grl_status grl_pad(grl_tensor x, const int64_t* pads, int32_t npads, double value,
                           grl_tensor* out);
/* indices [...] -> [..., num_classes] (num_classes >= 1) of `dtype` with 1 at the index. */
GRL_API grl_status grl_one_hot(grl_tensor indices, int64_t num_classes, grl_dtype dtype,
                               grl_tensor* out);
/* start, start+step, ... < end (> end for negative step): ceil((end - start) / step) elements,
 * none when that is not positive. Each value is start + i * step in double, converted to dtype as
 * grl_cast converts (floats round through f32, integers truncate through i64). step != 0. */
GRL_API grl_status grl_arange(grl_device device, double start, double end, double step,
                              grl_dtype dtype, grl_tensor* out);
GRL_API grl_status grl_full(grl_device device, const int64_t* shape, int32_t ndim, double value,
                            grl_dtype dtype, grl_tensor* out);

/* ------------------------------------------------------------------------------------------------
 * Random numbers: Philox-4x32-10, counter-based. Element i (row-major) of a call with (seed,
 * offset) is drawn from counter (offset + i): the same seed and offset give the same bits on every
 * device. Callers advance `offset` by the element count to draw fresh numbers with one seed.
 * The exact recipe, for bindings and other devices to reproduce (all float arithmetic in f32, one
 * rounding per operation, no fused multiply-add; 2^-24 scaling is exact):
 *  - c = offset + i (mod 2^64); counter = (c & 0xffffffff, c >> 32, 0, 0); key = (seed &
 *    0xffffffff, seed >> 32); (w0, w1, w2, w3) = philox4x32_R(10, counter, key) as in Random123
 *    (multipliers 0xD2511F53, 0xCD9E8D57; key bumps 0x9E3779B9, 0xBB67AE85).
 *  - uniform: u = (w0 >> 8) * 2^-24; r = f32(low) + f32(high - low) * u; when r >= f32(high), r is
 *    the largest f32 below f32(high) (unless f32(low) == f32(high): then every r is f32(low)).
 *  - normal: u1 = ((w0 >> 8) + 1) * 2^-24 (in (0, 1]: log never sees 0), u2 = (w1 >> 8) * 2^-24;
 *    z = sqrt(-2 log(u1)) * cos(f32(2 pi) * u2); r = f32(mean) + f32(std) * z. Devices agree to
 *    the accuracy of their log, sqrt and cos (about 1e-6 relative).
 *  - bernoulli: 1 when (w0 >> 8) < ceil(p * 2^24) (that is, u < p exactly), else 0.
 *  - dropout: element i is dropped (0) when (w0 >> 8) < ceil(p * 2^24), else x * f32(1 / (1 - p)).
 *  f16 and bf16 results are the f32 r rounded to nearest even (a uniform may thus round to high).
 * --------------------------------------------------------------------------------------------- */
/* f32, f16 or bf16; finite low <= high. */
GRL_API grl_status grl_rand_uniform(grl_device device, const int64_t* shape, int32_t ndim,
                                    grl_dtype dtype, double low, double high, uint64_t seed,
                                    uint64_t offset, grl_tensor* out);
/* f32, f16 or bf16; finite mean, std >= 0. */
GRL_API grl_status grl_rand_normal(grl_device device, const int64_t* shape, int32_t ndim,
                                   grl_dtype dtype, double mean, double std, uint64_t seed,
                                   uint64_t offset, grl_tensor* out);
/* 1 with probability p in [0, 1], else 0, in any dtype. */
GRL_API grl_status grl_bernoulli(grl_device device, const int64_t* shape, int32_t ndim, double p,
                                 grl_dtype dtype, uint64_t seed, uint64_t offset, grl_tensor* out);
/* Inverted dropout of a floating x: zero with probability p, survivors scaled by 1/(1-p); an
 * identical copy when training is 0 or p is 0, zeros when p is 1. p outside [0, 1] (or training
 * other than 0/1) is GRL_ERROR_INVALID_ARGUMENT. */
GRL_API grl_status grl_dropout(grl_tensor x, double p, uint32_t training, uint64_t seed,
                               uint64_t offset, grl_tensor* out);

typedef enum grl_fan_mode {
  GRL_FAN_IN = 0,
  GRL_FAN_OUT = 1,
  GRL_FAN_MODE_FORCE32 = 0x7fffffff
} grl_fan_mode;
/* Initialisers write into an existing floating tensor of >= 2 dims (views too), drawing element i
 * (row-major) with the uniform or normal recipe above at offset 0. PyTorch's fans: fan_in =
 * size(1) * r, fan_out = size(0) * r, r = the product of dims 2 and up. Xavier: std = |gain| *
 * sqrt(2 / (fan_in + fan_out)); Kaiming: std = gain / sqrt(fan of `mode`); uniform forms draw from
 * U(-sqrt(3) std, sqrt(3) std), normal forms from N(0, std). */
GRL_API grl_status grl_init_xavier_uniform_(grl_tensor t, double gain, uint64_t seed);
GRL_API grl_status grl_init_xavier_normal_(grl_tensor t, double gain, uint64_t seed);
/* a: the negative slope of the following leaky_relu (0 for relu); gain sqrt(2 / (1 + a^2)). */
GRL_API grl_status grl_init_kaiming_uniform_(grl_tensor t, double a, grl_fan_mode mode,
                                             uint64_t seed);
GRL_API grl_status grl_init_kaiming_normal_(grl_tensor t, double a, grl_fan_mode mode,
                                            uint64_t seed);


/* ------------------------------------------------------------------------------------------------
 * Losses (differentiable; floating inputs: f32, f16, bf16, computed in f32, the result in the
 * input's dtype). reduction: GRL_REDUCTION_NONE keeps the per-element (or per-sample) losses, MEAN
 * averages them (cross_entropy/nll with class indices: over non-ignored targets, NaN when there
 * are none, as PyTorch), SUM sums; MEAN and SUM give a 0-d tensor. Over no elements MEAN is NaN
 * and SUM 0. Targets must have the input's dtype and shape unless stated otherwise (shape
 * mismatches are GRL_ERROR_SHAPE naming both shapes, dtype mismatches GRL_ERROR_DTYPE). Backward:
 * the input and floating targets get gradients (as PyTorch: mse, l1, smooth_l1, huber, bce,
 * bce_with_logits and kl_div targets, soft cross_entropy targets, margin_ranking's y); class
 * indices, labels y of cosine_embedding/contrastive, weight and pos_weight get none. The
 * gradient at a kink is PyTorch's (l1 at 0: 0; a hinge max(0, v) at v = 0: passes).
 * --------------------------------------------------------------------------------------------- */
typedef enum grl_reduction {
  GRL_REDUCTION_NONE = 0,
  GRL_REDUCTION_MEAN = 1,
  GRL_REDUCTION_SUM = 2,
  GRL_REDUCTION_FORCE32 = 0x7fffffff
} grl_reduction;

/* (input - target)^2 and |input - target|. */
GRL_API grl_status grl_mse_loss(grl_tensor input, grl_tensor target, grl_reduction reduction,
                                grl_tensor* out);
GRL_API grl_status grl_l1_loss(grl_tensor input, grl_tensor target, grl_reduction reduction,
                               grl_tensor* out);
/* Huber with threshold beta: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (PyTorch's
 * smooth_l1; beta >= 0, 0 gives l1); huber_loss is delta * smooth_l1 with beta = delta (> 0). */
GRL_API grl_status grl_smooth_l1_loss(grl_tensor input, grl_tensor target, double beta,
                                      grl_reduction reduction, grl_tensor* out);
GRL_API grl_status grl_huber_loss(grl_tensor input, grl_tensor target, double delta,
                                  grl_reduction reduction, grl_tensor* out);
/* input: logits [N, C] (or [N, C, d...], or [C]); target: class indices (I32/I64) [N] (or
 * [N, d...], or 0-d) with ignore_index, or probabilities of input's shape and dtype. loss =
 * (1 - label_smoothing) * -log_softmax[target] + label_smoothing / C * sum_c -log_softmax[c]
 * (probabilities: sum_c -((1 - ls) p_c + ls / C) log_softmax[c]); label_smoothing in [0, 1].
 * MEAN with probabilities averages over the N * d... positions. NONE gives shape [N, d...] with 0
 * at ignored positions. A class index outside [0, C) other than ignore_index is reported like the
 * indexing ops' indices (GRL_OK now, GRL_ERROR_INDEX naming the index at the next synchronize or
 * download; that position contributes 0 and is not counted). */
GRL_API grl_status grl_cross_entropy(grl_tensor input, grl_tensor target, int64_t ignore_index,
                                     double label_smoothing, grl_reduction reduction,
                                     grl_tensor* out);
/* input: log-probabilities [N, C] (or [N, C, d...], or [C]); target: class indices as for
 * cross_entropy (reported the same way when out of range); loss = -input[target]. */
GRL_API grl_status grl_nll_loss(grl_tensor input, grl_tensor target, int64_t ignore_index,
                                grl_reduction reduction, grl_tensor* out);
/* input: probabilities in [0, 1]; -w (t log(x) + (1 - t) log(1 - x)) with both logs clamped at
 * -100 as in PyTorch. weight (input's dtype, broadcast to input's shape) may be NULL. */
GRL_API grl_status grl_binary_cross_entropy(grl_tensor input, grl_tensor target, grl_tensor weight,
                                            grl_reduction reduction, grl_tensor* out);
/* Numerically stable (1 - t) x + (1 + (pos_weight - 1) t) log(1 + exp(-x)); pos_weight (input's
 * dtype, broadcast to input's shape, typically [C] over the last axis) may be NULL. */
GRL_API grl_status grl_bce_with_logits(grl_tensor input, grl_tensor target, grl_tensor pos_weight,
                                       grl_reduction reduction, grl_tensor* out);
/* input: log-probabilities; target: probabilities, t log(t) - t input (0 where t = 0), or, when
 * log_target (0 or 1), log-probabilities, exp(t) (t - input). GRL_REDUCTION_MEAN here is
 * PyTorch's 'batchmean' (sum / input's first dim; a 0-d input divides by 1). */
GRL_API grl_status grl_kl_div(grl_tensor input, grl_tensor target, uint32_t log_target,
                              grl_reduction reduction, grl_tensor* out);
/* x1, x2 [N, D] (or [D]), y [N] (or 0-d) of +1/-1 in any dtype: 1 - cos for y = 1, max(0, cos -
 * margin) for y = -1, 0 for other y; cos = x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)). */
GRL_API grl_status grl_cosine_embedding_loss(grl_tensor x1, grl_tensor x2, grl_tensor y, double margin,
                                             grl_reduction reduction, grl_tensor* out);
/* max(0, -y (x1 - x2) + margin), x1, x2 of one shape ([N]), y in any dtype broadcast to it. */
GRL_API grl_status grl_margin_ranking_loss(grl_tensor x1, grl_tensor x2, grl_tensor y, double margin,
                                           grl_reduction reduction, grl_tensor* out);
/* max(0, ||a - p + eps||_p - ||a - n + eps||_p + margin) over rows of [N, D] (or [D]), eps 1e-6
 * (PyTorch's pairwise_distance), p finite > 0. */
GRL_API grl_status grl_triplet_margin_loss(grl_tensor anchor, grl_tensor positive,
                                           grl_tensor negative, double margin, double p,
                                           grl_reduction reduction, grl_tensor* out);
/* Contrastive (Hadsell et al.): 0.5 (y d^2 + (1 - y) max(0, margin - d)^2), d = ||x1 - x2||: y = 1
 * similar, y = 0 dissimilar. x1, x2 [N, D] (or [D]), y [N] (or 0-d) in any dtype. */
GRL_API grl_status grl_contrastive_loss(grl_tensor x1, grl_tensor x2, grl_tensor y, double margin,
                                        grl_reduction reduction, grl_tensor* out);

/* ------------------------------------------------------------------------------------------------
 * Autograd. A tensor that requires gradients records, for every op that takes it while grad mode
 * is on, a node on the tape; grl_tensor_backward runs the ops' backward rules on the device and
 * accumulates into .grad of the leaves (gradients of a tensor used several times are summed;
 * gradients of broadcast inputs are summed back to the input's shape). Gradients are f32/f16/bf16
 * like their tensors. Double backward is not supported.
 * --------------------------------------------------------------------------------------------- */
/* Marks a tensor as a leaf that requires gradients (floating dtypes only), or clears the mark. */
GRL_API grl_status grl_tensor_set_requires_grad(grl_tensor t, uint32_t requires_grad);
/* 1 for leaves marked with set_requires_grad and for results of ops on them (grad mode on). */
GRL_API uint32_t grl_tensor_requires_grad(grl_tensor t);
/* 1 for tensors not produced by a recorded op. */
GRL_API uint32_t grl_tensor_is_leaf(grl_tensor t);
/* The name of the op that produced t ("" for leaves and tensors outside autograd). */
GRL_API const char* grl_tensor_grad_fn_name(grl_tensor t);
/* The accumulated gradient (a new reference), or NULL through out when none has been computed. */
GRL_API grl_status grl_tensor_grad(grl_tensor t, grl_tensor* out);
/* Replaces .grad (same shape and dtype as t), or clears it when grad is NULL. */
GRL_API grl_status grl_tensor_set_grad(grl_tensor t, grl_tensor grad);
/* Clears .grad (the next backward writes a fresh gradient instead of adding). */
GRL_API grl_status grl_tensor_zero_grad(grl_tensor t);
/* Runs backward from t. grad_output may be NULL only when t has one element (it is then 1).
 * Without retain_graph the tape's saved tensors are freed and a second backward through the same
 * nodes fails with GRL_ERROR_INVALID_ARGUMENT. */
GRL_API grl_status grl_tensor_backward(grl_tensor t, grl_tensor grad_output, uint32_t retain_graph);
/* A tensor sharing t's data but outside autograd. */
GRL_API grl_status grl_tensor_detach(grl_tensor t, grl_tensor* out);
/* Grad mode of the calling thread (on by default). out, if not NULL, receives the previous mode. */
GRL_API grl_status grl_set_grad_enabled(uint32_t enabled, uint32_t* out);
GRL_API uint32_t grl_is_grad_enabled(void);

/* A custom differentiable function from C. forward computes out from the inputs (with grad mode
 * off); backward receives the gradient of out and writes one gradient per input into grad_inputs
 * (NULL where an input needs none; each must have its input's shape and dtype). Both return
 * GRL_OK or an error status. release (may be NULL) is called once when ctx is no longer needed. */
typedef grl_status (*grl_custom_forward_fn)(void* ctx, const grl_tensor* inputs, int32_t n_inputs,
                                            grl_tensor* out);
typedef grl_status (*grl_custom_backward_fn)(void* ctx, grl_tensor grad_output,
                                             const grl_tensor* inputs, int32_t n_inputs,
                                             grl_tensor* grad_inputs);
typedef void (*grl_custom_release_fn)(void* ctx);
typedef struct grl_custom_function {
  uint32_t version; /* GRL_CUSTOM_FUNCTION_VERSION */
  const char* name; /* shown by grl_tensor_grad_fn_name */
  grl_custom_forward_fn forward;
  grl_custom_backward_fn backward;
  grl_custom_release_fn release;
  void* ctx;
} grl_custom_function;
#define GRL_CUSTOM_FUNCTION_VERSION 1
GRL_API grl_status grl_custom_apply(const grl_custom_function* fn, const grl_tensor* inputs,
                                    int32_t n_inputs, grl_tensor* out);

/* The ops that have a backward rule, by name (for gradient-check coverage). */
GRL_API uint32_t grl_autograd_rule_count(void);
GRL_API const char* grl_autograd_rule_name(uint32_t index); /* NULL past the end */

/* ------------------------------------------------------------------------------------------------
 * Optimizers: each step is one small "tick" kernel (step counts, bias corrections, lr, mu) and
 * one fused kernel per parameter, reading .grad (parameters without a gradient are skipped and
 * keep their state and step count, as in torch.optim), updating the parameter (f32, f16, bf16)
 * and its f32 state in place on the device. Everything that changes from step to step lives in a
 * device buffer of the optimizer, so a step captured in a graph replays correctly: each replay
 * advances the step count, and set_lr between replays takes effect. The algorithms are PyTorch's
 * (bias corrections of Adam/AdamW are exact per parameter step count), with arithmetic in f32.
 * --------------------------------------------------------------------------------------------- */
typedef struct grl_optimizer_s* grl_optimizer;

typedef enum grl_optimizer_kind {
  GRL_OPTIM_SGD = 0,       /* lr, momentum, dampening, nesterov, weight_decay */
  GRL_OPTIM_ADAM = 1,      /* lr, beta1, beta2, eps, weight_decay (L2), amsgrad */
  GRL_OPTIM_ADAMW = 2,     /* as Adam with decoupled weight decay */
  GRL_OPTIM_RMSPROP = 3,   /* lr, alpha, eps, weight_decay, momentum, centered */
  GRL_OPTIM_ADAGRAD = 4,   /* lr, lr_decay, weight_decay, initial_accumulator_value, eps */
  GRL_OPTIM_NLMS = 5,      /* p -= mu g / (||g||^2 + eps); mu <- max(mu * mu_decay, mu_min) per step */
  GRL_OPTIM_NATURAL_GRADIENT = 6, /* F <- b F + (1 - b) g^2; p -= lr g / (F + eps), b = fisher_decay */
  GRL_OPTIM_KIND_FORCE32 = 0x7fffffff
} grl_optimizer_kind;

typedef struct grl_optimizer_options {
  uint32_t version; /* GRL_OPTIMIZER_OPTIONS_VERSION */
  grl_optimizer_kind kind;
  double lr;        /* NLMS: the initial step mu */
  double momentum;
  double dampening;
  uint32_t nesterov;
  double weight_decay;
  double beta1, beta2;
  double eps;
  uint32_t amsgrad;
  double alpha;     /* RMSprop smoothing constant */
  uint32_t centered;
  double lr_decay;  /* Adagrad */
  double initial_accumulator_value;
  double mu_decay, mu_min; /* NLMS */
  double fisher_decay;     /* NaturalGradient */
} grl_optimizer_options;
#define GRL_OPTIMIZER_OPTIONS_VERSION 1
/* PyTorch's defaults for every kind (SGD lr 0.01; Adam(W) lr 1e-3, betas 0.9/0.999, eps 1e-8,
 * AdamW weight_decay 0.01; RMSprop lr 0.01 alpha 0.99 eps 1e-8; Adagrad lr 0.01 eps 1e-10; NLMS
 * mu 0.5, eps 1e-6, mu_decay 1, mu_min 0; NaturalGradient lr 0.01, decay 0.95, eps 1e-8).
 * A negative lr, weight_decay or eps (the -1 of this macro) means the kind's default. Checked
 * (GRL_ERROR_INVALID_ARGUMENT naming the field): lr > 0; weight_decay, eps, momentum, lr_decay,
 * initial_accumulator_value, mu_min >= 0; beta1, beta2, fisher_decay in [0, 1); alpha in [0, 1];
 * mu_decay in (0, 1]; booleans 0 or 1; nesterov needs momentum > 0 and dampening 0; NLMS and
 * NaturalGradient take no weight_decay. Fields a kind does not use are ignored. */
#define GRL_OPTIMIZER_OPTIONS_INIT(kind_) \
  {GRL_OPTIMIZER_OPTIONS_VERSION, (kind_), -1.0, 0.0, 0.0, 0, -1.0, 0.9, 0.999, -1.0, 0, 0.99, 0, \
   0.0, 0.0, 1.0, 0.0, 0.95}

/* Thread safety: an optimizer's calls lock its device, so it may be used from several threads;
 * a scheduler must not be stepped from two threads at once. */
/* The optimizer keeps a reference to each parameter. params (at least one) must be floating,
 * contiguous leaves on one device, each passed once (no two may share memory). The state tensors
 * are allocated and zeroed (Adagrad: initial_accumulator_value) here. */
GRL_API grl_status grl_optimizer_create(const grl_tensor* params, int32_t n_params,
                                        const grl_optimizer_options* opts, grl_optimizer* out);
GRL_API void grl_optimizer_retain(grl_optimizer opt);
GRL_API void grl_optimizer_release(grl_optimizer opt);
/* Records one step (may be captured in a graph). A gradient must have its parameter's shape and
 * dtype (GRL_ERROR_SHAPE / GRL_ERROR_DTYPE); strided gradients are read through a copy. */
GRL_API grl_status grl_optimizer_step(grl_optimizer opt);
/* Clears the gradients of all its parameters (sets them to none, like set_to_none=True). */
GRL_API grl_status grl_optimizer_zero_grad(grl_optimizer opt);
/* lr >= 0 (finite). Written to the optimizer's device buffer in stream order, so it applies to
 * the next step or replay; not allowed while the device captures a graph. NLMS: sets mu. */
GRL_API grl_status grl_optimizer_set_lr(grl_optimizer opt, double lr);
/* The lr last set (options, set_lr, set_scalars or a schedule); no device access. NLMS: the mu
 * last set (the decayed mu the steps use is scalars[2]). */
GRL_API grl_status grl_optimizer_get_lr(grl_optimizer opt, double* out);
/* Steps taken so far, replays of captured steps included (reads the device: waits). */
GRL_API grl_status grl_optimizer_step_count(grl_optimizer opt, int64_t* out);
/* State, for checkpoints: `count` named tensors "<param index>.<slot>": for every parameter
 * "<i>.step" (i32 [1], the steps that parameter took), then its f32 slots of the parameter's
 * shape: SGD "momentum_buffer" (momentum != 0); Adam, AdamW "exp_avg", "exp_avg_sq",
 * "max_exp_avg_sq" (amsgrad); RMSprop "square_avg", "momentum_buffer" (momentum > 0), "grad_avg"
 * (centered); Adagrad "sum"; NaturalGradient "fisher"; NLMS none. Names stay valid while the
 * optimizer lives. */
GRL_API grl_status grl_optimizer_state_count(grl_optimizer opt, int32_t* out);
GRL_API grl_status grl_optimizer_state_name(grl_optimizer opt, int32_t index, const char** out);
/* The state tensor itself (a new reference; writing into it changes the optimizer's state). */
GRL_API grl_status grl_optimizer_state_tensor(grl_optimizer opt, int32_t index, grl_tensor* out);
/* Scalar state: [step count, lr (as get_lr), NLMS mu for the next step (0 for other kinds)].
 * get reads the device (waits); set writes the device buffer and the host mirror (step count an
 * integer in 0..2^32-1, lr and mu finite >= 0). Per-parameter step counts are the "<i>.step"
 * state tensors. Neither is allowed while the device captures a graph. */
GRL_API grl_status grl_optimizer_get_scalars(grl_optimizer opt, double* out /* 3 values */);
GRL_API grl_status grl_optimizer_set_scalars(grl_optimizer opt, const double* values /* 3 */);

/* Scales all gradients so that their joint norm is at most max_norm (torch.nn.utils.
 * clip_grad_norm_): the total norm over every element of every gradient (norm_type 2, 1,
 * INFINITY or any p > 0) is computed on the device, and each gradient is multiplied in place by
 * min(1, max_norm / (total + 1e-6)); parameters without a gradient are skipped. The total norm
 * before clipping (an f32 scalar tensor, ndim 0, computed in f32) comes back through out, which
 * may be NULL; no host wait. max_norm >= 0. */
GRL_API grl_status grl_clip_grad_norm(const grl_tensor* params, int32_t n_params, double max_norm,
                                      double norm_type, grl_tensor* out);
/* Clamps every gradient in place to [-clip_value, clip_value] (clip_value >= 0; NaN stays NaN). */
GRL_API grl_status grl_clip_grad_value(const grl_tensor* params, int32_t n_params, double clip_value);

/* ------------------------------------------------------------------------------------------------
 * Learning-rate schedules (torch.optim.lr_scheduler semantics, computed on the host in double).
 * Creating a scheduler records the optimizer's lr as lr0 and, like PyTorch's constructor, sets the
 * lr of step t = 0 (start_factor * lr0 for LINEAR_WARMUP, lr0 / div_factor for ONE_CYCLE, lr0 for
 * the rest). grl_lr_scheduler_step advances t by one (a step or an epoch) and sets the optimizer's
 * lr; metric is read only by REDUCE_ON_PLATEAU. Call it outside graph capture (it uses set_lr).
 * Checked: gamma finite >= 0 (plateau: in [0, 1)), step_size, t_max, t_0, t_mult, warmup_steps
 * >= 1, start_factor in (0, 1], pct_start in [0, 1], div factors > 0, eta_min, min_lr,
 * threshold >= 0, patience, cooldown >= 0, milestones >= 0 (any order; repeats count twice).
 * --------------------------------------------------------------------------------------------- */
typedef struct grl_lr_scheduler_s* grl_lr_scheduler;
typedef enum grl_lr_schedule_kind {
  GRL_LR_STEP = 0,            /* lr0 * gamma^(floor(t / step_size)) */
  GRL_LR_MULTISTEP = 1,       /* lr0 * gamma^(number of milestones <= t) */
  GRL_LR_EXPONENTIAL = 2,     /* lr0 * gamma^t */
  GRL_LR_COSINE = 3,          /* eta_min + (lr0 - eta_min)(1 + cos(pi t / t_max)) / 2 */
  GRL_LR_COSINE_WARM_RESTARTS = 4, /* cosine from lr0 to eta_min over periods t_0, t_0 t_mult, ... */
  GRL_LR_LINEAR_WARMUP = 5,   /* lr0 * (start_factor + (1 - start_factor) min(t, warmup) / warmup) */
  GRL_LR_ONE_CYCLE = 6,       /* PyTorch OneCycleLR (cosine, two phases) with max_lr = lr0 and
                                 total_steps = t_max; momentum is not cycled; stepping past t_max
                                 is GRL_ERROR_INVALID_ARGUMENT */
  GRL_LR_REDUCE_ON_PLATEAU = 7, /* lr = max(lr * gamma, min_lr) after more than `patience` steps
                                   without a relative improvement of `threshold`, then `cooldown`
                                   steps of rest; changes under 1e-8 are skipped */
  GRL_LR_SCHEDULE_FORCE32 = 0x7fffffff
} grl_lr_schedule_kind;
typedef struct grl_lr_schedule_options {
  uint32_t version; /* GRL_LR_SCHEDULE_OPTIONS_VERSION */
  grl_lr_schedule_kind kind;
  double gamma;
  int64_t step_size;
  const int64_t* milestones;
  int32_t n_milestones;
  int64_t t_max;         /* cosine: period; one-cycle: total steps */
  double eta_min;
  int64_t t_0;
  int64_t t_mult;
  int64_t warmup_steps;
  double start_factor;
  double pct_start;      /* one-cycle: fraction of steps increasing (0.3) */
  double div_factor;     /* one-cycle: initial lr = max_lr / div_factor (25) */
  double final_div_factor; /* one-cycle: final lr = initial / final_div_factor (1e4) */
  int32_t mode_max;      /* plateau: 1 when larger metrics are better */
  int64_t patience;
  double threshold;      /* plateau: relative improvement needed (1e-4) */
  int64_t cooldown;
  double min_lr;
} grl_lr_schedule_options;
#define GRL_LR_SCHEDULE_OPTIONS_VERSION 1
#define GRL_LR_SCHEDULE_OPTIONS_INIT(kind_) \
  {GRL_LR_SCHEDULE_OPTIONS_VERSION, (kind_), 0.1, 1, NULL, 0, 1, 0.0, 1, 1, 0, 1.0 / 3.0, 0.3, 25.0, 1e4, 0, \
   10, 1e-4, 0, 0.0}
GRL_API grl_status grl_lr_scheduler_create(grl_optimizer opt, const grl_lr_schedule_options* opts,
                                           grl_lr_scheduler* out);
GRL_API void grl_lr_scheduler_release(grl_lr_scheduler sched);
/* Advances the schedule; the new lr comes back through out (may be NULL). */
GRL_API grl_status grl_lr_scheduler_step(grl_lr_scheduler sched, double metric, double* out);

/* ------------------------------------------------------------------------------------------------
 * Graph capture and replay (grilly's JIT). Between begin and end capture, op calls on the device
 * record into the graph instead of running; replay submits the recorded work once. Tensors made
 * during capture keep their memory for the graph's life: after each replay they hold that replay's
 * results. Inputs are named tensors whose data replay rebinds; outputs are named results.
 * --------------------------------------------------------------------------------------------- */
GRL_API grl_status grl_graph_begin_capture(grl_device device);
GRL_API grl_status grl_graph_end_capture(grl_device device, grl_graph* out);
GRL_API void grl_graph_retain(grl_graph graph);
GRL_API void grl_graph_release(grl_graph graph);
/* Names a tensor used by the captured work as an input (before or after end_capture). */
GRL_API grl_status grl_graph_set_input(grl_graph graph, const char* name, grl_tensor tensor);
GRL_API grl_status grl_graph_set_output(grl_graph graph, const char* name, grl_tensor tensor);
/* Copies new data into a named input: same shape and dtype, else GRL_ERROR_SHAPE / DTYPE. */
GRL_API grl_status grl_graph_bind(grl_graph graph, const char* name, grl_tensor value);
GRL_API grl_status grl_graph_bind_host(grl_graph graph, const char* name, const void* data,
                                       size_t nbytes);
/* Runs the graph once (one submission); does not wait. */
GRL_API grl_status grl_graph_replay(grl_graph graph);
/* The named output (a new reference to the graph's tensor). */
GRL_API grl_status grl_graph_output(grl_graph graph, const char* name, grl_tensor* out);
/* Number of captured ops, and a printable summary: one line per op (name, inputs, output shape). */
GRL_API grl_status grl_graph_op_count(grl_graph graph, int64_t* out);
GRL_API grl_status grl_graph_summary(grl_graph graph, char* buffer, size_t capacity, size_t* out);

/* ------------------------------------------------------------------------------------------------
 * Checkpoints in the safetensors format. Writes go to a temporary file renamed over the target,
 * so a crash mid-save leaves the old file intact. Loading checks the header length, JSON, dtypes,
 * shapes and offsets against the file size and rejects anything malformed (GRL_ERROR_IO with the
 * reason) without reading out of bounds.
 * --------------------------------------------------------------------------------------------- */
GRL_API grl_status grl_save_safetensors(const char* path, const char* const* names,
                                        const grl_tensor* tensors, int32_t count);
typedef struct grl_tensor_map_s* grl_tensor_map; /* named tensors loaded from a file */
GRL_API grl_status grl_load_safetensors(grl_device device, const char* path, grl_tensor_map* out);
GRL_API void grl_tensor_map_release(grl_tensor_map map);
GRL_API grl_status grl_tensor_map_count(grl_tensor_map map, int32_t* out);
GRL_API grl_status grl_tensor_map_name(grl_tensor_map map, int32_t index, const char** out);
/* By name: GRL_ERROR_INVALID_ARGUMENT naming the missing key when absent. */
GRL_API grl_status grl_tensor_map_get(grl_tensor_map map, const char* name, grl_tensor* out);
/* Saves / restores an optimizer's state tensors and scalars (names prefixed "optimizer.": every
 * grl_optimizer_state_name, plus "optimizer.scalars", i64 [4] = step count, the bit patterns of
 * lr and NLMS mu as IEEE-754 doubles, and the optimizer kind). Loading checks that the kind, the
 * names, shapes and dtypes match the optimizer (GRL_ERROR_INVALID_ARGUMENT naming the first
 * mismatch, nothing changed) and ignores tensors without the prefix. */
GRL_API grl_status grl_save_optimizer(const char* path, grl_optimizer opt);
GRL_API grl_status grl_load_optimizer(const char* path, grl_optimizer opt);

/* ------------------------------------------------------------------------------------------------
 * Spiking neurons: the LIF step, neuron nodes trained with surrogate gradients, the SNN simulator. See docs/neuro.md.
 * --------------------------------------------------------------------------------------------- */
/* @section snn */
/* Leaky integrate-and-fire step, in place on the state (the step of grl_snn and of Python's
 * Compute().lif_step). Per neuron, with membrane v, refractory counter r and input current i:
 *   r > 0:      r <- max(r - dt, 0), v <- v_reset, no spike (the input is ignored);
 *   otherwise:  v <- v + dt * (-(v - v_rest) + r_m * i) / tau_mem   (forward Euler),
 *               spike = v >= v_thresh; on a spike v <- v_reset and r <- t_ref.
 * Units: dt, tau_mem, t_ref in one time unit (ms in the defaults); v_* in the unit of v_thresh;
 * r_m * i in that unit too. Defaults (GRL_LIF_OPTIONS_INIT): dt 0.001, tau_mem 20, v_rest 0,
 * v_reset 0, v_thresh 1, r_m 1, t_ref 0, spike_dtype -1 (the state's dtype). */
typedef struct grl_lif_options {
  uint32_t version;    /* GRL_LIF_OPTIONS_VERSION */
  double dt;           /* time step, > 0 */
  double tau_mem;      /* membrane time constant, > 0 */
  double v_rest;       /* resting potential the leak pulls towards */
  double v_reset;      /* potential after a spike and during the refractory period */
  double v_thresh;     /* spike threshold */
  double r_m;          /* membrane resistance: the drive is r_m * i */
  double t_ref;        /* refractory period, >= 0 (0 when the call gets no refractory tensor) */
  int32_t spike_dtype; /* GRL_U8, or -1 / the state's dtype: spikes 0 / 1 in that dtype */
} grl_lif_options;
#define GRL_LIF_OPTIONS_VERSION 1
#define GRL_LIF_OPTIONS_INIT {GRL_LIF_OPTIONS_VERSION, 0.001, 20.0, 0.0, 0.0, 1.0, 1.0, 0.0, -1}

/* One LIF step (formula above). v: the membrane (f32, f16 or bf16), updated in place; refractory:
 * the counters (v's shape and dtype), updated in place, or NULL (no refractory period: t_ref must
 * then be 0); input: the current, of v's dtype, broadcast numpy-style to v's shape (it may not
 * enlarge it: a [N] current drives a [B, N] state, a 0-d current drives every neuron). opts may be
 * NULL (the defaults). out: a new tensor of v's shape with the spikes (0 / 1) in spike_dtype.
 * Arithmetic in f32 (dt / tau_mem is rounded to f32 once). Views are written through. Not
 * differentiable: v and refractory may not require gradients while grad mode is on (use
 * grl_spiking_neuron to train). Checked: dtypes (GRL_ERROR_DTYPE), shapes (GRL_ERROR_SHAPE),
 * devices, finite options with dt > 0, tau_mem > 0, t_ref >= 0 (GRL_ERROR_INVALID_ARGUMENT). */
GRL_API grl_status grl_lif_step_(grl_tensor v, grl_tensor refractory, grl_tensor input,
                                 const grl_lif_options* opts, grl_tensor* out);

/* Spiking neuron nodes for training with surrogate gradients (SpikingJelly / snnTorch style),
 * multi-step: one call runs a whole sequence x [T, ...] (T = dim 0, the neurons are the other
 * dims; single-step is T = 1 with the state passed in and out). Per neuron and step t, with
 * k = 1 / tau (tau in steps):
 *   charge  IF:   h = v + x
 *           LIF:  h = v + k (x - (v - v_rest))             (decay_input = 1)
 *                 h = v - k (v - v_rest) + x               (decay_input = 0)
 *           ALIF: as LIF with x replaced by x - w (decay_input = 1: h = v + k (x - w - (v - v_rest)),
 *                 else h = v - k (v - v_rest) + x - w)
 *   fire    s = H(h - v_thresh)  (Heaviside, H(0) = 1), or the surrogate's own smooth g(h - v_thresh)
 *           when soft_spike = 1
 *   reset   hard: v = h (1 - s) + v_reset s;  soft: v = h - v_thresh s
 *   adapt   (ALIF) w = w + k_w (a (v_prev - v_rest) - w) + b s, k_w = 1 / tau_w, v_prev the
 *           membrane before this step's charge.
 * Learnable tau: pass tau_param (w of PLIF): then k = sigmoid(tau_param) (tau = 1 / sigmoid(w)),
 * tau_param broadcast to the neuron shape; without it k = 1 / opts->tau.
 * Surrogates (g smooth step with g(0) = 1/2, g' its derivative used in the backward; x = h - v_thresh):
 *   ATAN:         g = atan(pi/2 alpha x) / pi + 1/2,  g' = alpha / 2 / (1 + (pi/2 alpha x)^2)  (alpha 2)
 *   SIGMOID:      g = sigmoid(alpha x),               g' = alpha g (1 - g)                     (alpha 4)
 *   FAST_SIGMOID: g = 1/2 + alpha x / (2 (1 + alpha |x|)), g' = alpha / (2 (1 + alpha |x|)^2)  (alpha 2;
 *                 SuperSpike's 1 / (1 + alpha |x|)^2 up to the factor alpha / 2, which makes g a step)
 *   TRIANGLE:     g' = alpha max(0, 1 - alpha |x|); g the piecewise quadratic with that slope  (alpha 1)
 * detach_reset = 1 treats s as a constant in the reset (its gradient flows only through the
 * spike output and the adaptation). */
typedef enum grl_neuron_kind {
  GRL_NEURON_IF = 0,
  GRL_NEURON_LIF = 1,
  GRL_NEURON_ALIF = 2, /* LIF with an adaptation current w (GIF-style) */
  GRL_NEURON_KIND_FORCE32 = 0x7fffffff
} grl_neuron_kind;
typedef enum grl_surrogate {
  GRL_SURROGATE_ATAN = 0,
  GRL_SURROGATE_SIGMOID = 1,
  GRL_SURROGATE_FAST_SIGMOID = 2,
  GRL_SURROGATE_TRIANGLE = 3,
  GRL_SURROGATE_FORCE32 = 0x7fffffff
} grl_surrogate;
typedef struct grl_neuron_options {
  uint32_t version;        /* GRL_NEURON_OPTIONS_VERSION */
  grl_neuron_kind kind;    /* LIF */
  double tau;              /* membrane time constant in steps, > 0 (2); ignored with tau_param or IF */
  uint32_t decay_input;    /* 1 */
  double v_thresh;         /* 1 */
  double v_reset;          /* 0 (hard reset) */
  uint32_t soft_reset;     /* 0: hard reset to v_reset; 1: subtract v_thresh */
  uint32_t detach_reset;   /* 0 */
  double v_rest;           /* 0: the potential the leak pulls towards */
  grl_surrogate surrogate; /* ATAN */
  double alpha;            /* surrogate sharpness, > 0; <= 0 means the surrogate's default */
  uint32_t soft_spike;     /* 0: Heaviside spikes; 1: spikes are g(h - v_thresh) in [0, 1] */
  double tau_w;            /* ALIF adaptation time constant in steps, > 0 (100) */
  double a;                /* ALIF subthreshold coupling (0) */
  double b;                /* ALIF spike-triggered jump of w (0.1) */
} grl_neuron_options;
#define GRL_NEURON_OPTIONS_VERSION 1
#define GRL_NEURON_OPTIONS_INIT \
  {GRL_NEURON_OPTIONS_VERSION, GRL_NEURON_LIF, 2.0, 1, 1.0, 0.0, 0, 0, 0.0, GRL_SURROGATE_ATAN, -1.0, 0, 100.0, 0.0, 0.1}

/* Runs the node over x [T, ...] (f32, f16 or bf16; T >= 0; state math in f32). v0, w0: initial
 * membrane and adaptation of the neuron shape x.shape[1:] and x's dtype, or NULL (v_rest, 0); w0
 * only for ALIF. tau_param: NULL, or a tensor of x's dtype broadcastable to the neuron shape
 * (not for IF). opts may be NULL (the defaults). Outputs (written only on success):
 * out_spikes [T, ...] in x's dtype; out_v and out_w (ALIF) the final state of the neuron shape,
 * each may be NULL when not wanted (out_w must be NULL unless ALIF). With T = 0 the final state is
 * the initial one. Differentiable (rule "spiking_neuron"): backward through time in one kernel
 * gives gradients for x, v0, w0 and tau_param from the gradients of spikes, v and w (ask for v and w
 * only when they are used: then the outputs are views of one packed result and cost one extra
 * zero-filled gradient each in the backward). The charges h are saved (f32, T x N, ALIF 2 T x N)
 * only when a gradient is needed.
 * Checked: dtypes, shapes, devices, options (GRL_ERROR_INVALID_ARGUMENT naming the field). */
GRL_API grl_status grl_spiking_neuron(grl_tensor x, grl_tensor v0, grl_tensor w0, grl_tensor tau_param,
                                      const grl_neuron_options* opts, grl_tensor* out_spikes,
                                      grl_tensor* out_v, grl_tensor* out_w);

/* The SNN simulator (Python's SNNCompute): n_neurons LIF neurons [n_neurons] with their own state,
 * stepped by grl_lif_step_. Options: the LIF parameters and the state dtype (f32, f16, bf16).
 * The state starts at v = v_rest, r = 0. Thread safety: calls lock the device; one simulator must
 * not be stepped from two threads at once. */
typedef struct grl_snn_s* grl_snn;
typedef struct grl_snn_options {
  uint32_t version;    /* GRL_SNN_OPTIONS_VERSION */
  grl_lif_options lif; /* GRL_LIF_OPTIONS_INIT */
  grl_dtype dtype;     /* state dtype: GRL_F32 */
} grl_snn_options;
#define GRL_SNN_OPTIONS_VERSION 1
#define GRL_SNN_OPTIONS_INIT {GRL_SNN_OPTIONS_VERSION, GRL_LIF_OPTIONS_INIT, GRL_F32}
/* n_neurons >= 0; opts may be NULL (the defaults). */
GRL_API grl_status grl_snn_create(grl_device device, int64_t n_neurons, const grl_snn_options* opts,
                                  grl_snn* out);
GRL_API void grl_snn_retain(grl_snn snn);
GRL_API void grl_snn_release(grl_snn snn);
/* One time step: input is the current (the state's dtype, [n_neurons] or broadcastable to it, e.g.
 * 0-d); out receives the spikes [n_neurons] in lif.spike_dtype. No host wait. */
GRL_API grl_status grl_snn_process(grl_snn snn, grl_tensor input, grl_tensor* out);
/* Back to v = v_rest, r = 0. */
GRL_API grl_status grl_snn_reset(grl_snn snn);
/* Copies of the membrane and the refractory counters ([n_neurons], the state's dtype); either out
 * may be NULL. */
GRL_API grl_status grl_snn_get_state(grl_snn snn, grl_tensor* out_membrane, grl_tensor* out_refractory);
/* Copies new state in (same shape, dtype and device); refractory may be NULL (zeros). */
GRL_API grl_status grl_snn_set_state(grl_snn snn, grl_tensor membrane, grl_tensor refractory);

/* ------------------------------------------------------------------------------------------------
 * Synapses, short-term plasticity, spike encoders and decoders, spike-matmul. See docs/neuro.md.
 * --------------------------------------------------------------------------------------------- */
/* @section synapse */
/* Exponential synapse, one step in place: I <- I * exp(-dt / tau_syn) + weight * s.
 * current (state I) and spikes (s, 0/1 or any value) have one shape and one floating dtype (f32,
 * f16, bf16; arithmetic in f32, I rounded once to its dtype). dt > 0 and tau_syn > 0 in one time
 * unit (ms by convention; e.g. dt 1, tau_syn 5), weight finite (1 by default). Not recorded by
 * autograd: current must not require gradients while grad mode is on (GRL_ERROR_INVALID_ARGUMENT);
 * train through grl_synapse_exp. A strided current is updated through a copy. */
GRL_API grl_status grl_synapse_exp_step_(grl_tensor current, grl_tensor spikes, double dt,
                                         double tau_syn, double weight);
/* Exponential synapse over a spike sequence in one pass: with a = exp(-dt / tau_syn),
 * I_t = a I_{t-1} + weight * s_t for t = 0..T-1, I_{-1} = current0 (zeros when NULL); out is
 * [T, ...] holding I_0 .. I_{T-1} (the last step is the new state). spikes [T, ...] (T >= 0,
 * at least 1 dim), current0 of spikes' shape without the first dim, one floating dtype and
 * device; arithmetic in f32. Differentiable in spikes and current0: with lambda_t = g_t +
 * a lambda_{t+1} (lambda_T = 0), ds_t = weight lambda_t and dcurrent0 = a lambda_0. */
GRL_API grl_status grl_synapse_exp(grl_tensor spikes, grl_tensor current0, double dt,
                                   double tau_syn, double weight, grl_tensor* out);

/* Tsodyks-Markram short-term plasticity parameters (times in the unit of dt, ms by convention). */
typedef struct grl_stp_options {
  uint32_t version; /* GRL_STP_OPTIONS_VERSION */
  double U;         /* baseline release probability / facilitation increment, in (0, 1] */
  double tau_d;     /* recovery time constant of the resources x, > 0 */
  double tau_f;     /* decay time constant of the facilitation u, > 0 */
  double dt;        /* step, > 0 */
} grl_stp_options;
#define GRL_STP_OPTIONS_VERSION 1
/* Defaults: a depressing synapse, U 0.5, tau_d 200, tau_f 20, dt 1 (ms). A facilitating one is
 * e.g. U 0.1, tau_d 20, tau_f 500 (paired pulses 20 ms apart: 1.3x and 0.34x the first release). */
#define GRL_STP_OPTIONS_INIT {GRL_STP_OPTIONS_VERSION, 0.5, 200.0, 20.0, 1.0}
/* One step of Tsodyks-Markram short-term plasticity, in place on the state u (facilitation) and x
 * (available resources), per synapse. In this order:
 *   1. between spikes, exact exponential relaxation over dt:
 *        x <- 1 - (1 - x) exp(-dt / tau_d),   u <- U + (u - U) exp(-dt / tau_f);
 *   2. where the presynaptic spike s != 0: u <- u + U (1 - u) (facilitation first),
 *        r = u x (the released efficacy), x <- x - r; where s == 0: r = 0.
 * out receives r with u's shape. u and x have one shape and floating dtype (f32, f16, bf16; state
 * math in f32); spikes (same dtype) broadcast to that shape (e.g. [K] presynaptic spikes for a
 * [N, K] synapse matrix). Start from u = U, x = 1 (grl_tensor_fill_). opts NULL takes
 * GRL_STP_OPTIONS_INIT. Not recorded by autograd (u, x must not require gradients). */
GRL_API grl_status grl_stp_step_(grl_tensor u, grl_tensor x, grl_tensor spikes,
                                 const grl_stp_options* opts, grl_tensor* out);
/* grl_stp_step_ over a spike train in one dispatch: spikes [T, ...] (T >= 0, each step
 * broadcast to the state's shape), out [T, ...state] the efficacy of every step; u and x end as
 * after T calls of grl_stp_step_ (the same per-step rounding of f16/bf16 states), with the same
 * checks. A thread per synapse keeps u and x in registers across the steps. */
GRL_API grl_status grl_stp_sequence_(grl_tensor u, grl_tensor x, grl_tensor spikes,
                                     const grl_stp_options* opts, grl_tensor* out);

/* Poisson (Bernoulli per step) rate encoding: rates [...] -> spikes [T, ...] of `dtype` (f32, f16,
 * bf16 or u8), spike 1 with probability p per step. per_step_ms == 0: rates are probabilities per
 * step, p = f32(rate); per_step_ms > 0: rates are in Hz and the step lasts per_step_ms
 * milliseconds, p = f32(rate) * f32(per_step_ms / 1000) (one f32 rounding). p is clamped to
 * [0, 1]; NaN gives no spike. Element e = t * numel(rates) + i of the output draws Philox at
 * counter offset + e exactly as grl_bernoulli does (1 when (w0 >> 8) < ceil(p 2^24)), so results
 * are bit-reproducible and a constant p reproduces grl_bernoulli(seed, offset). Advance offset
 * by T * numel(rates) for fresh draws. T >= 0, rates floating. */
GRL_API grl_status grl_encode_poisson(grl_tensor rates, int64_t T, double per_step_ms,
                                      grl_dtype dtype, uint64_t seed, uint64_t offset,
                                      grl_tensor* out);

typedef enum grl_latency_mode {
  GRL_LATENCY_LINEAR = 0, /* t = (T - 1) (1 - x) */
  GRL_LATENCY_LOG = 1,    /* t = tau log(x / (x - theta)) for x > theta, no spike otherwise */
  GRL_LATENCY_MODE_FORCE32 = 0x7fffffff
} grl_latency_mode;
/* Latency (time-to-first-spike) encoding: x [...] -> spikes [T, ...] of `dtype` (f32, f16, bf16,
 * u8) with at most one spike per input, at step k = floor(t + 0.5) (t in steps, computed in f32,
 * x clamped to [0, 1] first): larger inputs fire earlier. LINEAR: every input fires once within T
 * (x = 1 at step 0, x = 0 at step T - 1). LOG: inputs x <= theta and steps k >= T do not fire.
 * T >= 1; LOG needs tau > 0 (in steps, e.g. 5) and theta in [0, 1) (e.g. 0.01); LINEAR ignores
 * both. x floating (NaN fires nothing). */
GRL_API grl_status grl_encode_latency(grl_tensor x, int64_t T, grl_latency_mode mode, double tau,
                                      double theta, grl_dtype dtype, grl_tensor* out);

/* Delta (threshold-crossing) encoding of a signal x [T, ...] (floating, T >= 0): a reference
 * r starts at 0 for every channel; at each step, d = x_t - r; where |d| >= threshold a spike of
 * sign(d) is emitted and r <- x_t (the reference moves only on a spike). threshold > 0.
 * two_channels 0: out [T, ...] of signed spikes +1 / -1 / 0 (dtype f32, f16 or bf16);
 * two_channels 1: out [T, 2, ...], channel 0 the ON (+1) and channel 1 the OFF (-1) events as 0/1
 * (dtype f32, f16, bf16 or u8). Arithmetic in f32. */
GRL_API grl_status grl_encode_delta(grl_tensor x, double threshold, uint32_t two_channels,
                                    grl_dtype dtype, grl_tensor* out);

/* Rate decoding: the mean over the last `window` steps of spikes [T, ...] (window 0 or >= T: all
 * T steps; window < 0 is GRL_ERROR_INVALID_ARGUMENT) -> [...]: out = sum_{t >= T - w} s_t / w,
 * w = the window used (0 steps: zeros). spikes f32, f16, bf16 (out in that dtype) or u8 (out
 * f32); accumulation in f32. Differentiable in floating spikes (ds_t = g / w inside the window). */
GRL_API grl_status grl_decode_rate(grl_tensor spikes, int64_t window, grl_tensor* out);
/* Weighted temporal decoding: out = sum_t w_t s_t over spikes [T, ...] -> [...]. weights: a 1-d
 * [T] tensor (f32, f16 or bf16), or NULL for exponential weights w_t = exp(-(T - 1 - t) / tau)
 * (the last step weighs 1; tau > 0 in steps, ignored with weights). Dtypes as grl_decode_rate.
 * Differentiable in floating spikes (ds_t = w_t g) and in the weights (dw_t = sum_i g_i s_t,i). */
GRL_API grl_status grl_decode_weighted(grl_tensor spikes, grl_tensor weights, double tau,
                                       grl_tensor* out);

/* Spike-matmul: out [B, N] = spikes [B, K] @ weight [K, N], skipping zero spikes. weight f32, f16
 * or bf16 (out in its dtype, accumulation in f32, sums in ascending k: deterministic); spikes u8
 * or weight's dtype, any values (0/1 expected; others are multiplied in; zeros are skipped, so a
 * 0 spike times an inf weight gives 0). A workgroup takes 8 rows and 128 (or 256) columns and
 * walks k in chunks of 128, reading a row of weight only for the k where one of its 8 rows is
 * nonzero, so the cost follows the spike density (docs/neuro.md has timings); for dense inputs
 * grl_matmul is faster. Differentiable in weight (dW = spikes^T g, by the same sparse kernel on a
 * transposed copy of spikes) and in floating spikes (dS = g weight^T, a GEMM). B * K, K * N,
 * B * N < 2^32. */
GRL_API grl_status grl_spike_matmul(grl_tensor spikes, grl_tensor weight, grl_tensor* out);

/* ------------------------------------------------------------------------------------------------
 * Local plasticity: Hebbian, Oja, Sanger (GHA), pair and triplet STDP. See docs/neuro.md.
 * --------------------------------------------------------------------------------------------- */
/* @section plasticity */
/* Shared by every rule: W [n_post, n_pre] (row i = postsynaptic neuron i, column j = presynaptic
 * input j) is updated in place; it must be a contiguous f32, f16 or bf16 tensor (state math in f32,
 * rounded once per step), must not require gradients while grad mode is on, and must not share
 * memory with any other argument. Activities and spikes come as one sample [n] or a batch [B, n]
 * (both sides with the same B, in W's dtype; STDP spikes may also be u8); the update is the batch
 * mean unless said otherwise.
 * Each weight is updated by exactly one thread, reading only old values, so results are
 * deterministic (no atomics).
 * Checked: NULL tensors (GRL_ERROR_NULL_ARGUMENT), shapes (GRL_ERROR_SHAPE), dtypes
 * (GRL_ERROR_DTYPE), devices (GRL_ERROR_DEVICE_MISMATCH), non-finite or out-of-range scalars,
 * non-contiguous or aliased in-place tensors (GRL_ERROR_INVALID_ARGUMENT), W beyond one launch
 * (more than 2^32 elements, 2,097,120 rows or 8,388,480 columns: GRL_ERROR_UNSUPPORTED). */

/* Hebbian rule with weight decay:  W += eta * mean_b(y_b x_b^T) - decay * W,
 * i.e. dW_ij = eta * mean_b(y_bi x_bj) - decay * W_ij.
 * x: presynaptic activity [n_pre] or [B, n_pre]; y: postsynaptic activity [n_post] or [B, n_post],
 * or NULL for the linear neuron y = W x (computed first, from the old W). eta >= 0, decay >= 0
 * (finite; per call, unitless). */
GRL_API grl_status grl_hebbian_update_(grl_tensor w, grl_tensor x, grl_tensor y, double eta,
                                       double decay);
/* Oja's rule, per output neuron:  dW_ij = eta * mean_b(y_bi (x_bj - y_bi W_ij))
 *                                       = eta * (mean_b(y_bi x_bj) - mean_b(y_bi^2) W_ij).
 * With y = W x (y NULL) and small eta each row converges to a unit-norm principal eigenvector of
 * E[x x^T] (all rows to the first one: use Sanger for several components). eta >= 0 finite. */
GRL_API grl_status grl_oja_update_(grl_tensor w, grl_tensor x, grl_tensor y, double eta);
/* Sanger's rule (generalized Hebbian algorithm):  dW = eta * mean_b(y_b x_b^T - LT(y_b y_b^T) W),
 * LT = lower triangle including the diagonal, i.e.
 *   dW_ij = eta * mean_b(y_bi (x_bj - sum_{k <= i} y_bk W_kj)).
 * With y = W x (y NULL) and small eta, row i converges to the unit eigenvector of E[x x^T] with the
 * i-th largest eigenvalue. The back-projection P = LT(sum_b y_b y_b^T) W is one matrix product
 * (f32) taken before W changes; then one in-place pass. eta >= 0 finite. */
GRL_API grl_status grl_sanger_update_(grl_tensor w, grl_tensor x, grl_tensor y, double eta);

/* Spike-timing-dependent plasticity with traces. */
typedef enum grl_stdp_trace_mode {
  GRL_STDP_ALL_TO_ALL = 0, /* a spike adds 1 to its traces: every earlier spike pairs with it */
  GRL_STDP_NEAREST = 1,    /* a spike sets its traces to 1: only the nearest earlier spike counts */
  GRL_STDP_TRACE_MODE_FORCE32 = 0x7fffffff
} grl_stdp_trace_mode;
typedef enum grl_stdp_bound {
  GRL_STDP_BOUND_NONE = 0, /* W += dW */
  GRL_STDP_BOUND_HARD = 1, /* W = clamp(W + dW, w_min, w_max) */
  GRL_STDP_BOUND_SOFT = 2, /* multiplicative: LTP scaled by (w_max - W), LTD by (W - w_min) */
  GRL_STDP_BOUND_FORCE32 = 0x7fffffff
} grl_stdp_bound;
typedef struct grl_stdp_options {
  uint32_t version;   /* GRL_STDP_OPTIONS_VERSION */
  double dt;          /* time step (ms) */
  double tau_plus;    /* presynaptic trace time constant (ms) */
  double tau_minus;   /* postsynaptic trace time constant (ms) */
  double a_plus;      /* LTP amplitude (A2+ of the triplet rule) */
  double a_minus;     /* LTD amplitude (A2- of the triplet rule), a positive number */
  grl_stdp_trace_mode trace_mode;
  grl_stdp_bound bound;
  double w_min, w_max;
  grl_reduction batch_reduction; /* GRL_REDUCTION_MEAN or GRL_REDUCTION_SUM over the batch */
  uint32_t triplet;   /* 1: Pfister-Gerstner triplet terms (needs the two slow traces) */
  double tau_x;       /* slow presynaptic trace time constant (ms, triplet) */
  double tau_y;       /* slow postsynaptic trace time constant (ms, triplet) */
  double a3_plus;     /* triplet LTP amplitude (post-pre-post) */
  double a3_minus;    /* triplet LTD amplitude (pre-post-pre) */
} grl_stdp_options;
#define GRL_STDP_OPTIONS_VERSION 1
/* dt 1 ms, tau_plus = tau_minus = 20 ms, a_plus 0.01, a_minus 0.0105 (Song, Miller & Abbott 2000),
 * all-to-all traces, hard bounds [0, 1], batch mean; triplet off, with Pfister & Gerstner's (2006)
 * visual-cortex all-to-all values tau_x 101 ms, tau_y 125 ms, a3_plus 6.2e-3, a3_minus 2.3e-4. */
#define GRL_STDP_OPTIONS_INIT \
  {GRL_STDP_OPTIONS_VERSION, 1.0, 20.0, 20.0, 0.01, 0.0105, GRL_STDP_ALL_TO_ALL, GRL_STDP_BOUND_HARD, 0.0, 1.0, \
   GRL_REDUCTION_MEAN, 0, 101.0, 125.0, 6.2e-3, 2.3e-4}

/* One time step of trace STDP, in this exact order (s = 1 where a spike tensor is nonzero, else 0):
 *  1. decay:  x1 *= exp(-dt/tau_plus), y1 *= exp(-dt/tau_minus)
 *             (triplet: x2 *= exp(-dt/tau_x), y2 *= exp(-dt/tau_y))
 *  2. update W from the decayed traces, which hold only spikes of earlier steps:
 *       LTP_ij = red_b[ post_bi * x1_bj * (a_plus  + a3_plus  * y2_bi) ]
 *       LTD_ij = red_b[ pre_bj  * y1_bi * (a_minus + a3_minus * x2_bj) ]   (a3 terms: triplet only)
 *     red_b = mean or sum over the batch; then W += LTP - LTD (GRL_STDP_BOUND_NONE),
 *     W = clamp(W + LTP - LTD, w_min, w_max) (HARD), or
 *     W += (w_max - W) LTP - (W - w_min) LTD (SOFT, from the old W; W stays in [w_min, w_max]
 *     while LTP + LTD <= 1 per step, nothing is clamped).
 *  3. add this step's spikes: all-to-all x += s; nearest x = s ? 1 : x (every trace, its own side).
 * So a pre spike k steps before a post spike (dt_spike = k dt > 0) gives exactly
 * a_plus exp(-k dt/tau_plus), a post spike k steps before a pre spike gives -a_minus
 * exp(-k dt/tau_minus), and coincident spikes (k = 0) give nothing; the two terms never cancel.
 * w [n_post, n_pre]; pre_spikes [n_pre] or [B, n_pre]; post_spikes [n_post] or [B, n_post] (each
 * in W's dtype or u8, as grl_lif_step_ may emit them); pre_trace (x1) and post_trace (y1) f32 of the spike tensors' shapes, updated in place;
 * pre_slow (x2) and post_slow (y2): the same, required when opts->triplet is 1, else ignored (may
 * be NULL). Traces keep one state per batch row: B independent runs sharing W. Two dispatches:
 * the W update (each weight read and written once, by one thread) and then the trace update.
 * opts NULL means GRL_STDP_OPTIONS_INIT. Checked (GRL_ERROR_INVALID_ARGUMENT naming the field):
 * version, dt, tau_* > 0, a_* >= 0 (finite), w_min <= w_max (finite when bounded), the enums,
 * triplet 0 or 1. */
GRL_API grl_status grl_stdp_step_(grl_tensor w, grl_tensor pre_spikes, grl_tensor post_spikes,
                                  grl_tensor pre_trace, grl_tensor post_trace, grl_tensor pre_slow,
                                  grl_tensor post_slow, const grl_stdp_options* opts);

/* ------------------------------------------------------------------------------------------------
 * Continual and online learning: Fisher information, EWC, natural gradient, NLMS, whitening. See docs/neuro.md.
 * --------------------------------------------------------------------------------------------- */
/* @section online */
/* Shared rules of this section. Floating tensors are f32, f16 or bf16 where stated, else f32 only;
 * arithmetic is f32. Tensors updated in place (the functions ending in `_`) must be contiguous
 * (GRL_ERROR_INVALID_ARGUMENT otherwise); other inputs may be views. Tensors of one call share a
 * device (GRL_ERROR_DEVICE_MISMATCH). Nothing here waits for the device, and every in-place state
 * lives on the device, so these calls may be captured in a graph and replayed. */

/* ---- Fisher information, EWC, natural gradient (diagonal) ---- */
typedef enum grl_fisher_mode {
  GRL_FISHER_EMA = 0,        /* F <- decay * F + (1 - decay) * g^2 */
  GRL_FISHER_ACCUMULATE = 1, /* F <- F + scale * g^2 */
  GRL_FISHER_MODE_FORCE32 = 0x7fffffff
} grl_fisher_mode;
/* Updates the diagonal Fisher estimate in place from a gradient g of fisher's shape and dtype
 * (f32, f16, bf16; state math in f32, one rounding on store). EMA reads `decay` in [0, 1]
 * (typical 0.95, as GRL_OPTIM_NATURAL_GRADIENT's fisher_decay) and ignores scale; ACCUMULATE reads
 * `scale` finite >= 0 (1 / number of batches gives the empirical mean) and ignores decay. */
GRL_API grl_status grl_fisher_info_update_(grl_tensor fisher, grl_tensor grad, grl_fisher_mode mode,
                                           double decay, double scale);
/* Elastic weight consolidation: 0.5 * lambda * sum_i F_i (theta_i - theta_star_i)^2 as a 0-d
 * tensor of theta's dtype (f32, f16, bf16; summed in f32). theta, theta_star and fisher have one
 * shape and dtype; lambda finite >= 0. The sum is deterministic: fixed per-workgroup partial sums
 * (at most 1024) then one workgroup adding them in order, so equal inputs give equal bits.
 * Differentiable: d/dtheta = lambda F (theta - theta_star), d/dtheta_star = -lambda F (theta -
 * theta_star), d/dF = 0.5 lambda (theta - theta_star)^2, each times the output gradient. An empty
 * input gives 0. */
GRL_API grl_status grl_ewc_penalty(grl_tensor theta, grl_tensor theta_star, grl_tensor fisher,
                                   double lambda, grl_tensor* out);
/* Diagonal natural-gradient step in place: theta <- theta - lr * g / (F + eps). theta, grad and
 * fisher have one shape and dtype (f32, f16, bf16); lr finite >= 0, eps finite > 0 (typical
 * 1e-8, as GRL_OPTIM_NATURAL_GRADIENT). F is read, not updated (grl_fisher_info_update_ does). */
GRL_API grl_status grl_natural_gradient_step_(grl_tensor theta, grl_tensor grad, grl_tensor fisher,
                                              double lr, double eps);

/* ---- NLMS (normalised least mean squares) and ensembles of NLMS experts ---- */
typedef struct grl_nlms_options {
  uint32_t version;     /* GRL_NLMS_OPTIONS_VERSION */
  double eps;           /* regulariser of ||x||^2, finite > 0 (1e-6) */
  double mu_decay;      /* mu <- max(mu * mu_decay, mu_min) after every sample, in (0, 1] (1) */
  double mu_min;        /* floor of mu, finite >= 0 (0) */
  uint32_t update_bias; /* 1: b += mu e as well (when b is given), 0: b stays (1) */
  double rmse_decay;    /* ensembles: msq <- r msq + (1 - r) e^2 per sample, r in [0, 1) (0.9) */
} grl_nlms_options;
#define GRL_NLMS_OPTIONS_VERSION 1
#define GRL_NLMS_OPTIONS_INIT {GRL_NLMS_OPTIONS_VERSION, 1e-6, 1.0, 0.0, 1, 0.9}
/* y = w . x + b for every row of x: x [B, D] (or [D], one sample), w [D], b NULL or one element;
 * out [B] (0-d for a 1-d x). f32 only. No backward rule. */
GRL_API grl_status grl_nlms_predict(grl_tensor x, grl_tensor w, grl_tensor b, grl_tensor* out);
/* True (sequential) NLMS over the samples of a batch, in order: for n = 0 .. B-1,
 *   e_n = target_n - (w . x_n + b);  w += mu e_n x_n / (||x_n||^2 + eps);  b += mu e_n;
 *   mu <- max(mu * mu_decay, mu_min).
 * w [D], b NULL or one element, mu one element (the step size, typically in (0, 2); its decayed
 * value is written back) are f32 state updated in place; x [B, D] (or [D]) and target [B] (or 0-d)
 * f32. One dispatch per call: one workgroup owns w and walks the samples, so B costs B short
 * steps. opts NULL means GRL_NLMS_OPTIONS_INIT. out (may be NULL) receives the a-priori errors
 * e_n, [B] (0-d for a 1-d x). */
GRL_API grl_status grl_nlms_update_(grl_tensor w, grl_tensor b, grl_tensor mu, grl_tensor x,
                                    grl_tensor target, const grl_nlms_options* opts,
                                    grl_tensor* out);
/* Gated mixture of E NLMS experts: y = sum_e g_e (w_e . x + b_e), g = softmax(-sqrt(msq) /
 * temperature) over experts, where msq [E] is each expert's EMA of squared error (so sqrt(msq) is
 * its running RMSE; zeros give equal gates). x [B, D] (or [D]), w [E, D], b NULL or [E], msq [E],
 * all f32; temperature finite > 0 (1 is typical, in units of the target). out [B] (0-d for a 1-d
 * x). No backward rule. */
GRL_API grl_status grl_nlms_ensemble_predict(grl_tensor x, grl_tensor w, grl_tensor b,
                                             grl_tensor msq, double temperature, grl_tensor* out);
/* Updates every expert with its own error, sample by sample in order (the NLMS step above per
 * expert, each with its own mu), and its msq <- rmse_decay msq + (1 - rmse_decay) e^2 (a-priori
 * error). w [E, D], b NULL or [E], mu [E], msq [E] are f32 state updated in place; x, target as for
 * grl_nlms_update_. One dispatch: one workgroup per expert. out (may be NULL): the a-priori
 * errors, [B, E] ([E] for a 1-d x). */
GRL_API grl_status grl_nlms_ensemble_update_(grl_tensor w, grl_tensor b, grl_tensor mu,
                                             grl_tensor msq, grl_tensor x, grl_tensor target,
                                             const grl_nlms_options* opts, grl_tensor* out);

/* ---- Whitening ---- */
/* Per-feature standardisation with the batch's statistics: x [N, D] (f32, f16, bf16), out =
 * (x - mean) / sqrt(var + eps) with mean and the population variance var (divisor N) of each
 * column, computed deterministically (Welford per chunk of rows, chunks combined in order).
 * eps finite >= 0 (BatchNorm's 1e-5). running_mean / running_var (f32 [D], both or neither, in
 * place) are updated as BatchNorm does: r <- (1 - momentum) r + momentum * batch value, with the
 * unbiased variance (divisor N - 1, so N >= 2 is required) for running_var; momentum in [0, 1]
 * (0.1). N = 0 gives an empty output and leaves the running statistics untouched. No backward
 * rule (the output does not require gradients). */
GRL_API grl_status grl_whiten_batch(grl_tensor x, grl_tensor running_mean, grl_tensor running_var,
                                    double momentum, double eps, grl_tensor* out);
/* out = (x - mean) / sqrt(var + eps) with given statistics: x [N, D] (f32, f16, bf16), mean and
 * var f32 [D] (e.g. the running statistics); eps finite >= 0. No backward rule. */
GRL_API grl_status grl_whiten_apply(grl_tensor x, grl_tensor mean, grl_tensor var, double eps,
                                    grl_tensor* out);
/* The ZCA matrix of a covariance: W = (C + eps I)^(-1/2) = U diag(1 / sqrt(lambda + eps)) U^T, for
 * a symmetric positive semi-definite C [D, D] (f32), computed on the device by the coupled
 * Newton-Schulz iteration: A = C + eps I, c = ||A||_F, Y0 = A / c, Z0 = I,
 *   T = (3 I - Z Y) / 2,  Y <- Y T,  Z <- T Z  (`iterations` times), W = Z / sqrt(c).
 * Z converges to (A / c)^(-1/2) for every eigenvalue in (0, 1]: the relative error of an
 * eigenvalue l of A / c shrinks about 2.25x per iteration while l is small, then quadratically,
 * so k iterations resolve eigenvalue ratios down to about 2.25^-(k - 4) (1e-6 at 21, f32 rounding
 * aside): the default 30 covers lambda_min(A) / ||A||_F >= 1e-8 (choose eps accordingly). eps finite > 0 (1e-5); iterations in
 * 1 .. 100 (30). Three D x D matmuls per iteration, no host wait. */
GRL_API grl_status grl_zca_from_covariance(grl_tensor cov, double eps, int32_t iterations,
                                           grl_tensor* out);
/* ZCA fit from data: x [N, D] (f32, N >= 1), mean = column means (f32 [D]), C = (x - mean)^T
 * (x - mean) / N (the population covariance, by a deterministic GEMM), W =
 * grl_zca_from_covariance(C, eps, iterations). Writes out_mean [D] and out_whitening [D, D].
 * No backward rule (fit and covariance are computed with gradients off). */
GRL_API grl_status grl_zca_fit(grl_tensor x, double eps, int32_t iterations, grl_tensor* out_mean,
                               grl_tensor* out_whitening);
/* out = (x - mean) W for x [N, D] (f32), mean [D], W [D, D] (symmetric, from grl_zca_fit). With
 * W from the same data, out has the identity as population covariance up to eps. Composed of
 * grl_sub and grl_matmul, so gradients flow through their rules. */
GRL_API grl_status grl_zca_apply(grl_tensor x, grl_tensor mean, grl_tensor whitening,
                                 grl_tensor* out);

/* ------------------------------------------------------------------------------------------------
 * Vector search: pairwise distances, top-k, flat index. See docs/neuro.md.
 * --------------------------------------------------------------------------------------------- */
/* @section search */
/* Distance or similarity between a query q and a base vector b (rows of D floats):
 *  - GRL_METRIC_L2SQR: |q - b|^2, computed as |q|^2 + |b|^2 - 2 q.b and clamped at 0 (FAISS's
 *    METRIC_L2 reports this); smaller is nearer.
 *  - GRL_METRIC_L2: sqrt of the above; smaller is nearer.
 *  - GRL_METRIC_INNER_PRODUCT: q.b; larger is nearer.
 *  - GRL_METRIC_COSINE: q.b / (max(|q|, 1e-8) max(|b|, 1e-8)); larger is nearer. */
typedef enum grl_metric {
  GRL_METRIC_L2SQR = 0,
  GRL_METRIC_L2 = 1,
  GRL_METRIC_INNER_PRODUCT = 2,
  GRL_METRIC_COSINE = 3,
  GRL_METRIC_FORCE32 = 0x7fffffff
} grl_metric;

/* Every pair of rows: queries [Q, D] and base [N, D] (f32, f16 or bf16, one dtype, one device;
 * f16/bf16 are read as they are and accumulated in f32) -> f32 [Q, N] with out[i][j] =
 * metric(queries[i], base[j]). Q, N or D may be 0 (D = 0: every dot product is 0). Not
 * differentiable. Checked: 2-d inputs with equal D (GRL_ERROR_SHAPE), floating dtypes that agree
 * (GRL_ERROR_DTYPE), the metric (GRL_ERROR_INVALID_ARGUMENT). */
GRL_API grl_status grl_pairwise_distances(grl_tensor queries, grl_tensor base, grl_metric metric,
                                          grl_tensor* out);

/* The k largest (largest = 1) or smallest (largest = 0) entries along the last axis of x (f32,
 * f16 or bf16, >= 1 dims), sorted best first: values [..., k] in x's dtype and their positions
 * along the axis, i64 [..., k]. Equal values go to the lower position first; NaN ranks above
 * +inf (first when largest, last when smallest); -0 and +0 are equal. 0 <= k <= min(n, 2048)
 * where n is the last axis' size (GRL_ERROR_INVALID_ARGUMENT otherwise); n < 2^32 - 1. One
 * workgroup per row (per segment of a row when there are fewer than 512 rows, merged by a second
 * pass) selects by radix passes over it (about 4 reads) and sorts the k winners in shared
 * memory. Not differentiable. Both outputs are written only on success. */
GRL_API grl_status grl_topk(grl_tensor x, int64_t k, uint32_t largest, grl_tensor* out_values,
                            grl_tensor* out_indices);

/* A flat (exhaustive) index in the manner of FAISS's IndexFlat: f32 vectors of `dim` floats,
 * each with an i64 id, searched exactly. The vectors live in tiles of tile_rows rows (one device
 * buffer each, so the base may exceed the largest buffer; the last tile grows geometrically from
 * 1024 rows, so a small index holds little memory); their squared norms (L2) or inverse norms
 * (cosine) are stored at add time. A search runs one fused kernel per tile: tiled dot
 * products of 128 queries x 128 base rows whose epilogue keeps each query's running k best in
 * shared memory over a chunk of chunk_rows base rows, writing k candidates per (query, chunk);
 * a second pass (grl_topk's kernel) merges the candidates. k above 16 computes distance blocks
 * and selects with grl_topk's kernel instead. The full [Q, ntotal] matrix is never stored.
 * Calls lock the device, so an index may be used from several threads. */
typedef struct grl_index_flat_s* grl_index_flat;

typedef struct grl_index_flat_options {
  uint32_t version;   /* GRL_INDEX_FLAT_OPTIONS_VERSION */
  grl_metric metric;  /* GRL_METRIC_L2SQR */
  int64_t tile_rows;  /* rows per base tile; 0: 256 MiB worth (floor(2^28 / (4 dim))), capped
                         by the device's largest buffer */
  int64_t chunk_rows; /* base rows one workgroup of the fused kernel scans; 0: automatic (32768,
                         halved down to 512 while fewer than 240 workgroups would run); else
                         rounded up to a multiple of 128, at most 65408 */
} grl_index_flat_options;
#define GRL_INDEX_FLAT_OPTIONS_VERSION 1
#define GRL_INDEX_FLAT_OPTIONS_INIT {GRL_INDEX_FLAT_OPTIONS_VERSION, GRL_METRIC_L2SQR, 0, 0}

/* 1 <= dim < 2^29; opts may be NULL (the defaults above); tile_rows >= 0, 0 <= chunk_rows <=
 * 65408 (GRL_ERROR_INVALID_ARGUMENT naming the field). */
GRL_API grl_status grl_index_flat_create(grl_device device, int64_t dim,
                                         const grl_index_flat_options* opts, grl_index_flat* out);
GRL_API void grl_index_flat_retain(grl_index_flat index);
GRL_API void grl_index_flat_release(grl_index_flat index);
/* Appends vectors [n, dim] (f32, f16 or bf16, converted to f32; n may be 0) on the index's
 * device. ids: n host ids (any values; duplicates are allowed and kept), or NULL for
 * c, c + 1, ..., c + n - 1 where c counts the vectors added since creation or the last reset. */
GRL_API grl_status grl_index_flat_add(grl_index_flat index, grl_tensor vectors, const int64_t* ids);
/* The k nearest base vectors of each query [Q, dim] (f32, f16 or bf16): distances f32 [Q, k]
 * (as the metric reports them, nearest first) and labels i64 [Q, k] (their ids). Equal distances
 * go to the vector added first. 1 <= k <= min(ntotal, 2048) (GRL_ERROR_INVALID_ARGUMENT). */
GRL_API grl_status grl_index_flat_search(grl_index_flat index, grl_tensor queries, int64_t k,
                                         grl_tensor* out_distances, grl_tensor* out_labels);
/* Removes every vector whose id is among the n ids (n >= 0; ids may be NULL when n is 0; ids
 * not present are ignored); the others keep their order. The number removed comes back through
 * out (may be NULL). Rebuilds the tiles (a copy of the kept rows). */
GRL_API grl_status grl_index_flat_remove(grl_index_flat index, const int64_t* ids, int64_t n,
                                         int64_t* out);
/* Removes every vector and restarts the automatic ids at 0. */
GRL_API grl_status grl_index_flat_reset(grl_index_flat index);
/* The number of vectors held, and the dimension. */
GRL_API grl_status grl_index_flat_ntotal(grl_index_flat index, int64_t* out);
GRL_API grl_status grl_index_flat_dim(grl_index_flat index, int64_t* out);

/* ------------------------------------------------------------------------------------------------
 * Key-value and episodic memory; place, grid and time cells; theta-gamma phase coding. See docs/neuro.md.
 * --------------------------------------------------------------------------------------------- */
/* @section memory */
/* Place cells: rate[b, n] = baseline + max_rate * exp(-||x_b - c_n||^2 / (2 sigma_n^2)).
 * positions [B, D], centers [N, D] with 1 <= D <= 8 (2-D and 3-D arenas; positions in the unit of
 * the centers and sigma, e.g. metres), one floating dtype (f32, f16, bf16; computed in f32). The
 * widths: sigmas [N] (per cell, same dtype) or NULL for the scalar sigma (> 0, finite; ignored
 * when sigmas is given). Rates in Hz: max_rate >= 0 (typical 20), baseline finite (typical 0).
 * Out [B, N] in the input dtype. Differentiable w.r.t. positions, centers and sigmas. */
GRL_API grl_status grl_place_cells(grl_tensor positions, grl_tensor centers, grl_tensor sigmas, double sigma,
                                   double max_rate, double baseline, grl_tensor* out);

/* Grid cells (Solstad et al. 2006): for cell n with spacing lambda_n (> 0), orientation theta_n
 * (radians) and phase p_n (2-vector), k = 4 pi / (sqrt(3) lambda_n) and u_j = (cos(theta_n + j pi/3),
 * sin(theta_n + j pi/3)), j = 0, 1, 2:
 *   rate[b, n] = max_rate * max(0, sum_j cos(k u_j . (x_b - p_n))) / 3,
 * so the peak (x on a vertex of the lattice, e.g. x = p_n) is max_rate; the sum lies in [-1.5, 3].
 * positions [B, 2], spacing [N], orientation [N], phase [N, 2], one floating dtype; max_rate >= 0.
 * Out [B, N]. Differentiable w.r.t. positions only (the rectified part passes no gradient; the
 * cell parameters get none). */
GRL_API grl_status grl_grid_cells(grl_tensor positions, grl_tensor spacing, grl_tensor orientation,
                                  grl_tensor phase, double max_rate, grl_tensor* out);

/* Time cells: rate[..., i] = max_rate * exp(-(t - t_i)^2 / (2 sigma_i^2)) for times t of any shape
 * [...] -> out [..., N]; preferred [N] and sigmas [N] (in the unit of t, e.g. ms) of t's floating
 * dtype. max_rate >= 0. Differentiable w.r.t. t, preferred and sigmas. */
GRL_API grl_status grl_time_cells(grl_tensor t, grl_tensor preferred, grl_tensor sigmas, double max_rate,
                                  grl_tensor* out);
/* Builds the tuning of n >= 1 time cells: preferred times t_i, i = 0..n-1, linear
 * t_min + (t_max - t_min) i / (n - 1) or (log_spaced = 1) t_min (t_max / t_min)^(i / (n - 1))
 * (Howard et al. 2014: log-compressed time), and widths sigma_i = weber * t_i (scalar timing:
 * width grows with the preferred time; the Weber fraction, typically 0.1-0.3). n = 1 gives t_min.
 * Checked: 0 < t_min <= t_max (finite), weber > 0, log_spaced 0 or 1. Both out tensors [n] of a
 * floating dtype; written only on success. */
GRL_API grl_status grl_time_cells_tuning(grl_device device, int64_t n, double t_min, double t_max,
                                         uint32_t log_spaced, double weber, grl_dtype dtype,
                                         grl_tensor* out_preferred, grl_tensor* out_sigmas);

/* Theta-gamma phase code of a sequence of n items (positions) nested in one theta cycle: item i
 * (the last axis of progress [..., n]) owns gamma sub-cycle i and fires at theta phase
 *   phase_i = mod(2 pi i / n - precession * progress_i, 2 pi)            (radians, in [0, 2 pi))
 * where progress_i (dimensionless, 0 on entering the item's place field, 1 on leaving) shifts
 * the spike earlier as the animal crosses the field (phase precession, O'Keefe & Recce 1993;
 * precession in radians per field, 0 for the pure code, typically 2 pi / n so that an item
 * precesses across its own gamma sub-cycle). Spike times within the cycle are
 *   time_i = theta_period * phase_i / (2 pi)                               (unit of theta_period,
 * e.g. 125 ms for 8 Hz theta). Floating progress (f32, f16, bf16; computed in f32), n >= 1;
 * theta_period > 0, precession finite. Both outputs have progress's shape and dtype. */
GRL_API grl_status grl_theta_gamma_code(grl_tensor progress, double theta_period, double precession,
                                        grl_tensor* out_phases, grl_tensor* out_times);

/* Key-value memory read (soft attention over memory slots):
 *   out = softmax(q k^T / tau) V,  tau = sqrt(d) when tau <= 0 (pass 0 for the default).
 * Reads of up to 2^16 scores (query rows x slots) run fused, one pass per query row computing
 * the scores, an online softmax and the weighted sum; larger ones run as matmul, softmax,
 * matmul (faster on GPUs with matrix units; see docs/neuro.md).
 * keys [M, d] and values [M, dv] shared by every query q [..., d] (out [..., dv]); or batched
 * memories keys [B, M, d], values [B, M, dv] with q [B, Q, d] (out [B, Q, dv]). M >= 1; one
 * floating dtype (f32, f16, bf16; f32 arithmetic). tau finite. Differentiable w.r.t. q, keys and
 * values (the backward recomputes the weights and composes matmuls and one softmax backward). */
GRL_API grl_status grl_kv_memory_read(grl_tensor q, grl_tensor keys, grl_tensor values, double tau,
                                      grl_tensor* out);
/* In-place write of rows into a memory [M, D] (keys or values): for each j of indices [K] (i32 or
 * i64, each in [0, M)), memory[indices[j]] <- (1 - alpha) memory[indices[j]] + alpha rows[j];
 * alpha = 1 overwrites the slot. rows [K, D] of memory's dtype (f32, f16, bf16). alpha in [0, 1].
 * Repeated indices: one of the writes wins (unspecified which). An index out of range is reported
 * as by the indexing ops (GRL_ERROR_INDEX at the next synchronize; that row is skipped). Not
 * recorded by autograd. */
GRL_API grl_status grl_kv_memory_write_(grl_tensor memory, grl_tensor indices, grl_tensor rows, double alpha);

typedef enum grl_memory_pool_mode {
  GRL_MEMORY_POOL_MEAN = 0,      /* mean over the set */
  GRL_MEMORY_POOL_MAX = 1,       /* elementwise max over the set */
  GRL_MEMORY_POOL_ATTENTION = 2, /* sum_i softmax_i(x_i . w / tau) x_i, w [d] learned */
  GRL_MEMORY_POOL_FORCE32 = 0x7fffffff
} grl_memory_pool_mode;
/* Pools a set x [B, n, d] (n >= 1) to [B, d]: query pooling over a query set, or context
 * aggregation of a memory per batch (attention mode: the attention-weighted summary of the n
 * slots). w [d] (x's dtype) is used by ATTENTION only (else may be NULL); tau <= 0 means sqrt(d).
 * Differentiable (ATTENTION through kv_memory_read with keys = values = x). */
GRL_API grl_status grl_memory_pool(grl_tensor x, grl_memory_pool_mode mode, grl_tensor w, double tau,
                                   grl_tensor* out);

typedef enum grl_memory_inject_mode {
  GRL_MEMORY_INJECT_CONCAT = 0,   /* [h, m] along the last axis: [..., dh + dm] */
  GRL_MEMORY_INJECT_GATED = 1,    /* h + sigmoid(g) * m */
  GRL_MEMORY_INJECT_MIX = 2,      /* g * m + (1 - g) * h  (g used as given, e.g. in [0, 1]) */
  GRL_MEMORY_INJECT_RESIDUAL = 3, /* h + m */
  GRL_MEMORY_INJECT_FORCE32 = 0x7fffffff
} grl_memory_inject_mode;
/* Injects a memory readout m into hidden states h (one floating dtype and device). CONCAT: h
 * [..., dh], m [..., dm] with equal leading dims. GATED, MIX, RESIDUAL: m of h's shape; the gate
 * (GATED, MIX only; else may be NULL) broadcasts to h's shape ([d] per feature, [..., 1] per
 * token, or h's shape). Differentiable w.r.t. h, m and gate. */
GRL_API grl_status grl_memory_inject(grl_tensor h, grl_tensor m, grl_memory_inject_mode mode, grl_tensor gate,
                                     grl_tensor* out);

/* Episodic memory: a store of `capacity` (key [key_dim], value [value_dim]) pairs in f32 on the
 * device, with a usage count and a write stamp per slot. Thread safety: every call locks the
 * memory's device, so a memory may be used from several threads (the calls are serialised). */
typedef struct grl_episodic_memory_s* grl_episodic_memory;
typedef enum grl_episodic_eviction {
  GRL_EPISODIC_EVICT_OLDEST = 0,     /* the slot written longest ago (FIFO) */
  GRL_EPISODIC_EVICT_LEAST_USED = 1, /* the lowest usage count; ties: the oldest */
  GRL_EPISODIC_EVICT_FORCE32 = 0x7fffffff
} grl_episodic_eviction;
/* capacity, key_dim, value_dim >= 1 (capacity <= 2^24). Slots start empty. */
GRL_API grl_status grl_episodic_memory_create(grl_device device, int64_t capacity, int64_t key_dim,
                                              int64_t value_dim, grl_episodic_eviction eviction,
                                              grl_episodic_memory* out);
GRL_API void grl_episodic_memory_retain(grl_episodic_memory mem);
GRL_API void grl_episodic_memory_release(grl_episodic_memory mem);
/* Appends K pairs, keys [K, key_dim] and values [K, value_dim] (f32, the memory's device). Items
 * go to free slots first (in order); when the store is full each further item evicts one slot
 * by the policy, never a slot written by the same call. A new slot's usage count is 0. When
 * K > capacity only the last `capacity` items are kept. No host wait. */
GRL_API grl_status grl_episodic_memory_write(grl_episodic_memory mem, grl_tensor keys, grl_tensor values);
/* The k (1 <= k <= min(32, size)) stored items most similar to each query of queries [Q, key_dim]
 * (f32) by cosine similarity q.key / (max(||q||, 1e-8) max(||key||, 1e-8)), best first (ties: lower slot).
 * out_values [Q, k, value_dim] f32, out_scores [Q, k] f32 (the similarities), out_indices [Q, k]
 * i64 (the slots; may be NULL, as may out_scores). Each returned slot's usage count grows by one
 * per query that returned it. No host wait. */
GRL_API grl_status grl_episodic_memory_read(grl_episodic_memory mem, grl_tensor queries, int32_t k,
                                            grl_tensor* out_values, grl_tensor* out_scores,
                                            grl_tensor* out_indices);
/* Empties the store (usage counts and stamps reset; capacity kept). */
GRL_API grl_status grl_episodic_memory_clear(grl_episodic_memory mem);
/* Number of stored items (known on the host: no wait). */
GRL_API grl_status grl_episodic_memory_size(grl_episodic_memory mem, int64_t* out);
/* The usage counts [capacity] (i32, a copy; empty slots 0). */
GRL_API grl_status grl_episodic_memory_usage(grl_episodic_memory mem, grl_tensor* out);

/* Sparse expansion (a k-winners-take-all layer): z = x W^T + b, x [..., in], weight [H, in], bias
 * [H] or NULL; per row, the k largest z (ties: lower index) are kept and the rest zeroed, then the
 * row is L2-normalised: y = t / max(||t||_2, 1e-12) with t the kept values. 1 <= k <= min(H, 32).
 * Out [..., H] in x's dtype (f32, f16, bf16). Differentiable w.r.t. x, weight and bias (the
 * selection is held fixed, as for top-k). */
GRL_API grl_status grl_sparse_expansion(grl_tensor x, grl_tensor weight, grl_tensor bias, int32_t k,
                                        grl_tensor* out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* GRILLY_H */
