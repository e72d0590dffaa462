"""grilly.snn: spiking neurons, synapses, spike encoders and decoders, and the SNN simulator.

Functions over the C families ``snn`` and ``synapse`` of include/grilly.h (formulas, units and
defaults in docs/neuro.md), the SpikingJelly-style neuron modules ``IFNode``, ``LIFNode``,
``ParametricLIFNode`` and ``ALIFNode`` (surrogate gradients, single- or multi-step), the
simulator ``SNNCompute`` (grl_snn) and the facade ops of ``Compute().snn``. Functions ending in
``_`` update their first tensors in place and therefore take grilly Tensors there.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from . import _grilly as _C
from ._handle import OwnedHandle
from . import _tensor as _t
from ._compute import VulkanCompute, register_op
from ._errors import InvalidArgumentError, ShapeError
from ._tensor import Tensor, as_tensor
from .functional import _h, _like
from .nn.modules import Module, Parameter

__all__ = [
    # neurons
    "lif_step_", "spiking_neuron", "Surrogate", "ATan", "Sigmoid", "FastSigmoid", "Triangle",
    "BaseNode", "IFNode", "LIFNode", "ParametricLIFNode", "ALIFNode", "SNNCompute",
    # synapses
    "synapse_exp_step_", "synapse_exp", "stp_step_", "stp_sequence_", "ExpSynapse",
    # encoders and decoders
    "encode_poisson", "encode_latency", "encode_delta", "decode_rate", "decode_weighted",
    "spike_matmul",
]


def _state(t, what: str) -> Tensor:
    """An in-place argument: it must be a grilly Tensor (a converted copy would be updated)."""
    if not isinstance(t, Tensor):
        raise TypeError(f"grilly.snn.{what} must be a grilly.Tensor (it is updated in place), "
                        f"got {type(t).__name__}; build it with grilly.tensor(...)")
    return t


def _float(x, ref: Tensor | None = None) -> Tensor:
    """A floating tensor: Tensors as they are, arrays in ref's dtype (float32 without ref)."""
    if ref is not None:
        return _like(x, ref)
    return as_tensor(x) if isinstance(x, Tensor) else _t.tensor(np.asarray(x, np.float32))


def _spike_code(spike_dtype) -> int:
    """spike_dtype: None (the state's dtype, -1) or a dtype (uint8 for bytes)."""
    return -1 if spike_dtype is None else _t._to_dtype(spike_dtype).code


def _choice(value, table: dict, what: str) -> int:
    key = value.lower() if isinstance(value, str) else value
    if key in table:
        return table[key]
    if isinstance(value, (int, np.integer)) and int(value) in table.values():
        return int(value)
    raise InvalidArgumentError(f"grilly.snn: {what} must be one of "
                               f"{', '.join(repr(k) for k in table)}, got {value!r}")


# ------------------------------------------------------------------------------------------------
# LIF step (grl_lif_step_)
# ------------------------------------------------------------------------------------------------


def lif_step_(v, refractory, input, *, dt: float = 0.001, tau_mem: float = 20.0,
              v_rest: float = 0.0, v_reset: float = 0.0, v_thresh: float = 1.0, r_m: float = 1.0,
              t_ref: float = 0.0, spike_dtype=None) -> Tensor:
    """One forward-Euler step of leaky integrate-and-fire neurons, in place (grl_lif_step_).

    Per neuron: while the refractory counter r > 0, r <- max(r - dt, 0) and v <- v_reset;
    otherwise v <- v + dt * (-(v - v_rest) + r_m * input) / tau_mem, a spike where
    v >= v_thresh, then v <- v_reset and r <- t_ref. ``v`` (f32, f16, bf16) and ``refractory``
    (v's shape and dtype, or None: then t_ref must be 0) are Tensors updated in place; ``input``
    broadcasts to v's shape. Returns the spikes 0/1 in ``spike_dtype`` (None: v's dtype).
    """
    v = _state(v, "lif_step_: v")
    r = None if refractory is None else _state(refractory, "lif_step_: refractory")
    i = _like(input, v)
    return v._new(_C.grilly_lif_step_(v._h, _h(r), i._h, builtins.float(dt),
                                      builtins.float(tau_mem), builtins.float(v_rest),
                                      builtins.float(v_reset), builtins.float(v_thresh),
                                      builtins.float(r_m), builtins.float(t_ref),
                                      _spike_code(spike_dtype)))


