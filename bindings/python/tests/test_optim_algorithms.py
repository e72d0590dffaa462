"""RMSprop, Adagrad, NLMS and NaturalGradient against numpy float64 implementations of their
algorithms; param groups; state_dict round trips and checkpoint files; errors."""

import numpy as np
import pytest

import grilly
from grilly import nn, optim


def _rmsprop_ref(p, grads, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
    p = p.astype(np.float64).copy()
    v, buf, ga = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for g in grads:
        g = g.astype(np.float64) + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            ga = alpha * ga + (1 - alpha) * g
            avg = np.sqrt(v - ga * ga) + eps
        else:
            avg = np.sqrt(v) + eps
        if momentum > 0:
            buf = momentum * buf + g / avg
            p -= lr * buf
        else:
            p -= lr * g / avg
    return p


def _adagrad_ref(p, grads, lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10):
    p = p.astype(np.float64).copy()
    s = np.full_like(p, initial_accumulator_value)
    for t, g in enumerate(grads, 1):
        g = g.astype(np.float64) + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s += g * g
        p -= clr * g / (np.sqrt(s) + eps)
    return p


def _nlms_ref(p, grads, mu, eps=1e-6, mu_decay=1.0, mu_min=0.0):
    p = p.astype(np.float64).copy()
    for g in grads:
        g = g.astype(np.float64)
        p -= mu * g / ((g * g).sum() + eps)
        mu = max(mu * mu_decay, mu_min)
    return p, mu


def _natural_ref(p, grads, lr, fisher_decay=0.95, eps=1e-8):
    p = p.astype(np.float64).copy()
    f = np.zeros_like(p)
    for g in grads:
        g = g.astype(np.float64)
        f = fisher_decay * f + (1 - fisher_decay) * g * g
        p -= lr * g / (f + eps)
    return p


def _run(make, rng, steps=4, shape=(4, 3)):
    p0 = rng.standard_normal(shape).astype(np.float32)
    grads = [rng.standard_normal(shape).astype(np.float32) for _ in range(steps)]
    p = nn.Parameter(p0)
    opt = make([p])
    for g in grads:
        p.grad = g
        opt.step()
    return p0, grads, p.numpy(), opt


@pytest.mark.parametrize("kw", [dict(), dict(alpha=0.9, eps=1e-6), dict(weight_decay=0.1),
                                dict(momentum=0.9), dict(centered=True, momentum=0.5)])
def test_rmsprop(rng, kw):
    p0, grads, got, _ = _run(lambda ps: optim.RMSprop(ps, lr=0.01, **kw), rng)
    np.testing.assert_allclose(got, _rmsprop_ref(p0, grads, 0.01, **kw), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kw", [dict(), dict(lr_decay=0.1), dict(weight_decay=0.1),
                                dict(initial_accumulator_value=0.5, eps=1e-6)])
