// Spiking neurons: the in-place LIF step, the multi-step neuron nodes (IF, LIF, parametric LIF,
// adaptive LIF) with their backward-through-time rule, and the grl_snn simulator handle.
#include <grilly.h>

#include <cmath>

#include "autograd/autograd.h"
#include "ops/compose.h"
#include "ops/launch.h"

struct grl_snn_s {
  std::atomic<int64_t> refs{1};
  grl::TensorRef v, r;
  grl_lif_options lif{};
  bool r_live = false;  // the counters may be nonzero: the step must read them
};

namespace grl {

namespace {

struct LifPush {
  uint64_t v, r, in, spk;
  float k, v_rest, v_reset, v_th, r_m, dt, t_ref;
  uint32_t n, flags, ndim;
  uint32_t shape[4], si[4];
};
static_assert(sizeof(LifPush) == 104);

struct NeuronPush {
  uint64_t p[9];
  uint32_t T, N, kind, flags, surrogate;
  float alpha, k, v_th, v_reset, v_rest, k_w, a, b;
  uint32_t pad;  // the shader's block ends before it
};
static_assert(sizeof(NeuronPush) == 128);

enum : uint32_t {
  kDecayInput = 1, kSoftReset = 2, kSoftSpike = 4, kHasV0 = 8, kHasW0 = 16, kHasKp = 32, kSave = 64, kDetach = 128,
  kSpikesOnly = 256,
};

void finite_field(const char* fn, const char* field, double x) {
  if (!std::isfinite(x)) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->%s is %g; expected a finite value", fn, field, x);
}

void positive_field(const char* fn, const char* field, double x) {
  if (!(std::isfinite(x) && x > 0))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->%s is %g; expected a finite value > 0", fn, field, x);
}

void bool_field(const char* fn, const char* field, uint32_t x) {
  if (x > 1) fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->%s is %u; expected 0 or 1", fn, field, x);
}

void check_lif_options(const char* fn, const grl_lif_options& o) {
  if (o.version < 1 || o.version > GRL_LIF_OPTIONS_VERSION)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->version is %u; expected %u (GRL_LIF_OPTIONS_INIT)", fn, o.version,
         GRL_LIF_OPTIONS_VERSION);
  positive_field(fn, "dt", o.dt);
  positive_field(fn, "tau_mem", o.tau_mem);
  finite_field(fn, "v_rest", o.v_rest);
  finite_field(fn, "v_reset", o.v_reset);
  finite_field(fn, "v_thresh", o.v_thresh);
  finite_field(fn, "r_m", o.r_m);
  if (!(std::isfinite(o.t_ref) && o.t_ref >= 0))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->t_ref is %g; expected a finite value >= 0", fn, o.t_ref);
}

void same_shape(const char* fn, const char* na, const Tensor& a, const char* nb, const Tensor& b) {
  if (!(a.shape == b.shape))
    fail(GRL_ERROR_SHAPE, "%s: '%s' has shape %s; expected the shape of '%s', %s", fn, na, a.shape.str().c_str(), nb,
         b.shape.str().c_str());
}

// The LIF step on v (and r) in place; returns the spikes.
TensorRef lif_step(const char* fn, Tensor& v, Tensor* r, Tensor& in, const grl_lif_options& o) {
  static const KernelSet ks("snn/lif_step", {GRL_F32, GRL_F16, GRL_BF16});
  check_lif_options(fn, o);
  const Kernel& k = ks.get(fn, "v", v.dtype);
  same_device(fn, "v", v, "input", in);
  same_dtype(fn, "input", in, "v", v);
  if (r) {
    same_device(fn, "v", v, "refractory", *r);
    same_dtype(fn, "refractory", *r, "v", v);
    same_shape(fn, "refractory", *r, "v", v);
    if (r->block() && r->block() == v.block())
      fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'refractory' shares memory with 'v'; pass separate tensors", fn);
  } else if (o.t_ref != 0) {
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->t_ref is %g but 'refractory' is NULL; pass the counters or set "
         "t_ref = 0", fn, o.t_ref);
  }
  Shape b = broadcast(fn, "input", in.shape, "v", v.shape);
  if (!(b == v.shape))
    fail(GRL_ERROR_SHAPE, "%s: 'input' of shape %s broadcasts with 'v' %s to %s; it may not enlarge the state", fn,
         in.shape.str().c_str(), v.shape.str().c_str(), b.str().c_str());
  grl_dtype sdt = o.spike_dtype == -1 ? v.dtype : static_cast<grl_dtype>(o.spike_dtype);
  if (sdt != GRL_U8 && sdt != v.dtype)
    fail(GRL_ERROR_DTYPE, "%s: opts->spike_dtype is %d; expected -1, GRL_U8 or the state's dtype (%s)", fn,
         o.spike_dtype, dtype_name(v.dtype));
  not_grad_in_place(fn, "v", &v);
  not_grad_in_place(fn, "refractory", r);
  check_numel_u32(fn, v.numel());
  TensorRef spk = new_tensor(v.device(), sdt, v.shape);
  const int64_t n = v.numel();
  if (n == 0) return spk;
  // Strided state is stepped in a contiguous copy and written back.
  TensorRef cv = contiguous(v), cr = r ? contiguous(*r) : TensorRef();
  TensorRef ti = TensorRef::retain(&in);
  Geometry g = elementwise_geometry(v.shape, {&in});
  if (!g.fits) {
    ti = materialize(in, v.shape);
    g = elementwise_geometry(v.shape, {ti.get()});
  }
  LifPush pc{};
  pc.v = cv->address();
  pc.r = cr ? cr->address() : 0;
  pc.in = ti->address();
  pc.spk = spk->address();
  pc.k = static_cast<float>(o.dt / o.tau_mem);
  pc.v_rest = static_cast<float>(o.v_rest);
  pc.v_reset = static_cast<float>(o.v_reset);
  pc.v_th = static_cast<float>(o.v_thresh);
  pc.r_m = static_cast<float>(o.r_m);
  pc.dt = static_cast<float>(o.dt);
  pc.t_ref = static_cast<float>(o.t_ref);
  pc.n = static_cast<uint32_t>(n);
  pc.ndim = static_cast<uint32_t>(g.ndim);
  for (size_t d = 0; d < 4; ++d) {
    pc.shape[d] = g.shape[d];
    pc.si[d] = g.stride[0][d];
  }
  bool vec4 = v.dtype == GRL_F32 && g.ndim == 0 && pc.v % 16 == 0 && pc.in % 16 == 0 && pc.r % 16 == 0 &&
              pc.spk % 16 == 0;
  pc.flags = (cr ? 1u : 0u) | (sdt == GRL_U8 ? 2u : 0u) | (vec4 ? 4u : 0u);
  // vec4: one thread per pair of quads, plus one for the tail (see lif_step.comp).
  uint64_t groups = vec4 ? groups_for((n / 4 + 1) / 2 + 1) : groups_for(n);
  v.dev().dispatch_1d(k, &pc, sizeof pc, groups, {cv->block(), cr ? cr->block() : nullptr, ti->block()},
                      {cv->block(), cr ? cr->block() : nullptr, spk->block()});
  if (cv.get() != &v) copy_into(v, *cv);
  if (cr && cr.get() != r) copy_into(*r, *cr);
  return spk;
}