# ------------------------------------------------------------------------------------------------
# Neuron nodes with surrogate gradients (grl_spiking_neuron)
# ------------------------------------------------------------------------------------------------


class Surrogate:
    """A surrogate gradient of the spike's Heaviside step: its kind (GRL_SURROGATE_*) and its
    sharpness alpha (None: the kind's default). Pass an instance or a name ('atan', 'sigmoid',
    'fast_sigmoid', 'triangle') as ``surrogate=``."""

    kind = _C.GRL_SURROGATE_ATAN
    default_alpha = 2.0

    def __init__(self, alpha: float | None = None):
        self.alpha = self.default_alpha if alpha is None else builtins.float(alpha)

    def __repr__(self):
        return f"{type(self).__name__}(alpha={self.alpha})"


class ATan(Surrogate):
    """g = atan(pi/2 alpha x) / pi + 1/2, g' = alpha / 2 / (1 + (pi/2 alpha x)^2) (alpha 2)."""
    kind = _C.GRL_SURROGATE_ATAN
    default_alpha = 2.0


class Sigmoid(Surrogate):
    """g = sigmoid(alpha x), g' = alpha g (1 - g) (alpha 4)."""
    kind = _C.GRL_SURROGATE_SIGMOID
    default_alpha = 4.0


class FastSigmoid(Surrogate):
    """SuperSpike: g' = alpha / (2 (1 + alpha |x|)^2) (alpha 2)."""
    kind = _C.GRL_SURROGATE_FAST_SIGMOID
    default_alpha = 2.0


class Triangle(Surrogate):
    """g' = alpha max(0, 1 - alpha |x|) (alpha 1)."""
    kind = _C.GRL_SURROGATE_TRIANGLE
    default_alpha = 1.0


_SURROGATES = {"atan": ATan, "sigmoid": Sigmoid, "fast_sigmoid": FastSigmoid,
               "superspike": FastSigmoid, "triangle": Triangle}
_KINDS = {"if": _C.GRL_NEURON_IF, "lif": _C.GRL_NEURON_LIF, "alif": _C.GRL_NEURON_ALIF}


def _surrogate(spec, alpha=None) -> Surrogate:
    if isinstance(spec, Surrogate):
        return spec if alpha is None else type(spec)(alpha)
    if isinstance(spec, type) and issubclass(spec, Surrogate):
        return spec(alpha)
    if isinstance(spec, str) and spec.lower() in _SURROGATES:
        return _SURROGATES[spec.lower()](alpha)
    raise InvalidArgumentError(f"grilly.snn: surrogate must be one of {', '.join(_SURROGATES)} "
                               f"or a grilly.snn.Surrogate, got {spec!r}")


