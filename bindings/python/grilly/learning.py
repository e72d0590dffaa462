"""grilly.learning: local plasticity rules and continual / online learning.

Functions over the C families ``plasticity`` (Hebbian, Oja, Sanger, pair and triplet STDP) and
``online`` (diagonal Fisher information, EWC, natural gradient, NLMS and NLMS ensembles, batch
and ZCA whitening) of include/grilly.h (formulas, units and defaults in docs/neuro.md); the
stateful helpers ``STDP``, ``NLMSFilter``, ``NLMSEnsemble`` and ``EWC``; the facade
``grilly.Learning()`` and the facade ops of ``Compute().learning``. Functions ending in ``_``
update their first tensors in place and therefore take grilly Tensors there.
"""

from __future__ import annotations

import builtins

import numpy as np

from . import _grilly as _C
from . import _tensor as _t
from ._compute import VulkanCompute, register_op
from ._errors import InvalidArgumentError
from ._tensor import Tensor, as_tensor
from .functional import _h, _like

__all__ = [
    # plasticity
    "hebbian_update_", "oja_update_", "sanger_update_", "stdp_step_", "STDP",
    # online
    "fisher_info_update_", "ewc_penalty", "natural_gradient_step_", "nlms_predict",
    "nlms_update_", "nlms_ensemble_predict", "nlms_ensemble_update_", "whiten_batch",
    "whiten_apply", "zca_from_covariance", "zca_fit", "zca_apply", "NLMSFilter",
    "NLMSEnsemble", "EWC", "Learning",
]


def _state(t, what: str) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"grilly.learning.{what} must be a grilly.Tensor (it is updated in "
                        f"place), got {type(t).__name__}; build it with grilly.tensor(...)")
    return t


def _f32(x, ref: Tensor | None = None) -> Tensor:
    """Tensors as they are; arrays as float32 (on ref's device)."""
    if x is None or isinstance(x, Tensor):
        return x
    return _t.tensor(np.asarray(x, np.float32), dtype=_t.float32,
                     device=None if ref is None else ref.device)


# ------------------------------------------------------------------------------------------------
# Hebbian, Oja, Sanger (grl_hebbian_update_, grl_oja_update_, grl_sanger_update_)
# ------------------------------------------------------------------------------------------------


def hebbian_update_(weight, x, y=None, eta: float = 0.01, decay: float = 0.0) -> Tensor:
    """W += eta mean_b(y_b x_b^T) - decay W, in place (grl_hebbian_update_). weight
    [n_post, n_pre]; x [n_pre] or [B, n_pre]; y [n_post] / [B, n_post], or None for y = W x.
    Returns ``weight``."""
    w = _state(weight, "hebbian_update_: weight")
    xx, yy = _like(x, w), _like(y, w)   # named: a temporary Tensor would release its handle
    _C.grl_hebbian_update_(w._h, xx._h, _h(yy), builtins.float(eta), builtins.float(decay))
    return w


def oja_update_(weight, x, y=None, eta: float = 0.01) -> Tensor:
    """Oja's rule dW_ij = eta mean_b(y_bi (x_bj - y_bi W_ij)), in place (grl_oja_update_);
    y None means y = W x. Returns ``weight``."""
    w = _state(weight, "oja_update_: weight")
    xx, yy = _like(x, w), _like(y, w)
    _C.grl_oja_update_(w._h, xx._h, _h(yy), builtins.float(eta))
    return w


def sanger_update_(weight, x, y=None, eta: float = 0.01) -> Tensor:
    """Sanger's generalized Hebbian algorithm dW = eta mean_b(y_b x_b^T - LT(y_b y_b^T) W), in
    place (grl_sanger_update_): row i converges to the i-th principal component. Returns
    ``weight``."""
    w = _state(weight, "sanger_update_: weight")
    xx, yy = _like(x, w), _like(y, w)
    _C.grl_sanger_update_(w._h, xx._h, _h(yy), builtins.float(eta))
    return w