double default_alpha(grl_surrogate s) {
  switch (s) {
    case GRL_SURROGATE_ATAN: return 2.0;
    case GRL_SURROGATE_SIGMOID: return 4.0;
    case GRL_SURROGATE_FAST_SIGMOID: return 2.0;
    default: return 1.0;
  }
}

void check_neuron_options(const char* fn, const grl_neuron_options& o) {
  if (o.version < 1 || o.version > GRL_NEURON_OPTIONS_VERSION)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->version is %u; expected %u (GRL_NEURON_OPTIONS_INIT)", fn, o.version,
         GRL_NEURON_OPTIONS_VERSION);
  if (o.kind < GRL_NEURON_IF || o.kind > GRL_NEURON_ALIF)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->kind is %d; expected GRL_NEURON_IF, _LIF or _ALIF", fn,
         static_cast<int>(o.kind));
  if (o.surrogate < GRL_SURROGATE_ATAN || o.surrogate > GRL_SURROGATE_TRIANGLE)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->surrogate is %d; expected GRL_SURROGATE_ATAN, _SIGMOID, "
         "_FAST_SIGMOID or _TRIANGLE", fn, static_cast<int>(o.surrogate));
  positive_field(fn, "tau", o.tau);
  bool_field(fn, "decay_input", o.decay_input);
  bool_field(fn, "soft_reset", o.soft_reset);
  bool_field(fn, "detach_reset", o.detach_reset);
  bool_field(fn, "soft_spike", o.soft_spike);
  finite_field(fn, "v_thresh", o.v_thresh);
  finite_field(fn, "v_reset", o.v_reset);
  finite_field(fn, "v_rest", o.v_rest);
  if (std::isnan(o.alpha) || std::isinf(o.alpha))
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->alpha is %g; expected a finite value (<= 0 for the default)", fn,
         o.alpha);
  positive_field(fn, "tau_w", o.tau_w);
  finite_field(fn, "a", o.a);
  finite_field(fn, "b", o.b);
}