def spiking_neuron(x, v0=None, w0=None, tau_param=None, *, kind: str = "lif", tau: float = 2.0,
                   decay_input: bool = True, v_threshold: float = 1.0,
                   v_reset: float | None = 0.0, detach_reset: bool = False, v_rest: float = 0.0,
                   surrogate="atan", alpha: float | None = None, soft_spike: bool = False,
                   tau_w: float = 100.0, a: float = 0.0, b: float = 0.1,
                   return_state: bool = False):
    """Runs IF / LIF / ALIF neurons over a sequence x [T, ...] (grl_spiking_neuron).

    Charge h (IF: v + x; LIF: v + (x - (v - v_rest)) / tau with decay_input, else
    v - (v - v_rest) / tau + x; ALIF: as LIF with x - w), fire s = H(h - v_threshold), reset
    hard to ``v_reset`` or, with ``v_reset=None``, soft (v = h - v_threshold); ALIF adapts
    w += (a (v_prev - v_rest) - w) / tau_w + b s. ``tau_param`` (PLIF's w) replaces 1/tau by
    sigmoid(tau_param). The backward uses the surrogate's smooth g' (``surrogate`` a name or a
    grilly.snn.Surrogate; ``alpha`` None: its default); ``soft_spike`` makes spikes g(h - v_th).
    v0 / w0: the initial state of shape x.shape[1:] (None: v_rest, 0). Returns the spikes
    [T, ...] in x's dtype, or with ``return_state`` (spikes, v, w), w None unless ALIF.
    Differentiable w.r.t. x, v0, w0 and tau_param.
    """
    x = _float(x)
    k = _choice(kind, _KINDS, "kind")
    sg = _surrogate(surrogate, alpha)
    v0 = _like(v0, x)
    w0 = _like(w0, x)
    tp = _like(tau_param, x)
    spikes, v, w = _C.grilly_spiking_neuron(
        x._h, _h(v0), _h(w0), _h(tp), k, builtins.float(tau), int(builtins.bool(decay_input)),
        builtins.float(v_threshold), 0.0 if v_reset is None else builtins.float(v_reset),
        int(v_reset is None), int(builtins.bool(detach_reset)), builtins.float(v_rest), sg.kind,
        sg.alpha, int(builtins.bool(soft_spike)), builtins.float(tau_w), builtins.float(a),
        builtins.float(b), int(builtins.bool(return_state)),
        int(builtins.bool(return_state) and k == _C.GRL_NEURON_ALIF))
    s = x._new(spikes)
    if not return_state:
        return s
    return s, x._new(v), None if w is None else x._new(w)


class BaseNode(Module):
    """A layer of spiking neurons with state (grl_spiking_neuron), as SpikingJelly's nodes.

    ``step_mode='s'``: forward(x) takes one step x [...] and returns its spikes; the membrane
    carries over to the next call (gradients flow through it: backpropagation through time over
    the calls). ``step_mode='m'``: forward(x) runs a whole sequence x [T, ...] in one kernel and
    keeps the final state. ``reset()`` forgets the state (call it between samples);
    ``detach()`` cuts the gradient history of the state (truncated BPTT).
    """

    _kind = "lif"

    def __init__(self, *, v_threshold: float = 1.0, v_reset: float | None = 0.0,
                 surrogate="atan", alpha: float | None = None, detach_reset: bool = False,
                 step_mode: str = "s", soft_spike: bool = False, v_rest: float = 0.0):
        super().__init__()
        if step_mode not in ("s", "m"):
            raise InvalidArgumentError(f"grilly.snn.{type(self).__name__}: step_mode must be 's' "
                                       f"(single step) or 'm' (multi-step), got {step_mode!r}")
        self.v_threshold = builtins.float(v_threshold)
        self.v_reset = None if v_reset is None else builtins.float(v_reset)
        self.surrogate = _surrogate(surrogate, alpha)
        self.detach_reset = builtins.bool(detach_reset)
        self.step_mode = step_mode
        self.soft_spike = builtins.bool(soft_spike)
        self.v_rest = builtins.float(v_rest)
        self.v = None
        self.w = None

    def _options(self) -> dict:
        return {}

    def _tau_param(self):
        return None

    def reset(self) -> None:
        """Forgets the state: the next step starts from v = v_rest (and w = 0)."""
        self.v = None
        self.w = None

    def detach(self) -> None:
        """Keeps the state's values but drops its gradient history (grl_tensor_detach)."""
        if self.v is not None:
            self.v = self.v.detach()
        if self.w is not None:
            self.w = self.w.detach()

    def forward(self, x) -> Tensor:
        x = _float(x)
        seq = x if self.step_mode == "m" else x.unsqueeze(0)
        v0 = self.v
        if v0 is not None and v0.shape != seq.shape[1:]:
            raise ShapeError(f"grilly.snn.{type(self).__name__}: the state has shape {v0.shape} "
                             f"but the input's neurons have {seq.shape[1:]}; call reset() when "
                             "the input shape changes")
        spikes, v, w = spiking_neuron(
            seq, v0, self.w, self._tau_param(), kind=self._kind, v_threshold=self.v_threshold,
            v_reset=self.v_reset, detach_reset=self.detach_reset, v_rest=self.v_rest,
            surrogate=self.surrogate, soft_spike=self.soft_spike, return_state=True,
            **self._options())
        self.v, self.w = v, w
        return spikes if self.step_mode == "m" else spikes.squeeze(0)

    def extra_repr(self):
        return (f"v_threshold={self.v_threshold}, v_reset={self.v_reset}, "
                f"surrogate={self.surrogate!r}, detach_reset={self.detach_reset}, "
                f"step_mode={self.step_mode!r}")