# ------------------------------------------------------------------------------------------------
# STDP (grl_stdp_step_)
# ------------------------------------------------------------------------------------------------

_TRACE_MODES = {"all_to_all": _C.GRL_STDP_ALL_TO_ALL, "nearest": _C.GRL_STDP_NEAREST}
_BOUNDS = {"none": _C.GRL_STDP_BOUND_NONE, "hard": _C.GRL_STDP_BOUND_HARD,
           "soft": _C.GRL_STDP_BOUND_SOFT}
_BATCH = {"mean": _C.GRL_REDUCTION_MEAN, "sum": _C.GRL_REDUCTION_SUM}


def _choice(value, table: dict, what: str) -> int:
    key = value.lower() if isinstance(value, str) else value
    if key is None:
        key = "none"
    if key in table:
        return table[key]
    raise InvalidArgumentError(f"grilly.learning: {what} must be one of "
                               f"{', '.join(repr(k) for k in table)}, got {value!r}")


def stdp_step_(weight, pre_spikes, post_spikes, pre_trace, post_trace, pre_slow=None,
               post_slow=None, *, dt: float = 1.0, tau_plus: float = 20.0,
               tau_minus: float = 20.0, a_plus: float = 0.01, a_minus: float = 0.0105,
               trace_mode: str = "all_to_all", bound: str = "hard", w_min: float = 0.0,
               w_max: float = 1.0, batch_reduction: str = "mean", triplet: bool = False,
               tau_x: float = 101.0, tau_y: float = 125.0, a3_plus: float = 6.2e-3,
               a3_minus: float = 2.3e-4) -> Tensor:
    """One time step of trace STDP, in place on the weights and traces (grl_stdp_step_).

    Order: decay the traces (x1 by exp(-dt/tau_plus), y1 by exp(-dt/tau_minus); triplet also the
    slow x2, y2), then W += red_b[post x1 (a_plus + a3_plus y2)] - red_b[pre y1 (a_minus +
    a3_minus x2)] bounded by ``bound`` ('none', 'hard' clamp to [w_min, w_max], 'soft'
    multiplicative), then add this step's spikes to the traces ('all_to_all': x += s;
    'nearest': x = 1 on a spike). weight [n_post, n_pre]; spikes [n] or [B, n] in W's dtype;
    traces float32 Tensors of the spikes' shapes (the slow ones needed with ``triplet``).
    Returns ``weight``.
    """
    w = _state(weight, "stdp_step_: weight")
    traces = [_state(t, f"stdp_step_: {n}") if t is not None else None
              for t, n in ((pre_trace, "pre_trace"), (post_trace, "post_trace"),
                           (pre_slow, "pre_slow"), (post_slow, "post_slow"))]
    pre, post = _like(pre_spikes, w), _like(post_spikes, w)
    _C.grilly_stdp_step_(
        w._h, pre._h, post._h, *(_h(t) for t in traces),
        builtins.float(dt), builtins.float(tau_plus), builtins.float(tau_minus),
        builtins.float(a_plus), builtins.float(a_minus),
        _choice(trace_mode, _TRACE_MODES, "trace_mode"), _choice(bound, _BOUNDS, "bound"),
        builtins.float(w_min), builtins.float(w_max),
        _choice(batch_reduction, _BATCH, "batch_reduction"), int(builtins.bool(triplet)),
        builtins.float(tau_x), builtins.float(tau_y), builtins.float(a3_plus),
        builtins.float(a3_minus))
    return w


