"""grilly.save / grilly.load: dicts of tensors as safetensors files (grl_save_safetensors,
grl_load_safetensors and the grl_tensor_map_* accessors).

Values may be grilly Tensors, numpy arrays, nested dicts (keys joined with '.') and, for
``Module.state_dict()``-style dicts, anything grilly.tensor accepts. Writes are atomic (a temporary
file renamed over the target); loading validates the whole file before handing out a tensor.
"""

from __future__ import annotations

import collections
import os
from typing import Mapping

from . import _grilly as _C
from . import _tensor as _t
from ._device import Device
from ._tensor import Tensor

__all__ = ["save", "load"]


def _flatten(obj: Mapping, prefix: str, out: dict) -> None:
    for k, v in obj.items():
        if not isinstance(k, str):
            raise TypeError(f"grilly.save: keys must be str, got {type(k).__name__} {k!r}")
        name = prefix + k
        if isinstance(v, Mapping):
            _flatten(v, name + ".", out)
        else:
            if name in out:
                raise ValueError(f"grilly.save: the key {name!r} appears twice after flattening")
            out[name] = v


def save(obj: Mapping, f: str | os.PathLike) -> None:
    """Writes a dict of tensors to a safetensors file (grl_save_safetensors). Nested dicts are
    flattened with '.' between keys; numpy arrays are uploaded first (float64 as float32)."""
    if isinstance(obj, Tensor):
        obj = {"tensor": obj}
    if not isinstance(obj, Mapping):
        raise TypeError(f"grilly.save: expected a dict of tensors, got {type(obj).__name__}")
    flat: dict = {}
    _flatten(obj, "", flat)
    names = list(flat)
    tensors = [v if isinstance(v, Tensor) else _t.tensor(v) for v in flat.values()]
    _C.grilly_save_safetensors(os.fspath(f), names, [t._h for t in tensors])


def load(f: str | os.PathLike, device: Device | None = None) -> "collections.OrderedDict[str, Tensor]":
    """Reads a safetensors file (grl_load_safetensors) into an OrderedDict name -> Tensor, in
    the file's order, on ``device`` (the default device when None)."""
    dev = _t._device_of(device)
    m = _C.grl_load_safetensors(dev._handle(), os.fspath(f))
    try:
        out = collections.OrderedDict()
        for i in range(_C.grl_tensor_map_count(m)):
            name = _C.grl_tensor_map_name(m, i)
            out[name] = _t._wrap(_C.grl_tensor_map_get(m, name), dev)
        return out
    finally:
        _C.grl_tensor_map_release(m)