class IFNode(BaseNode):
    """Integrate-and-fire neurons: h = v + x (grl_spiking_neuron, GRL_NEURON_IF)."""
    _kind = "if"


class LIFNode(BaseNode):
    """Leaky integrate-and-fire neurons, tau in steps: h = v + (x - (v - v_rest)) / tau with
    decay_input, else v - (v - v_rest) / tau + x (grl_spiking_neuron, GRL_NEURON_LIF)."""

    _kind = "lif"

    def __init__(self, tau: float = 2.0, decay_input: bool = True, **kwargs):
        super().__init__(**kwargs)
        if not tau > 0:
            raise InvalidArgumentError(f"grilly.snn.LIFNode: tau must be > 0 (steps), got {tau}")
        self.tau = builtins.float(tau)
        self.decay_input = builtins.bool(decay_input)

    def _options(self):
        return {"tau": self.tau, "decay_input": self.decay_input}

    def extra_repr(self):
        return f"tau={self.tau}, decay_input={self.decay_input}, " + super().extra_repr()


class ParametricLIFNode(BaseNode):
    """LIF neurons with a learnable time constant (PLIF, Fang et al. 2021): a 0-d Parameter w
    with 1 / tau = sigmoid(w), initialised so that tau = init_tau (grl_spiking_neuron's
    tau_param)."""

    _kind = "lif"

    def __init__(self, init_tau: float = 2.0, decay_input: bool = True, **kwargs):
        super().__init__(**kwargs)
        if not init_tau > 1:
            raise InvalidArgumentError(f"grilly.snn.ParametricLIFNode: init_tau must be > 1 "
                                       f"(1 / sigmoid(w) > 1), got {init_tau}")
        self.decay_input = builtins.bool(decay_input)
        self.w_tau = Parameter(np.array(-math.log(init_tau - 1.0), np.float32))

    @property
    def tau(self) -> float:
        """The current time constant 1 / sigmoid(w), in steps."""
        return 1.0 + math.exp(-builtins.float(self.w_tau.item()))

    def _options(self):
        return {"decay_input": self.decay_input}

    def _tau_param(self):
        return self.w_tau

    def extra_repr(self):
        return f"tau={self.tau:.4g}, decay_input={self.decay_input}, " + super().extra_repr()


