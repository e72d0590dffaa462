"""grilly.memory: key-value and episodic memory, place, grid and time cells, theta-gamma coding.

Functions over the C family ``memory`` of include/grilly.h (docs/neuro.md, "Memory and
spatial/temporal cells"); the modules ``KVMemory``, ``MemoryPool``, ``MemoryInject`` and
``SparseExpansion``; the device store ``EpisodicMemory`` (grl_episodic_memory); and the facade
ops of ``Compute().memory``.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from . import _grilly as _C
from ._handle import OwnedHandle
from . import _tensor as _t
from ._compute import VulkanCompute, register_op
from ._errors import InvalidArgumentError
from ._tensor import Tensor
from .functional import _h, _like
from .nn.modules import Module, Parameter, _adopt, _init_seed

__all__ = [
    "place_cells", "grid_cells", "time_cells", "time_cells_tuning", "theta_gamma_code",
    "kv_memory_read", "kv_memory_write_", "memory_pool", "memory_inject", "sparse_expansion",
    "EpisodicMemory", "KVMemory", "MemoryPool", "MemoryInject", "SparseExpansion",
]


def _float(x, ref: Tensor | None = None) -> Tensor:
    if ref is not None:
        return _like(x, ref)
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    return _t.tensor(arr if arr.dtype == np.float16 else arr.astype(np.float32, copy=False))


def _choice(value, table: dict, what: str) -> int:
    key = value.lower() if isinstance(value, str) else value
    if key in table:
        return table[key]
    raise InvalidArgumentError(f"grilly.memory: {what} must be one of "
                               f"{', '.join(repr(k) for k in table)}, got {value!r}")


# ------------------------------------------------------------------------------------------------
# Place, grid and time cells; theta-gamma code
# ------------------------------------------------------------------------------------------------


def place_cells(positions, centers, sigma=0.1, max_rate: float = 20.0,
                baseline: float = 0.0) -> Tensor:
    """Place-cell rates baseline + max_rate exp(-||x_b - c_n||^2 / (2 sigma_n^2)) -> [B, N]
    (grl_place_cells). positions [B, D], centers [N, D] (1 <= D <= 8); sigma a number or per-cell
    widths [N]. Differentiable w.r.t. positions, centers and per-cell sigmas."""
    x = _float(positions)
    c = _float(centers, x)
    if isinstance(sigma, (Tensor, np.ndarray, list, tuple)):
        s = _float(sigma, x)   # named: a temporary Tensor would release its handle
        return x._new(_C.grl_place_cells(x._h, c._h, s._h, 1.0, builtins.float(max_rate),
                                         builtins.float(baseline)))
    return x._new(_C.grl_place_cells(x._h, c._h, None, builtins.float(sigma),
                                     builtins.float(max_rate), builtins.float(baseline)))


def grid_cells(positions, spacing, orientation, phase, max_rate: float = 20.0) -> Tensor:
    """Grid-cell rates (three plane waves 60 degrees apart, Solstad et al. 2006) -> [B, N]
    (grl_grid_cells): positions [B, 2], spacing [N], orientation [N] (radians), phase [N, 2].
    Differentiable w.r.t. positions only."""
    x = _float(positions)
    sp, ori, ph = _float(spacing, x), _float(orientation, x), _float(phase, x)
    return x._new(_C.grl_grid_cells(x._h, sp._h, ori._h, ph._h, builtins.float(max_rate)))


def time_cells(t, preferred, sigmas, max_rate: float = 20.0) -> Tensor:
    """Time-cell rates max_rate exp(-(t - t_i)^2 / (2 sigma_i^2)) for times t [...] -> [..., N]
    (grl_time_cells). Differentiable w.r.t. t, preferred and sigmas."""
    tt = _float(t)
    p, s = _float(preferred, tt), _float(sigmas, tt)
    return tt._new(_C.grl_time_cells(tt._h, p._h, s._h, builtins.float(max_rate)))


def time_cells_tuning(n: int, t_min: float, t_max: float, *, log_spaced: bool = True,
                      weber: float = 0.2, dtype=None, device=None) -> tuple:
    """(preferred [n], sigmas [n]) of n time cells: preferred times linear or log-spaced from
    t_min to t_max, widths weber * t_i (grl_time_cells_tuning)."""
    dev = _t._device_of(device)
    d = _t.float32 if dtype is None else _t._to_dtype(dtype)
    p, s = _C.grl_time_cells_tuning(dev._handle(), int(n), builtins.float(t_min),
                                    builtins.float(t_max), int(builtins.bool(log_spaced)),
                                    builtins.float(weber), d.code)
    return _t._wrap(p, dev), _t._wrap(s, dev)


def theta_gamma_code(progress, theta_period: float = 125.0, precession: float | None = 0.0):
    """(phases, times) of a sequence of n items nested in one theta cycle (grl_theta_gamma_code):
    phase_i = mod(2 pi i / n - precession * progress_i, 2 pi) along the last axis of progress
    [..., n], time_i = theta_period phase_i / (2 pi). ``precession`` None means 2 pi / n (each
    item precesses through its own gamma sub-cycle)."""
    p = _float(progress)
    if precession is None:
        precession = 2 * math.pi / p.shape[-1] if p.ndim else 0.0
    phases, times = _C.grl_theta_gamma_code(p._h, builtins.float(theta_period),
                                            builtins.float(precession))
    return p._new(phases), p._new(times)


# ------------------------------------------------------------------------------------------------
# Key-value memory, pooling, injection, sparse expansion
# ------------------------------------------------------------------------------------------------


def kv_memory_read(query, keys, values, tau: float | None = None) -> Tensor:
    """softmax(q k^T / tau) V (grl_kv_memory_read): keys [M, d], values [M, dv] for queries
    [..., d], or batched keys [B, M, d], values [B, M, dv], queries [B, Q, d]. tau None: sqrt(d).
    Differentiable w.r.t. query, keys and values."""
    q = _float(query)
    k, v = _float(keys, q), _float(values, q)
    return q._new(_C.grl_kv_memory_read(q._h, k._h, v._h,
                                        0.0 if tau is None else builtins.float(tau)))


def kv_memory_write_(memory, indices, rows, alpha: float = 1.0) -> Tensor:
    """memory[i_j] <- (1 - alpha) memory[i_j] + alpha rows_j, in place on memory [M, D]
    (grl_kv_memory_write_). Returns ``memory``."""
    if not isinstance(memory, Tensor):
        raise TypeError("grilly.memory.kv_memory_write_: memory must be a grilly.Tensor (it is "
                        f"updated in place), got {type(memory).__name__}")
    idx = indices if isinstance(indices, Tensor) else _t.tensor(
        np.asarray(indices, np.int64), device=memory.device)
    r = _like(rows, memory)
    _C.grl_kv_memory_write_(memory._h, idx._h, r._h, builtins.float(alpha))
    return memory


_POOL = {"mean": _C.GRL_MEMORY_POOL_MEAN, "max": _C.GRL_MEMORY_POOL_MAX,
         "attention": _C.GRL_MEMORY_POOL_ATTENTION}
_INJECT = {"concat": _C.GRL_MEMORY_INJECT_CONCAT, "gated": _C.GRL_MEMORY_INJECT_GATED,
           "mix": _C.GRL_MEMORY_INJECT_MIX, "residual": _C.GRL_MEMORY_INJECT_RESIDUAL}


def memory_pool(x, mode: str = "mean", weight=None, tau: float | None = None) -> Tensor:
    """Pools a set x [B, n, d] to [B, d] (grl_memory_pool): 'mean', 'max' or 'attention'
    (sum_i softmax_i(x_i . w / tau) x_i with weight w [d]; tau None: sqrt(d))."""
    xx = _float(x)
    w = _like(weight, xx)
    return xx._new(_C.grl_memory_pool(xx._h, _choice(mode, _POOL, "mode"), _h(w),
                                      0.0 if tau is None else builtins.float(tau)))


def memory_inject(hidden, memory, mode: str = "gated", gate=None) -> Tensor:
    """Injects a memory readout m into hidden states h (grl_memory_inject): 'concat' [h, m],
    'gated' h + sigmoid(g) m, 'mix' g m + (1 - g) h, 'residual' h + m."""
    h = _float(hidden)
    m, g = _float(memory, h), _like(gate, h)
    return h._new(_C.grl_memory_inject(h._h, m._h, _choice(mode, _INJECT, "mode"), _h(g)))


def sparse_expansion(x, weight, bias=None, k: int = 8) -> Tensor:
    """A k-winners-take-all expansion (grl_sparse_expansion): z = x W^T + b, keep the k largest
    of each row, L2-normalise -> [..., H]. Differentiable with the selection held fixed."""
    xx = _float(x)
    w, b = _float(weight, xx), _like(bias, xx)
    return xx._new(_C.grl_sparse_expansion(xx._h, w._h, _h(b), int(k)))


class KVMemory(Module):
    """A learnable key-value memory of ``n_slots`` slots: forward(q) = softmax(q K^T / tau) V
    (grl_kv_memory_read); ``write(indices, keys, values, alpha)`` blends rows in
    (grl_kv_memory_write_)."""

    def __init__(self, n_slots: int, key_dim: int, value_dim: int, tau: float | None = None,
                 device=None):
        super().__init__()
        self.tau = tau
        dev = _t._device_of(device)
        self.keys = _adopt(_t.randn(int(n_slots), int(key_dim), device=dev)
                           * (1.0 / math.sqrt(key_dim)))
        self.values = _adopt(_t.randn(int(n_slots), int(value_dim), device=dev)
                             * (1.0 / math.sqrt(value_dim)))

    def forward(self, q) -> Tensor:
        return kv_memory_read(q, self.keys, self.values, self.tau)

    def write(self, indices, keys, values, alpha: float = 1.0) -> None:
        """Blends rows into the key and value slots (grl_kv_memory_write_, no autograd)."""
        with _t.no_grad():
            kv_memory_write_(self.keys, indices, keys, alpha)
            kv_memory_write_(self.values, indices, values, alpha)


class MemoryPool(Module):
    """Set pooling [B, n, d] -> [B, d] (grl_memory_pool); mode 'attention' learns w [d]."""

    def __init__(self, dim: int, mode: str = "attention", tau: float | None = None, device=None):
        super().__init__()
        _choice(mode, _POOL, "mode")
        self.mode, self.tau = mode, tau
        if mode == "attention":
            self.weight = Parameter(np.zeros(int(dim), np.float32))
        else:
            self.register_parameter("weight", None)

    def forward(self, x) -> Tensor:
        return memory_pool(x, self.mode, self._parameters.get("weight"), self.tau)


class MemoryInject(Module):
    """Memory injection into hidden states (grl_memory_inject); 'gated' and 'mix' learn a
    per-feature gate [dim] (gated starts at sigmoid(0) = 1/2, mix at 1/2)."""

    def __init__(self, dim: int, mode: str = "gated"):
        super().__init__()
        _choice(mode, _INJECT, "mode")
        self.mode = mode
        if mode in ("gated", "mix"):
            init = 0.0 if mode == "gated" else 0.5
            self.gate = Parameter(np.full(int(dim), init, np.float32))
        else:
            self.register_parameter("gate", None)

    def forward(self, hidden, memory) -> Tensor:
        return memory_inject(hidden, memory, self.mode, self._parameters.get("gate"))


class SparseExpansion(Module):
    """A k-winners-take-all expansion layer in_features -> hidden (grl_sparse_expansion), weight
    as nn.Linear's (grl_init_kaiming_uniform_)."""

    def __init__(self, in_features: int, hidden: int, k: int = 8, bias: bool = True,
                 device=None):
        super().__init__()
        self.k = int(k)
        dev = _t._device_of(device)
        w = _t.empty(int(hidden), int(in_features), device=dev)
        _C.grl_init_kaiming_uniform_(w._h, math.sqrt(5.0), _C.GRL_FAN_IN, _init_seed())
        self.weight = _adopt(w)
        if bias:
            self.bias = Parameter(np.zeros(int(hidden), np.float32))
        else:
            self.register_parameter("bias", None)

    def forward(self, x) -> Tensor:
        return sparse_expansion(x, self.weight, self._parameters.get("bias"), self.k)


