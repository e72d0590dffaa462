"""grilly.autograd: custom differentiable functions (grl_custom_apply), grad mode, rule names.

``Function`` mirrors torch.autograd.Function: subclass it with static ``forward(ctx, *args)`` and
``backward(ctx, grad_output)`` and call ``MyFn.apply(*args)``. The core runs forward with grad mode
off and, when an input requires gradients, records a node whose backward calls the Python
``backward`` (the SWIG shim in grilly.i reacquires the GIL for both). An exception raised in
either becomes the error of the C call (grl_custom_apply or grl_tensor_backward), with the
Python exception chained as its ``__cause__``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _grilly as _C
from . import _tensor as _t
from ._device import Device
from ._tensor import Tensor, enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = ["Function", "FunctionCtx", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "rule_names", "backward"]


class FunctionCtx:
    """The ``ctx`` of a Function: ``save_for_backward(*tensors)`` keeps tensors for backward
    (``ctx.saved_tensors``); any other attribute may be set freely. ``needs_input_grad`` says,
    per argument of forward, whether it requires gradients."""

    def __init__(self, needs_input_grad: tuple):
        self.needs_input_grad = needs_input_grad
        self._saved: tuple = ()

    def save_for_backward(self, *tensors) -> None:
        # Detached aliases (grl_tensor_detach: same data, outside autograd): saving the output
        # itself would otherwise make its node hold itself alive through this context.
        self._saved = tuple(t.detach() if isinstance(t, Tensor) else t for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        return self._saved


def _device_of_handle(h, candidates) -> Device:
    """The grilly.Device of a tensor handle (grl_tensor_device): one of the candidates' devices
    when it matches, else a new Device object holding its own reference (grl_device_retain)."""
    dh = _C.grl_tensor_device(h)
    for dev in candidates:
        if dev._h is not None and int(dev._h) == int(dh):
            return dev
    _C.grl_device_retain(dh)
    dev = Device.__new__(Device)
    dev._h, dev._info = dh, None
    return dev


def _borrowed(h, candidates) -> Tensor:
    """A Tensor owning a new reference (grl_tensor_retain) to a handle the core lends us."""
    _C.grl_tensor_retain(h)
    return _t._wrap(h, _device_of_handle(h, candidates))


class _Node:
    """What the C shim calls: _forward(input handles) and _backward(grad handle, input handles).
    It lives as long as the core's autograd node (the shim holds a reference)."""

    __slots__ = ("cls", "args", "kwargs", "positions", "ctx", "devices")

    def __init__(self, cls, args, kwargs, positions):
        self.cls, self.args, self.kwargs, self.positions = cls, args, kwargs, positions
        self.devices = [args[i].device for i in positions]
        self.ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))

    def _forward(self, handles) -> Tensor:
        out = self.cls.forward(self.ctx, *self.args, **self.kwargs)
        if not isinstance(out, Tensor):
            ref = self.args[self.positions[0]] if self.positions else None
            out = _t.tensor(np.asarray(out), device=None if ref is None else ref.device)
        same = (a for a in self.args if isinstance(a, Tensor) and a._h is not None)
        if any(out is a or int(a._h) == int(out._h) for a in same):
            # The core records its node on the returned tensor: an input returned as it is
            # would itself become the node's output (a leaf no more), so return an alias.
            out = out.detach()
        # Inputs are only needed for forward; dropping them lets their storage go early.
        self.args = tuple(None if isinstance(a, Tensor) else a for a in self.args)
        return out

    def _backward(self, grad_handle, input_handles) -> list:
        g = _borrowed(grad_handle, self.devices)
        grads = self.cls.backward(self.ctx, g)
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        n_args = len(self.ctx.needs_input_grad)
        if len(grads) != n_args:
            raise ValueError(f"{self.cls.__name__}.backward returned {len(grads)} gradients; "
                             f"expected {n_args} (one per argument of forward, None where "
                             "there is none)")
        result = []
        for pos in self.positions:
            gi = grads[pos]
            if gi is not None and not isinstance(gi, Tensor):
                gi = _t.tensor(np.asarray(gi), dtype=g.dtype, device=g.device)
            result.append(gi)
        return result


class Function:
    """Base of custom differentiable functions (torch.autograd.Function) over grl_custom_apply.

    Subclasses define ``forward(ctx, *args, **kwargs)`` returning one Tensor and
    ``backward(ctx, grad_output)`` returning one gradient per argument of forward (None for
    arguments that are not Tensors or need none), both as static methods. Tensor arguments are
    the inputs of the recorded node; the other arguments are passed through unchanged.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Tensor:
        raise NotImplementedError("grilly.autograd.Function: define a static forward(ctx, ...)")

    @staticmethod
    def backward(ctx: FunctionCtx, grad_output: Tensor):
        raise NotImplementedError("grilly.autograd.Function: define a static "
                                  "backward(ctx, grad_output)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        """Runs forward through grl_custom_apply and records the node for backward."""
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        node = _Node(cls, args, kwargs, positions)
        devices = node.devices
        h = _C.grilly_custom_apply(node, cls.__name__, [args[i]._h for i in positions])
        return _t._wrap(h, _device_of_handle(h, devices or [_t._device_of(None)]))


def rule_names() -> list[str]:
    """Names of the ops that have a backward rule (grl_autograd_rule_count /
    grl_autograd_rule_name)."""
    return [_C.grl_autograd_rule_name(i) for i in range(_C.grl_autograd_rule_count())]


def backward(tensors, grad_tensors=None, retain_graph: bool = False) -> None:
    """torch.autograd.backward: Tensor.backward (grl_tensor_backward) for each tensor."""
    if isinstance(tensors, Tensor):
        tensors, grad_tensors = [tensors], [grad_tensors]
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    for t, g in zip(tensors, grad_tensors):
        t.backward(g, retain_graph=retain_graph)