struct NeuronRun {
  TensorRef packed;  // [T + S, ...]: spikes, then v (and w)
  TensorRef trace;   // f32 [T (x 2 for ALIF), N]: the charges h (and w before each step)
};

NeuronPush neuron_push(const grl_neuron_options& o, int64_t T, int64_t N) {
  NeuronPush pc{};
  pc.T = static_cast<uint32_t>(T);
  pc.N = static_cast<uint32_t>(N);
  pc.kind = static_cast<uint32_t>(o.kind);
  pc.surrogate = static_cast<uint32_t>(o.surrogate);
  pc.alpha = static_cast<float>(o.alpha > 0 ? o.alpha : default_alpha(o.surrogate));
  pc.k = static_cast<float>(1.0 / o.tau);
  pc.v_th = static_cast<float>(o.v_thresh);
  pc.v_reset = static_cast<float>(o.v_reset);
  pc.v_rest = static_cast<float>(o.v_rest);
  pc.k_w = static_cast<float>(1.0 / o.tau_w);
  pc.a = static_cast<float>(o.a);
  pc.b = static_cast<float>(o.b);
  pc.flags = (o.decay_input ? kDecayInput : 0u) | (o.soft_reset ? kSoftReset : 0u) |
             (o.soft_spike ? kSoftSpike : 0u) | (o.detach_reset ? kDetach : 0u);
  return pc;
}

