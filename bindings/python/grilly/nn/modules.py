"""grilly.nn modules: Module, Parameter, containers, layers, activations and losses over
grilly.Tensor and grilly.functional (each layer names the C function behind it).

Module registers Parameter and Module attributes by itself; state_dict() gives numpy arrays.
"""

from __future__ import annotations

import collections
import math

import numpy as np

from .. import _grilly as _C
from .. import _tensor as _t
from .. import functional as F
from .._errors import InvalidArgumentError, ShapeError
from .._tensor import Tensor

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "Identity", "Flatten",
           "Linear", "Embedding", "LayerNorm", "RMSNorm", "Dropout",
           "ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Softplus", "Mish", "Hardswish",
           "Hardsigmoid", "GCU", "RoSwish", "SwiGLU", "GeGLU", "ReGLU", "Tanh", "Sigmoid",
           "Softmax", "LogSoftmax",
           "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss",
           "BCELoss", "BCEWithLogitsLoss", "KLDivLoss", "CosineEmbeddingLoss",
           "MarginRankingLoss", "TripletMarginLoss", "ContrastiveLoss", "functional"]

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

    def forward(self, *args, **kwargs) -> Tensor:
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
                if (isinstance(v, np.ndarray) and v.dtype == p.dtype.numpy_dtype
                        and p.is_contiguous()):
                    # Host arrays of the parameter's dtype go straight into its storage.
                    _C.grl_tensor_upload(p._h, np.ascontiguousarray(v))
                else:
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
        """Clears every parameter's gradient (grl_tensor_zero_grad)."""
        for p in self.parameters():
            _C.grl_tensor_zero_grad(p._h)

    def to(self, *args, device=None, dtype=None):
        """Moves (a copy through the host) and/or casts (grl_cast) every parameter in place: the
        Parameter objects stay the same, their storage changes. Make optimizers afterwards."""
        for a in args:
            if isinstance(a, _t.Device):
                device = a
            else:
                dtype = a
        with _t.no_grad():
            for p in self.parameters():
                if ((device is None or device == p.device)
                        and (dtype is None or _t._to_dtype(dtype) is p.dtype)):
                    continue
                t = p.detach().to(device=device, dtype=dtype).clone()
                rg = p.requires_grad
                old, p._h, p._device, t._h = p._h, t._h, t._device, None
                _C.grl_tensor_release(old)
                if rg:
                    p.requires_grad = True
        return self

    def float(self):
        return self.to(dtype=_t.float32)

    def half(self):
        return self.to(dtype=_t.float16)

    def bfloat16(self):
        return self.to(dtype=_t.bfloat16)

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
    """Applies its modules in order."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], collections.OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x) -> Tensor:
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
    """Modules in a list, registered by position."""

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

    def forward(self, x) -> Tensor:
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
    """grl_relu."""

    def forward(self, x) -> Tensor:
        return F.relu(x)


class GELU(Module):
    """grl_gelu (approximate 'none' or 'tanh')."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x) -> Tensor:
        return F.gelu(x, approximate=self.approximate)


class SiLU(Module):
    """grl_silu."""

    def forward(self, x) -> Tensor:
        return F.silu(x)


class Tanh(Module):
    """grl_tanh."""

    def forward(self, x) -> Tensor:
        return F.tanh(x)


class Sigmoid(Module):
    """grl_sigmoid."""

    def forward(self, x) -> Tensor:
        return F.sigmoid(x)


class Softmax(Module):
    """grl_softmax along dim."""

    def __init__(self, dim=None):
        super().__init__()
        if dim is None:
            raise InvalidArgumentError("grilly.nn.Softmax: dim is required")
        self.dim = dim

    def forward(self, x) -> Tensor:
        return F.softmax(x, self.dim)


class Dropout(Module):
    """grl_dropout in training mode, the identity in eval mode."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise InvalidArgumentError(f"grilly.nn.Dropout: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class LayerNorm(Module):
    """grl_layer_norm over the last len(normalized_shape) axes, weight ones and bias zeros."""

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

    def forward(self, x) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self._parameters.get("weight"),
                            self._parameters.get("bias"), self.eps)


class CrossEntropyLoss(Module):
    """grl_cross_entropy (class weights through F.cross_entropy's weighted composition)."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__()
        self.weight = weight
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.label_smoothing = label_smoothing

    def forward(self, input, target) -> Tensor:
        return F.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class MSELoss(Module):
    """grl_mse_loss."""

    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction

    def forward(self, input, target) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


# ------------------------------------------------------------------------------------------------
# containers and layers added over the rest of the C ABI
# ------------------------------------------------------------------------------------------------


class ModuleDict(Module):
    """Modules by name, registered in insertion order (torch.nn.ModuleDict)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        for k, m in items:
            self.add_module(k, m)

    def pop(self, key):
        return self._modules.pop(key)

    def clear(self):
        self._modules.clear()


class Identity(Module):
    def forward(self, x) -> Tensor:
        return x


class Flatten(Module):
    """x.flatten(start_dim, end_dim) (grl_reshape)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x) -> Tensor:
        return _t.as_tensor(x).flatten(self.start_dim, self.end_dim)