class STDP:
    """Trace STDP on a weight matrix with its own traces (grl_stdp_step_ each step).

    ``STDP(weight, batch=None, **options)`` makes zeroed float32 traces for one sample
    (batch None: [n_pre], [n_post]) or B runs ([B, n_pre], ...); ``step(pre, post)`` applies one
    step; ``reset()`` zeroes the traces. Options as grilly.learning.stdp_step_.
    """

    def __init__(self, weight, batch: int | None = None, **options):
        self.weight = _state(weight, "STDP: weight")
        if self.weight.ndim != 2:
            raise InvalidArgumentError(f"grilly.learning.STDP: weight must be [n_post, n_pre], "
                                       f"got shape {self.weight.shape}")
        self.options = dict(options)
        n_post, n_pre = self.weight.shape
        lead = () if batch is None else (int(batch),)
        dev = self.weight.device
        self.pre_trace = _t.zeros(lead + (n_pre,), device=dev)
        self.post_trace = _t.zeros(lead + (n_post,), device=dev)
        triplet = self.options.get("triplet", False)
        self.pre_slow = _t.zeros(lead + (n_pre,), device=dev) if triplet else None
        self.post_slow = _t.zeros(lead + (n_post,), device=dev) if triplet else None

    def step(self, pre_spikes, post_spikes) -> Tensor:
        """One step (grl_stdp_step_); returns the weight."""
        return stdp_step_(self.weight, pre_spikes, post_spikes, self.pre_trace, self.post_trace,
                          self.pre_slow, self.post_slow, **self.options)

    def reset(self) -> None:
        """Zeroes every trace (grl_tensor_fill_)."""
        for t in (self.pre_trace, self.post_trace, self.pre_slow, self.post_slow):
            if t is not None:
                _C.grl_tensor_fill_(t._h, 0.0)


# ------------------------------------------------------------------------------------------------
# Fisher information, EWC, natural gradient
# ------------------------------------------------------------------------------------------------

_FISHER = {"ema": _C.GRL_FISHER_EMA, "accumulate": _C.GRL_FISHER_ACCUMULATE}


def fisher_info_update_(fisher, grad, *, mode: str = "ema", decay: float = 0.95,
                        scale: float = 1.0) -> Tensor:
    """Updates a diagonal Fisher estimate in place from a gradient (grl_fisher_info_update_):
    'ema' F <- decay F + (1 - decay) g^2; 'accumulate' F <- F + scale g^2. Returns ``fisher``."""
    f = _state(fisher, "fisher_info_update_: fisher")
    g = _like(grad, f)
    _C.grl_fisher_info_update_(f._h, g._h, _choice(mode, _FISHER, "mode"),
                               builtins.float(decay), builtins.float(scale))
    return f


def ewc_penalty(theta, theta_star, fisher, lambda_: float = 1.0) -> Tensor:
    """Elastic weight consolidation 0.5 lambda sum_i F_i (theta_i - theta*_i)^2, a 0-d tensor
    (grl_ewc_penalty). Differentiable w.r.t. theta, theta_star and fisher."""
    th = _f32(theta) if not isinstance(theta, Tensor) else theta
    star, f = _like(theta_star, th), _like(fisher, th)
    return th._new(_C.grl_ewc_penalty(th._h, star._h, f._h, builtins.float(lambda_)))


def natural_gradient_step_(theta, grad, fisher, lr: float = 0.01, eps: float = 1e-8) -> Tensor:
    """theta <- theta - lr g / (F + eps), in place (grl_natural_gradient_step_); F is read only.
    Returns ``theta``."""
    th = _state(theta, "natural_gradient_step_: theta")
    g, f = _like(grad, th), _like(fisher, th)
    _C.grl_natural_gradient_step_(th._h, g._h, f._h, builtins.float(lr), builtins.float(eps))
    return th


