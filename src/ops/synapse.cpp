// Synapse family: exponential synapse (step and sequence, with its backward scan), Tsodyks-Markram
// short-term plasticity, spike encoders (Poisson, latency, delta), decoders and spike-matmul.
#include <grilly.h>

#include <cmath>

#include "autograd/autograd.h"
#include "ops/compose.h"
#include "ops/launch.h"

namespace grl {

namespace {

struct StepPush {
  uint64_t cur, spk;
  uint32_t n, vec4_ok;
  float decay, weight;
};
static_assert(sizeof(StepPush) == 32);

struct ScanPush {
  uint64_t x, init, out, final_;
  uint32_t n, T, reverse;
  float decay, weight;
  uint32_t pad;
};
static_assert(sizeof(ScanPush) == 56);

struct StpPush {
  uint64_t u, x, spk, out;
  uint32_t n, ndim;
  float U, du, dx;
  uint32_t T, sstep;
  uint32_t shape[4], ss[4];
  uint32_t pad;
};
static_assert(sizeof(StpPush) == 96);

struct EncodePush {
  uint64_t x, out, offset;
  uint32_t key0, key1, n, T, mode, dt_in, dt_out, tchunk;
  float scale, tau, theta, tmax;
};
static_assert(sizeof(EncodePush) == 72);

struct DeltaPush {
  uint64_t x, out;
  uint32_t n, T, two, dt_in, dt_out;
  float thr;
};
static_assert(sizeof(DeltaPush) == 40);

struct DecodePush {
  uint64_t s, w, out;
  uint32_t n, T, mode, dt_in, dt_w, dt_out, t0;
  float scale, inv_tau;
  uint32_t grad;
};
static_assert(sizeof(DecodePush) == 64);

struct SpmmPush {
  uint64_t s, w, out;
  uint32_t B, K, N, s_u8;
};
static_assert(sizeof(SpmmPush) == 40);

constexpr int64_t kMaxGroups = 65535;

void positive_time(const char* fn, const char* name, double v) {
  if (!(std::isfinite(v) && v > 0))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: %s is %g; expected a finite value > 0", fn, name, v);
}

void finite(const char* fn, const char* name, double v) {
  if (!std::isfinite(v)) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: %s is %g; expected a finite value", fn, name, v);
}

void same_shape(const char* fn, const char* na, const Tensor& a, const char* nb, const Tensor& b) {
  if (!(a.shape == b.shape))
    fail(GRL_ERROR_SHAPE, "%s: '%s' has shape %s but '%s' has shape %s; expected the same shape", fn, nb,
         b.shape.str().c_str(), na, a.shape.str().c_str());
}

// Spike output dtypes: floating, and u8 where the values are 0/1.
void spike_dtype(const char* fn, grl_dtype dt, bool allow_u8) {
  arg_dtype(fn, "dtype", dt);
  if (!is_float(dt) && !(allow_u8 && dt == GRL_U8))
    fail(GRL_ERROR_DTYPE, "%s: 'dtype' is %s; expected f32, f16, bf16%s", fn, dtype_name(dt),
         allow_u8 ? " or u8" : " (signed spikes need a floating dtype)");
}

void spikes_in_dtype(const char* fn, const char* name, const Tensor& t) {
  if (!is_float(t.dtype) && t.dtype != GRL_U8)
    fail(GRL_ERROR_DTYPE, "%s: '%s' has dtype %s; expected f32, f16, bf16 or u8", fn, name, dtype_name(t.dtype));
}

// [T] + shape, for the encoders' outputs.
Shape time_major(const char* fn, int64_t T, const Shape& s, int64_t extra = 0) {
  if (s.ndim + 1 + (extra ? 1 : 0) > GRL_MAX_DIMS)
    fail(GRL_ERROR_SHAPE, "%s: the input has %d dims; the output adds %d and may have at most %d", fn, s.ndim,
         extra ? 2 : 1, GRL_MAX_DIMS);
  Shape o;
  o[o.ndim++] = T;
  if (extra) o[o.ndim++] = extra;
  for (int i = 0; i < s.ndim; ++i) o[o.ndim++] = s[i];
  return o;
}

// The shape without its first (time) dim.
Shape drop_time(const Shape& s) {
  Shape o;
  for (int i = 1; i < s.ndim; ++i) o[o.ndim++] = s[i];
  return o;
}

void need_time_dim(const char* fn, const char* name, const Tensor& t) {
  if (t.shape.ndim < 1)
    fail(GRL_ERROR_SHAPE, "%s: '%s' is 0-d; expected [T, ...] with time as the first dim", fn, name);
}

// A contiguous tensor to update in place: t itself or a copy written back by finish().
struct InPlace {
  Tensor& t;
  TensorRef work;
  explicit InPlace(Tensor& x) : t(x), work(contiguous(x)) {}
  void finish() {
    if (work.get() != &t) copy_into(t, *work);
  }
};

// Grid-stride launches: as many workgroups as cover n, capped at the grid's x limit.
uint32_t stride_groups(int64_t n) {
  return static_cast<uint32_t>(std::max<int64_t>(1, std::min<int64_t>(static_cast<int64_t>(groups_for(n)), kMaxGroups)));
}

// ---- exponential synapse ----

void run_scan(Tensor& x, Tensor* init, Tensor& out, Tensor* final_, int64_t T, int64_t n, bool reverse, float decay,
              float weight) {
  static const KernelSet ks("synapse/exp_scan", {GRL_F32, GRL_F16, GRL_BF16});
  if (n == 0) return;
  ScanPush pc{};
  pc.x = x.address();
  pc.init = init ? init->address() : 0;
  pc.out = out.address();
  pc.final_ = final_ ? final_->address() : 0;
  pc.n = static_cast<uint32_t>(n);
  pc.T = static_cast<uint32_t>(T);
  pc.reverse = reverse ? 1 : 0;
  pc.decay = decay;
  pc.weight = weight;
  out.dev().dispatch_1d(ks.get("grl_synapse_exp", "spikes", out.dtype), &pc, sizeof pc, groups_for(n),
                        {x.block(), init ? init->block() : nullptr},
                        {out.block(), final_ ? final_->block() : nullptr});
}

// ---- decoders ----

struct DecodeSpec {
  uint32_t mode = 0;  // 0 rate window, 1 exponential, 2 weights tensor
  int64_t T = 0, n = 0, t0 = 0;
  float scale = 0, inv_tau = 0;
};

void run_decode(const DecodeSpec& d, Tensor& in, Tensor* w, Tensor& out, bool grad) {
  static const Kernel k("synapse/decode");
  const int64_t work = grad ? d.T * d.n : d.n;
  if (work == 0) {
    if (out.numel() > 0) fill(out, 0.0);
    return;
  }
  DecodePush pc{};
  pc.s = in.address();
  pc.w = w ? w->address() : 0;
  pc.out = out.address();
  pc.n = static_cast<uint32_t>(d.n);
  pc.T = static_cast<uint32_t>(d.T);
  pc.mode = d.mode;
  pc.dt_in = in.dtype;
  pc.dt_w = w ? w->dtype : GRL_F32;
  pc.dt_out = out.dtype;
  pc.t0 = static_cast<uint32_t>(d.t0);
  pc.scale = d.scale;
  pc.inv_tau = d.inv_tau;
  pc.grad = grad ? 1 : 0;
  out.dev().dispatch(k, &pc, sizeof pc, stride_groups(work), 1, 1, {in.block(), w ? w->block() : nullptr},
                     {out.block()});
}

TensorRef decode(const char* fn, Tensor& s, Tensor* weights, const DecodeSpec& spec) {
  TensorRef sc = contiguous(s);
  TensorRef wc = weights ? contiguous(*weights) : TensorRef();
  TensorRef out = new_tensor(s.device(), s.dtype == GRL_U8 ? GRL_F32 : s.dtype, drop_time(s.shape));
  run_decode(spec, *sc, wc.get(), *out, false);
  if (autograd::needs_grad({&s, weights})) {
    const bool need_s = autograd::requires_grad(&s), need_w = autograd::requires_grad(weights);
    TensorRef ss = need_w ? autograd::saved(*sc) : TensorRef();
    TensorRef sw = weights ? autograd::saved(*wc) : TensorRef();
    const Shape sshape = s.shape;
    autograd::record(spec.mode == 0 ? "decode_rate" : "decode_weighted", *out, {&s, weights},
                     [spec, ss, sw, need_s, need_w, sshape](Tensor& g) {
      std::vector<TensorRef> r(2);
      TensorRef gc = contiguous(g);
      if (need_s) {
        r[0] = new_tensor(g.device(), g.dtype, sshape);
        run_decode(spec, *gc, sw.get(), *r[0], true);
      }
      if (need_w) {
        // dw_t = sum_i s[t, i] g[i]: a [T, n] x [n] product in the weights' dtype.
        const grl_dtype wdt = sw->dtype;
        if (spec.n == 0) {
          r[1] = op::zeros_like(*sw);
        } else {
          TensorRef s2 = ss->dtype == wdt ? ss : op::call(grl_cast, ss.get(), wdt);
          TensorRef g2 = gc->dtype == wdt ? gc : op::call(grl_cast, gc.get(), wdt);
          const int64_t sh[2] = {spec.T, spec.n}, gh[1] = {spec.n};
          TensorRef sm = op::call(grl_reshape, s2.get(), sh, 2);
          TensorRef gv = op::call(grl_reshape, g2.get(), gh, 1);
          r[1] = op::call(grl_matmul, sm.get(), gv.get());
        }
      }
      return r;
    });
  }
  return out;
}

// ---- spike-matmul ----

constexpr int64_t kWideMinGroups = 1024;

void run_spmm(const char* fn, Tensor& s, Tensor& w, Tensor& out) {
  static const KernelSet k1("synapse/spike_matmul", {GRL_F32, GRL_F16, GRL_BF16});
  static const KernelSet k2("synapse/spike_matmul_wide", {GRL_F32, GRL_F16, GRL_BF16});
  const int64_t B = s.shape[0], K = s.shape[1], N = w.shape[1];
  if (B == 0 || N == 0) return;
  if (K == 0) {
    fill(out, 0.0);
    return;
  }
  SpmmPush pc{};
  pc.s = s.address();
  pc.w = w.address();
  pc.out = out.address();
  pc.B = static_cast<uint32_t>(B);
  pc.K = static_cast<uint32_t>(K);
  pc.N = static_cast<uint32_t>(N);
  // u8 spikes are read four at a time when rows start on 4-byte boundaries.
  pc.s_u8 = s.dtype != GRL_U8 ? 0 : (K % 4 == 0 && pc.s % 4 == 0 ? 2 : 1);
  // Two columns per thread stage each chunk of spikes once for 256 columns, which pays only when
  // there are workgroups to spare (measured on an H100: 1024 x 2048 x 2048 at 1% spikes, 0.066 ms
  // against 0.092 ms; 256 x 4096 x 4096, 512 wide workgroups, 0.110 ms against 0.101 ms).
  const int64_t rows = 8, wide_groups = (N + 255) / 256 * ((B + rows - 1) / rows);
  const int64_t cols = wide_groups >= kWideMinGroups ? 256 : 128;
  const int64_t gx = (N + cols - 1) / cols;
  const int64_t gy = (B + rows - 1) / rows;
  if (gx > kMaxGroups || gy > kMaxGroups)
    fail(GRL_ERROR_UNSUPPORTED, "%s: [%lld, %lld] outputs exceed the grid of one launch (at most %lld rows and %lld "
         "columns); split the batch", fn, static_cast<long long>(B), static_cast<long long>(N),
         static_cast<long long>(kMaxGroups * rows), static_cast<long long>(kMaxGroups * cols));
  const KernelSet& ks = cols == 256 ? k2 : k1;
  out.dev().dispatch(ks.get(fn, "weight", w.dtype), &pc, sizeof pc, static_cast<uint32_t>(gx),
                     static_cast<uint32_t>(gy), 1, {s.block(), w.block()}, {out.block()});
}

// Tsodyks-Markram over one step (spikes broadcast to the state) or a sequence (spikes [T, ...],
// each step broadcast to the state; out [T, ...]); u and x updated in place.
TensorRef stp(const char* fn, Tensor& tu, Tensor& tx, Tensor& ts, const grl_stp_options* opts, bool sequence) {
  same_device(fn, "u", tu, "x", tx);
  same_device(fn, "u", tu, "spikes", ts);
  float_dtype(fn, "u", tu);
  same_dtype(fn, "u", tu, "x", tx);
  same_dtype(fn, "u", tu, "spikes", ts);
  same_shape(fn, "u", tu, "x", tx);
  if (sequence) need_time_dim(fn, "spikes", ts);
  const int64_t T = sequence ? ts.shape[0] : 1;
  const Shape step_shape = sequence ? drop_time(ts.shape) : ts.shape;
  Shape b = broadcast(fn, "u", tu.shape, sequence ? "spikes (one step)" : "spikes", step_shape);
  if (!(b == tu.shape))
    fail(GRL_ERROR_SHAPE, "%s: a step of 'spikes' (shape %s) does not broadcast to the state's shape %s", fn,
         step_shape.str().c_str(), tu.shape.str().c_str());
  grl_stp_options o = GRL_STP_OPTIONS_INIT;
  if (opts) {
    if (opts->version < 1 || opts->version > GRL_STP_OPTIONS_VERSION)
      fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->version is %u; expected 1..%u (start from GRL_STP_OPTIONS_INIT)",
           fn, opts->version, GRL_STP_OPTIONS_VERSION);
    o = *opts;
  }
  if (!(o.U > 0 && o.U <= 1))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->U is %g; expected a value in (0, 1]", fn, o.U);
  positive_time(fn, "opts->tau_d", o.tau_d);
  positive_time(fn, "opts->tau_f", o.tau_f);
  positive_time(fn, "opts->dt", o.dt);
  if (tu.storage == tx.storage)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'u' and 'x' share memory; the two state variables need their own tensors", fn);
  not_grad_in_place(fn, "u", &tu);
  not_grad_in_place(fn, "x", &tx);
  const Shape os = sequence ? time_major(fn, T, tu.shape) : tu.shape;
  check_numel_u32(fn, os.numel());
  check_numel_u32(fn, ts.numel());
  TensorRef r = new_tensor(tu.device(), tu.dtype, os);
  if (r->numel() == 0) return r;
  static const KernelSet ks("synapse/stp", {GRL_F32, GRL_F16, GRL_BF16});
  const Kernel& k = ks.get(fn, "u", tu.dtype);
  // Spikes sharing the state's memory are read from a copy: the kernel writes while it reads.
  TensorRef sc = (ts.storage == tu.storage || ts.storage == tx.storage) ? materialize(ts, ts.shape) : contiguous(ts);
  // One step of the (contiguous) spikes as a view, for the broadcast geometry against the state.
  auto step_view = [&](Tensor& all) {
    std::array<int64_t, GRL_MAX_DIMS> st{};
    for (int i = 0; i < step_shape.ndim; ++i)
      st[static_cast<size_t>(i)] = all.stride[static_cast<size_t>(i + (sequence ? 1 : 0))];
    return make_view(all, step_shape, st, all.offset);
  };
  Shape cur_step = step_shape;
  Geometry g = elementwise_geometry(tu.shape, {step_view(*sc).get()});
  if (!g.fits) {  // more than 4 broadcast dims: spell every step out at the state's shape
    if (sequence) {
      // [T, step...] as [T, 1.., step...] so that a step aligns with the state's trailing dims.
      Shape padded;
      std::array<int64_t, GRL_MAX_DIMS> st{};
      padded[padded.ndim++] = T;
      st[0] = sc->stride[0];
      for (int i = step_shape.ndim; i < tu.shape.ndim; ++i) padded[padded.ndim++] = 1;
      for (int i = 0; i < step_shape.ndim; ++i) {
        st[static_cast<size_t>(padded.ndim)] = sc->stride[static_cast<size_t>(i + 1)];
        padded[padded.ndim++] = step_shape[i];
      }
      TensorRef pv = make_view(*sc, padded, st, sc->offset);
      sc = materialize(*pv, time_major(fn, T, tu.shape));
    } else {
      sc = materialize(*sc, tu.shape);
    }
    cur_step = tu.shape;
    g = Geometry{};
  }
  InPlace iu(tu), ix(tx);
  StpPush pc{};
  pc.u = iu.work->address();
  pc.x = ix.work->address();
  pc.spk = sc->address();
  pc.out = r->address();
  pc.n = static_cast<uint32_t>(tu.numel());
  pc.ndim = static_cast<uint32_t>(g.ndim);
  for (int d = 0; d < 4; ++d) {
    pc.shape[d] = g.shape[static_cast<size_t>(d)];
    pc.ss[d] = g.stride[0][static_cast<size_t>(d)];
  }
  pc.U = static_cast<float>(o.U);
  pc.du = static_cast<float>(std::exp(-o.dt / o.tau_f));
  pc.dx = static_cast<float>(std::exp(-o.dt / o.tau_d));
  pc.T = static_cast<uint32_t>(T);
  pc.sstep = static_cast<uint32_t>(cur_step.numel());
  tu.dev().dispatch_1d(k, &pc, sizeof pc, groups_for(pc.n), {iu.work->block(), ix.work->block(), sc->block()},
                       {iu.work->block(), ix.work->block(), r->block()});
  iu.finish();
  ix.finish();
  return r;
}

}  // namespace

