"""grilly.utils: helpers of the original grilly API (numpy <-> device transfers, device listing
and selection, factories) and the data utilities (grilly.utils.data) and progress bar.
"""

from __future__ import annotations

import numpy as np

from .._device import Device, default_device, devices, set_default_device
from .._tensor import Tensor, randn, tensor, zeros
from ._progress import ProgressBar, progress
from . import data  # noqa: F401

__all__ = ["VulkanTensor", "to_vulkan", "from_vulkan", "list_devices", "select_device",
           "get_device", "tensor", "zeros", "randn", "progress", "ProgressBar", "data"]

VulkanTensor = Tensor
"""The original grilly name of a device tensor: grilly.Tensor (a grl_tensor handle)."""


def to_vulkan(array, dtype=None, device: Device | None = None) -> Tensor:
    """A device copy of a numpy array (grl_tensor_from_host); float64 becomes float32."""
    return tensor(array, dtype=dtype, device=device)


def from_vulkan(t) -> np.ndarray:
    """A host copy of a device tensor as numpy (grl_tensor_download); arrays pass through."""
    if isinstance(t, Tensor):
        return t.numpy()
    return np.asarray(t)


def list_devices() -> list[dict]:
    """Every Vulkan device, unopened (grl_device_count, grl_device_describe): name, index, type,
    vendor_id, memory, fp16/bf16 support..."""
    return devices()


def select_device(device: int | str | Device | None = None) -> Device:
    """Makes a device the default for new tensors and returns it: an index of list_devices(), a
    substring of its name, an open Device, or None for the automatic choice
    (grl_device_create)."""
    if isinstance(device, Device):
        dev = device
    elif device is None:
        dev = Device()
    elif isinstance(device, str):
        dev = Device(name=device)
    else:
        dev = Device(index=int(device))
    set_default_device(dev)
    return dev


def get_device() -> Device:
    """The default device (opened on first use)."""
    return default_device()
