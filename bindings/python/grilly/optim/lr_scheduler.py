"""grilly.optim.lr_scheduler: PyTorch's schedules over grl_lr_scheduler (computed in the core).

One grl_lr_scheduler per param group of the optimizer (each group is its own grl_optimizer), made
by grl_lr_scheduler_create, which, like PyTorch's constructors, sets the lr of step 0 at once;
``step()`` calls grl_lr_scheduler_step and the group's 'lr' follows.
"""

from __future__ import annotations

import builtins
from typing import Sequence

from .. import _grilly as _C
from .._errors import InvalidArgumentError

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "CosineAnnealingWarmRestarts", "LinearLR", "OneCycleLR", "ReduceLROnPlateau"]

_DEFAULTS = dict(gamma=0.1, step_size=1, milestones=(), t_max=1, eta_min=0.0, t_0=1, t_mult=1,
                 warmup_steps=0, start_factor=1.0 / 3.0, pct_start=0.3, div_factor=25.0,
                 final_div_factor=1e4, mode_max=0, patience=10, threshold=1e-4, cooldown=0,
                 min_lr=0.0)


class LRScheduler:
    """Base of the schedules: owns one grl_lr_scheduler per param group of ``optimizer``."""

    _kind: int = -1

    def __init__(self, optimizer, **options):
        self._hs: list = []
        self.optimizer = optimizer
        o = {**_DEFAULTS, **options}
        for g in optimizer.param_groups:
            self._hs.append(_C.grilly_lr_scheduler_create(
                g._h, self._kind, builtins.float(o["gamma"]), int(o["step_size"]),
                [int(m) for m in o["milestones"]], int(o["t_max"]), builtins.float(o["eta_min"]),
                int(o["t_0"]), int(o["t_mult"]), int(o["warmup_steps"]),
                builtins.float(o["start_factor"]), builtins.float(o["pct_start"]),
                builtins.float(o["div_factor"]), builtins.float(o["final_div_factor"]),
                int(o["mode_max"]), int(o["patience"]), builtins.float(o["threshold"]),
                int(o["cooldown"]), builtins.float(o["min_lr"])))
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def close(self) -> None:
        """Releases the schedulers (grl_lr_scheduler_release); idempotent."""
        hs, self._hs = self._hs, []
        if _C is not None:
            for h in hs:
                _C.grl_lr_scheduler_release(h)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def step(self, metrics: float | None = None) -> None:
        """Advances one step (grl_lr_scheduler_step) and sets each group's lr."""
        if not self._hs:
            raise InvalidArgumentError(f"grilly.optim.lr_scheduler.{type(self).__name__}: "
                                       "the scheduler was closed")
        m = 0.0 if metrics is None else builtins.float(metrics)
        self._last_lr = [_C.grl_lr_scheduler_step(h, m) for h in self._hs]
        for g, lr in zip(self.optimizer.param_groups, self._last_lr):
            dict.__setitem__(g, "lr", lr)
        self.last_epoch += 1

    def get_last_lr(self) -> list[float]:
        """The lr of each group after the last step (or after construction)."""
        return list(self._last_lr)


class StepLR(LRScheduler):
    """lr0 * gamma^(t // step_size) (GRL_LR_STEP)."""

    _kind = _C.GRL_LR_STEP

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1):
        super().__init__(optimizer, step_size=step_size, gamma=gamma)


class MultiStepLR(LRScheduler):
    """lr0 * gamma^(milestones passed) (GRL_LR_MULTISTEP)."""

    _kind = _C.GRL_LR_MULTISTEP

    def __init__(self, optimizer, milestones: Sequence[int], gamma: float = 0.1):
        super().__init__(optimizer, milestones=tuple(milestones), gamma=gamma)


class ExponentialLR(LRScheduler):
    """lr0 * gamma^t (GRL_LR_EXPONENTIAL)."""

    _kind = _C.GRL_LR_EXPONENTIAL

    def __init__(self, optimizer, gamma: float):
        super().__init__(optimizer, gamma=gamma)