NeuronRun neuron_forward(const char* fn, Tensor& x, Tensor* v0, Tensor* w0, Tensor* kp, const grl_neuron_options& o,
                         bool save) {
  static const KernelSet ks("snn/neuron_forward", {GRL_F32, GRL_F16, GRL_BF16});
  const Kernel& k = ks.get(fn, "x", x.dtype);
  const bool alif = o.kind == GRL_NEURON_ALIF;
  const int64_t T = x.shape[0];
  Shape ns;  // the neuron shape
  for (int i = 1; i < x.shape.ndim; ++i) ns[ns.ndim++] = x.shape[i];
  const int64_t n_neurons = ns.numel();
  const int64_t S = alif ? 2 : 1;
  check_numel_u32(fn, (T + S) * n_neurons);
  check_numel_u32(fn, S * T * n_neurons);  // the saved trace
  Shape ps = x.shape;
  ps[0] = T + S;
  NeuronRun r;
  r.packed = new_tensor(x.device(), x.dtype, ps);
  if (n_neurons == 0) return r;
  TensorRef cx = contiguous(x);
  TensorRef cv = v0 ? contiguous(*v0) : TensorRef(), cw = w0 ? contiguous(*w0) : TensorRef();
  TensorRef ck = kp ? materialize(*kp, ns) : TensorRef();
  if (save && T > 0) {
    Shape ts;
    ts.ndim = 2;
    ts[0] = T * S;
    ts[1] = n_neurons;
    r.trace = new_tensor(x.device(), GRL_F32, ts);
  }
  NeuronPush pc = neuron_push(o, T, n_neurons);
  pc.p[0] = cx->address();
  pc.p[1] = cv ? cv->address() : 0;
  pc.p[2] = cw ? cw->address() : 0;
  pc.p[3] = ck ? ck->address() : 0;
  pc.p[4] = r.packed->address();
  pc.p[5] = r.trace ? r.trace->address() : 0;
  pc.flags |= (cv ? kHasV0 : 0u) | (cw ? kHasW0 : 0u) | (ck ? kHasKp : 0u) | (r.trace ? kSave : 0u);
  x.dev().dispatch_1d(k, &pc, sizeof pc, groups_for(n_neurons),
                      {cx->block(), cv ? cv->block() : nullptr, cw ? cw->block() : nullptr, ck ? ck->block() : nullptr},
                      {r.packed->block(), r.trace ? r.trace->block() : nullptr});
  return r;
}

// Gradients of x, v0, w0 and the tau parameter (per neuron) from the packed output's gradient.
// g is the packed [T + S, ...] gradient, or with spikes_only the spikes' [T, ...] gradient alone.
std::vector<TensorRef> neuron_backward(Tensor& g, Tensor& x, Tensor* v0, bool want_v0, bool want_w0, Tensor* kp,
                                       Tensor* trace, const grl_neuron_options& o, bool spikes_only) {
  static const KernelSet ks("snn/neuron_backward", {GRL_F32, GRL_F16, GRL_BF16});
  const Kernel& k = ks.get("backward", "x", x.dtype);
  const int64_t T = x.shape[0];
  Shape ns;
  for (int i = 1; i < x.shape.ndim; ++i) ns[ns.ndim++] = x.shape[i];
  const int64_t n_neurons = ns.numel();
  TensorRef gx = new_tensor(x.device(), x.dtype, x.shape);
  TensorRef gv = want_v0 ? new_tensor(x.device(), x.dtype, ns) : TensorRef();
  TensorRef gw = want_w0 ? new_tensor(x.device(), x.dtype, ns) : TensorRef();
  TensorRef gk = kp ? new_tensor(x.device(), x.dtype, ns) : TensorRef();
  std::vector<TensorRef> res;
  if (n_neurons > 0) {
    TensorRef cg = contiguous(g);
    TensorRef cx = contiguous(x);
    TensorRef cv = v0 ? contiguous(*v0) : TensorRef();
    TensorRef ck = kp ? materialize(*kp, ns) : TensorRef();
    NeuronPush pc = neuron_push(o, T, n_neurons);
    pc.p[0] = cg->address();
    pc.p[1] = trace ? trace->address() : 0;
    pc.p[2] = cx->address();
    pc.p[3] = cv ? cv->address() : 0;
    pc.p[4] = ck ? ck->address() : 0;
    pc.p[5] = gx->address();
    pc.p[6] = gv ? gv->address() : 0;
    pc.p[7] = gw ? gw->address() : 0;
    pc.p[8] = gk ? gk->address() : 0;
    pc.flags |= (cv ? kHasV0 : 0u) | (ck ? kHasKp : 0u) | (spikes_only ? kSpikesOnly : 0u);
    x.dev().dispatch_1d(k, &pc, sizeof pc, groups_for(n_neurons),
                        {cg->block(), trace ? trace->block() : nullptr, cx->block(), cv ? cv->block() : nullptr,
                         ck ? ck->block() : nullptr},
                        {gx->block(), gv ? gv->block() : nullptr, gw ? gw->block() : nullptr,
                         gk ? gk->block() : nullptr});
  } else {
    for (TensorRef* t : {&gx, &gv, &gw, &gk})
      if (*t) fill(**t, 0.0);
  }
  res.push_back(gx);
  res.push_back(gv);
  res.push_back(gw);
  res.push_back(gk);
  return res;
}

}  // namespace