class EWC:
    """Elastic weight consolidation over a list of parameters: ``consolidate()`` stores the
    anchors theta* (copies, grl_clone) and ``update_fisher()`` accumulates the diagonal Fisher
    from the parameters' current gradients (grl_fisher_info_update_); ``penalty(lambda_)`` is the
    sum of grl_ewc_penalty over the parameters (differentiable: add it to the loss)."""

    def __init__(self, params, mode: str = "ema", decay: float = 0.95, scale: float = 1.0):
        self.params = list(params)
        self.mode, self.decay, self.scale = mode, builtins.float(decay), builtins.float(scale)
        self.fisher = [_t.zeros_like(p.detach()) for p in self.params]
        self.anchors = [p.detach().clone() for p in self.params]

    def update_fisher(self) -> None:
        """F <- update(F, p.grad) for every parameter with a gradient (grl_fisher_info_update_)."""
        for p, f in zip(self.params, self.fisher):
            g = p.grad
            if g is not None:
                fisher_info_update_(f, g, mode=self.mode, decay=self.decay, scale=self.scale)

    def consolidate(self) -> None:
        """Anchors theta* at the parameters' current values (grl_clone)."""
        self.anchors = [p.detach().clone() for p in self.params]

    def penalty(self, lambda_: float = 1.0) -> Tensor:
        """sum over parameters of 0.5 lambda sum F (p - theta*)^2 (grl_ewc_penalty)."""
        total = None
        for p, a, f in zip(self.params, self.anchors, self.fisher):
            term = ewc_penalty(p, a, f, lambda_)
            total = term if total is None else total + term
        if total is None:
            raise InvalidArgumentError("grilly.learning.EWC: no parameters")
        return total


# ------------------------------------------------------------------------------------------------
# NLMS and NLMS ensembles
# ------------------------------------------------------------------------------------------------


def nlms_predict(x, w, b=None) -> Tensor:
    """y = w . x + b for every row of x [B, D] (or [D]) (grl_nlms_predict); float32."""
    xx = _f32(x)
    ww, bb = _f32(w, xx), _f32(b, xx)
    return xx._new(_C.grl_nlms_predict(xx._h, ww._h, _h(bb)))


def nlms_update_(w, b, mu, x, target, *, eps: float = 1e-6, mu_decay: float = 1.0,
                 mu_min: float = 0.0, update_bias: bool = True) -> Tensor:
    """Sequential NLMS over the rows of x, in place on w [D], b (one element or None) and mu (one
    element, decayed in place) (grl_nlms_update_): e_n = t_n - (w . x_n + b),
    w += mu e_n x_n / (||x_n||^2 + eps), b += mu e_n, mu <- max(mu mu_decay, mu_min).
    Returns the a-priori errors e [B] (0-d for a 1-d x)."""
    ww = _state(w, "nlms_update_: w")
    bb = None if b is None else _state(b, "nlms_update_: b")
    mm = _state(mu, "nlms_update_: mu")
    xx, tt = _f32(x, ww), _f32(target, ww)
    return ww._new(_C.grilly_nlms_update_(ww._h, _h(bb), mm._h, xx._h, tt._h,
                                          builtins.float(eps), builtins.float(mu_decay),
                                          builtins.float(mu_min), int(builtins.bool(update_bias)),
                                          0.9))


def nlms_ensemble_predict(x, w, b, msq, temperature: float = 1.0) -> Tensor:
    """y = sum_e g_e (w_e . x + b_e), g = softmax(-sqrt(msq) / temperature) over E experts
    (grl_nlms_ensemble_predict). w [E, D], b [E] or None, msq [E]."""
    xx = _f32(x)
    ww, bb, ms = _f32(w, xx), _f32(b, xx), _f32(msq, xx)
    return xx._new(_C.grl_nlms_ensemble_predict(xx._h, ww._h, _h(bb), ms._h,
                                                builtins.float(temperature)))


def nlms_ensemble_update_(w, b, mu, msq, x, target, *, eps: float = 1e-6, mu_decay: float = 1.0,
                          mu_min: float = 0.0, update_bias: bool = True,
                          rmse_decay: float = 0.9) -> Tensor:
    """Every expert's NLMS update with its own error and mu, and msq <- r msq + (1 - r) e^2
    (grl_nlms_ensemble_update_); w [E, D], b [E] or None, mu [E], msq [E] in place. Returns the
    a-priori errors [B, E]."""
    ww = _state(w, "nlms_ensemble_update_: w")
    bb = None if b is None else _state(b, "nlms_ensemble_update_: b")
    mm = _state(mu, "nlms_ensemble_update_: mu")
    ms = _state(msq, "nlms_ensemble_update_: msq")
    xx, tt = _f32(x, ww), _f32(target, ww)
    return ww._new(_C.grilly_nlms_ensemble_update_(
        ww._h, _h(bb), mm._h, ms._h, xx._h, tt._h, builtins.float(eps),
        builtins.float(mu_decay), builtins.float(mu_min), int(builtins.bool(update_bias)),
        builtins.float(rmse_decay)))