GRL_BACKWARD_RULE(synapse_exp);
GRL_BACKWARD_RULE(decode_rate);
GRL_BACKWARD_RULE(decode_weighted);
GRL_BACKWARD_RULE(spike_matmul);

}  // namespace grl

using namespace grl;

extern "C" {

GRL_API grl_status grl_synapse_exp_step_(grl_tensor current, grl_tensor spikes, double dt, double tau_syn,
                                         double weight) {
  GRL_API_BEGIN();
  Tensor& c = arg_tensor(__func__, "current", current);
  Tensor& s = arg_tensor(__func__, "spikes", spikes);
  same_device(__func__, "current", c, "spikes", s);
  float_dtype(__func__, "current", c);
  same_dtype(__func__, "current", c, "spikes", s);
  same_shape(__func__, "current", c, "spikes", s);
  positive_time(__func__, "dt", dt);
  positive_time(__func__, "tau_syn", tau_syn);
  finite(__func__, "weight", weight);
  not_grad_in_place(__func__, "current", &c);
  check_numel_u32(__func__, c.numel());
  DeviceLock lock(c.dev().mutex());
  if (c.numel() == 0) return GRL_OK;
  static const KernelSet ks("synapse/exp_step", {GRL_F32, GRL_F16, GRL_BF16});
  const Kernel& k = ks.get(__func__, "current", c.dtype);
  // Spikes sharing the state's memory are read from a copy: the kernel writes while it reads.
  TensorRef sc = s.storage == c.storage ? materialize(s, s.shape) : contiguous(s);
  InPlace ip(c);
  StepPush pc{};
  pc.cur = ip.work->address();
  pc.spk = sc->address();
  pc.n = static_cast<uint32_t>(c.numel());
  pc.vec4_ok = c.dtype == GRL_F32 && pc.n % 4 == 0 && pc.cur % 16 == 0 && pc.spk % 16 == 0;
  pc.decay = static_cast<float>(std::exp(-dt / tau_syn));
  pc.weight = static_cast<float>(weight);
  c.dev().dispatch_1d(k, &pc, sizeof pc, groups_for(pc.vec4_ok ? pc.n / 4 : pc.n), {ip.work->block(), sc->block()},
                      {ip.work->block()});
  ip.finish();
  GRL_API_END();
}

GRL_API grl_status grl_synapse_exp(grl_tensor spikes, grl_tensor current0, double dt, double tau_syn, double weight,
                                   grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& s = arg_tensor(__func__, "spikes", spikes);
  Tensor* c0 = opt_tensor(__func__, "current0", current0);
  GRL_CHECK_OUT(out);
  float_dtype(__func__, "spikes", s);
  need_time_dim(__func__, "spikes", s);
  const Shape chan = drop_time(s.shape);
  if (c0) {
    same_device(__func__, "spikes", s, "current0", *c0);
    same_dtype(__func__, "spikes", s, "current0", *c0);
    if (!(c0->shape == chan))
      fail(GRL_ERROR_SHAPE, "%s: 'current0' has shape %s; expected %s (spikes' shape %s without the time dim)",
           __func__, c0->shape.str().c_str(), chan.str().c_str(), s.shape.str().c_str());
  }
  positive_time(__func__, "dt", dt);
  positive_time(__func__, "tau_syn", tau_syn);
  finite(__func__, "weight", weight);
  check_numel_u32(__func__, s.numel());
  const int64_t T = s.shape[0], n = chan.numel();
  const float decay = static_cast<float>(std::exp(-dt / tau_syn)), w = static_cast<float>(weight);
  DeviceLock lock(s.dev().mutex());
  TensorRef o = new_tensor(s.device(), s.dtype, s.shape);
  if (s.numel() > 0) {
    TensorRef sc = contiguous(s);
    TensorRef cc = c0 ? contiguous(*c0) : TensorRef();
    run_scan(*sc, cc.get(), *o, nullptr, T, n, false, decay, w);
  }
  if (autograd::needs_grad({&s, c0})) {
    const bool need_c0 = autograd::requires_grad(c0);
    autograd::record("synapse_exp", *o, {&s, c0}, [=](Tensor& g) {
      std::vector<TensorRef> r(2);
      r[0] = new_tensor(g.device(), g.dtype, g.shape);
      if (need_c0) r[1] = new_tensor(g.device(), g.dtype, chan);
      if (g.numel() > 0) {
        TensorRef gc = contiguous(g);
        run_scan(*gc, nullptr, *r[0], r[1].get(), T, n, true, decay, w);
      } else if (r[1] && r[1]->numel() > 0) {
        fill(*r[1], 0.0);  // T = 0: the state passes through untouched by the loss
      }
      return r;
    });
  }
  *out = o.release();
  GRL_API_END();
}

GRL_API grl_status grl_stp_step_(grl_tensor u, grl_tensor x, grl_tensor spikes, const grl_stp_options* opts,
                                 grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tu = arg_tensor(__func__, "u", u);
  Tensor& tx = arg_tensor(__func__, "x", x);
  Tensor& ts = arg_tensor(__func__, "spikes", spikes);
  GRL_CHECK_OUT(out);
  DeviceLock lock(tu.dev().mutex());
  *out = stp(__func__, tu, tx, ts, opts, false).release();
  GRL_API_END();
}

GRL_API grl_status grl_stp_sequence_(grl_tensor u, grl_tensor x, grl_tensor spikes, const grl_stp_options* opts,
                                     grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tu = arg_tensor(__func__, "u", u);
  Tensor& tx = arg_tensor(__func__, "x", x);
  Tensor& ts = arg_tensor(__func__, "spikes", spikes);
  GRL_CHECK_OUT(out);
  DeviceLock lock(tu.dev().mutex());
  *out = stp(__func__, tu, tx, ts, opts, true).release();
  GRL_API_END();
}

namespace {

TensorRef encode(const char* fn, Tensor& x, int64_t T, grl_dtype dtype, EncodePush pc) {
  const Shape os = time_major(fn, T, x.shape);
  check_numel_u32(fn, os.numel());
  TensorRef o = new_tensor(x.device(), dtype, os);
  const int64_t n = x.numel();
  if (o->numel() == 0) return o;
  static const Kernel k("synapse/encode");
  TensorRef xc = contiguous(x);
  pc.x = xc->address();
  pc.out = o->address();
  pc.n = static_cast<uint32_t>(n);
  pc.T = static_cast<uint32_t>(T);
  pc.dt_in = x.dtype;
  pc.dt_out = dtype;
  pc.tchunk = static_cast<uint32_t>(std::max<int64_t>(16, (T + kMaxGroups - 1) / kMaxGroups));
  const uint32_t gy = static_cast<uint32_t>((T + pc.tchunk - 1) / pc.tchunk);
  x.dev().dispatch(k, &pc, sizeof pc, stride_groups(n), gy, 1, {xc->block()}, {o->block()});
  return o;
}

}  // namespace

GRL_API grl_status grl_encode_poisson(grl_tensor rates, int64_t T, double per_step_ms, grl_dtype dtype, uint64_t seed,
                                      uint64_t offset, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& r = arg_tensor(__func__, "rates", rates);
  GRL_CHECK_OUT(out);
  float_dtype(__func__, "rates", r);
  spike_dtype(__func__, dtype, true);
  if (T < 0) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: T is %lld; expected T >= 0", __func__, static_cast<long long>(T));
  if (!(std::isfinite(per_step_ms) && per_step_ms >= 0))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: per_step_ms is %g; expected 0 (rates are per-step probabilities) or a finite "
         "step length > 0 in ms (rates in Hz)", __func__, per_step_ms);
  EncodePush pc{};
  pc.offset = offset;
  pc.key0 = static_cast<uint32_t>(seed);
  pc.key1 = static_cast<uint32_t>(seed >> 32);
  pc.mode = 0;
  pc.scale = per_step_ms == 0 ? 1.0f : static_cast<float>(per_step_ms / 1000.0);
  DeviceLock lock(r.dev().mutex());
  *out = encode(__func__, r, T, dtype, pc).release();
  GRL_API_END();
}