def test_adagrad(rng, kw):
    p0, grads, got, _ = _run(lambda ps: optim.Adagrad(ps, lr=0.1, **kw), rng)
    np.testing.assert_allclose(got, _adagrad_ref(p0, grads, 0.1, **kw), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kw", [dict(), dict(mu_decay=0.5, mu_min=0.1, eps=1e-3)])
def test_nlms(rng, kw):
    p0, grads, got, opt = _run(lambda ps: optim.NLMS(ps, step_size=0.8, **kw), rng)
    ref, mu = _nlms_ref(p0, grads, 0.8, **kw)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(opt.mu, mu, rtol=1e-6)
    assert opt.param_groups[0]["step_size"] == 0.8


@pytest.mark.parametrize("kw", [dict(), dict(fisher_decay=0.5, eps=1e-4)])
def test_natural_gradient(rng, kw):
    p0, grads, got, _ = _run(lambda ps: optim.NaturalGradient(ps, lr=0.01, **kw), rng)
    np.testing.assert_allclose(got, _natural_ref(p0, grads, 0.01, **kw), rtol=1e-4, atol=1e-5)


def test_param_groups_with_their_own_options(rng):
    a0 = rng.standard_normal(3).astype(np.float32)
    b0 = rng.standard_normal(2).astype(np.float32)
    ga = rng.standard_normal(3).astype(np.float32)
    gb = rng.standard_normal(2).astype(np.float32)
    a, b = nn.Parameter(a0), nn.Parameter(b0)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[0]["momentum"] == 0
    for _ in range(2):
        a.grad, b.grad = ga, gb
        opt.step()
    np.testing.assert_allclose(a.numpy(), a0 - 0.2 * ga, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.numpy(), b0 - 0.5 * gb - 0.5 * (0.9 * gb + gb), rtol=1e-5,
                               atol=1e-6)
    opt.param_groups[1]["lr"] = 0.0
    b.grad = gb
    before = b.numpy()
    opt.step()
    np.testing.assert_array_equal(b.numpy(), before)
    with pytest.raises(grilly.InvalidArgumentError, match="momentum"):
        opt.param_groups[1]["momentum"] = 0.5
    c = nn.Parameter(np.zeros(2, np.float32))
    opt.add_param_group({"params": c, "lr": 0.3})
    assert len(opt.param_groups) == 3
    with pytest.raises(grilly.InvalidArgumentError):
        opt.add_param_group({"params": [a]})
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_state_dict_round_trip(rng):
    shape = (3, 2)
    p0 = rng.standard_normal(shape).astype(np.float32)
    grads = [rng.standard_normal(shape).astype(np.float32) for _ in range(4)]
    p = nn.Parameter(p0)
    opt = optim.Adam([p], lr=0.05, amsgrad=True)
    for g in grads[:2]:
        p.grad = g
        opt.step()
    sd = opt.state_dict()
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert sd["state"][0]["step"].tolist() == [2]
    assert sd["scalars"][0][:2] == [2.0, 0.05]
    assert sd["param_groups"][0]["params"] == [0] and sd["param_groups"][0]["amsgrad"] is True
    np.testing.assert_array_equal(opt.state[p]["exp_avg_sq"], sd["state"][0]["exp_avg_sq"])
    g64 = [g.astype(np.float64) for g in grads[:2]]
    np.testing.assert_allclose(sd["state"][0]["exp_avg"],
                               0.1 * 0.9 * g64[0] + 0.1 * g64[1], rtol=1e-5, atol=1e-7)
    # A fresh optimizer loaded with that state continues exactly like the original.
    q = nn.Parameter(p.numpy())
    opt2 = optim.Adam([q], lr=0.05, amsgrad=True)
    opt2.load_state_dict(sd)
    assert opt2.step_count == 2
    for g in grads[2:]:
        p.grad, q.grad = g, g
        opt.step()
        opt2.step()
    np.testing.assert_array_equal(q.numpy(), p.numpy())
    bad = dict(sd, state={0: dict(sd["state"][0], exp_avg=np.zeros(5))})
    kept = opt2.state_dict()
    with pytest.raises(grilly.ShapeError):
        opt2.load_state_dict(bad)
    after = opt2.state_dict()  # a rejected state changes nothing
    assert after["scalars"] == kept["scalars"]
    for slot, value in kept["state"][0].items():
        np.testing.assert_array_equal(after["state"][0][slot], value)
    with pytest.raises(grilly.InvalidArgumentError):
        optim.Adam([q, nn.Parameter(np.zeros(1))]).load_state_dict(
            dict(sd, param_groups=sd["param_groups"] * 2))


def test_checkpoint_files(rng, tmp_path):
    p0 = rng.standard_normal(4).astype(np.float32)
    g = rng.standard_normal(4).astype(np.float32)
    p = nn.Parameter(p0)
    opt = optim.NLMS([p], step_size=0.5, mu_decay=0.5)
    p.grad = g
    opt.step()
    path = tmp_path / "opt.safetensors"
    opt.save(path)
    q = nn.Parameter(p.numpy())
    opt2 = optim.NLMS([q], step_size=0.9, mu_decay=0.5)
    opt2.load(path)
    assert opt2.step_count == 1 and opt2.mu == pytest.approx(0.25)
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.5)
    p.grad, q.grad = g, g
    opt.step()
    opt2.step()
    np.testing.assert_array_equal(q.numpy(), p.numpy())
    with pytest.raises(grilly.InvalidArgumentError):
        optim.SGD([nn.Parameter(np.zeros(4))], lr=0.1).load(path)     # another kind
    with pytest.raises(grilly.GrillyIOError):
        opt2.load(tmp_path / "missing.safetensors")
    two = optim.SGD([{"params": [nn.Parameter(np.zeros(1))]},
                     {"params": [nn.Parameter(np.zeros(1))]}], lr=0.1)
    with pytest.raises(grilly.InvalidArgumentError):
        two.save(tmp_path / "two.safetensors")


def test_bad_options_name_the_field():
    p = nn.Parameter(np.zeros(3, np.float32))
    for make, field in ((lambda: optim.RMSprop([p], alpha=1.5), "alpha"),
                        (lambda: optim.Adagrad([p], lr_decay=-1.0), "lr_decay"),
                        (lambda: optim.NLMS([p], mu_decay=0.0), "mu_decay"),
                        (lambda: optim.NaturalGradient([p], fisher_decay=1.0), "fisher_decay"),
                        (lambda: optim.Adam([p], betas=(0.9, 1.0)), "beta2")):
        with pytest.raises(grilly.InvalidArgumentError, match=field):
            make()
    with pytest.raises(TypeError):
        optim.SGD(p)
