"""grilly.amp: mixed precision over the core's float16/bfloat16 tensors and grl_cast.

Owns ``autocast`` (which ops run in the reduced dtype and which in float32) and ``GradScaler``
(loss scaling with a device-side inf/NaN check).

Under ``autocast(dtype)`` (per thread, like PyTorch), as PyTorch's CUDA autocast lists do:
  - reduced dtype: ``F.linear`` (so ``nn.Linear``), ``@`` / ``matmul``, ``F.bmm`` / ``Tensor.bmm``:
    floating inputs are cast (grl_cast, differentiable) to ``dtype`` and the result has ``dtype``;
    the core accumulates f16/bf16 products in f32.
  - float32: ``softmax``, ``log_softmax``, ``logsumexp``, ``sum``, ``norm``, ``F.layer_norm``,
    ``F.rms_norm`` and the losses (``cross_entropy``, ``nll_loss``, ``mse_loss``, ``l1_loss``,
    ``binary_cross_entropy_with_logits`` and the other ``*_loss`` of grilly.functional): f16/bf16
    inputs are cast up to float32, so these compute and return float32.
  - promotion: a binary operator (+ - * / ** comparisons) between floating tensors of different
    dtypes casts both to float32 (outside autocast it is a DTypeError, as the core requires).
Gradients flow back through the casts, so float32 parameters get float32 gradients.

The hooks are installed into grilly.functional and grilly.Tensor on the first ``autocast`` entry
and cost one thread-local lookup per wrapped call outside autocast.
"""

from __future__ import annotations

import functools
import math
import threading
from typing import Any, Callable, Iterable

from . import _tensor as _t
from . import functional as _F
from ._errors import DTypeError, InvalidArgumentError
from ._tensor import Tensor, bfloat16, float16, float32

__all__ = ["autocast", "GradScaler", "is_autocast_enabled", "get_autocast_dtype"]

_state = threading.local()
_install_lock = threading.Lock()
_installed = False

_LOW_FUNCTIONAL = ("linear", "bmm")
_F32_FUNCTIONAL = ("layer_norm", "rms_norm", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
                   "binary_cross_entropy_with_logits", "binary_cross_entropy", "smooth_l1_loss",
                   "huber_loss", "kl_div", "cosine_embedding_loss", "margin_ranking_loss",
                   "triplet_margin_loss", "contrastive_loss")
_F32_METHODS = ("softmax", "log_softmax", "logsumexp", "sum", "norm")
_FLOATS = (float32, float16, bfloat16)


def get_autocast_dtype():
    """The reduced dtype of the innermost active autocast on this thread, or None."""
    return getattr(_state, "dtype", None)


def is_autocast_enabled() -> bool:
    return getattr(_state, "dtype", None) is not None


def _state_key():
    d = getattr(_state, "dtype", None)
    return None if d is None else d.name


# ------------------------------------------------------------------------------------------------
# casting rules
# ------------------------------------------------------------------------------------------------


def _to(x, d):
    if isinstance(x, Tensor) and x.dtype in _FLOATS and x.dtype is not d:
        return x.to(d)
    return x


def _up(x):
    if isinstance(x, Tensor) and x.dtype in (float16, bfloat16):
        return x.to(float32)
    return x


def _low_op(orig: Callable) -> Callable:
    @functools.wraps(orig)
    def wrapper(*args, **kwargs):
        d = getattr(_state, "dtype", None)
        if d is None:
            return orig(*args, **kwargs)
        # The first operand may be a numpy array: make it a tensor so that it is cast too.
        if args and not isinstance(args[0], Tensor) and args[0] is not None:
            args = (_t.as_tensor(args[0]),) + args[1:]
        args = tuple(_to(a, d) for a in args)
        kwargs = {k: _to(v, d) for k, v in kwargs.items()}
        return orig(*args, **kwargs)
    wrapper._grilly_autocast_original = orig
    return wrapper


def _f32_op(orig: Callable) -> Callable:
    @functools.wraps(orig)
    def wrapper(*args, **kwargs):
        if getattr(_state, "dtype", None) is None:
            return orig(*args, **kwargs)
        args = tuple(_up(a) for a in args)
        kwargs = {k: _up(v) for k, v in kwargs.items()}
        return orig(*args, **kwargs)
    wrapper._grilly_autocast_original = orig
    return wrapper