class ALIFNode(BaseNode):
    """Adaptive LIF neurons (GIF-style adaptation current w): h = v + (x - w - (v - v_rest)) /
    tau, w += (a (v_prev - v_rest) - w) / tau_w + b s (grl_spiking_neuron, GRL_NEURON_ALIF)."""

    _kind = "alif"

    def __init__(self, tau: float = 2.0, tau_w: float = 100.0, a: float = 0.0, b: float = 0.1,
                 decay_input: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.tau = builtins.float(tau)
        self.tau_w = builtins.float(tau_w)
        self.a = builtins.float(a)
        self.b = builtins.float(b)
        self.decay_input = builtins.bool(decay_input)

    def _options(self):
        return {"tau": self.tau, "tau_w": self.tau_w, "a": self.a, "b": self.b,
                "decay_input": self.decay_input}

    def extra_repr(self):
        return (f"tau={self.tau}, tau_w={self.tau_w}, a={self.a}, b={self.b}, "
                + super().extra_repr())


# ------------------------------------------------------------------------------------------------
# The simulator (grl_snn)
# ------------------------------------------------------------------------------------------------


class SNNCompute(OwnedHandle):
    """A population of ``n_neurons`` LIF neurons with its own state on the device
    (grl_snn_create).

    ``process(input)`` advances one step of grl_lif_step_'s rule (grl_snn_process) and returns the
    spikes as a numpy array; ``reset()`` goes back to v = v_rest, r = 0 (grl_snn_reset);
    ``get_state()`` returns {'membrane', 'refractory'} numpy copies (grl_snn_get_state) and
    ``set_state(membrane, refractory=None)`` copies new state in (grl_snn_set_state). Parameters
    as grilly.snn.lif_step_ (times in one unit, ms by default); ``dtype`` the state's dtype
    (float32, float16, bfloat16), ``spike_dtype`` the spikes' (None: the state's). The handle is
    released by close() (grl_snn_release) or when the object is collected; ``copy.copy()`` gives
    a second owner of the same simulator (grl_snn_retain).
    """

    _release_fn = "grl_snn_release"
    _retain_fn = "grl_snn_retain"
    _closed_message = "grilly.snn.SNNCompute: the simulator was closed"

    def __init__(self, n_neurons: int = 1000, dt: float = 0.001, tau_mem: float = 20.0,
                 v_thresh: float = 1.0, v_rest: float = 0.0, v_reset: float = 0.0,
                 r_m: float = 1.0, t_ref: float = 0.0, *, dtype=None, spike_dtype=None,
                 device=None):
        self._h = None
        self.device = _t._device_of(device)
        self.dtype = _t.float32 if dtype is None else _t._to_dtype(dtype)
        self.n_neurons = int(n_neurons)
        self.dt, self.tau_mem, self.v_thresh = builtins.float(dt), builtins.float(tau_mem), \
            builtins.float(v_thresh)
        self.v_rest, self.v_reset = builtins.float(v_rest), builtins.float(v_reset)
        self.r_m, self.t_ref = builtins.float(r_m), builtins.float(t_ref)
        self._h = _C.grilly_snn_create(self.device._handle(), self.n_neurons, self.dt,
                                       self.tau_mem, self.v_rest, self.v_reset, self.v_thresh,
                                       self.r_m, self.t_ref, _spike_code(spike_dtype),
                                       self.dtype.code)


    def _input(self, x) -> Tensor:
        if isinstance(x, Tensor):
            return x
        return _t.tensor(np.asarray(x), dtype=self.dtype, device=self.device)

    def step(self, input) -> Tensor:
        """One step (grl_snn_process); the spikes stay on the device as a grilly.Tensor."""
        i = self._input(input)
        return _t._wrap(_C.grl_snn_process(self._handle(), i._h), self.device)

    def process(self, input) -> np.ndarray:
        """One step on the input current ([n_neurons] or broadcastable, e.g. a scalar)
        (grl_snn_process); returns the spikes [n_neurons] as a numpy array."""
        return self.step(input).numpy()

    def run(self, inputs) -> np.ndarray:
        """process() over the first axis of inputs [T, ...]: the spikes [T, n_neurons]."""
        steps = [self.step(x) for x in inputs]
        if not steps:
            return np.zeros((0, self.n_neurons), self.dtype.numpy_dtype)
        return np.stack([s.numpy() for s in steps])

    def reset(self) -> None:
        """Back to v = v_rest, r = 0 (grl_snn_reset)."""
        _C.grl_snn_reset(self._handle())

    def get_state(self) -> dict:
        """Copies of the membrane and refractory counters as numpy arrays (grl_snn_get_state)."""
        v, r = _C.grl_snn_get_state(self._handle())
        return {"membrane": _t._wrap(v, self.device).numpy(),
                "refractory": _t._wrap(r, self.device).numpy()}

    def set_state(self, membrane, refractory=None) -> None:
        """Copies new state in (grl_snn_set_state); refractory None means zeros. ``membrane``
        may also be a dict from get_state()."""
        if isinstance(membrane, dict):
            membrane, refractory = membrane["membrane"], membrane.get("refractory", refractory)
        v = self._input(membrane)
        r = None if refractory is None else self._input(refractory)
        _C.grl_snn_set_state(self._handle(), v._h, _h(r))

    def __repr__(self):
        return (f"grilly.snn.SNNCompute(n_neurons={self.n_neurons}, dt={self.dt}, "
                f"tau_mem={self.tau_mem}, v_thresh={self.v_thresh}, dtype={self.dtype!r})")


# ------------------------------------------------------------------------------------------------
# Synapses (grl_synapse_exp_step_, grl_synapse_exp, grl_stp_step_)
# ------------------------------------------------------------------------------------------------


def synapse_exp_step_(current, spikes, dt: float = 1.0, tau_syn: float = 5.0,
                      weight: float = 1.0) -> Tensor:
    """One step of an exponential synapse, in place: I <- I exp(-dt / tau_syn) + weight * s
    (grl_synapse_exp_step_). Returns ``current``."""
    c = _state(current, "synapse_exp_step_: current")
    s = _like(spikes, c)
    _C.grl_synapse_exp_step_(c._h, s._h, builtins.float(dt), builtins.float(tau_syn),
                             builtins.float(weight))
    return c


def synapse_exp(spikes, current0=None, dt: float = 1.0, tau_syn: float = 5.0,
                weight: float = 1.0) -> Tensor:
    """The currents I_t = exp(-dt / tau_syn) I_{t-1} + weight * s_t over spikes [T, ...] with
    I_{-1} = current0 (None: zeros) -> [T, ...] (grl_synapse_exp). Differentiable in spikes
    and current0."""
    s = _float(spikes)
    c0 = _like(current0, s)
    return s._new(_C.grl_synapse_exp(s._h, _h(c0), builtins.float(dt), builtins.float(tau_syn),
                                     builtins.float(weight)))


def stp_step_(u, x, spikes, *, U: float = 0.5, tau_d: float = 200.0, tau_f: float = 20.0,
              dt: float = 1.0) -> Tensor:
    """One Tsodyks-Markram short-term plasticity step, in place on u (facilitation) and x
    (resources) (grl_stp_step_): relax x <- 1 - (1 - x) e^(-dt/tau_d), u <- U + (u - U)
    e^(-dt/tau_f); on a spike u <- u + U (1 - u), r = u x, x <- x - r. Returns the released
    efficacy r (u's shape). Start from u = U, x = 1."""
    uu = _state(u, "stp_step_: u")
    xx = _state(x, "stp_step_: x")
    s = _like(spikes, uu)
    return uu._new(_C.grilly_stp_step_(uu._h, xx._h, s._h, builtins.float(U),
                                       builtins.float(tau_d), builtins.float(tau_f),
                                       builtins.float(dt)))


def stp_sequence_(u, x, spikes, *, U: float = 0.5, tau_d: float = 200.0, tau_f: float = 20.0,
                  dt: float = 1.0) -> Tensor:
    """stp_step_ over a spike train spikes [T, ...] in one dispatch (grl_stp_sequence_): returns
    the efficacy of every step [T, ...state]; u and x end as after T calls of stp_step_."""
    uu = _state(u, "stp_sequence_: u")
    xx = _state(x, "stp_sequence_: x")
    s = _like(spikes, uu)
    return uu._new(_C.grilly_stp_sequence_(uu._h, xx._h, s._h, builtins.float(U),
                                           builtins.float(tau_d), builtins.float(tau_f),
                                           builtins.float(dt)))


class ExpSynapse(Module):
    """An exponential synapse filter as a module: forward(spikes [T, ...]) returns the currents
    (grl_synapse_exp) and keeps the last one as the state of the next call; reset() zeroes it."""

    def __init__(self, tau_syn: float = 5.0, dt: float = 1.0, weight: float = 1.0):
        super().__init__()
        self.tau_syn, self.dt, self.weight = (builtins.float(tau_syn), builtins.float(dt),
                                              builtins.float(weight))
        self.current = None

    def reset(self) -> None:
        self.current = None

    def forward(self, spikes) -> Tensor:
        out = synapse_exp(spikes, self.current, self.dt, self.tau_syn, self.weight)
        if out.shape[0] > 0:
            self.current = out[out.shape[0] - 1]
        return out

    def extra_repr(self):
        return f"tau_syn={self.tau_syn}, dt={self.dt}, weight={self.weight}"


# ------------------------------------------------------------------------------------------------
# Encoders, decoders, spike-matmul
# ------------------------------------------------------------------------------------------------


def encode_poisson(rates, T: int, *, per_step_ms: float = 0.0, dtype=None, seed=None,
                   offset=None) -> Tensor:
    """Poisson (Bernoulli per step) rate coding: rates [...] -> spikes [T, ...]
    (grl_encode_poisson).

    ``per_step_ms`` 0: rates are per-step probabilities; > 0: rates in Hz with steps of that many
    milliseconds. ``dtype`` float32 (default), float16, bfloat16 or uint8. Without ``seed`` the
    draw comes from the global generator (grilly.manual_seed), whose offset advances by
    T * numel(rates); with a seed, ``offset`` (default 0) picks the Philox counter.
    """
    r = _float(rates)
    n = int(T) * _t._numel(r.shape)
    if seed is None:
        seed, offset = _t._draw(n)
    d = _t.float32 if dtype is None else _t._to_dtype(dtype)
    return r._new(_C.grl_encode_poisson(r._h, int(T), builtins.float(per_step_ms), d.code,
                                        int(seed) & _t._MASK64,
                                        int(offset or 0) & _t._MASK64))


_LATENCY = {"linear": _C.GRL_LATENCY_LINEAR, "log": _C.GRL_LATENCY_LOG}


def encode_latency(x, T: int, *, mode: str = "linear", tau: float = 5.0, theta: float = 0.01,
                   dtype=None) -> Tensor:
    """Time-to-first-spike coding: x [...] (clamped to [0, 1]) -> spikes [T, ...], one spike per
    input at step round(t) with t = (T - 1)(1 - x) ('linear') or tau log(x / (x - theta)) ('log',
    no spike for x <= theta) (grl_encode_latency)."""
    v = _float(x)
    d = _t.float32 if dtype is None else _t._to_dtype(dtype)
    return v._new(_C.grl_encode_latency(v._h, int(T), _choice(mode, _LATENCY, "mode"),
                                        builtins.float(tau), builtins.float(theta), d.code))


def encode_delta(x, threshold: float = 0.1, *, two_channels: bool = False, dtype=None) -> Tensor:
    """Threshold-crossing coding of a signal x [T, ...]: a spike of sign(x_t - r) where
    |x_t - r| >= threshold, the reference r (from 0) moving to x_t on a spike
    (grl_encode_delta). Signed spikes [T, ...], or ON/OFF channels [T, 2, ...] with
    ``two_channels``."""
    v = _float(x)
    d = v.dtype if dtype is None else _t._to_dtype(dtype)
    return v._new(_C.grl_encode_delta(v._h, builtins.float(threshold),
                                      int(builtins.bool(two_channels)), d.code))


def decode_rate(spikes, window: int = 0) -> Tensor:
    """The mean over the last ``window`` steps (0: all) of spikes [T, ...] -> [...]
    (grl_decode_rate). Differentiable in floating spikes."""
    s = as_tensor(spikes) if isinstance(spikes, Tensor) else _t.tensor(np.asarray(spikes))
    if s.dtype is _t.int64 or s.dtype is _t.int32:
        s = s.to(_t.float32)
    return s._new(_C.grl_decode_rate(s._h, int(window)))


def decode_weighted(spikes, weights=None, tau: float = 5.0) -> Tensor:
    """sum_t w_t s_t over spikes [T, ...] -> [...], with weights [T] or, when None,
    w_t = exp(-(T - 1 - t) / tau) (grl_decode_weighted). Differentiable in floating spikes and
    the weights."""
    s = as_tensor(spikes) if isinstance(spikes, Tensor) else _t.tensor(np.asarray(spikes))
    if s.dtype is _t.int64 or s.dtype is _t.int32:
        s = s.to(_t.float32)
    ref = s if s.dtype.is_floating_point else None
    w = None if weights is None else _float(weights, ref)
    return s._new(_C.grl_decode_weighted(s._h, _h(w), builtins.float(tau)))


def spike_matmul(spikes, weight) -> Tensor:
    """spikes [B, K] (uint8 or weight's dtype) @ weight [K, N], skipping zero spikes
    (grl_spike_matmul). Differentiable in weight and in floating spikes."""
    w = _float(weight)
    if isinstance(spikes, Tensor):
        s = spikes
    else:
        arr = np.asarray(spikes)
        s = _t.tensor(arr.astype(np.uint8)) if arr.dtype in (np.bool_, np.uint8) else _like(arr, w)
    return w._new(_C.grl_spike_matmul(s._h, w._h))


# ------------------------------------------------------------------------------------------------
# Facade ops: Compute().snn (numpy in, numpy out)
# ------------------------------------------------------------------------------------------------


@register_op("snn")
def lif_step(c: VulkanCompute, input, membrane, refractory=None, dt: float = 0.001,
             tau_mem: float = 20.0, v_thresh: float = 1.0, v_rest: float = 0.0,
             v_reset: float = 0.0, r_m: float = 1.0, t_ref: float = 0.0):
    """One LIF step on numpy state (grl_lif_step_): returns (membrane, refractory, spikes) as new
    arrays (float32; the inputs are not changed). refractory None means zeros."""
    v = c._tensor(np.array(membrane, np.float32))
    r = c._tensor(np.zeros(v.shape, np.float32) if refractory is None
                  else np.array(refractory, np.float32))
    i = c._tensor(np.asarray(input, np.float32))
    s = _C.grilly_lif_step_(v._h, r._h, i._h, builtins.float(dt), builtins.float(tau_mem),
                            builtins.float(v_rest), builtins.float(v_reset),
                            builtins.float(v_thresh), builtins.float(r_m), builtins.float(t_ref),
                            -1)
    return v.numpy(), r.numpy(), v._new(s).numpy()


@register_op("snn")
def spiking_node(c: VulkanCompute, x, kind: str = "lif", **options):
    """Spikes [T, ...] of IF / LIF / ALIF neurons over x [T, ...] (grl_spiking_neuron; options as
    grilly.snn.spiking_neuron)."""
    return spiking_neuron(c._tensor(x), **options, kind=kind).numpy()


@register_op("snn")
def synapse_filter(c: VulkanCompute, spikes, current0=None, dt: float = 1.0,
                   tau_syn: float = 5.0, weight: float = 1.0):
    """Exponential synapse currents [T, ...] of spikes [T, ...] (grl_synapse_exp)."""
    s = c._tensor(spikes)
    c0 = None if current0 is None else c._tensor(current0, s.dtype)
    return synapse_exp(s, c0, dt, tau_syn, weight).numpy()


@register_op("snn")
def poisson_encode(c: VulkanCompute, rates, T: int, per_step_ms: float = 0.0, seed: int = 0,
                   offset: int = 0):
    """Poisson spikes [T, ...] of rates (grl_encode_poisson; float32 0/1)."""
    return encode_poisson(c._tensor(rates), T, per_step_ms=per_step_ms, seed=seed,
                          offset=offset).numpy()


@register_op("snn")
def rate_decode(c: VulkanCompute, spikes, window: int = 0):
    """Spike rates [...] of spikes [T, ...] over the last window steps (grl_decode_rate)."""
    return decode_rate(c._tensor(spikes), window).numpy()
