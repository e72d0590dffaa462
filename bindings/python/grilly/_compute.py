"""Backend facades of the original grilly API: grilly.Compute / VulkanCompute, numpy in, numpy out.

Owns the facade class, its op namespaces (``fnn`` today) and the registry they are built from.
Each facade op uploads its numpy arguments to the facade's device, runs the grilly op (the C
function is named in its docstring) and downloads the result as a numpy array.

Extension point: op families added to the C core (spiking neurons, learning rules, attention)
register facade ops with ``register_op("snn", "lif_step")(fn)``; ``Compute().snn`` then exists
and ``Compute().lif_step`` is its alias. ``fn(compute, *args, **kwargs)`` gets the facade first
(its ``device`` and ``_tensor`` helper).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import _tensor as _t
from . import functional as F
from ._device import Device, default_device
from ._errors import NoDeviceError

__all__ = ["VulkanCompute", "Compute", "register_op", "registered_ops", "vulkan_available"]

# namespace -> {op name: fn(compute, *args, **kwargs)}
_REGISTRY: dict[str, dict[str, Callable]] = {}


def register_op(namespace: str, name: str | None = None) -> Callable[[Callable], Callable]:
    """Decorator adding a facade op to ``Compute().<namespace>`` (and as ``Compute().<name>``
    when no other namespace registered that name first)."""
    def deco(fn: Callable) -> Callable:
        _REGISTRY.setdefault(namespace, {})[name or fn.__name__] = fn
        return fn
    return deco


def registered_ops() -> dict[str, list[str]]:
    """The facade's namespaces and their op names."""
    return {ns: sorted(ops) for ns, ops in _REGISTRY.items()}


def vulkan_available() -> bool:
    """Whether a Vulkan loader and at least one device exist (grl_device_count > 0)."""
    from ._device import device_count
    try:
        return device_count() > 0
    except NoDeviceError:
        return False


class _Namespace:
    """Compute().fnn and friends: the registered ops of one namespace bound to a facade."""

    def __init__(self, compute: "VulkanCompute", name: str):
        self._compute = compute
        self._name = name

    def __getattr__(self, op: str):
        ops = _REGISTRY.get(self._name, {})
        if op not in ops:
            raise AttributeError(f"grilly.Compute().{self._name} has no op '{op}' (it has: "
                                 f"{', '.join(sorted(ops)) or 'none'})")
        fn = ops[op]
        compute = self._compute

        def bound(*args, **kwargs):
            return fn(compute, *args, **kwargs)
        bound.__name__ = op
        bound.__doc__ = fn.__doc__
        return bound

    def __dir__(self):
        return sorted(_REGISTRY.get(self._name, {}))

    def __repr__(self):
        return f"<grilly.Compute().{self._name}: {', '.join(dir(self))}>"


class VulkanCompute:
    """The original grilly backend object: ops on numpy arrays run on one Vulkan device.

    ``VulkanCompute()`` uses the default device (grl_device_create's automatic choice);
    ``VulkanCompute(device=grilly.Device(1))`` or ``VulkanCompute(index=1)`` picks one.
    """

    def __init__(self, device: Device | None = None, index: int | None = None,
                 name: str | None = None):
        if device is None:
            device = default_device() if index is None and name is None else Device(index, name)
        self.device = device

    @property
    def device_name(self) -> str:
        """The device's name (grl_device_get_info)."""
        return self.device.name

    def _tensor(self, x, dtype=None) -> _t.Tensor:
        """x on this facade's device (float arrays as float32 unless dtype says otherwise)."""
        if isinstance(x, _t.Tensor) and x.device == self.device:
            return x
        arr = np.asarray(x)
        if dtype is None and arr.dtype.kind == "f" and arr.dtype != np.float16:
            dtype = _t.float32
        return _t.tensor(arr, dtype=dtype, device=self.device)

    def __getattr__(self, attr: str):
        # Namespaces first (compute.fnn), then a flat alias for every registered op
        # (compute.lif_step as in the original API).
        if attr.startswith("_"):
            raise AttributeError(attr)
        if attr in _REGISTRY:
            return _Namespace(self, attr)
        for ns, ops in _REGISTRY.items():
            if attr in ops:
                return getattr(_Namespace(self, ns), attr)
        raise AttributeError(f"'{type(self).__name__}' has no attribute '{attr}' (namespaces: "
                             f"{', '.join(sorted(_REGISTRY))})")

    def __dir__(self):
        names = set(super().__dir__()) | set(_REGISTRY)
        for ops in _REGISTRY.values():
            names |= set(ops)
        return sorted(names)

    def synchronize(self) -> None:
        """grl_device_synchronize."""
        self.device.synchronize()

    def __repr__(self):
        return f"grilly.Compute(device={self.device_name!r})"


Compute = VulkanCompute


# ------------------------------------------------------------------------------------------------
# fnn: feed-forward network ops
# ------------------------------------------------------------------------------------------------


@register_op("fnn")
def linear(c: VulkanCompute, x, weight, bias=None) -> np.ndarray:
    """x @ weight.T + bias (grl_linear); weight [out, in], bias [out] or None."""
    tx = c._tensor(x)
    return F.linear(tx, c._tensor(weight, tx.dtype),
                    None if bias is None else c._tensor(bias, tx.dtype)).numpy()


@register_op("fnn")
def activation_relu(c: VulkanCompute, x) -> np.ndarray:
    """max(x, 0) (grl_relu)."""
    return F.relu(c._tensor(x)).numpy()


@register_op("fnn")
def activation_gelu(c: VulkanCompute, x, approximate: str = "none") -> np.ndarray:
    """GELU (grl_gelu; approximate 'none' uses erf, 'tanh' the tanh form)."""
    return F.gelu(c._tensor(x), approximate=approximate).numpy()


@register_op("fnn")
def activation_silu(c: VulkanCompute, x) -> np.ndarray:
    """x * sigmoid(x) (grl_silu)."""
    return F.silu(c._tensor(x)).numpy()


@register_op("fnn")
def softmax(c: VulkanCompute, x, axis: int = -1) -> np.ndarray:
    """Softmax along axis (grl_softmax)."""
    return F.softmax(c._tensor(x), axis).numpy()


@register_op("fnn")
def layernorm(c: VulkanCompute, x, gamma=None, beta=None, eps: float = 1e-5) -> np.ndarray:
    """Layer normalisation over the last axis with scale gamma and shift beta (grl_layer_norm)."""
    tx = c._tensor(x)
    g = None if gamma is None else c._tensor(gamma, tx.dtype)
    b = None if beta is None else c._tensor(beta, tx.dtype)
    return F.layer_norm(tx, (tx.shape[-1],), g, b, eps).numpy()