def _promote_op(orig: Callable) -> Callable:
    @functools.wraps(orig)
    def wrapper(self, other, *rest):
        if (getattr(_state, "dtype", None) is not None and isinstance(other, Tensor)
                and other.dtype is not self.dtype and self.dtype in _FLOATS
                and other.dtype in _FLOATS):
            return orig(self.to(float32), other.to(float32), *rest)
        return orig(self, other, *rest)
    wrapper._grilly_autocast_original = orig
    return wrapper


def _install() -> None:
    """Wraps the ops autocast changes, once per process."""
    global _installed
    with _install_lock:
        if _installed:
            return
        for name in _LOW_FUNCTIONAL:
            if callable(getattr(_F, name, None)):
                setattr(_F, name, _low_op(getattr(_F, name)))
        for name in _F32_FUNCTIONAL:
            if callable(getattr(_F, name, None)):
                setattr(_F, name, _f32_op(getattr(_F, name)))
        for name in ("__matmul__", "__rmatmul__", "bmm"):
            if callable(getattr(Tensor, name, None)):
                setattr(Tensor, name, _low_op(getattr(Tensor, name)))
        for name in _F32_METHODS:
            if callable(getattr(Tensor, name, None)):
                setattr(Tensor, name, _f32_op(getattr(Tensor, name)))
        # Every binary operator of Tensor goes through these two helpers.
        for name in ("_binary", "_rbinary"):
            if callable(getattr(Tensor, name, None)):
                setattr(Tensor, name, _promote_op(getattr(Tensor, name)))
        _installed = True


class autocast:
    """Context manager and decorator: run matmul-like ops in ``dtype`` (float16 or bfloat16)
    and precision-sensitive ops in float32 on this thread (see the module docstring).

        with grilly.amp.autocast(dtype=grilly.float16):
            loss = F.cross_entropy(model(x), y)   # linear in f16, the loss in f32
        scaler.scale(loss).backward()            # outside autocast, as in PyTorch
    """

    def __init__(self, dtype=float16, enabled: bool = True):
        d = _t._to_dtype(dtype)
        if d not in (float16, bfloat16):
            raise DTypeError(f"grilly.amp.autocast: dtype must be float16 or bfloat16, got {d!r}")
        self.dtype = d
        self.enabled = bool(enabled)
        self._prev: list = []

    def __enter__(self) -> "autocast":
        _install()
        self._prev.append(getattr(_state, "dtype", None))
        _state.dtype = self.dtype if self.enabled else None
        return self

    def __exit__(self, *exc) -> bool:
        _state.dtype = self._prev.pop()
        return False

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.dtype, self.enabled):
                return fn(*args, **kwargs)
        return wrapper


# ------------------------------------------------------------------------------------------------
# GradScaler
# ------------------------------------------------------------------------------------------------

_READY, _UNSCALED, _STEPPED = 0, 1, 2


def _params_of(optimizer) -> list:
    params = []
    for group in optimizer.param_groups:
        params.extend(group["params"])
    return params


