"""grilly.optim: PyTorch's optimizers over the C grl_optimizer (step and state on the device).

Each parameter group is one grl_optimizer (grl_optimizer_create with that group's options), so
groups may differ in every option; setting ``param_groups[i]['lr']`` calls grl_optimizer_set_lr at
once. ``state_dict()`` reads the C state tensors and scalars; ``save``/``load`` write the
safetensors checkpoint of grl_save_optimizer / grl_load_optimizer.
"""

from __future__ import annotations

import builtins
import copy
from typing import Any, Iterable

import numpy as np

from .. import _grilly as _C
from .._errors import InvalidArgumentError, ShapeError
from .._tensor import Tensor, _wrap

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NLMS", "NaturalGradient",
           "lr_scheduler"]

# Options fixed when the C optimizer is made; only lr can change afterwards (grl_optimizer_set_lr).
_FIXED = ("momentum", "dampening", "nesterov", "weight_decay", "betas", "eps", "amsgrad", "alpha",
          "centered", "lr_decay", "initial_accumulator_value", "mu_decay", "mu_min",
          "fisher_decay")


class _ParamGroup(dict):
    """One parameter group: a dict as in PyTorch over its own grl_optimizer. It holds a reference
    of its own (grl_optimizer_retain), so that it stays usable while anything refers to it."""

    def __init__(self, handle, items, lr_key="lr"):
        super().__init__(items)
        _C.grl_optimizer_retain(handle)
        self._h = handle
        self._lr_key = lr_key

    def _release(self):
        h, self._h = self._h, None
        if h is not None and _C is not None:
            _C.grl_optimizer_release(h)

    def __del__(self):
        try:
            self._release()
        except Exception:
            pass

    def __getitem__(self, key):
        if key in ("lr", self._lr_key) and self._h is not None:
            # Schedulers change the lr inside the core: read it back (grl_optimizer_get_lr).
            return _C.grl_optimizer_get_lr(self._h)
        return super().__getitem__(key)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def __setitem__(self, key, value):
        if key in ("lr", self._lr_key):
            if self._h is None:
                raise InvalidArgumentError("grilly.optim: the optimizer of this param group was "
                                           "closed")
            _C.grl_optimizer_set_lr(self._h, builtins.float(value))
            super().__setitem__("lr", value)
            if self._lr_key != "lr":
                super().__setitem__(self._lr_key, value)
            return
        if key in _FIXED and key in self and self.get(key) != value:
            raise InvalidArgumentError(
                f"grilly.optim: '{key}' is fixed when the C optimizer is created; only 'lr' can "
                "change (make a new optimizer, or a new param group, for other options)")
        super().__setitem__(key, value)