# ------------------------------------------------------------------------------------------------
# Episodic memory (grl_episodic_memory)
# ------------------------------------------------------------------------------------------------

_EVICTION = {"oldest": _C.GRL_EPISODIC_EVICT_OLDEST, "fifo": _C.GRL_EPISODIC_EVICT_OLDEST,
             "least_used": _C.GRL_EPISODIC_EVICT_LEAST_USED,
             "lru": _C.GRL_EPISODIC_EVICT_LEAST_USED}


class EpisodicMemory(OwnedHandle):
    """A store of ``capacity`` (key [key_dim], value [value_dim]) float32 pairs on the device
    (grl_episodic_memory_create), read by cosine similarity.

    ``write(keys, values)`` appends, evicting by ``eviction`` ('oldest' or 'least_used') once
    full (grl_episodic_memory_write); ``read(queries, k)`` returns numpy (values [Q, k, dv],
    scores [Q, k], slots [Q, k]) best first and counts a use of each returned slot
    (grl_episodic_memory_read); ``clear()``, ``len()`` / ``size`` (grl_episodic_memory_clear,
    grl_episodic_memory_size), ``usage()`` (grl_episodic_memory_usage). Released by close()
    (grl_episodic_memory_release) or when collected; ``copy.copy()`` gives a second owner of the
    same store (grl_episodic_memory_retain).
    """

    _release_fn = "grl_episodic_memory_release"
    _retain_fn = "grl_episodic_memory_retain"
    _closed_message = "grilly.memory.EpisodicMemory: the memory was closed"

    def __init__(self, capacity: int, key_dim: int, value_dim: int | None = None,
                 eviction: str = "oldest", device=None):
        self._h = None
        self.device = _t._device_of(device)
        self.capacity, self.key_dim = int(capacity), int(key_dim)
        self.value_dim = self.key_dim if value_dim is None else int(value_dim)
        self.eviction = eviction
        self._h = _C.grl_episodic_memory_create(self.device._handle(), self.capacity,
                                                self.key_dim, self.value_dim,
                                                _choice(eviction, _EVICTION, "eviction"))


    def _rows(self, x, width: int) -> Tensor:
        t = x if isinstance(x, Tensor) else _t.tensor(np.asarray(x, np.float32),
                                                      device=self.device)
        if t.ndim == 1 and t.shape[0] == width:
            t = t.reshape(1, width)
        return t

    def write(self, keys, values) -> None:
        """Appends K pairs: keys [K, key_dim], values [K, value_dim] (grl_episodic_memory_write)."""
        k, v = self._rows(keys, self.key_dim), self._rows(values, self.value_dim)
        _C.grl_episodic_memory_write(self._handle(), k._h, v._h)

    def read_tensors(self, queries, k: int = 1) -> tuple:
        """read() with the results left on the device (grl_episodic_memory_read)."""
        q = self._rows(queries, self.key_dim)
        v, s, i = _C.grl_episodic_memory_read(self._handle(), q._h, int(k))
        return q._new(v), q._new(s), q._new(i)

    def read(self, queries, k: int = 1) -> tuple:
        """(values [Q, k, value_dim], scores [Q, k], slots [Q, k] int64) of the k stored items
        most cosine-similar to each query [Q, key_dim], best first, as numpy arrays
        (grl_episodic_memory_read)."""
        return tuple(t.numpy() for t in self.read_tensors(queries, k))

    def clear(self) -> None:
        """Empties the store (grl_episodic_memory_clear)."""
        _C.grl_episodic_memory_clear(self._handle())

    @property
    def size(self) -> int:
        """The number of stored items (grl_episodic_memory_size)."""
        return _C.grl_episodic_memory_size(self._handle())

    def __len__(self):
        return self.size

    def usage(self) -> np.ndarray:
        """The usage counts of the slots [capacity] as int32 (grl_episodic_memory_usage)."""
        return _t._wrap(_C.grl_episodic_memory_usage(self._handle()), self.device).numpy()

    def __repr__(self):
        if self._h is None:
            return "grilly.memory.EpisodicMemory(closed)"
        return (f"grilly.memory.EpisodicMemory(capacity={self.capacity}, key_dim={self.key_dim}, "
                f"value_dim={self.value_dim}, size={self.size}, eviction={self.eviction!r})")


