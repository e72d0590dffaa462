// Memory family, stores and sparse codes: the episodic memory handle (device-resident slots with
// usage counts and FIFO / least-used eviction, cosine top-k reads) and the sparse expansion layer.
#include <algorithm>
#include <atomic>
#include <cstdint>

#include "autograd/autograd.h"
#include "ops/compose.h"
#include "ops/launch.h"
#include "ops/memory_common.h"

struct grl_episodic_memory_s {
  std::atomic<int64_t> refs{1};
  grl::TensorRef keys, values;  // [C, dk], [C, dv] f32
  grl::TensorRef usage, stamp;  // [C] u32 counts and write stamps (held as i32 tensors)
  grl::TensorRef norms;         // [C] f32 key norms, kept at write time for cosine reads
  int64_t capacity = 0, key_dim = 0, value_dim = 0;
  grl_episodic_eviction eviction = GRL_EPISODIC_EVICT_OLDEST;
  int64_t size = 0;        // occupied slots: always 0 .. size-1 (free slots fill in order)
  int64_t written = 0;     // items written since the last clear (FIFO ring position, mod C)
  uint32_t next_stamp = 1; // 0 marks a slot never written
  grl::Device& dev() const { return keys->dev(); }
};

namespace grl {

using namespace mem;

namespace {

constexpr int32_t kMaxK = 32;  // topk.glsl: KMAX
constexpr float kCosEps = 1e-8f;
constexpr float kNormEps = 1e-12f;

struct SlotsPush {
  uint64_t usage, stamp, slots;
  uint32_t K, C, size0, stamp0;
};
static_assert(sizeof(SlotsPush) == 40);

struct StorePush {
  uint64_t keys, values, mkeys, mvalues, slots, usage, stamp, norms;
  uint32_t K, C, dk, dv, first, stamp0;
};
static_assert(sizeof(StorePush) == 88);

struct ReadPush {
  uint64_t q, s, norms, mvalues, usage, ovalues, oscores, oindex;
  uint32_t Q, size, dk, dv, k;
  float eps;
};
static_assert(sizeof(ReadPush) == 88);

struct TopkPush {
  uint64_t z, out, index, norm;
  uint32_t rows, H, k;
  float eps;
};
static_assert(sizeof(TopkPush) == 48);

struct TopkGradPush {
  uint64_t y, g, index, norm, dz;
  uint32_t rows, H, k;
  float eps;
};
static_assert(sizeof(TopkGradPush) == 56);

grl_episodic_memory_s& arg_memory(const char* fn, grl_episodic_memory m) {
  if (!m) fail(GRL_ERROR_NULL_ARGUMENT, "%s: 'mem' is NULL; expected a grl_episodic_memory", fn);
  return *m;
}

void f32_rows(const char* fn, const char* name, const Tensor& t, int64_t width, const grl_episodic_memory_s& m) {
  if (t.device() != m.keys->device())
    fail(GRL_ERROR_DEVICE_MISMATCH, "%s: '%s' is on another device than the episodic memory", fn, name);
  if (t.dtype != GRL_F32) fail(GRL_ERROR_DTYPE, "%s: '%s' has dtype %s; the episodic memory holds f32", fn, name, dtype_name(t.dtype));
  if (t.shape.ndim != 2 || t.shape[1] != width)
    fail(GRL_ERROR_SHAPE, "%s: '%s' must be [K, %lld], got shape %s", fn, name, static_cast<long long>(width),
         t.shape.str().c_str());
}

void write(const char* fn, grl_episodic_memory_s& m, Tensor& keys, Tensor& values) {
  static const Kernel kSlots("memory/episodic_slots"), kStore("memory/episodic_store");
  int64_t K = keys.shape[0];
  if (values.shape[0] != K)
    fail(GRL_ERROR_SHAPE, "%s: 'values' %s must have one row per key ('keys' %s)", fn, values.shape.str().c_str(),
         keys.shape.str().c_str());
  if (K == 0) return;
  check_numel_u32(fn, keys.numel());
  check_numel_u32(fn, values.numel());
  int64_t C = m.capacity;
  // Only the last C items can survive one call: the earlier ones would be evicted by it.
  int64_t skip = K > C ? K - C : 0;
  if (static_cast<uint64_t>(m.next_stamp) + static_cast<uint64_t>(K) >= 0xffffffffull)
    fail(GRL_ERROR_UNSUPPORTED, "%s: the memory has taken 2^32 - 1 writes since its last clear; clear it", fn);
  TensorRef kc = contiguous(keys), vc = contiguous(values);
  if (skip > 0) {
    kc = make_view(*kc, Shape::of(std::vector<int64_t>{C, m.key_dim}), contiguous_strides(Shape::of(std::vector<int64_t>{C, m.key_dim})),
                   kc->offset + skip * m.key_dim);
    vc = make_view(*vc, Shape::of(std::vector<int64_t>{C, m.value_dim}),
                   contiguous_strides(Shape::of(std::vector<int64_t>{C, m.value_dim})), vc->offset + skip * m.value_dim);
  }
  int64_t n = K - skip;
  uint32_t stamp0 = m.next_stamp + static_cast<uint32_t>(skip);
  Device& dev = m.dev();
  StorePush sp{kc->address(), vc->address(), m.keys->address(), m.values->address(), 0, m.usage->address(),
               m.stamp->address(), m.norms->address(), u32(n), u32(C), u32(m.key_dim), u32(m.value_dim),
               u32((m.written + skip) % C), stamp0};
  TensorRef slots;
  if (m.eviction == GRL_EPISODIC_EVICT_LEAST_USED) {
    slots = new_tensor(keys.device(), GRL_I32, Shape::of(std::vector<int64_t>{n}));
    SlotsPush pc{m.usage->address(), m.stamp->address(), slots->address(), u32(n), u32(C), u32(m.size), stamp0};
    dev.dispatch(kSlots, &pc, sizeof pc, 1, 1, 1, {m.usage->block(), m.stamp->block()},
                 {m.usage->block(), m.stamp->block(), slots->block()});
    sp.slots = slots->address();
  }
  int64_t width = std::max(m.key_dim, m.value_dim);
  check_numel_u32(fn, n * width);
  dev.dispatch_1d(kStore, &sp, sizeof sp, groups_for(n * width),
                  {kc->block(), vc->block(), slots ? slots->block() : nullptr},
                  {m.keys->block(), m.values->block(), m.usage->block(), m.stamp->block(), m.norms->block()});
  m.written += K;
  m.size = std::min(C, m.size + K);
  m.next_stamp += static_cast<uint32_t>(K);
}

TensorRef topk_grad(Tensor& y, Tensor& g_in, Tensor& index, Tensor& norm, int32_t k) {
  static const KernelSet ks("memory/sparse_topk_grad", {GRL_F32, GRL_F16, GRL_BF16});
  const Kernel& kern = ks.get("backward", "y", y.dtype);
  TensorRef g = g_in.dtype == y.dtype ? contiguous(g_in) : op::call(grl_cast, &g_in, y.dtype);
  g = contiguous(*g);
  TensorRef dz = new_tensor(y.device(), GRL_F32, y.shape);
  fill(*dz, 0.0);
  int64_t H = y.shape[y.shape.ndim - 1], rows = y.numel() / H;
  TopkGradPush pc{y.address(), g->address(), index.address(), norm.address(), dz->address(), u32(rows), u32(H),
                  static_cast<uint32_t>(k), kNormEps};
  y.dev().dispatch_1d(kern, &pc, sizeof pc, groups_for(rows), {y.block(), g->block(), index.block(), norm.block()},
                      {dz->block()});
  return dz;
}

}  // namespace

GRL_BACKWARD_RULE(sparse_expansion);

}  // namespace grl

