// Normalization family: layer norm and RMS norm over the last `normalized_ndim` axes, with
// optional elementwise weight and bias of those axes' shape, and their backward rules and kernels.
#include <algorithm>
#include <cmath>

#include "autograd/autograd.h"
#include "ops/compose.h"
#include "ops/launch.h"

namespace grl {

namespace {

// norm_rows*.comp and norm_long.comp.
struct NormPush {
  uint64_t x, out, w, b, stats;
  uint32_t rows, n, flags, vec;
  float eps;
  uint32_t pad;
};
static_assert(sizeof(NormPush) == 64);

// norm_grad_rows*.comp and norm_grad_long.comp.
struct NormGradPush {
  uint64_t x, g, w, stats, dx, dw, db;
  uint32_t rows, n, flags, vec, chunk, pad;
};
static_assert(sizeof(NormGradPush) == 80);

// norm_grad_cols.comp.
struct NormColsPush {
  uint64_t x, g, stats, dw, db;
  uint32_t rows, n, chunk, blocks;
};
static_assert(sizeof(NormColsPush) == 56);

constexpr uint32_t kFlagW = 1, kFlagB = 2, kFlagRms = 4;

// The kernel for contiguous rows of length n: the smallest register-resident one that holds the
// row (norm_rows_<capacity>.comp, 32 to 1024 threads with 16 elements each, so every thread has
// four wide loads in flight), else norm_long.comp, which streams rows of any length. 16-bit rows
// longer than 8192 stream too: on an H100 that beats 1024 threads holding 8-byte packs
// (1.9 vs 1.4 TB/s, bf16 layer norm).
// Index of the register-resident kernel for rows of n (capacity 512 << i, 32 << i threads), or
// -1 when the row streams.
int row_capacity(grl_dtype dt, int64_t n) {
  for (int i = 0; i < 6; ++i)
    if (n <= (int64_t{512} << i) && (i < 5 || dt == GRL_F32)) return i;
  return -1;
}

const Kernel& pick_row_kernel(const KernelSet (&in_registers)[6], const KernelSet& streamed, const char* fn,
                              grl_dtype dt, int64_t n) {
  const int i = row_capacity(dt, n);
  return i >= 0 ? in_registers[i].get(fn, "x", dt) : streamed.get(fn, "x", dt);
}

const Kernel& row_kernel(const char* fn, grl_dtype dt, int64_t n) {
  static const KernelSet in_registers[] = {
      {"normalization/norm_rows_512", {GRL_F32, GRL_F16, GRL_BF16}},
      {"normalization/norm_rows_1024", {GRL_F32, GRL_F16, GRL_BF16}},
      {"normalization/norm_rows_2048", {GRL_F32, GRL_F16, GRL_BF16}},
      {"normalization/norm_rows_4096", {GRL_F32, GRL_F16, GRL_BF16}},
      {"normalization/norm_rows_8192", {GRL_F32, GRL_F16, GRL_BF16}},
      {"normalization/norm_rows_16384", {GRL_F32}},
  };
  static const KernelSet streamed("normalization/norm_long", {GRL_F32, GRL_F16, GRL_BF16});
  return pick_row_kernel(in_registers, streamed, fn, dt, n);
}

// The backward's kernels, with the forward's capacities but twice its threads per row where the
// device allows (2 packs of 4 per thread, 4 at 16384): each thread also keeps column sums, and
// fewer registers per thread keep two or more workgroups resident per multiprocessor.
constexpr int64_t kGradThreads[6] = {64, 128, 256, 512, 1024, 1024};

const Kernel& row_grad_kernel(const char* fn, grl_dtype dt, int64_t n) {
  static const KernelSet in_registers[] = {
      {"normalization/norm_grad_rows_512", {GRL_F32, GRL_F16, GRL_BF16}},
      {"normalization/norm_grad_rows_1024", {GRL_F32, GRL_F16, GRL_BF16}},
      {"normalization/norm_grad_rows_2048", {GRL_F32, GRL_F16, GRL_BF16}},
      {"normalization/norm_grad_rows_4096", {GRL_F32, GRL_F16, GRL_BF16}},
      {"normalization/norm_grad_rows_8192", {GRL_F32, GRL_F16, GRL_BF16}},
      {"normalization/norm_grad_rows_16384", {GRL_F32}},
  };
  static const KernelSet streamed("normalization/norm_grad_long", {GRL_F32, GRL_F16, GRL_BF16});
  return pick_row_kernel(in_registers, streamed, fn, dt, n);
}

// weight / bias: NULL, or x's dtype and device with exactly the shape of x's last `nd` axes.
Tensor* affine_arg(const char* fn, const char* name, grl_tensor t, const Tensor& x, int32_t nd) {
  Tensor* p = opt_tensor(fn, name, t);
  if (!p) return nullptr;
  same_device(fn, "x", x, name, *p);
  same_dtype(fn, "x", x, name, *p);
  Shape want;
  want.ndim = nd;
  for (int i = 0; i < nd; ++i) want[i] = x.shape[x.shape.ndim - nd + i];
  if (!(p->shape == want))
    fail(GRL_ERROR_SHAPE, "%s: '%s' has shape %s; expected %s (the last %d axes of 'x', shape %s)", fn, name,
         p->shape.str().c_str(), want.str().c_str(), nd, x.shape.str().c_str());
  return p;
}

struct NormArgs {
  Tensor* w = nullptr;
  Tensor* b = nullptr;
  Shape wshape;  // the last `nd` axes of x
  int64_t n = 1;
};

NormArgs norm_args(const char* fn, Tensor& x, int32_t nd, grl_tensor weight, grl_tensor bias, double eps) {
  float_dtype(fn, "x", x);
  if (nd < 1 || nd > x.shape.ndim)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'normalized_ndim' = %d is out of range for 'x' of shape %s (expected 1..%d)",
         fn, nd, x.shape.str().c_str(), x.shape.ndim);
  NormArgs a;
  a.w = affine_arg(fn, "weight", weight, x, nd);
  a.b = affine_arg(fn, "bias", bias, x, nd);
  if (!std::isfinite(eps) || eps < 0)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'eps' = %g; expected a finite number >= 0 (PyTorch's default is 1e-5)", fn,
         eps);
  check_numel_u32(fn, x.numel());
  a.wshape.ndim = nd;
  for (int i = 0; i < nd; ++i) a.n *= (a.wshape[i] = x.shape[x.shape.ndim - nd + i]);
  return a;
}

// The forward's result and, when the backward will run, what it reads: the contiguous x and
// weight, and the per-row statistics (f32 [rows, 2]: mean, 0 for RMS norm, and rstd) that the
// forward kernel writes at the cost of 8 bytes per row.
struct Normalized {
  TensorRef out, x, w, stats;
};

Normalized normalize(const char* fn, Tensor& x, const NormArgs& a, double eps, bool rms, bool keep) {
  Normalized r;
  r.out = new_tensor(x.device(), x.dtype, x.shape);
  if (x.numel() == 0) return r;
  const int64_t n = a.n;
  Tensor *w = a.w, *b = a.b;
  TensorRef tx = contiguous(x), tw, tb;
  if (w) tw = contiguous(*w);
  if (b) tb = contiguous(*b);
  const uint64_t align = 4 * x.elsize();
  NormPush pc{};
  pc.x = tx->address();
  pc.out = r.out->address();
  pc.w = w ? tw->address() : 0;
  pc.b = b ? tb->address() : 0;
  pc.rows = static_cast<uint32_t>(x.numel() / n);
  pc.n = static_cast<uint32_t>(n);
  pc.flags = (w ? kFlagW : 0) | (b ? kFlagB : 0) | (rms ? kFlagRms : 0);
  pc.vec = n % 4 == 0 && pc.x % align == 0 && pc.out % align == 0 && pc.w % align == 0 && pc.b % align == 0;
  pc.eps = static_cast<float>(eps);
  if (keep) {
    r.x = tx;
    r.w = tw;
    Shape ss;
    ss.ndim = 2;
    ss[0] = pc.rows;
    ss[1] = 2;
    r.stats = new_tensor(x.device(), GRL_F32, ss);
    pc.stats = r.stats->address();
  }
  const Kernel& k = row_kernel(fn, x.dtype, n);
  x.dev().dispatch_1d(k, &pc, sizeof pc, pc.rows, {tx->block(), w ? tw->block() : nullptr, b ? tb->block() : nullptr},
                      {r.out->block(), keep ? r.stats->block() : nullptr});
  return r;
}

// Sums f32 partial sums [chunks, n] over the chunks, viewed with the weight's shape.
TensorRef finish_partials(TensorRef p, const Shape& wshape) {
  if (p->shape[0] > 1) {
    const int32_t axis = 0;
    p = op::call(grl_sum, p.get(), &axis, 1, 0u);
  }
  return make_view(*p, wshape, contiguous_strides(wshape), p->offset);
}

// dweight = sum over rows of g * xhat and dbias = sum over rows of g, for rows too long for
// registers: chunks of rows so that a GPU has some 2^17 threads at work, each summing at least
// 16 rows of one column.
void streamed_affine_grads(Tensor& x, Tensor& g, Tensor& stats, int64_t n, bool want_w, bool want_b, TensorRef& pw,
                           TensorRef& pb) {
  static const KernelSet ks("normalization/norm_grad_cols", {GRL_F32, GRL_F16, GRL_BF16});
  const Kernel& k = ks.get("norm backward", "x", x.dtype);
  const int64_t rows = x.numel() / n;
  const int64_t blocks = (n + 255) / 256;
  int64_t chunks = std::clamp<int64_t>(((int64_t{1} << 17) + n - 1) / n, 1, (rows + 15) / 16);
  const int64_t chunk = (rows + chunks - 1) / chunks;
  chunks = (rows + chunk - 1) / chunk;
  Shape ps;
  ps.ndim = 2;
  ps[0] = chunks;
  ps[1] = n;
  if (want_w) pw = new_tensor(x.device(), GRL_F32, ps);
  if (want_b) pb = new_tensor(x.device(), GRL_F32, ps);
  NormColsPush pc{x.address(), g.address(), stats.address(), want_w ? pw->address() : 0, want_b ? pb->address() : 0,
                  static_cast<uint32_t>(rows), static_cast<uint32_t>(n), static_cast<uint32_t>(chunk),
                  static_cast<uint32_t>(blocks)};
  x.dev().dispatch_1d(k, &pc, sizeof pc, static_cast<uint64_t>(blocks * chunks), {x.block(), g.block(), stats.block()},
                      {want_w ? pw->block() : nullptr, want_b ? pb->block() : nullptr});
}

// The gradients of layer norm / RMS norm from the contiguous x, weight (or null), the output
// gradient g (contiguous, x's dtype) and the forward's statistics. dweight / dbias come back in f32
// with the weight's shape (the engine casts them to the weight's dtype).
//
// Rows that fit in registers take one kernel for everything: a workgroup walks a chunk of rows,
// writes dx and keeps per-column sums of g * xhat and g, so x and g are read once (3 passes over
// the data, as the forward's 2 plus g). Chunks are sized for some 2^18 threads in flight, which
// keeps the f32 partial sums [chunks, n] within a few tens of MiB whatever the input. Longer rows
// stream dx one row per workgroup and take the column-sum kernel for the weight and bias (5
// passes).
void norm_backward(Tensor& x, Tensor& g, Tensor* w, Tensor& stats, const Shape& wshape, int64_t n, bool rms,
                   bool want_x, bool want_w, bool want_b, TensorRef& dx, TensorRef& dw, TensorRef& db) {
  const char* fn = rms ? "rms_norm backward" : "layer_norm backward";
  const int64_t rows = x.numel() / n;
  const int cap = row_capacity(x.dtype, n);
  const bool fused = cap >= 0;
  int64_t chunk = 1, chunks = rows;
  if (fused && (want_w || want_b)) {
    const int64_t wgs = (int64_t{1} << 18) / kGradThreads[cap];
    chunk = std::max<int64_t>(1, rows / wgs);
    chunks = (rows + chunk - 1) / chunk;
  }
  TensorRef pw, pb;
  if (fused) {
    Shape ps;
    ps.ndim = 2;
    ps[0] = chunks;
    ps[1] = n;
    if (want_w) pw = new_tensor(x.device(), GRL_F32, ps);
    if (want_b) pb = new_tensor(x.device(), GRL_F32, ps);
  }
  if (want_x) dx = new_tensor(x.device(), x.dtype, x.shape);
  if (want_x || fused) {
    const uint64_t align = 4 * x.elsize();
    NormGradPush pc{};
    pc.x = x.address();
    pc.g = g.address();
    pc.w = w ? w->address() : 0;
    pc.stats = stats.address();
    pc.dx = want_x ? dx->address() : 0;
    pc.dw = pw ? pw->address() : 0;
    pc.db = pb ? pb->address() : 0;
    pc.rows = static_cast<uint32_t>(rows);
    pc.n = static_cast<uint32_t>(n);
    pc.flags = (w ? kFlagW : 0) | (rms ? kFlagRms : 0);
    pc.vec = n % 4 == 0 && pc.x % align == 0 && pc.g % align == 0 && pc.w % align == 0 && pc.dx % align == 0 &&
             pc.dw % 16 == 0 && pc.db % 16 == 0;
    pc.chunk = static_cast<uint32_t>(chunk);
    x.dev().dispatch_1d(row_grad_kernel(fn, x.dtype, n), &pc, sizeof pc, static_cast<uint64_t>(chunks),
                        {x.block(), g.block(), w ? w->block() : nullptr, stats.block()},
                        {want_x ? dx->block() : nullptr, pw ? pw->block() : nullptr, pb ? pb->block() : nullptr});
  }
  if (!fused && (want_w || want_b)) streamed_affine_grads(x, g, stats, n, want_w, want_b, pw, pb);
  if (want_w) dw = finish_partials(pw, wshape);
  if (want_b) db = finish_partials(pb, wshape);
}

void record_norm(const char* name, Normalized& r, Tensor& x, const NormArgs& a, bool rms) {
  const bool gx = autograd::requires_grad(&x), gw = autograd::requires_grad(a.w), gb = autograd::requires_grad(a.b);
  TensorRef sx = r.x ? autograd::saved(*r.x) : TensorRef();
  TensorRef sw = r.w ? autograd::saved(*r.w) : TensorRef();
  TensorRef st = r.stats;  // made here, outside autograd: no cycle
  const Shape xshape = x.shape, wshape = a.wshape;
  const grl_dtype dt = x.dtype;
  grl_device_s* dev = x.device();
  const int64_t n = a.n;
  auto fn = [=](Tensor& g_in) {
    std::vector<TensorRef> grads(rms ? 2 : 3);
    if (!sx) {  // empty x: no rows, so weight and bias gradients are zero
      if (gx) grads[0] = new_tensor(dev, dt, xshape);
      for (size_t i = 1; i < grads.size(); ++i) {
        if (!(i == 1 ? gw : gb)) continue;
        grads[i] = new_tensor(dev, GRL_F32, wshape);
        if (wshape.numel() > 0) fill(*grads[i], 0.0);
      }
      return grads;
    }
    TensorRef g = g_in.dtype == dt ? contiguous(g_in) : op::call(grl_cast, &g_in, dt);
    TensorRef db;
    norm_backward(*sx, *g, sw ? sw.get() : nullptr, *st, wshape, n, rms, gx, gw, !rms && gb, grads[0], grads[1], db);
    if (!rms) grads[2] = db;
    return grads;
  };
  if (rms)
    autograd::record(name, *r.out, {&x, a.w}, fn);
  else
    autograd::record(name, *r.out, {&x, a.w, a.b}, fn);
}

}  // namespace

