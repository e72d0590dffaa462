"""grilly.optim against numpy float64 implementations of PyTorch's algorithms."""

import numpy as np
import pytest

import grilly
from grilly import nn, optim


def _sgd_ref(p, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    p = p.astype(np.float64).copy()
    buf = None
    for g in grads:
        g = g.astype(np.float64) + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p -= lr * g
    return p


def _adam_ref(p, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
              decoupled=False):
    p = p.astype(np.float64).copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    vmax = np.zeros_like(p)
    b1, b2 = betas
    for t, g in enumerate(grads, 1):
        g = g.astype(np.float64)
        if decoupled:
            p *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        if amsgrad:
            vmax = np.maximum(vmax, v)
            denom = np.sqrt(vmax) / np.sqrt(bc2) + eps
        else:
            denom = np.sqrt(v) / np.sqrt(bc2) + eps
        p -= lr / bc1 * m / denom
    return p


def _run(make, rng, steps=3):
    p0 = rng.standard_normal((4, 3)).astype(np.float32)
    grads = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(steps)]
    p = nn.Parameter(p0)
    opt = make([p])
    for g in grads:
        p.grad = g
        opt.step()
    return p0, grads, p.numpy()


@pytest.mark.parametrize("kw", [dict(), dict(momentum=0.9), dict(momentum=0.9, dampening=0.1),
                                dict(momentum=0.8, nesterov=True, weight_decay=0.01),
                                dict(weight_decay=0.1)])
def test_sgd_matches_pytorch_algorithm(rng, kw):
    p0, grads, got = _run(lambda ps: optim.SGD(ps, lr=0.1, **kw), rng)
    np.testing.assert_allclose(got, _sgd_ref(p0, grads, 0.1, **kw), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kw", [dict(), dict(betas=(0.8, 0.99), eps=1e-6),
                                dict(weight_decay=0.1), dict(amsgrad=True)])
def test_adam_matches_pytorch_algorithm(rng, kw):
    p0, grads, got = _run(lambda ps: optim.Adam(ps, lr=0.01, **kw), rng)
    np.testing.assert_allclose(got, _adam_ref(p0, grads, 0.01, **kw), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kw", [dict(), dict(weight_decay=0.1, amsgrad=True)])
def test_adamw_matches_pytorch_algorithm(rng, kw):
    p0, grads, got = _run(lambda ps: optim.AdamW(ps, lr=0.01, **kw), rng)
    ref = _adam_ref(p0, grads, 0.01, decoupled=True, **{"weight_decay": 0.01, **kw})
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


def test_param_groups_lr_takes_effect(rng):
    p0 = rng.standard_normal(5).astype(np.float32)
    g = rng.standard_normal(5).astype(np.float32)
    p = nn.Parameter(p0)
    opt = optim.SGD([p], lr=0.1)
    assert len(opt.param_groups) == 1 and opt.param_groups[0]["lr"] == 0.1
    assert opt.param_groups[0]["params"][0] is p
    p.grad = g
    opt.step()
    opt.param_groups[0]["lr"] = 0.5
    p.grad = g
    opt.step()
    np.testing.assert_allclose(p.numpy(), p0 - 0.1 * g - 0.5 * g, rtol=1e-5, atol=1e-6)
    assert opt.step_count == 2


def test_zero_grad_and_step_on_a_module(rng):
    grilly.manual_seed(3)
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.5)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    w0 = model.weight.numpy()
    grilly.functional.mse_loss(model(x), np.zeros((4, 2), np.float32)).backward()
    g = model.weight.grad.numpy()
    opt.step()
    np.testing.assert_allclose(model.weight.numpy(), w0 - 0.5 * g, rtol=1e-5, atol=1e-6)
    opt.zero_grad()
    assert model.weight.grad is None and model.bias.grad is None


def test_bad_options():
    p = nn.Parameter(np.zeros(3, np.float32))
    with pytest.raises(grilly.InvalidArgumentError):
        optim.Adam([p], lr=0.1, betas=(1.5, 0.9))
    with pytest.raises(grilly.InvalidArgumentError):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(grilly.InvalidArgumentError):
        optim.SGD([], lr=0.1)


def test_training_releases_everything(device):
    import gc
    gc.collect()
    device.synchronize()
    start = device.memory_stats()["bytes_in_use"]
    gc.disable()   # reference counting alone must release modules, optimizers and graphs
    try:
        for _ in range(3):
            model = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Dropout(0.1), nn.Linear(16, 4))
            opt = optim.AdamW(model.parameters(), lr=1e-3)
            opt.param_groups[0]["lr"] = 2e-3
            for _ in range(3):
                x = np.ones((5, 8), np.float32)
                loss = grilly.functional.cross_entropy(model(x), np.array([0, 1, 2, 3, 0]))
                opt.zero_grad()
                loss.backward()
                opt.step()
            del model, opt, loss
        device.synchronize()
        assert device.memory_stats()["bytes_in_use"] == start
    finally:
        gc.enable()