using namespace grl;

extern "C" GRL_API grl_status grl_episodic_memory_create(grl_device device, int64_t capacity, int64_t key_dim,
                                                         int64_t value_dim, grl_episodic_eviction eviction,
                                                         grl_episodic_memory* out) {
  GRL_API_BEGIN();
  const char* fn = __func__;
  grl_device_s& d = arg_device(fn, "device", device);
  GRL_CHECK_OUT(out);
  if (capacity < 1 || capacity > (int64_t{1} << 24))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'capacity' must be in [1, 2^24], got %lld", fn, static_cast<long long>(capacity));
  if (key_dim < 1) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'key_dim' must be >= 1, got %lld", fn, static_cast<long long>(key_dim));
  if (value_dim < 1)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'value_dim' must be >= 1, got %lld", fn, static_cast<long long>(value_dim));
  if (eviction != GRL_EPISODIC_EVICT_OLDEST && eviction != GRL_EPISODIC_EVICT_LEAST_USED)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'eviction' must be GRL_EPISODIC_EVICT_OLDEST or _LEAST_USED, got %d", fn,
         static_cast<int>(eviction));
  check_numel_u32(fn, capacity * key_dim);
  check_numel_u32(fn, capacity * value_dim);
  DeviceLock lock(d.impl->mutex());
  auto m = std::make_unique<grl_episodic_memory_s>();
  m->keys = new_tensor(&d, GRL_F32, Shape::of(std::vector<int64_t>{capacity, key_dim}));
  m->values = new_tensor(&d, GRL_F32, Shape::of(std::vector<int64_t>{capacity, value_dim}));
  m->usage = new_tensor(&d, GRL_I32, Shape::of(std::vector<int64_t>{capacity}));
  m->stamp = new_tensor(&d, GRL_I32, Shape::of(std::vector<int64_t>{capacity}));
  m->norms = new_tensor(&d, GRL_F32, Shape::of(std::vector<int64_t>{capacity}));
  fill(*m->keys, 0.0);
  fill(*m->values, 0.0);
  fill(*m->usage, 0.0);
  fill(*m->stamp, 0.0);
  fill(*m->norms, 0.0);
  m->capacity = capacity;
  m->key_dim = key_dim;
  m->value_dim = value_dim;
  m->eviction = eviction;
  *out = m.release();
  GRL_API_END();
}