GRL_BACKWARD_RULE(spiking_neuron);

}  // namespace grl

using namespace grl;

extern "C" {

GRL_API grl_status grl_lif_step_(grl_tensor v, grl_tensor refractory, grl_tensor input, const grl_lif_options* opts,
                                 grl_tensor* out) {
  GRL_API_BEGIN();
  Tensor& tv = arg_tensor(__func__, "v", v);
  Tensor* tr = opt_tensor(__func__, "refractory", refractory);
  Tensor& ti = arg_tensor(__func__, "input", input);
  GRL_CHECK_OUT(out);
  grl_lif_options o = GRL_LIF_OPTIONS_INIT;
  if (opts) o = *opts;
  DeviceLock lock(tv.dev().mutex());
  TensorRef s = lif_step(__func__, tv, tr, ti, o);
  *out = s.release();
  GRL_API_END();
}

GRL_API grl_status grl_spiking_neuron(grl_tensor x, grl_tensor v0, grl_tensor w0, grl_tensor tau_param,
                                      const grl_neuron_options* opts, grl_tensor* out_spikes, grl_tensor* out_v,
                                      grl_tensor* out_w) {
  GRL_API_BEGIN();
  const char* fn = __func__;
  Tensor& tx = arg_tensor(fn, "x", x);
  Tensor* tv = opt_tensor(fn, "v0", v0);
  Tensor* tw = opt_tensor(fn, "w0", w0);
  Tensor* tk = opt_tensor(fn, "tau_param", tau_param);
  arg_not_null(fn, "out_spikes", out_spikes);
  grl_neuron_options o = GRL_NEURON_OPTIONS_INIT;
  if (opts) o = *opts;
  check_neuron_options(fn, o);
  const bool alif = o.kind == GRL_NEURON_ALIF;
  if (!is_float(tx.dtype))
    fail(GRL_ERROR_DTYPE, "%s: 'x' has dtype %s; this op takes f32, f16, bf16", fn, dtype_name(tx.dtype));
  if (tx.shape.ndim < 1)
    fail(GRL_ERROR_SHAPE, "%s: 'x' is 0-d; expected [T, ...] with the time steps first", fn);
  Shape ns;
  for (int i = 1; i < tx.shape.ndim; ++i) ns[ns.ndim++] = tx.shape[i];
  auto state_arg = [&](const char* name, Tensor* t) {
    if (!t) return;
    same_device(fn, "x", tx, name, *t);
    same_dtype(fn, name, *t, "x", tx);
    if (!(t->shape == ns))
      fail(GRL_ERROR_SHAPE, "%s: '%s' has shape %s; expected the neuron shape x.shape[1:] = %s", fn, name,
           t->shape.str().c_str(), ns.str().c_str());
  };
  state_arg("v0", tv);
  state_arg("w0", tw);
  if (tw && !alif)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'w0' is given but opts->kind is not GRL_NEURON_ALIF (only ALIF has an "
         "adaptation current)", fn);
  if (out_w && !alif)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'out_w' is not NULL but opts->kind is not GRL_NEURON_ALIF", fn);
  if (tk) {
    if (o.kind == GRL_NEURON_IF)
      fail(GRL_ERROR_INVALID_ARGUMENT, "%s: 'tau_param' is given but an IF neuron has no time constant", fn);
    same_device(fn, "x", tx, "tau_param", *tk);
    same_dtype(fn, "tau_param", *tk, "x", tx);
    Shape b = broadcast(fn, "tau_param", tk->shape, "the neuron shape", ns);
    if (!(b == ns))
      fail(GRL_ERROR_SHAPE, "%s: 'tau_param' of shape %s does not broadcast to the neuron shape %s", fn,
           tk->shape.str().c_str(), ns.str().c_str());
  }
  DeviceLock lock(tx.dev().mutex());
  const bool grad = autograd::needs_grad({&tx, tv, tw, tk});
  NeuronRun r = neuron_forward(fn, tx, tv, tw, tk, o, grad);
  const int64_t T = tx.shape[0];
  // Without state outputs the spikes carry the rule themselves (a plain view of the packed result);
  // otherwise the outputs are autograd views of the packed result, so that the gradients of all
  // of them meet in one backward (at the price of the views' zero-filled gradients).
  const bool spikes_only = !out_v && !out_w;
  Shape ss = tx.shape;
  TensorRef spikes = spikes_only ? make_view(*r.packed, ss, contiguous_strides(ss), 0) : TensorRef();
  if (grad) {
    TensorRef sx = autograd::saved(tx);
    TensorRef sv = tv ? autograd::saved(*tv) : TensorRef();
    TensorRef sk = tk ? autograd::saved(*tk) : TensorRef();
    TensorRef trace = r.trace;
    const bool want_v0 = autograd::requires_grad(tv), want_w0 = autograd::requires_grad(tw);
    autograd::record("spiking_neuron", spikes_only ? *spikes : *r.packed, {&tx, tv, tw, tk},
                     [sx, sv, sk, trace, want_v0, want_w0, o, spikes_only](Tensor& g) {
                       return neuron_backward(g, *sx, sv.get(), want_v0, want_w0, sk.get(), trace.get(), o,
                                              spikes_only);
                     });
  }
  TensorRef v_out, w_out;
  if (!spikes_only) spikes = op::call(grl_slice, r.packed.get(), 0, int64_t{0}, T, int64_t{1});
  if (out_v) {
    TensorRef s = op::call(grl_slice, r.packed.get(), 0, T, T + 1, int64_t{1});
    v_out = op::call(grl_squeeze, s.get(), 0);
  }
  if (out_w) {
    TensorRef s = op::call(grl_slice, r.packed.get(), 0, T + 1, T + 2, int64_t{1});
    w_out = op::call(grl_squeeze, s.get(), 0);
  }
  *out_spikes = spikes.release();
  if (out_v) *out_v = v_out.release();
  if (out_w) *out_w = w_out.release();
  GRL_API_END();
}

// ---- the simulator handle ----

static grl_snn_s& arg_snn(const char* fn, grl_snn s) {
  if (!s) fail(GRL_ERROR_NULL_ARGUMENT, "%s: 'snn' is NULL; expected a simulator from grl_snn_create", fn);
  return *s;
}

static void snn_reset_state(grl_snn_s& s) {
  fill(*s.v, s.lif.v_rest);
  fill(*s.r, 0.0);
  s.r_live = s.lif.t_ref > 0;
}

GRL_API grl_status grl_snn_create(grl_device device, int64_t n_neurons, const grl_snn_options* opts, grl_snn* out) {
  GRL_API_BEGIN();
  grl_device_s& d = arg_device(__func__, "device", device);
  GRL_CHECK_OUT(out);
  grl_snn_options o = GRL_SNN_OPTIONS_INIT;
  if (opts) o = *opts;
  if (o.version < 1 || o.version > GRL_SNN_OPTIONS_VERSION)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: opts->version is %u; expected %u (GRL_SNN_OPTIONS_INIT)", __func__,
         o.version, GRL_SNN_OPTIONS_VERSION);
  check_lif_options(__func__, o.lif);
  if (!is_valid_dtype(o.dtype) || !is_float(o.dtype))
    fail(GRL_ERROR_DTYPE, "%s: opts->dtype is %s; expected f32, f16 or bf16", __func__, dtype_name(o.dtype));
  if (o.lif.spike_dtype != -1 && o.lif.spike_dtype != GRL_U8 && o.lif.spike_dtype != static_cast<int32_t>(o.dtype))
    fail(GRL_ERROR_DTYPE, "%s: opts->lif.spike_dtype is %d; expected -1, GRL_U8 or opts->dtype (%s)", __func__,
         o.lif.spike_dtype, dtype_name(o.dtype));
  if (n_neurons < 0)
    fail(GRL_ERROR_INVALID_ARGUMENT, "%s: n_neurons is %lld; expected >= 0", __func__,
         static_cast<long long>(n_neurons));
  check_numel_u32(__func__, n_neurons);
  DeviceLock lock(d.impl->mutex());
  auto s = std::make_unique<grl_snn_s>();
  Shape sh;
  sh.ndim = 1;
  sh[0] = n_neurons;
  s->v = new_tensor(&d, o.dtype, sh);
  s->r = new_tensor(&d, o.dtype, sh);
  s->lif = o.lif;
  snn_reset_state(*s);
  *out = s.release();
  GRL_API_END();
}