GRL_API grl_status grl_encode_latency(grl_tensor x, int64_t T, grl_latency_mode mode, double tau, double theta,
                                      grl_dtype dtype, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  float_dtype(__func__, "x", tx);
  spike_dtype(__func__, dtype, true);
  if (T < 1) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: T is %lld; expected T >= 1", __func__, static_cast<long long>(T));
  if (mode != GRL_LATENCY_LINEAR && mode != GRL_LATENCY_LOG)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: mode is %d; expected GRL_LATENCY_LINEAR (0) or GRL_LATENCY_LOG (1)",
         __func__, static_cast<int>(mode));
  EncodePush pc{};
  pc.mode = mode == GRL_LATENCY_LINEAR ? 1 : 2;
  pc.tmax = static_cast<float>(T - 1);
  if (mode == GRL_LATENCY_LOG) {
    positive_time(__func__, "tau", tau);
    if (!(theta >= 0 && theta < 1))
      fail(GRL_ERROR_INVALID_ARGUMENT, "%s: theta is %g; expected a threshold in [0, 1)", __func__, theta);
    pc.tau = static_cast<float>(tau);
    pc.theta = static_cast<float>(theta);
  }
  DeviceLock lock(tx.dev().mutex());
  *out = encode(__func__, tx, T, dtype, pc).release();
  GRL_API_END();
}