class NLMSFilter:
    """An adaptive linear filter y = w . x + b trained by sequential NLMS (grl_nlms_predict,
    grl_nlms_update_); its state (w, b, mu) lives on the device."""

    def __init__(self, n_features: int, mu: float = 0.5, bias: bool = True, *, eps: float = 1e-6,
                 mu_decay: float = 1.0, mu_min: float = 0.0, device=None):
        self.w = _t.zeros(int(n_features), device=device)
        self.b = _t.zeros(1, device=device) if bias else None
        self.mu = _t.full((1,), builtins.float(mu), dtype=_t.float32, device=device)
        self.options = dict(eps=eps, mu_decay=mu_decay, mu_min=mu_min, update_bias=bias)

    def predict(self, x) -> Tensor:
        """grl_nlms_predict."""
        return nlms_predict(x, self.w, self.b)

    def update(self, x, target) -> Tensor:
        """grl_nlms_update_; returns the a-priori errors."""
        return nlms_update_(self.w, self.b, self.mu, x, target, **self.options)


class NLMSEnsemble:
    """E NLMS experts gated by their running RMSE (grl_nlms_ensemble_predict,
    grl_nlms_ensemble_update_)."""

    def __init__(self, n_experts: int, n_features: int, mu=0.5, *, temperature: float = 1.0,
                 rmse_decay: float = 0.9, eps: float = 1e-6, mu_decay: float = 1.0,
                 mu_min: float = 0.0, device=None):
        e = int(n_experts)
        self.w = _t.zeros(e, int(n_features), device=device)
        self.b = _t.zeros(e, device=device)
        mus = np.broadcast_to(np.asarray(mu, np.float32), (e,)).copy()
        self.mu = _t.tensor(mus, device=device)
        self.msq = _t.zeros(e, device=device)
        self.temperature = builtins.float(temperature)
        self.options = dict(eps=eps, mu_decay=mu_decay, mu_min=mu_min, rmse_decay=rmse_decay)

    def predict(self, x) -> Tensor:
        """grl_nlms_ensemble_predict."""
        return nlms_ensemble_predict(x, self.w, self.b, self.msq, self.temperature)

    def update(self, x, target) -> Tensor:
        """grl_nlms_ensemble_update_; returns the a-priori errors [B, E]."""
        return nlms_ensemble_update_(self.w, self.b, self.mu, self.msq, x, target, **self.options)


# ------------------------------------------------------------------------------------------------
# Whitening
# ------------------------------------------------------------------------------------------------


def whiten_batch(x, running_mean=None, running_var=None, momentum: float = 0.1,
                 eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) per column of x [N, D] with the batch's statistics
    (population variance) (grl_whiten_batch); running_mean / running_var (float32 [D] Tensors,
    both or neither) are updated in place as BatchNorm does."""
    xx = as_tensor(x) if isinstance(x, Tensor) else _f32(x)
    rm = None if running_mean is None else _state(running_mean, "whiten_batch: running_mean")
    rv = None if running_var is None else _state(running_var, "whiten_batch: running_var")
    return xx._new(_C.grl_whiten_batch(xx._h, _h(rm), _h(rv), builtins.float(momentum),
                                       builtins.float(eps)))


def whiten_apply(x, mean, var, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) with given float32 statistics [D] (grl_whiten_apply)."""
    xx = as_tensor(x) if isinstance(x, Tensor) else _f32(x)
    m, v = _f32(mean, xx), _f32(var, xx)
    return xx._new(_C.grl_whiten_apply(xx._h, m._h, v._h, builtins.float(eps)))