GRL_API void grl_snn_retain(grl_snn snn) {
  if (snn) snn->refs.fetch_add(1);
}

GRL_API void grl_snn_release(grl_snn snn) {
  // The state tensors go back to their pool in stream order (tensor release is thread-safe).
  if (snn && snn->refs.fetch_sub(1) == 1) delete snn;
}

GRL_API grl_status grl_snn_process(grl_snn snn, grl_tensor input, grl_tensor* out) {
  GRL_API_BEGIN();
  grl_snn_s& s = arg_snn(__func__, snn);
  Tensor& ti = arg_tensor(__func__, "input", input);
  GRL_CHECK_OUT(out);
  DeviceLock lock(s.v->dev().mutex());
  autograd::GradMode no_grad(false);
  TensorRef spk = lif_step(__func__, *s.v, s.r_live ? s.r.get() : nullptr, ti, s.lif);
  *out = spk.release();
  GRL_API_END();
}

GRL_API grl_status grl_snn_reset(grl_snn snn) {
  GRL_API_BEGIN();
  grl_snn_s& s = arg_snn(__func__, snn);
  DeviceLock lock(s.v->dev().mutex());
  snn_reset_state(s);
  GRL_API_END();
}

GRL_API grl_status grl_snn_get_state(grl_snn snn, grl_tensor* out_membrane, grl_tensor* out_refractory) {
  GRL_API_BEGIN();
  grl_snn_s& s = arg_snn(__func__, snn);
  DeviceLock lock(s.v->dev().mutex());
  autograd::GradMode no_grad(false);
  TensorRef v = out_membrane ? op::call(grl_clone, s.v.get()) : TensorRef();
  TensorRef r = out_refractory ? op::call(grl_clone, s.r.get()) : TensorRef();
  if (out_membrane) *out_membrane = v.release();
  if (out_refractory) *out_refractory = r.release();
  GRL_API_END();
}

GRL_API grl_status grl_snn_set_state(grl_snn snn, grl_tensor membrane, grl_tensor refractory) {
  GRL_API_BEGIN();
  grl_snn_s& s = arg_snn(__func__, snn);
  Tensor& tv = arg_tensor(__func__, "membrane", membrane);
  Tensor* tr = opt_tensor(__func__, "refractory", refractory);
  for (auto [name, t] : {std::pair<const char*, Tensor*>{"membrane", &tv}, {"refractory", tr}}) {
    if (!t) continue;
    same_device(__func__, "the simulator's state", *s.v, name, *t);
    same_dtype(__func__, name, *t, "the simulator's state", *s.v);
    same_shape(__func__, name, *t, "the simulator's state", *s.v);
  }
  DeviceLock lock(s.v->dev().mutex());
  copy_into(*s.v, tv);
  if (tr) {
    copy_into(*s.r, *tr);
    s.r_live = true;
  } else {
    fill(*s.r, 0.0);
    s.r_live = s.lif.t_ref > 0;
  }
  GRL_API_END();
}

}  // extern "C"