GRL_API grl_status grl_encode_delta(grl_tensor x, double threshold, uint32_t two_channels, grl_dtype dtype,
                                    grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tx = arg_tensor(__func__, "x", x);
  GRL_CHECK_OUT(out);
  float_dtype(__func__, "x", tx);
  need_time_dim(__func__, "x", tx);
  if (two_channels > 1)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: two_channels is %u; expected 0 or 1", __func__, two_channels);
  spike_dtype(__func__, dtype, two_channels == 1);
  positive_time(__func__, "threshold", threshold);
  const int64_t T = tx.shape[0];
  const Shape chan = drop_time(tx.shape);
  const Shape os = two_channels ? time_major(__func__, T, chan, 2) : tx.shape;
  check_numel_u32(__func__, os.numel());
  DeviceLock lock(tx.dev().mutex());
  TensorRef o = new_tensor(tx.device(), dtype, os);
  if (o->numel() > 0) {
    static const Kernel k("synapse/delta");
    TensorRef xc = contiguous(tx);
    DeltaPush pc{};
    pc.x = xc->address();
    pc.out = o->address();
    pc.n = static_cast<uint32_t>(chan.numel());
    pc.T = static_cast<uint32_t>(T);
    pc.two = two_channels;
    pc.dt_in = tx.dtype;
    pc.dt_out = dtype;
    pc.thr = static_cast<float>(threshold);
    tx.dev().dispatch(k, &pc, sizeof pc, stride_groups(pc.n), 1, 1, {xc->block()}, {o->block()});
  }
  *out = o.release();
  GRL_API_END();
}