# ------------------------------------------------------------------------------------------------
# Facade ops: Compute().memory (numpy in, numpy out)
# ------------------------------------------------------------------------------------------------


@register_op("memory", "place_cells")
def _place_cells_facade(c: VulkanCompute, positions, centers, sigma=0.1, max_rate: float = 20.0,
                        baseline: float = 0.0):
    """Place-cell rates [B, N] (grl_place_cells)."""
    x = c._tensor(positions)
    s = c._tensor(sigma, x.dtype) if np.ndim(sigma) else sigma
    return place_cells(x, c._tensor(centers, x.dtype), s, max_rate, baseline).numpy()


@register_op("memory", "time_cells")
def _time_cells_facade(c: VulkanCompute, t, preferred, sigmas, max_rate: float = 20.0):
    """Time-cell rates [..., N] (grl_time_cells)."""
    tt = c._tensor(t)
    return time_cells(tt, c._tensor(preferred, tt.dtype), c._tensor(sigmas, tt.dtype),
                      max_rate).numpy()


@register_op("memory", "theta_gamma_encoding")
def _theta_gamma_facade(c: VulkanCompute, progress, theta_period: float = 125.0,
                        precession: float | None = 0.0):
    """(phases, times) of the theta-gamma code (grl_theta_gamma_code)."""
    p, t = theta_gamma_code(c._tensor(progress), theta_period, precession)
    return p.numpy(), t.numpy()


@register_op("memory", "memory_read")
def _kv_read_facade(c: VulkanCompute, query, keys, values, tau: float | None = None):
    """softmax(q K^T / tau) V (grl_kv_memory_read)."""
    q = c._tensor(query)
    return kv_memory_read(q, c._tensor(keys, q.dtype), c._tensor(values, q.dtype), tau).numpy()