class Optimizer:
    """Base of the grilly optimizers: one grl_optimizer per parameter group.

    Subclasses set ``_kind`` (a grl_optimizer_kind) and pass their defaults; params may be an
    iterable of Tensors or of dicts with 'params' and per-group options, as in PyTorch.
    """

    _kind: int = -1
    _lr_key = "lr"

    def __init__(self, params, defaults: dict):
        self._handles: list = []
        self.param_groups: list[_ParamGroup] = []
        if isinstance(params, Tensor):
            raise TypeError("grilly.optim: params must be an iterable of Tensors, not a Tensor")
        params = list(params)
        if not params:
            raise InvalidArgumentError("grilly.optim: got an empty parameter list")
        self.defaults = dict(defaults)
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: dict) -> None:
        """Adds a group (grl_optimizer_create over its parameters with its options)."""
        group = dict(param_group)
        ps = group.pop("params")
        ps = [ps] if isinstance(ps, Tensor) else list(ps)
        if not ps:
            raise InvalidArgumentError("grilly.optim: a param group has no parameters")
        for p in ps:
            if not isinstance(p, Tensor):
                raise TypeError(f"grilly.optim: expected Tensors, got {type(p).__name__}")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in ps):
            raise InvalidArgumentError("grilly.optim: some parameters appear in more than one "
                                       "param group")
        if self._lr_key != "lr" and self._lr_key in group:
            group["lr"] = group[self._lr_key]
        opts = {**self.defaults, **group}
        h = self._create(ps, opts)
        self._handles.append(h)
        items = {"params": ps, **opts}
        if self._lr_key != "lr":
            items[self._lr_key] = items["lr"]
        self.param_groups.append(_ParamGroup(h, items, self._lr_key))

    def _create(self, params: list, d: dict):
        betas = d.get("betas", (0.9, 0.999))
        return _C.grilly_optimizer_create(
            [p._h for p in params], self._kind, builtins.float(d["lr"]),
            builtins.float(d.get("momentum", 0.0)), builtins.float(d.get("dampening", 0.0)),
            int(builtins.bool(d.get("nesterov", False))),
            builtins.float(d.get("weight_decay", 0.0)), builtins.float(betas[0]),
            builtins.float(betas[1]), builtins.float(d.get("eps", -1.0)),
            int(builtins.bool(d.get("amsgrad", False))), builtins.float(d.get("alpha", 0.99)),
            int(builtins.bool(d.get("centered", False))), builtins.float(d.get("lr_decay", 0.0)),
            builtins.float(d.get("initial_accumulator_value", 0.0)),
            builtins.float(d.get("mu_decay", 1.0)), builtins.float(d.get("mu_min", 0.0)),
            builtins.float(d.get("fisher_decay", 0.95)))

    # -- ownership ---------------------------------------------------------------------------
    def close(self) -> None:
        """Releases the grl_optimizer of every group (grl_optimizer_release); idempotent."""
        hs, self._handles = self._handles, []
        for g in self.param_groups:
            g._release()
        if _C is not None:
            for h in hs:
                _C.grl_optimizer_release(h)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    @property
    def _h(self):
        """The first group's grl_optimizer (the only one for single-group optimizers)."""
        return self._handles[0] if self._handles else None

    def _live(self) -> list:
        if not self._handles:
            raise InvalidArgumentError(f"grilly.optim.{type(self).__name__}: the optimizer was "
                                       "closed")
        return self._handles

    # -- steps -------------------------------------------------------------------------------
    def step(self, closure=None):
        """grl_optimizer_step for every group (closure, when given, is called first and its
        loss returned)."""
        loss = closure() if closure is not None else None
        for h in self._live():
            _C.grl_optimizer_step(h)
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """grl_optimizer_zero_grad: the gradients become None."""
        for h in self._live():
            _C.grl_optimizer_zero_grad(h)

    @property
    def step_count(self) -> int:
        """Steps taken by the first group (grl_optimizer_step_count)."""
        return _C.grl_optimizer_step_count(self._live()[0])

    # -- state -------------------------------------------------------------------------------
    def _state_tensors(self, h, device):
        """(param index, slot, Tensor) for each state tensor of one group's optimizer
        (grl_optimizer_state_count / grl_optimizer_state_name / grl_optimizer_state_tensor);
        each handle is owned by its Tensor as soon as it is fetched."""
        out = []
        for k in range(_C.grl_optimizer_state_count(h)):
            name = _C.grl_optimizer_state_name(h, k)
            i, slot = name.split(".", 1)
            out.append((int(i), slot, _wrap(_C.grl_optimizer_state_tensor(h, k), device)))
        return out

    @property
    def state(self) -> dict:
        """Per parameter (by Tensor), its state as numpy arrays (a host copy)."""
        sd = self.state_dict()["state"]
        flat = [p for g in self.param_groups for p in g["params"]]
        return {flat[i]: v for i, v in sd.items()}

    def state_dict(self) -> dict:
        """{'state': {param index: {slot: numpy array}}, 'param_groups': [options with 'params'
        as indices], 'scalars': per group [step count, lr, NLMS mu]} from the device."""
        state, groups, scalars = {}, [], []
        base = 0
        for g, h in zip(self.param_groups, self._live()):
            for i, slot, t in self._state_tensors(h, g["params"][0].device):
                state.setdefault(base + i, {})[slot] = t.numpy()
            n = len(g["params"])
            opts = {k: copy.deepcopy(dict.__getitem__(g, k)) for k in g if k != "params"}
            opts["lr"] = g["lr"]
            opts["params"] = list(range(base, base + n))
            groups.append(opts)
            scalars.append(_C.grilly_optimizer_get_scalars(h))
            base += n
        return {"state": state, "param_groups": groups, "scalars": scalars}

    def load_state_dict(self, state_dict: dict) -> None:
        """Writes a state_dict() into the C state tensors (grl_tensor_upload) and scalars
        (grl_optimizer_set_scalars); the groups must match in number and sizes."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise InvalidArgumentError(
                f"grilly.optim.load_state_dict: the state has {len(groups)} param groups, the "
                f"optimizer {len(self.param_groups)}")
        for g, sg in zip(self.param_groups, groups):
            if len(g["params"]) != len(sg["params"]):
                raise InvalidArgumentError(
                    "grilly.optim.load_state_dict: a param group has "
                    f"{len(sg['params'])} parameters in the state, {len(g['params'])} here")
        # Check every value before writing any, so that a rejected state changes nothing.
        state = state_dict["state"]
        uploads, base = [], 0
        for g, h in zip(self.param_groups, self._live()):
            for i, slot, t in self._state_tensors(h, g["params"][0].device):
                try:
                    value = state[base + i][slot]
                except KeyError:
                    raise InvalidArgumentError(
                        f"grilly.optim.load_state_dict: no '{slot}' for parameter {base + i}"
                    ) from None
                arr = np.ascontiguousarray(np.asarray(value), dtype=t.dtype.numpy_dtype)
                if arr.shape != t.shape:
                    raise ShapeError(f"grilly.optim.load_state_dict: '{slot}' of parameter "
                                     f"{base + i} has shape {arr.shape}, expected {t.shape}")
                uploads.append((t, arr))
            base += len(g["params"])
        scalars = [[builtins.float(v) for v in sc] for sc in state_dict["scalars"]]
        if len(scalars) != len(self.param_groups):
            raise InvalidArgumentError(
                f"grilly.optim.load_state_dict: {len(scalars)} scalar rows for "
                f"{len(self.param_groups)} param groups")
        for t, arr in uploads:
            _C.grl_tensor_upload(t._h, arr)
        for g, h, sc in zip(self.param_groups, self._live(), scalars):
            _C.grilly_optimizer_set_scalars(h, *sc)
            dict.__setitem__(g, "lr", sc[1])

    def save(self, path: str) -> None:
        """Writes the state tensors and scalars to a safetensors file (grl_save_optimizer);
        a single param group only."""
        _C.grl_save_optimizer(str(path), self._single("save"))

    def load(self, path: str) -> None:
        """Restores a file written by save() (grl_load_optimizer): kind, names, shapes and
        dtypes must match; nothing changes otherwise."""
        _C.grl_load_optimizer(str(path), self._single("load"))
        g = self.param_groups[0]
        dict.__setitem__(g, "lr", _C.grl_optimizer_get_lr(g._h))

    def _single(self, what):
        hs = self._live()
        if len(hs) != 1:
            raise InvalidArgumentError(f"grilly.optim.{what}: a checkpoint file holds one C "
                                       f"optimizer; this one has {len(hs)} param groups (use "
                                       "state_dict() with grilly.save)")
        return hs[0]

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(k for k in g if k != "params"):
                lines.append(f"    {k}: {g[k]}")
        return "\n".join(lines) + "\n)"


class SGD(Optimizer):
    """torch.optim.SGD over grl_optimizer (GRL_OPTIM_SGD)."""

    _kind = _C.GRL_OPTIM_SGD

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))


class Adam(Optimizer):
    """torch.optim.Adam over grl_optimizer (GRL_OPTIM_ADAM; weight_decay is L2)."""

    _kind = _C.GRL_OPTIM_ADAM

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad))


class AdamW(Optimizer):
    """torch.optim.AdamW over grl_optimizer (GRL_OPTIM_ADAMW; decoupled weight decay)."""

    _kind = _C.GRL_OPTIM_ADAMW

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad))


class RMSprop(Optimizer):
    """torch.optim.RMSprop over grl_optimizer (GRL_OPTIM_RMSPROP)."""

    _kind = _C.GRL_OPTIM_RMSPROP

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))


class Adagrad(Optimizer):
    """torch.optim.Adagrad over grl_optimizer (GRL_OPTIM_ADAGRAD)."""

    _kind = _C.GRL_OPTIM_ADAGRAD

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps))


class NLMS(Optimizer):
    """Normalised least mean squares (GRL_OPTIM_NLMS): p -= mu g / (||g||^2 + eps) per parameter,
    then mu <- max(mu * mu_decay, mu_min). ``step_size`` is the initial mu (also the group's
    'lr' and 'step_size', which set mu through grl_optimizer_set_lr)."""

    _kind = _C.GRL_OPTIM_NLMS
    _lr_key = "step_size"

    def __init__(self, params, step_size: float = 0.5, eps: float = 1e-6, mu_decay: float = 1.0,
                 mu_min: float = 0.0):
        super().__init__(params, dict(lr=step_size, eps=eps, mu_decay=mu_decay, mu_min=mu_min))

    @property
    def mu(self) -> float:
        """The mu of the next step, decay included (grl_optimizer_get_scalars[2])."""
        return _C.grilly_optimizer_get_scalars(self._live()[0])[2]


class NaturalGradient(Optimizer):
    """Diagonal natural gradient (GRL_OPTIM_NATURAL_GRADIENT): F <- b F + (1 - b) g^2,
    p -= lr g / (F + eps) with b = fisher_decay."""

    _kind = _C.GRL_OPTIM_NATURAL_GRADIENT

    def __init__(self, params, lr: float = 1e-2, fisher_decay: float = 0.95, eps: float = 1e-8):
        super().__init__(params, dict(lr=lr, fisher_decay=fisher_decay, eps=eps))


from . import lr_scheduler  # noqa: E402