GRL_API grl_status grl_decode_rate(grl_tensor spikes, int64_t window, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& s = arg_tensor(__func__, "spikes", spikes);
  GRL_CHECK_OUT(out);
  spikes_in_dtype(__func__, "spikes", s);
  need_time_dim(__func__, "spikes", s);
  if (window < 0)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: window is %lld; expected 0 (all steps) or a step count >= 1", __func__,
         static_cast<long long>(window));
  check_numel_u32(__func__, s.numel());
  DecodeSpec d;
  d.T = s.shape[0];
  d.n = drop_time(s.shape).numel();
  const int64_t w = (window == 0 || window >= d.T) ? d.T : window;
  d.mode = 0;
  d.t0 = d.T - w;
  d.scale = w > 0 ? static_cast<float>(1.0 / static_cast<double>(w)) : 0.0f;
  DeviceLock lock(s.dev().mutex());
  *out = decode(__func__, s, nullptr, d).release();
  GRL_API_END();
}

GRL_API grl_status grl_decode_weighted(grl_tensor spikes, grl_tensor weights, double tau, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& s = arg_tensor(__func__, "spikes", spikes);
  Tensor* w = opt_tensor(__func__, "weights", weights);
  GRL_CHECK_OUT(out);
  spikes_in_dtype(__func__, "spikes", s);
  need_time_dim(__func__, "spikes", s);
  check_numel_u32(__func__, s.numel());
  DecodeSpec d;
  d.T = s.shape[0];
  d.n = drop_time(s.shape).numel();
  if (w) {
    same_device(__func__, "spikes", s, "weights", *w);
    float_dtype(__func__, "weights", *w);
    if (w->shape.ndim != 1 || w->shape[0] != d.T)
      fail(GRL_ERROR_SHAPE, "%s: 'weights' has shape %s; expected [%lld] (one weight per step of spikes %s)", __func__,
           w->shape.str().c_str(), static_cast<long long>(d.T), s.shape.str().c_str());
    d.mode = 2;
  } else {
    positive_time(__func__, "tau", tau);
    d.mode = 1;
    d.inv_tau = static_cast<float>(1.0 / tau);
  }
  DeviceLock lock(s.dev().mutex());
  *out = decode(__func__, s, w, d).release();
  GRL_API_END();
}