class Embedding(Module):
    """A lookup table (grl_embedding): weight [num_embeddings, embedding_dim] drawn from N(0, 1)
    (grl_rand_normal through F.normal), as PyTorch. ``vocab_size=`` is accepted for num_embeddings."""

    def __init__(self, num_embeddings=None, embedding_dim=None, padding_idx=None, *,
                 vocab_size=None, _weight=None, device=None, dtype=None):
        super().__init__()
        if num_embeddings is None:
            num_embeddings = vocab_size
        elif vocab_size is not None and vocab_size != num_embeddings:
            raise InvalidArgumentError(f"grilly.nn.Embedding: num_embeddings={num_embeddings} "
                                       f"and vocab_size={vocab_size} disagree")
        if num_embeddings is None or embedding_dim is None:
            raise InvalidArgumentError("grilly.nn.Embedding: give num_embeddings (or vocab_size) "
                                       "and embedding_dim")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None and padding_idx < 0:
            padding_idx += self.num_embeddings
        self.padding_idx = padding_idx
        if _weight is not None:
            w = _t.tensor(_weight, dtype=dtype, device=device)
            if w.shape != (self.num_embeddings, self.embedding_dim):
                raise ShapeError(f"grilly.nn.Embedding: _weight has shape {w.shape}, expected "
                                 f"{(self.num_embeddings, self.embedding_dim)}")
        else:
            w = F.normal(0.0, 1.0, (self.num_embeddings, self.embedding_dim), dtype=dtype,
                         device=device)
            if padding_idx is not None:
                w[padding_idx] = 0.0
        self.weight = _adopt(w)

    def forward(self, input) -> Tensor:
        return F.embedding(input, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class RMSNorm(Module):
    """grl_rms_norm over the last len(normalized_shape) axes, weight of ones."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None,
                 dtype=None):
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        if elementwise_affine:
            self.weight = _adopt(_t.ones(self.normalized_shape, dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)

    def forward(self, x) -> Tensor:
        return F.rms_norm(x, self.normalized_shape, self._parameters.get("weight"), self.eps)


def _activation(name, fn, doc, **params):
    """A Module class applying F.<fn> with keyword parameters stored as attributes."""
    def __init__(self, *args, **kwargs):
        Module.__init__(self)
        names = list(params)
        values = dict(params)
        for k, v in zip(names, args):
            values[k] = v
        for k, v in kwargs.items():
            if k == "inplace":
                continue
            if k not in values:
                raise TypeError(f"grilly.nn.{name}: unexpected argument {k!r}")
            values[k] = v
        for k, v in values.items():
            object.__setattr__(self, k, v)

    def forward(self, x) -> Tensor:
        return fn(x, **{k: getattr(self, k) for k in params})

    def extra_repr(self):
        return ", ".join(f"{k}={getattr(self, k)}" for k in params)

    return type(name, (Module,), {"__init__": __init__, "forward": forward,
                                  "extra_repr": extra_repr, "__doc__": doc,
                                  "__module__": __name__})


LeakyReLU = _activation("LeakyReLU", F.leaky_relu, "grl_leaky_relu.", negative_slope=0.01)
ELU = _activation("ELU", F.elu, "grl_elu.", alpha=1.0)
Softplus = _activation("Softplus", F.softplus, "grl_softplus.", beta=1.0, threshold=20.0)
Mish = _activation("Mish", F.mish, "grl_mish.")
Hardswish = _activation("Hardswish", F.hardswish, "grl_hardswish.")
Hardsigmoid = _activation("Hardsigmoid", F.hardsigmoid, "grl_hardsigmoid.")
GCU = _activation("GCU", F.gcu, "grl_gcu: x cos(x).")
RoSwish = _activation("RoSwish", F.roswish, "grl_roswish.", alpha=1.0, beta=1.0)
SwiGLU = _activation("SwiGLU", F.swiglu, "grl_swiglu over the last axis split in halves.")
GeGLU = _activation("GeGLU", F.geglu, "grl_geglu over the last axis split in halves.")
ReGLU = _activation("ReGLU", F.reglu, "grl_reglu over the last axis split in halves.")


class LogSoftmax(Module):
    """grl_log_softmax along dim."""

    def __init__(self, dim=None):
        super().__init__()
        if dim is None:
            raise InvalidArgumentError("grilly.nn.LogSoftmax: dim is required")
        self.dim = dim

    def forward(self, x) -> Tensor:
        return F.log_softmax(x, self.dim)


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        F._reduction("mean" if reduction == "batchmean" else reduction)
        self.reduction = reduction


class L1Loss(_Loss):
    """grl_l1_loss."""

    def forward(self, input, target) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """grl_smooth_l1_loss."""

    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """grl_huber_loss."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class NLLLoss(_Loss):
    """grl_nll_loss."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.weight = weight
        self.ignore_index = ignore_index

    def forward(self, input, target) -> Tensor:
        return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class BCELoss(_Loss):
    """grl_binary_cross_entropy."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.weight = weight

    def forward(self, input, target) -> Tensor:
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """grl_bce_with_logits."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.weight, self.pos_weight = weight, pos_weight

    def forward(self, input, target) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class KLDivLoss(_Loss):
    """grl_kl_div ('batchmean' is the C MEAN)."""

    def __init__(self, reduction="mean", log_target=False):
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input, target) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class CosineEmbeddingLoss(_Loss):
    """grl_cosine_embedding_loss."""

    def __init__(self, margin=0.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1, input2, target) -> Tensor:
        return F.cosine_embedding_loss(input1, input2, target, self.margin,
                                       reduction=self.reduction)


class MarginRankingLoss(_Loss):
    """grl_margin_ranking_loss."""

    def __init__(self, margin=0.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1, input2, target) -> Tensor:
        return F.margin_ranking_loss(input1, input2, target, self.margin,
                                     reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """grl_triplet_margin_loss."""

    def __init__(self, margin=1.0, p=2.0, reduction="mean"):
        super().__init__(reduction)
        self.margin, self.p = margin, p

    def forward(self, anchor, positive, negative) -> Tensor:
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p,
                                     reduction=self.reduction)


class ContrastiveLoss(_Loss):
    """grl_contrastive_loss (y = 1 similar, 0 dissimilar)."""

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1, input2, target) -> Tensor:
        return F.contrastive_loss(input1, input2, target, self.margin, reduction=self.reduction)
