"""grilly.nn.utils: gradient clipping over grl_clip_grad_norm / grl_clip_grad_value."""

from __future__ import annotations

import builtins
from typing import Iterable

from .. import _grilly as _C
from .._tensor import Tensor, _wrap

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _params(parameters) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    return [p for p in parameters if p is not None]


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                    norm_type: float = 2.0) -> Tensor:
    """grl_clip_grad_norm: scales the gradients in place so that their joint norm is at most
    max_norm; returns the norm before clipping (a 0-d float32 tensor, computed on the device)."""
    ps = _params(parameters)
    if not ps:
        from .._tensor import tensor
        return tensor(0.0)
    h = _C.grl_clip_grad_norm([p._h for p in ps], builtins.float(max_norm),
                              builtins.float(norm_type))
    return _wrap(h, ps[0].device)


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """grl_clip_grad_value: clamps every gradient in place to [-clip_value, clip_value]."""
    ps = _params(parameters)
    if ps:
        _C.grl_clip_grad_value([p._h for p in ps], builtins.float(clip_value))