def zca_from_covariance(cov, eps: float = 1e-5, iterations: int = 30) -> Tensor:
    """W = (C + eps I)^(-1/2) by the coupled Newton-Schulz iteration (grl_zca_from_covariance)."""
    c = _f32(cov)
    return c._new(_C.grl_zca_from_covariance(c._h, builtins.float(eps), int(iterations)))


def zca_fit(x, eps: float = 1e-5, iterations: int = 30) -> tuple:
    """(mean [D], W [D, D]) of the ZCA whitening of x [N, D] (grl_zca_fit)."""
    xx = _f32(x)
    mean, w = _C.grl_zca_fit(xx._h, builtins.float(eps), int(iterations))
    return xx._new(mean), xx._new(w)


def zca_apply(x, mean, whitening) -> Tensor:
    """(x - mean) W (grl_zca_apply); differentiable."""
    xx = _f32(x)
    m, w = _f32(mean, xx), _f32(whitening, xx)
    return xx._new(_C.grl_zca_apply(xx._h, m._h, w._h))


# ------------------------------------------------------------------------------------------------
# Facades: Compute().learning and grilly.Learning() (numpy in, numpy out)
# ------------------------------------------------------------------------------------------------


def _np_state(c: VulkanCompute, a, dtype=np.float32) -> Tensor:
    """A device copy of a numpy argument that an in-place op may change (the array is not)."""
    return c._tensor(np.array(a, dtype=dtype))


@register_op("learning")
def hebbian_learning(c: VulkanCompute, weights, pre_activity, post_activity=None,
                     learning_rate: float = 0.01, weight_decay: float = 0.0) -> np.ndarray:
    """The weights after one Hebbian step W += lr mean_b(y x^T) - decay W (grl_hebbian_update_);
    weights [n_post, n_pre], activities [n] or [B, n]; post None means y = W x."""
    w = _np_state(c, weights)
    hebbian_update_(w, c._tensor(pre_activity), None if post_activity is None
                    else c._tensor(post_activity), learning_rate, weight_decay)
    return w.numpy()


@register_op("learning")
def oja_learning(c: VulkanCompute, weights, pre_activity, post_activity=None,
                 learning_rate: float = 0.01) -> np.ndarray:
    """The weights after one step of Oja's rule (grl_oja_update_)."""
    w = _np_state(c, weights)
    oja_update_(w, c._tensor(pre_activity), None if post_activity is None
                else c._tensor(post_activity), learning_rate)
    return w.numpy()


@register_op("learning")
def stdp_learning(c: VulkanCompute, weights, pre_spikes, post_spikes, pre_trace, post_trace,
                  **options) -> tuple:
    """One STDP step (grl_stdp_step_; options as grilly.learning.stdp_step_) on copies of the
    arrays: returns (weights, pre_trace, post_trace)."""
    w = _np_state(c, weights)
    pt, qt = _np_state(c, pre_trace), _np_state(c, post_trace)
    stdp_step_(w, c._tensor(pre_spikes), c._tensor(post_spikes), pt, qt, **options)
    return w.numpy(), pt.numpy(), qt.numpy()


@register_op("learning", "ewc_penalty")
def _ewc_penalty_facade(c: VulkanCompute, params, anchor_params, fisher,
                   lambda_ewc: float = 1.0) -> float:
    """0.5 lambda sum F (theta - theta*)^2 as a float (grl_ewc_penalty)."""
    th = c._tensor(np.asarray(params, np.float32))
    return builtins.float(ewc_penalty(th, c._tensor(anchor_params, th.dtype),
                                      c._tensor(fisher, th.dtype), lambda_ewc).item())


@register_op("learning")
def fisher_info_update(c: VulkanCompute, fisher, gradients, mode: str = "ema",
                       decay: float = 0.95, scale: float = 1.0) -> np.ndarray:
    """The Fisher estimate after one update from gradients (grl_fisher_info_update_)."""
    f = _np_state(c, fisher)
    fisher_info_update_(f, c._tensor(gradients, f.dtype), mode=mode, decay=decay, scale=scale)
    return f.numpy()


