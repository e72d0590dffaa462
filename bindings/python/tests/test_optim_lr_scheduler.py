"""grilly.optim.lr_scheduler against the closed forms of PyTorch's schedules (and a reference
implementation of ReduceLROnPlateau); the lr reaches the optimizer's steps."""

import math

import numpy as np
import pytest

import grilly
from grilly import nn, optim
from grilly.optim import lr_scheduler as S


def _opt(lr=0.1):
    return optim.SGD([nn.Parameter(np.zeros(2, np.float32))], lr=lr)


def _lrs(sched, opt, steps):
    out = [opt.param_groups[0]["lr"]]
    for _ in range(steps):
        sched.step()
        out.append(opt.param_groups[0]["lr"])
    return out


def _one_cycle(t, total, max_lr, pct=0.3, div=25.0, final_div=1e4):
    init = max_lr / div
    low = init / final_div
    end1 = pct * total - 1
    end2 = total - 1

    def anneal(a, b, p):
        return b + (a - b) / 2 * (math.cos(math.pi * p) + 1)
    if t <= end1:
        return anneal(init, max_lr, t / end1)
    return anneal(max_lr, low, (t - end1) / (end2 - end1))


def _warm_restarts(t, lr0, t0, mult, eta_min):
    ti, tc = t0, t
    while tc >= ti:
        tc -= ti
        ti *= mult
    return eta_min + (lr0 - eta_min) * (1 + math.cos(math.pi * tc / ti)) / 2


@pytest.mark.parametrize("make, ref", [
    (lambda o: S.StepLR(o, step_size=3, gamma=0.5), lambda t: 0.1 * 0.5 ** (t // 3)),
    (lambda o: S.MultiStepLR(o, [2, 5, 5], gamma=0.1),
     lambda t: 0.1 * 0.1 ** sum(m <= t for m in (2, 5, 5))),
    (lambda o: S.ExponentialLR(o, gamma=0.9), lambda t: 0.1 * 0.9 ** t),
    (lambda o: S.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
     lambda t: 0.01 + 0.09 * (1 + math.cos(math.pi * t / 7)) / 2),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
     lambda t: _warm_restarts(t, 0.1, 3, 2, 0.001)),
    (lambda o: S.LinearLR(o, start_factor=0.25, total_iters=4),
     lambda t: 0.1 * (0.25 + 0.75 * min(t, 4) / 4)),
    (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=10), lambda t: _one_cycle(t, 10, 0.1)),
    (lambda o: S.OneCycleLR(o, max_lr=0.1, epochs=2, steps_per_epoch=6, pct_start=0.5,
                            div_factor=10, final_div_factor=100),
     lambda t: _one_cycle(t, 12, 0.1, 0.5, 10, 100)),
], ids=["step", "multistep", "exponential", "cosine", "warm_restarts", "linear", "one_cycle",
        "one_cycle_epochs"])
def test_closed_forms(make, ref):
    opt = _opt()
    sched = make(opt)
    got = _lrs(sched, opt, 9)
    np.testing.assert_allclose(got, [ref(t) for t in range(10)], rtol=1e-9, atol=1e-12)
    assert sched.get_last_lr() == [got[-1]]
    assert sched.last_epoch == 9


def _plateau_ref(metrics, lr, factor, patience, threshold, cooldown, min_lr, mode):
    best = math.inf if mode == "min" else -math.inf
    bad = cool = 0
    out = []
    for m in metrics:
        better = m < best * (1 - threshold) if mode == "min" else m > best * (1 + threshold)
        if better:
            best, bad = m, 0
        else:
            bad += 1
        if cool > 0:
            cool -= 1
            bad = 0
        if bad > patience:
            new = max(lr * factor, min_lr)
            if lr - new > 1e-8:
                lr = new
            cool, bad = cooldown, 0
        out.append(lr)
    return out


@pytest.mark.parametrize("mode", ["min", "max"])
def test_reduce_on_plateau(mode):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9, 0.91]
    if mode == "max":
        metrics = [2 - m for m in metrics]
    opt = _opt(0.1)
    sched = S.ReduceLROnPlateau(opt, mode=mode, factor=0.5, patience=1, cooldown=1,
                                min_lr=0.02)
    got = []
    for m in metrics:
        sched.step(m)
        got.append(opt.param_groups[0]["lr"])
    ref = _plateau_ref(metrics, 0.1, 0.5, 1, 1e-4, 1, 0.02, mode)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    assert min(got) == 0.02 and got[0] == 0.1


def test_schedule_reaches_the_steps(rng):
    g = rng.standard_normal(3).astype(np.float32)
    p = nn.Parameter(np.zeros(3, np.float32))
    opt = optim.SGD([p], lr=1.0)
    sched = S.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = g
        opt.step()
        sched.step()
    np.testing.assert_allclose(p.numpy(), -(1 + 0.5 + 0.25) * g, rtol=1e-6)


def test_every_group_is_scheduled():
    a, b = nn.Parameter(np.zeros(1)), nn.Parameter(np.zeros(1))
    opt = optim.Adam([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.01}])
    sched = S.ExponentialLR(opt, gamma=0.5)
    sched.step()
    np.testing.assert_allclose(sched.get_last_lr(), [0.05, 0.005], rtol=1e-12)


def test_errors():
    opt = _opt()
    with pytest.raises(grilly.InvalidArgumentError, match="step_size"):
        S.StepLR(opt, step_size=0)
    with pytest.raises(grilly.InvalidArgumentError, match="gamma"):
        S.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(grilly.InvalidArgumentError):
        S.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(grilly.InvalidArgumentError):
        S.LinearLR(opt, end_factor=0.5)
    sched = S.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(2):
        sched.step()
    with pytest.raises(grilly.InvalidArgumentError):
        for _ in range(3):
            sched.step()
    sched.close()
    with pytest.raises(grilly.InvalidArgumentError):
        sched.step()