extern "C" GRL_API void grl_episodic_memory_retain(grl_episodic_memory mem) {
  if (mem) mem->refs.fetch_add(1);
}

extern "C" GRL_API void grl_episodic_memory_release(grl_episodic_memory mem) {
  if (mem && mem->refs.fetch_sub(1) == 1) delete mem;
}

extern "C" GRL_API grl_status grl_episodic_memory_write(grl_episodic_memory mem, grl_tensor keys, grl_tensor values) {
  GRL_API_BEGIN();
  const char* fn = __func__;
  auto& m = arg_memory(fn, mem);
  Tensor& tk = arg_tensor(fn, "keys", keys);
  Tensor& tv = arg_tensor(fn, "values", values);
  f32_rows(fn, "keys", tk, m.key_dim, m);
  f32_rows(fn, "values", tv, m.value_dim, m);
  DeviceLock lock(m.dev().mutex());
  write(fn, m, tk, tv);
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_episodic_memory_read(grl_episodic_memory mem, grl_tensor queries, int32_t k,
                                                       grl_tensor* out_values, grl_tensor* out_scores,
                                                       grl_tensor* out_indices) {
  GRL_API_BEGIN();
  const char* fn = __func__;
  auto& m = arg_memory(fn, mem);
  Tensor& tq = arg_tensor(fn, "queries", queries);
  arg_not_null(fn, "out_values", out_values);
  f32_rows(fn, "queries", tq, m.key_dim, m);
  DeviceLock lock(m.dev().mutex());  // also guards size against a concurrent write
  if (m.size == 0) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: the episodic memory is empty; write items before reading", fn);
  int64_t kmax = std::min<int64_t>(kMaxK, m.size);
  if (k < 1 || k > kmax)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'k' must be in [1, %lld] (min(32, stored items = %lld)), got %d", fn,
         static_cast<long long>(kmax), static_cast<long long>(m.size), k);
  static const Kernel kRead("memory/episodic_read");
  int64_t Q = tq.shape[0];
  check_numel_u32(fn, Q * k * m.value_dim);
  check_numel_u32(fn, Q * m.size);
  grl_device_s* d = m.keys->device();
  TensorRef ov = new_tensor(d, GRL_F32, Shape::of(std::vector<int64_t>{Q, k, m.value_dim}));
  TensorRef os, oi;
  if (out_scores) os = new_tensor(d, GRL_F32, Shape::of(std::vector<int64_t>{Q, k}));
  if (out_indices) oi = new_tensor(d, GRL_I64, Shape::of(std::vector<int64_t>{Q, k}));
  if (Q > 0) {
    // The dot products of every query with every stored key as one matmul (the GPU's fastest
    // path), then one workgroup per query turns them into cosines and picks the top k.
    autograd::GradMode no_grad(false);  // reads are not differentiable; record nothing
    TensorRef qc = contiguous(tq);
    TensorRef stored = make_view(*m.keys, Shape::of(std::vector<int64_t>{m.key_dim, m.size}),
                                 {1, m.key_dim, 0, 0, 0, 0, 0, 0}, 0);
    TensorRef sims = op::call(grl_matmul, qc.get(), stored.get());
    ReadPush pc{qc->address(), sims->address(), m.norms->address(), m.values->address(), m.usage->address(),
                ov->address(), os ? os->address() : 0, oi ? oi->address() : 0, u32(Q), u32(m.size), u32(m.key_dim),
                u32(m.value_dim), static_cast<uint32_t>(k), kCosEps};
    m.dev().dispatch_1d(kRead, &pc, sizeof pc, static_cast<uint64_t>(Q),
                        {qc->block(), sims->block(), m.norms->block(), m.values->block(), m.usage->block()},
                        {ov->block(), os ? os->block() : nullptr, oi ? oi->block() : nullptr, m.usage->block()});
  }
  *out_values = ov.release();
  if (out_scores) *out_scores = os.release();
  if (out_indices) *out_indices = oi.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_episodic_memory_clear(grl_episodic_memory mem) {
  GRL_API_BEGIN();
  auto& m = arg_memory(__func__, mem);
  DeviceLock lock(m.dev().mutex());
  fill(*m.usage, 0.0);
  fill(*m.stamp, 0.0);
  m.size = 0;
  m.written = 0;
  m.next_stamp = 1;
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_episodic_memory_size(grl_episodic_memory mem, int64_t* out) {
  GRL_API_BEGIN();
  auto& m = arg_memory(__func__, mem);
  GRL_CHECK_OUT(out);
  DeviceLock lock(m.dev().mutex());
  *out = m.size;
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_episodic_memory_usage(grl_episodic_memory mem, grl_tensor* out) {
  GRL_API_BEGIN();
  auto& m = arg_memory(__func__, mem);
  GRL_CHECK_OUT(out);
  DeviceLock lock(m.dev().mutex());
  TensorRef r = op::call(grl_clone, m.usage.get());
  *out = r.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_sparse_expansion(grl_tensor x, grl_tensor weight, grl_tensor bias, int32_t k,
                                                   grl_tensor* out) {
  GRL_API_BEGIN();
  const char* fn = __func__;
  Tensor& tx = arg_tensor(fn, "x", x);
  Tensor& tw = arg_tensor(fn, "weight", weight);
  Tensor* tb = opt_tensor(fn, "bias", bias);
  GRL_CHECK_OUT(out);
  float_dtype(fn, "x", tx);
  joins(fn, "weight", tw, "x", tx);
  if (tb) joins(fn, "bias", *tb, "x", tx);
  rank(fn, "weight", tw, 2, "[H, in]");
  if (tx.shape.ndim < 1 || tx.shape[tx.shape.ndim - 1] != tw.shape[1])
    fail(GRL_ERROR_SHAPE, "%s: 'x' %s must end in the input width %lld of 'weight' %s", fn, tx.shape.str().c_str(),
         static_cast<long long>(tw.shape[1]), tw.shape.str().c_str());
  int64_t H = tw.shape[0];
  if (tb && (tb->shape.ndim != 1 || tb->shape[0] != H))
    fail(GRL_ERROR_SHAPE, "%s: 'bias' must be [%lld], got %s", fn, static_cast<long long>(H), tb->shape.str().c_str());
  int64_t kmax = std::min<int64_t>(kMaxK, H);
  if (k < 1 || k > kmax)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'k' must be in [1, %lld] (min(32, H = %lld)), got %d", fn,
         static_cast<long long>(kmax), static_cast<long long>(H), k);
  static const KernelSet ks("memory/sparse_topk", {GRL_F32, GRL_F16, GRL_BF16});
  const Kernel& kern = ks.get(fn, "x", tx.dtype);
  DeviceLock lock(tx.dev().mutex());
  TensorRef z = op::call(grl_linear, x, weight, bias);
  check_numel_u32(fn, z->numel());
  int64_t rows = z->numel() / H;
  TensorRef r = new_tensor(tx.device(), tx.dtype, z->shape);
  if (rows > 0) {
    TensorRef zc = contiguous(*z);
    TensorRef index = new_tensor(tx.device(), GRL_I32, Shape::of(std::vector<int64_t>{rows, k}));
    TensorRef norm = new_tensor(tx.device(), GRL_F32, Shape::of(std::vector<int64_t>{rows}));
    TopkPush pc{zc->address(), r->address(), index->address(), norm->address(), u32(rows), u32(H),
                static_cast<uint32_t>(k), kNormEps};
    tx.dev().dispatch_1d(kern, &pc, sizeof pc, static_cast<uint64_t>(rows), {zc->block()},
                         {r->block(), index->block(), norm->block()});
    if (autograd::needs_grad({z.get()})) {
      TensorRef sy = autograd::saved(*r);
      autograd::record("sparse_expansion", *r, {z.get()},
                       [sy, index, norm, k](Tensor& g) { return std::vector<TensorRef>{topk_grad(*sy, g, *index, *norm, k)}; });
    }
  }
  *out = r.release();
  GRL_API_END();
}
