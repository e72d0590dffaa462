"""grilly.nn: PyTorch-like modules over grilly.Tensor and grilly.functional.

Module registers Parameter and Module attributes by itself; state_dict() gives numpy arrays.
"""

import collections
import math

import numpy as np

from . import _grilly as _C
from . import _tensor as _t
from . import functional as F
from ._errors import InvalidArgumentError, ShapeError
from ._tensor import Tensor

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "Linear", "ReLU", "GELU", "SiLU",
           "Tanh", "Sigmoid", "Dropout", "LayerNorm", "Softmax", "CrossEntropyLoss", "MSELoss",
           "functional"]

functional = F

_MASK64 = (1 << 64) - 1


class Parameter(Tensor):
    """A Tensor that is a module parameter: a leaf that requires grad (a copy of data)."""

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        self._h = None
        if data is None:
            data = np.zeros((0,), dtype=np.float32)
        t = _t.tensor(data, dtype=data.dtype if isinstance(data, Tensor) else None)
        self._h, self._device, t._h = t._h, t._device, None
        self.requires_grad = requires_grad

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


def _init_seed() -> int:
    """A seed for the C initialisers, drawn from the global generator (grilly.manual_seed)."""
    seed, offset = _t._draw(1)
    return (seed ^ ((offset + 1) * 0x9E3779B97F4A7C15)) & _MASK64


class Module:
    """Base class: assigning a Parameter or a Module to an attribute registers it."""

    def __init__(self):
        object.__setattr__(self, "_parameters", collections.OrderedDict())
        object.__setattr__(self, "_modules", collections.OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        params = self.__dict__.get("_parameters")
        if params is None:
            raise AttributeError("grilly.nn.Module: call super().__init__() before assigning "
                                 "attributes")
        mods = self.__dict__["_modules"]
        params.pop(name, None)
        mods.pop(name, None)
        if isinstance(value, Parameter):
            self.__dict__.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            self.__dict__.pop(name, None)
            mods[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        if "_parameters" in d and name in d["_parameters"]:
            return d["_parameters"][name]
        if "_modules" in d and name in d["_modules"]:
            return d["_modules"][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name, param):
        if param is None:
            self._parameters[name] = None
        else:
            setattr(self, name, param)

    def add_module(self, name, module):
        self._modules[str(name)] = module

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- traversal --------------------------------------------------------------------------
    def named_modules(self, prefix=""):
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(prefix + ("." if prefix else "") + name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def children(self):
        for m in self._modules.values():
            if m is not None:
                yield m

    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def named_parameters(self, prefix="", recurse=True):
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mp, m in mods:
            for name, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield mp + ("." if mp else "") + name, p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    # -- state ------------------------------------------------------------------------------
    def state_dict(self):
        """An OrderedDict of parameter name -> numpy array (a host copy)."""
        return collections.OrderedDict((n, p.numpy()) for n, p in self.named_parameters())

    def load_state_dict(self, state_dict, strict=True):
        """Copies arrays (or Tensors) into the parameters (grl_copy_), by name."""
        own = collections.OrderedDict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"grilly.nn.Module.load_state_dict: missing keys {missing}, "
                           f"unexpected keys {unexpected}")
        with _t.no_grad():
            for name, p in own.items():
                if name not in state_dict:
                    continue
                v = state_dict[name]
                shape = tuple(v.shape) if hasattr(v, "shape") else np.shape(v)
                if tuple(shape) != p.shape:
                    raise ShapeError(f"grilly.nn.Module.load_state_dict: '{name}' has shape "
                                     f"{p.shape}, the state_dict {tuple(shape)}")
                p.copy_(v)
        return collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])(
            missing, unexpected)

    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        if self._modules:
            lines = [f"{type(self).__name__}("]
            for name, m in self._modules.items():
                sub = repr(m).replace("\n", "\n  ")
                lines.append(f"  ({name}): {sub}")
            return "\n".join(lines) + "\n)"
        return lines[0] + ")"


class Sequential(Module):
    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], collections.OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return Sequential(*mods[idx])
        return mods[idx]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self


class ModuleList(Module):
    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return ModuleList(mods[idx])
        return mods[idx]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class Linear(Module):
    """y = x W^T + b (grl_linear); weight [out, in] from grl_init_kaiming_uniform_ (a = sqrt(5)),
    bias U(-1/sqrt(in), 1/sqrt(in)) (grl_rand_uniform), as PyTorch."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        dev = _t._device_of(device)
        d = _t.float32 if dtype is None else _t._to_dtype(dtype)
        w = _t.empty(self.out_features, self.in_features, dtype=d, device=dev)
        _C.grl_init_kaiming_uniform_(w._h, math.sqrt(5.0), _C.GRL_FAN_IN, _init_seed())
        self.weight = _adopt(w)
        if bias:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            seed, offset = _t._draw(self.out_features)
            b = _t._wrap(_C.grl_rand_uniform(dev._handle(), (self.out_features,), d.code, -bound,
                                             bound, seed, offset), dev)
            self.bias = _adopt(b)
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.linear(x, self.weight, self._parameters.get("bias"))

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self._parameters.get('bias') is not None}")


def _adopt(t: Tensor) -> Parameter:
    """A Parameter owning t's handle (no copy)."""
    p = Parameter.__new__(Parameter)
    p._h, p._device, t._h = t._h, t._device, None
    p.requires_grad = True
    return p


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)


class SiLU(Module):
    def forward(self, x):
        return F.silu(x)


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Softmax(Module):
    def __init__(self, dim=None):
        super().__init__()
        if dim is None:
            raise InvalidArgumentError("grilly.nn.Softmax: dim is required")
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)


class Dropout(Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise InvalidArgumentError(f"grilly.nn.Dropout: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class LayerNorm(Module):
    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        if elementwise_affine:
            self.weight = _adopt(_t.ones(self.normalized_shape, dtype=dtype, device=device))
            if bias:
                self.bias = _adopt(_t.zeros(self.normalized_shape, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self._parameters.get("weight"),
                            self._parameters.get("bias"), self.eps)


class CrossEntropyLoss(Module):
    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__()
        if weight is not None:
            raise InvalidArgumentError("grilly.nn.CrossEntropyLoss: weight is not supported")
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class MSELoss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)
