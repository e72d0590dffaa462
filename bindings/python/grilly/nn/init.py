"""grilly.nn.init: torch.nn.init's initialisers over grl_init_* and the Philox generator.

Seeds come from the global generator (grilly.manual_seed), so a seeded program initialises the
same way every run. Every function writes into the tensor in place and returns it.
"""

from __future__ import annotations

import builtins
import math

from .. import _grilly as _C
from .. import _tensor as _t
from .. import functional as _F
from .._errors import InvalidArgumentError
from .._tensor import Tensor
from .modules import _init_seed

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]

_MODES = {"fan_in": _C.GRL_FAN_IN, "fan_out": _C.GRL_FAN_OUT}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """torch.nn.init.calculate_gain."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else builtins.float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise InvalidArgumentError(f"grilly.nn.init.calculate_gain: unsupported nonlinearity "
                               f"{nonlinearity!r}")


def _checked(t: Tensor):
    """Grad mode off for the in-place write (parameters require gradients), after a type check."""
    if not isinstance(t, Tensor):
        raise TypeError(f"grilly.nn.init: expected a grilly.Tensor, got {type(t).__name__}")
    return _t.no_grad()


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """U(a, b) (grl_rand_uniform, copied in with grl_copy_)."""
    with _checked(tensor):
        tensor.copy_(_F.uniform(tensor.shape, a, b, dtype=tensor.dtype, device=tensor.device))
    return tensor


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """N(mean, std^2) (grl_rand_normal, copied in with grl_copy_)."""
    with _checked(tensor):
        tensor.copy_(_F.normal(mean, std, tensor.shape, dtype=tensor.dtype,
                               device=tensor.device))
    return tensor


def constant_(tensor: Tensor, val: float) -> Tensor:
    """grl_tensor_fill_ (with grad mode off, so parameters can be filled)."""
    with _checked(tensor):
        tensor.fill_(val)
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    """grl_tensor_fill_ with 0."""
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """grl_tensor_fill_ with 1."""
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """grl_init_xavier_uniform_: U(-a, a), a = gain sqrt(6 / (fan_in + fan_out))."""
    with _checked(tensor):
        _C.grl_init_xavier_uniform_(tensor._h, builtins.float(gain), _init_seed())
    return tensor


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """grl_init_xavier_normal_: N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out))."""
    with _checked(tensor):
        _C.grl_init_xavier_normal_(tensor._h, builtins.float(gain), _init_seed())
    return tensor


def _kaiming_slope(a: float, nonlinearity: str) -> float:
    """The core takes the leaky_relu slope a (gain sqrt(2 / (1 + a^2))); other nonlinearities
    map to the slope giving their gain, which exists for gains up to sqrt(2)."""
    if nonlinearity == "leaky_relu":
        return builtins.float(a)
    gain = calculate_gain(nonlinearity, a)
    if gain > math.sqrt(2.0) + 1e-12:
        raise InvalidArgumentError(f"grilly.nn.init.kaiming: nonlinearity {nonlinearity!r} has "
                                   f"gain {gain:.4g} > sqrt(2), which grl_init_kaiming_* cannot "
                                   "express; use normal_/uniform_ with your std")
    return math.sqrt(builtins.max(2.0 / (gain * gain) - 1.0, 0.0))


def _mode(mode: str) -> int:
    try:
        return _MODES[mode]
    except KeyError:
        raise InvalidArgumentError(f"grilly.nn.init: mode must be 'fan_in' or 'fan_out', got "
                                   f"{mode!r}") from None


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """grl_init_kaiming_uniform_: U(-b, b), b = gain sqrt(3 / fan)."""
    with _checked(tensor):
        _C.grl_init_kaiming_uniform_(tensor._h, _kaiming_slope(a, nonlinearity), _mode(mode),
                                     _init_seed())
    return tensor


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    """grl_init_kaiming_normal_: N(0, std^2), std = gain / sqrt(fan)."""
    with _checked(tensor):
        _C.grl_init_kaiming_normal_(tensor._h, _kaiming_slope(a, nonlinearity), _mode(mode),
                                    _init_seed())
    return tensor