GRL_BACKWARD_RULE(layer_norm);
GRL_BACKWARD_RULE(rms_norm);

}  // namespace grl

using namespace grl;

extern "C" GRL_API grl_status grl_layer_norm(grl_tensor x, int32_t normalized_ndim, grl_tensor weight,
                                             grl_tensor bias, double eps, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  DeviceLock lock(tx.dev().mutex());
  NormArgs a = norm_args(__func__, tx, normalized_ndim, weight, bias, eps);
  const bool grad = autograd::needs_grad({&tx, a.w, a.b});
  Normalized r = normalize(__func__, tx, a, eps, false, grad);
  if (grad) record_norm("layer_norm", r, tx, a, false);
  *out = r.out.release();
  GRL_API_END();
}

extern "C" GRL_API grl_status grl_rms_norm(grl_tensor x, int32_t normalized_ndim, grl_tensor weight, double eps,
                                           grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  DeviceLock lock(tx.dev().mutex());
  NormArgs a = norm_args(__func__, tx, normalized_ndim, weight, nullptr, eps);
  const bool grad = autograd::needs_grad({&tx, a.w});
  Normalized r = normalize(__func__, tx, a, eps, true, grad);
  if (grad) record_norm("rms_norm", r, tx, a, true);
  *out = r.out.release();
  GRL_API_END();
}