GRL_API grl_status grl_spike_matmul(grl_tensor spikes, grl_tensor weight, grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& s = arg_tensor(__func__, "spikes", spikes);
  Tensor& w = arg_tensor(__func__, "weight", weight);
  GRL_CHECK_OUT(out);
  same_device(__func__, "spikes", s, "weight", w);
  float_dtype(__func__, "weight", w);
  if (s.dtype != GRL_U8 && s.dtype != w.dtype)
    fail(GRL_ERROR_DTYPE, "%s: 'spikes' has dtype %s; expected u8 or the weight's dtype %s", __func__,
         dtype_name(s.dtype), dtype_name(w.dtype));
  if (s.shape.ndim != 2 || w.shape.ndim != 2 || s.shape[1] != w.shape[0])
    fail(GRL_ERROR_SHAPE, "%s: expected 'spikes' [B, K] and 'weight' [K, N] with the same K, got %s and %s", __func__,
         s.shape.str().c_str(), w.shape.str().c_str());
  check_numel_u32(__func__, s.numel());
  check_numel_u32(__func__, w.numel());
  const int64_t B = s.shape[0], N = w.shape[1];
  check_numel_u32(__func__, B * N);
  DeviceLock lock(s.dev().mutex());
  const int64_t os[2] = {B, N};
  TensorRef o = new_tensor(w.device(), w.dtype, Shape::of(os));
  TensorRef sc = contiguous(s), wc = contiguous(w);
  run_spmm(__func__, *sc, *wc, *o);
  if (autograd::needs_grad({&s, &w})) {
    const bool need_s = autograd::requires_grad(&s), need_w = autograd::requires_grad(&w);
    TensorRef ss = need_w ? autograd::saved(*sc) : TensorRef();
    TensorRef sw = need_s ? autograd::saved(*wc) : TensorRef();
    const grl_dtype wdt = w.dtype;
    const Shape wshape = w.shape;
    autograd::record("spike_matmul", *o, {&s, &w}, [=](Tensor& g) {
      std::vector<TensorRef> r(2);
      if (need_s) {  // dS = g W^T: dense, a GEMM reading W^T in place
        TensorRef wt = op::call(grl_transpose, sw.get(), 0, 1);
        r[0] = op::call(grl_matmul, &g, wt.get());
      }
      if (need_w) {
        // dW = S^T g is itself a spike-matmul: S^T (a [K, B] copy, small next to W) skips the
        // silent inputs again, so a row k of dW costs only the samples where input k spiked.
        TensorRef st = op::call(grl_transpose, ss.get(), 0, 1);
        TensorRef stc = contiguous(*st), gc = contiguous(g);
        if (gc->dtype != wdt) gc = op::call(grl_cast, gc.get(), wdt);
        r[1] = new_tensor(g.device(), wdt, wshape);
        run_spmm("grl_spike_matmul (backward)", *stc, *gc, *r[1]);
      }
      return r;
    });
  }
  *out = o.release();
  GRL_API_END();
}

}  // extern "C"