class CosineAnnealingLR(LRScheduler):
    """eta_min + (lr0 - eta_min)(1 + cos(pi t / T_max)) / 2 (GRL_LR_COSINE)."""

    _kind = _C.GRL_LR_COSINE

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0):
        super().__init__(optimizer, t_max=T_max, eta_min=eta_min)


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine from lr0 to eta_min over periods T_0, T_0 T_mult, ...
    (GRL_LR_COSINE_WARM_RESTARTS)."""

    _kind = _C.GRL_LR_COSINE_WARM_RESTARTS

    def __init__(self, optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0):
        super().__init__(optimizer, t_0=T_0, t_mult=T_mult, eta_min=eta_min)


class LinearLR(LRScheduler):
    """Linear warmup lr0 * (start_factor + (1 - start_factor) min(t, total_iters) / total_iters)
    (GRL_LR_LINEAR_WARMUP; PyTorch's LinearLR with end_factor 1)."""

    _kind = _C.GRL_LR_LINEAR_WARMUP

    def __init__(self, optimizer, start_factor: float = 1.0 / 3.0, end_factor: float = 1.0,
                 total_iters: int = 5):
        if end_factor != 1.0:
            raise InvalidArgumentError("grilly.optim.lr_scheduler.LinearLR: the core warms up to "
                                       f"end_factor 1.0; got end_factor={end_factor}")
        super().__init__(optimizer, start_factor=start_factor, warmup_steps=total_iters)


class OneCycleLR(LRScheduler):
    """PyTorch's OneCycleLR with cosine annealing (GRL_LR_ONE_CYCLE): max_lr becomes the groups'
    lr0, total_steps (or epochs * steps_per_epoch) the cycle length; momentum is not cycled."""

    _kind = _C.GRL_LR_ONE_CYCLE

    def __init__(self, optimizer, max_lr: float, total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 div_factor: float = 25.0, final_div_factor: float = 1e4):
        if anneal_strategy != "cos":
            raise InvalidArgumentError("grilly.optim.lr_scheduler.OneCycleLR: only "
                                       f"anneal_strategy='cos' exists; got {anneal_strategy!r}")
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise InvalidArgumentError("grilly.optim.lr_scheduler.OneCycleLR: give "
                                           "total_steps, or epochs and steps_per_epoch")
            total_steps = int(epochs) * int(steps_per_epoch)
        for g in optimizer.param_groups:
            g["lr"] = max_lr
        super().__init__(optimizer, t_max=total_steps, pct_start=pct_start,
                         div_factor=div_factor, final_div_factor=final_div_factor)


class ReduceLROnPlateau(LRScheduler):
    """lr = max(lr * factor, min_lr) after more than `patience` steps without a relative
    improvement of `threshold`, then `cooldown` steps of rest (GRL_LR_REDUCE_ON_PLATEAU);
    step(metric) reads the metric."""

    _kind = _C.GRL_LR_REDUCE_ON_PLATEAU

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float = 0.0, eps: float = 1e-8):
        if mode not in ("min", "max"):
            raise InvalidArgumentError(f"grilly.optim.lr_scheduler.ReduceLROnPlateau: mode must "
                                       f"be 'min' or 'max', got {mode!r}")
        if threshold_mode != "rel" or eps != 1e-8:
            raise InvalidArgumentError("grilly.optim.lr_scheduler.ReduceLROnPlateau: the core "
                                       "uses threshold_mode='rel' and eps=1e-8")
        super().__init__(optimizer, gamma=factor, patience=patience, threshold=threshold,
                         cooldown=cooldown, min_lr=min_lr, mode_max=int(mode == "max"))

    def step(self, metrics: float) -> None:  # type: ignore[override]
        """grl_lr_scheduler_step with the metric."""
        super().step(metrics)
