"""Devices: grilly.Device owns a grl_device handle; a default device is opened on first use.

Wraps grl_device_create, grl_device_get_info, grl_device_memory_stats, grl_device_synchronize,
grl_device_empty_cache, grl_device_count and grl_device_describe.
"""

from __future__ import annotations

import threading

from . import _grilly as _C

_TYPE_NAMES = {0: "other", 1: "integrated_gpu", 2: "discrete_gpu", 3: "virtual_gpu", 4: "cpu"}


def _describe(info: dict) -> dict:
    info = dict(info)
    info["type"] = _TYPE_NAMES.get(info["type"], "other")
    return info


class Device:
    """An open Vulkan device (grl_device_create).

    ``index`` picks a device of the enumeration (see grilly.devices()), ``name`` the first whose
    name contains it; neither: automatic choice (discrete GPU, integrated, virtual, then CPU;
    VK_GPU_INDEX / VK_GPU_NAME apply). ``allow_cpu`` and ``validation`` default to the
    environment (ALLOW_CPU_VULKAN, GRILLY_VALIDATION). The handle is released by close() or when
    the object is collected; tensors keep their device alive inside the core.
    """

    __slots__ = ("_h", "_info", "__weakref__")

    def __init__(self, index: int | None = None, name: str | None = None, *,
                 allow_cpu: bool | None = None, validation: bool | None = None):
        self._h = None
        self._info = None
        self._h = _C.grilly_device_create(
            -1 if index is None else int(index), name,
            -1 if allow_cpu is None else int(bool(allow_cpu)),
            -1 if validation is None else int(bool(validation)))

    def close(self) -> None:
        """Drops this object's reference (grl_device_release); idempotent."""
        h, self._h = self._h, None
        if h is not None and _C is not None:
            _C.grl_device_release(h)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _handle(self):
        if self._h is None:
            from ._errors import NullArgumentError
            raise NullArgumentError("grilly.Device: the device was closed")
        return self._h

    @property
    def info(self) -> dict:
        """Capabilities (grl_device_get_info) as a dict: name, vendor_id, type, memory, ..."""
        if self._info is None:
            self._info = _describe(_C.grl_device_get_info(self._handle()))
        return self._info

    @property
    def name(self) -> str:
        return self.info["name"]

    @property
    def index(self) -> int:
        return self.info["index"]

    @property
    def type(self) -> str:
        return self.info["type"]

    def memory_stats(self) -> dict:
        """Pool statistics (grl_device_memory_stats): bytes_in_use, bytes_cached, ..."""
        return _C.grl_device_memory_stats(self._handle())

    def synchronize(self) -> None:
        """Submits recorded work and waits (grl_device_synchronize); reports device-side errors."""
        _C.grl_device_synchronize(self._handle())

    def empty_cache(self) -> None:
        """Frees the pool's cached memory (grl_device_empty_cache)."""
        _C.grl_device_empty_cache(self._handle())

    def validation_messages(self) -> int:
        """Messages reported by the validation layer (grl_device_validation_messages)."""
        return _C.grl_device_validation_messages(self._handle())

    def __eq__(self, other):
        if not isinstance(other, Device):
            return NotImplemented
        return self._h is not None and other._h is not None and int(self._h) == int(other._h)

    def __hash__(self):
        return hash(int(self._h)) if self._h is not None else id(self)

    def __repr__(self):
        if self._h is None:
            return "grilly.Device(closed)"
        return f"grilly.Device(index={self.index}, name={self.name!r}, type={self.type!r})"


_default: Device | None = None
_default_lock = threading.Lock()


def default_device() -> Device:
    """The device used when none is given: opened on first use with the automatic choice."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Device()
    return _default


def set_default_device(device: Device | None) -> None:
    """Makes `device` the default (None: the next use opens the automatic choice again)."""
    global _default
    with _default_lock:
        _default = device


def device_count() -> int:
    """Number of Vulkan devices (grl_device_count); raises NoDeviceError without Vulkan."""
    return _C.grl_device_count()


def devices() -> list[dict]:
    """Every Vulkan device without opening it (grl_device_describe), as dicts."""
    return [_describe(_C.grl_device_describe(i)) for i in range(_C.grl_device_count())]


def live_handles() -> dict:
    """Handles alive in the process, by kind: tensors, devices, graphs, optimizers
    (grl_live_handle_counts). Tensors held by Python objects, autograd tapes, graphs and
    optimizers count until those are released."""
    return _C.grl_live_handle_counts()
