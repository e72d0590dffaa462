"""grilly.optim: PyTorch's optimizers over the C grl_optimizer (step and state on the device)."""

import builtins
import weakref

from . import _grilly as _C
from ._errors import InvalidArgumentError
from ._tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "AdamW"]


class _ParamGroup(dict):
    """param_groups[0]: setting 'lr' calls grl_optimizer_set_lr at once (the group refers to its
    optimizer weakly, so that dropping the optimizer releases it without a cycle collection)."""

    def __init__(self, opt, items):
        super().__init__(items)
        self._opt = weakref.ref(opt)

    def __setitem__(self, key, value):
        if key == "lr":
            opt = self._opt()
            if opt is None or opt._h is None:
                raise RuntimeError("grilly.optim: the optimizer of this param group is gone")
            _C.grl_optimizer_set_lr(opt._h, builtins.float(value))
        super().__setitem__(key, value)


class Optimizer:
    """Base of the grilly optimizers: owns a grl_optimizer over one parameter group."""

    _kind = None

    def __init__(self, params, defaults):
        self._h = None
        if isinstance(params, Tensor):
            raise TypeError("grilly.optim: params must be an iterable of Tensors, not a Tensor")
        params = list(params)
        if params and isinstance(params[0], dict):
            if len(params) != 1:
                raise InvalidArgumentError("grilly.optim: only one parameter group is supported")
            group = dict(params[0])
            params = list(group.pop("params"))
            defaults = {**defaults, **group}
        if not params:
            raise InvalidArgumentError("grilly.optim: got an empty parameter list")
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"grilly.optim: expected Tensors, got {type(p).__name__}")
        self._params = params
        d = defaults
        betas = d.get("betas", (0.9, 0.999))
        self._h = _C.grilly_optimizer_create(
            [p._h for p in params], self._kind, builtins.float(d["lr"]),
            builtins.float(d.get("momentum", 0.0)), builtins.float(d.get("dampening", 0.0)),
            int(builtins.bool(d.get("nesterov", False))),
            builtins.float(d.get("weight_decay", 0.0)), builtins.float(betas[0]),
            builtins.float(betas[1]), builtins.float(d.get("eps", 1e-8)),
            int(builtins.bool(d.get("amsgrad", False))))
        self.defaults = dict(d)
        self.param_groups = [_ParamGroup(self, {"params": params, **d})]

    def close(self):
        """Releases the grl_optimizer (grl_optimizer_release); idempotent."""
        h, self._h = self._h, None
        if h is not None and _C is not None:
            _C.grl_optimizer_release(h)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def step(self, closure=None):
        """grl_optimizer_step (closure, when given, is called first and its loss returned)."""
        loss = closure() if closure is not None else None
        _C.grl_optimizer_step(self._h)
        return loss

    def zero_grad(self, set_to_none=True):
        """grl_optimizer_zero_grad: the gradients become None."""
        _C.grl_optimizer_zero_grad(self._h)

    @property
    def step_count(self) -> int:
        """grl_optimizer_step_count."""
        return _C.grl_optimizer_step_count(self._h)

    def __repr__(self):
        g = {k: v for k, v in self.param_groups[0].items() if k != "params"}
        return f"{type(self).__name__}({g})"


class SGD(Optimizer):
    """torch.optim.SGD over grl_optimizer (GRL_OPTIM_SGD)."""

    _kind = _C.GRL_OPTIM_SGD

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))


class Adam(Optimizer):
    """torch.optim.Adam over grl_optimizer (GRL_OPTIM_ADAM; weight_decay is L2)."""

    _kind = _C.GRL_OPTIM_ADAM

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad))


class AdamW(Optimizer):
    """torch.optim.AdamW over grl_optimizer (GRL_OPTIM_ADAMW; decoupled weight decay)."""

    _kind = _C.GRL_OPTIM_ADAMW

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad))