class GradScaler:
    """Loss scaling for float16 training, with torch.cuda.amp.GradScaler's interface.

    ``scale(loss)`` multiplies by the scale (grl_mul_scalar); ``unscale_(opt)`` multiplies every
    gradient by 1/scale and checks them for inf/NaN with one device reduction (grl_abs, grl_max,
    grl_stack) and a single 4-byte read; ``step(opt)`` unscales if needed and skips
    ``opt.step()`` when a non-finite gradient was found; ``update()`` halves the scale
    (``backoff_factor``) after a skipped step and doubles it (``growth_factor``) after
    ``growth_interval`` steps in a row without one.

    ``step`` reads one value on the host (whether to skip), so it cannot run inside a function
    traced with grilly.jit: trace the forward and backward, and call the scaler outside.
    """

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True):
        if not init_scale > 0 or not math.isfinite(init_scale):
            raise InvalidArgumentError(f"grilly.amp.GradScaler: init_scale must be finite and > 0, "
                                       f"got {init_scale}")
        if not growth_factor > 1.0:
            raise InvalidArgumentError(f"grilly.amp.GradScaler: growth_factor must be > 1, got "
                                       f"{growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise InvalidArgumentError(f"grilly.amp.GradScaler: backoff_factor must be in (0, 1), "
                                       f"got {backoff_factor}")
        if int(growth_interval) < 1:
            raise InvalidArgumentError(f"grilly.amp.GradScaler: growth_interval must be >= 1, got "
                                       f"{growth_interval}")
        self._enabled = bool(enabled)
        self._scale = float(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._per_optimizer: dict[int, dict] = {}

    # -- scaling -----------------------------------------------------------------------------
    def scale(self, outputs):
        """outputs * scale (a Tensor, or a list/tuple of them); unchanged when disabled."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise TypeError(f"grilly.amp.GradScaler.scale: expected a Tensor or a list of them, got "
                        f"{type(outputs).__name__}")

    def _state_for(self, optimizer) -> dict:
        return self._per_optimizer.setdefault(id(optimizer), {"stage": _READY, "found_inf": False})

    def unscale_(self, optimizer) -> None:
        """Divides the optimizer's gradients by the scale in place (replacing each .grad through
        grl_tensor_set_grad) and records whether any is inf or NaN."""
        if not self._enabled:
            return
        st = self._state_for(optimizer)
        if st["stage"] == _UNSCALED:
            raise RuntimeError("grilly.amp.GradScaler.unscale_() was already called on this "
                               "optimizer since the last update()")
        if st["stage"] == _STEPPED:
            raise RuntimeError("grilly.amp.GradScaler.unscale_() is being called after step()")
        st["found_inf"] = self._unscale_and_check(_params_of(optimizer), 1.0 / self._scale)
        st["stage"] = _UNSCALED

    @staticmethod
    def _unscale_and_check(params: Iterable, inv_scale: float) -> bool:
        peaks = []
        with _t.no_grad():
            for p in params:
                g = p.grad
                if g is None:
                    continue
                g = g * inv_scale
                p.grad = g
                # max |g| is inf for an inf and NaN for a NaN (grl_max propagates NaN).
                peaks.append(g.abs().amax().to(float32))
            if not peaks:
                return False
            worst = _t.stack(peaks).amax() if len(peaks) > 1 else peaks[0]
            return not math.isfinite(worst.item())

    def step(self, optimizer, *args, **kwargs):
        """Unscales (if unscale_ was not called) and runs optimizer.step() unless a gradient
        was inf/NaN; returns what optimizer.step returned, or None when skipped."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        st = self._state_for(optimizer)
        if st["stage"] == _STEPPED:
            raise RuntimeError("grilly.amp.GradScaler.step() was already called on this "
                               "optimizer since the last update()")
        if st["stage"] == _READY:
            self.unscale_(optimizer)
        result = None
        if not st["found_inf"]:
            result = optimizer.step(*args, **kwargs)
        st["stage"] = _STEPPED
        return result

    def update(self, new_scale: float | None = None) -> None:
        """Backs the scale off after a skipped step, grows it after growth_interval good steps
        (or sets new_scale); resets the per-optimizer state for the next iteration."""
        if not self._enabled:
            return
        if new_scale is not None:
            if isinstance(new_scale, Tensor):
                new_scale = new_scale.item()
            self._scale = float(new_scale)
            self._growth_tracker = 0
        else:
            found = any(st["found_inf"] for st in self._per_optimizer.values()
                        if st["stage"] != _READY)
            if found:
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    self._scale *= self._growth_factor
                    self._growth_tracker = 0
        self._per_optimizer.clear()

    # -- accessors ---------------------------------------------------------------------------
    def get_scale(self) -> float:
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def is_enabled(self) -> bool:
        return self._enabled

    def found_inf(self, optimizer) -> bool:
        """Whether the last unscale_ of this optimizer found an inf or NaN gradient."""
        return bool(self._per_optimizer.get(id(optimizer), {}).get("found_inf", False))

    def state_dict(self) -> dict[str, Any]:
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not self._enabled:
            return
        if not state:
            raise RuntimeError("grilly.amp.GradScaler.load_state_dict: the state dict is empty "
                               "(it came from a disabled scaler)")
        self._scale = float(state["scale"])
        self._growth_factor = float(state["growth_factor"])
        self._backoff_factor = float(state["backoff_factor"])
        self._growth_interval = int(state["growth_interval"])
        self._growth_tracker = int(state["_growth_tracker"])
