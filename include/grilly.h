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

/* ------------------------------------------------------------------------------------------------
 * Synapses, short-term plasticity, spike encoders and decoders, spike-matmul. See docs/neuro.md.
 * --------------------------------------------------------------------------------------------- */
/* @section synapse */

/* ------------------------------------------------------------------------------------------------
 * Local plasticity: Hebbian, Oja, Sanger (GHA), pair and triplet STDP. See docs/neuro.md.
 * --------------------------------------------------------------------------------------------- */
/* @section plasticity */

/* ------------------------------------------------------------------------------------------------
 * Continual and online learning: Fisher information, EWC, natural gradient, NLMS, whitening. See docs/neuro.md.
 * --------------------------------------------------------------------------------------------- */
/* @section online */

/* ------------------------------------------------------------------------------------------------
 * Vector search: pairwise distances, top-k, flat index. See docs/neuro.md.
 * --------------------------------------------------------------------------------------------- */
/* @section search */

/* ------------------------------------------------------------------------------------------------
 * Key-value and episodic memory; place, grid and time cells; theta-gamma phase coding. See docs/neuro.md.
 * --------------------------------------------------------------------------------------------- */
/* @section memory */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* GRILLY_H */