@register_op("learning")
def natural_gradient(c: VulkanCompute, params, gradients, fisher, learning_rate: float = 0.01,
                     eps: float = 1e-8) -> np.ndarray:
    """params - lr g / (F + eps) (grl_natural_gradient_step_) as a new array."""
    th = _np_state(c, params)
    natural_gradient_step_(th, c._tensor(gradients, th.dtype), c._tensor(fisher, th.dtype),
                           learning_rate, eps)
    return th.numpy()


@register_op("learning")
def nlms_update(c: VulkanCompute, weights, x, target, mu: float = 0.5, bias=None,
                eps: float = 1e-6, mu_decay: float = 1.0, mu_min: float = 0.0) -> tuple:
    """Sequential NLMS over the rows of x (grl_nlms_update_) on copies: returns (weights, bias,
    mu, errors); bias None trains no bias (and returns None for it)."""
    w = _np_state(c, weights)
    b = None if bias is None else _np_state(c, np.reshape(bias, (1,)))
    m = _np_state(c, np.reshape(mu, (1,)))
    e = nlms_update_(w, b, m, c._tensor(np.asarray(x, np.float32)),
                     c._tensor(np.asarray(target, np.float32)), eps=eps, mu_decay=mu_decay,
                     mu_min=mu_min)
    return (w.numpy(), None if b is None else b.numpy()[0], builtins.float(m.numpy()[0]),
            e.numpy())


@register_op("learning", "nlms_predict")
def _nlms_predict_facade(c: VulkanCompute, weights, x, bias=None) -> np.ndarray:
    """w . x + b per row of x (grl_nlms_predict)."""
    b = None if bias is None else c._tensor(np.reshape(np.asarray(bias, np.float32), (1,)))
    return nlms_predict(c._tensor(np.asarray(x, np.float32)),
                        c._tensor(np.asarray(weights, np.float32)), b).numpy()


@register_op("learning")
def whitening(c: VulkanCompute, x, eps: float = 1e-5, method: str = "batch") -> np.ndarray:
    """Whitened x [N, D]: 'batch' standardises each column (grl_whiten_batch); 'zca' decorrelates
    (grl_zca_fit then grl_zca_apply)."""
    xx = c._tensor(np.asarray(x, np.float32))
    if method == "batch":
        return whiten_batch(xx, eps=eps).numpy()
    if method == "zca":
        mean, w = zca_fit(xx, eps=eps)
        return zca_apply(xx, mean, w).numpy()
    raise InvalidArgumentError(f"grilly.Learning().whitening: method must be 'batch' or 'zca', "
                               f"got {method!r}")


class Learning(VulkanCompute):
    """The continual / online learning facade: numpy in, numpy out, on one device.

    ``ewc_penalty(params, anchor_params, fisher, lambda_ewc)`` (grl_ewc_penalty),
    ``fisher_info_update(fisher, gradients, mode, decay, scale)`` (grl_fisher_info_update_),
    ``natural_gradient(params, gradients, fisher, learning_rate, eps)``
    (grl_natural_gradient_step_), ``nlms_update(weights, x, target, mu, bias)``
    (grl_nlms_update_), ``nlms_predict(weights, x, bias)`` (grl_nlms_predict),
    ``whitening(x, eps, method)`` (grl_whiten_batch / grl_zca_fit), ``hebbian_learning``,
    ``oja_learning``, ``stdp_learning``; every other Compute namespace stays reachable.
    """

    def __getattr__(self, attr: str):
        # The learning namespace first: its names win over another namespace's flat alias.
        from ._compute import _REGISTRY, _Namespace
        if not attr.startswith("_") and attr in _REGISTRY.get("learning", {}):
            return getattr(_Namespace(self, "learning"), attr)
        return super().__getattr__(attr)

    def __repr__(self):
        return f"grilly.Learning(device={self.device_name!r})"
