"""grilly.amp: autocast's dtype rules (values against float64 references computed from the rounded
inputs), gradients through the casts, and GradScaler's scaling, inf/NaN skip and scale updates
against PyTorch's rules."""

import threading

import numpy as np
import pytest

import grilly
import grilly.functional as F
from grilly import amp, nn, optim


def _f16(a):
    return a.astype(np.float16).astype(np.float64)


def test_linear_and_matmul_run_in_float16(rng):
    x = rng.standard_normal((4, 8)).astype(np.float32)
    w = rng.standard_normal((3, 8)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    with amp.autocast(dtype=grilly.float16):
        assert amp.is_autocast_enabled() and amp.get_autocast_dtype() is grilly.float16
        y = F.linear(grilly.tensor(x), grilly.tensor(w), grilly.tensor(b))
        z = grilly.tensor(x) @ grilly.tensor(w).T
        from_numpy = F.linear(x, grilly.tensor(w))      # a numpy input is cast as well
        bm = F.bmm(grilly.tensor(x[None]), grilly.tensor(w.T[None]))
        bm2 = grilly.tensor(x[None]).bmm(grilly.tensor(w.T[None]))
    assert not amp.is_autocast_enabled()
    assert y.dtype is grilly.float16 and z.dtype is grilly.float16
    assert from_numpy.dtype is grilly.float16
    ref = _f16(x) @ _f16(w).T
    np.testing.assert_allclose(y.numpy().astype(np.float64), ref + _f16(b), rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(z.numpy().astype(np.float64), ref, rtol=2e-3, atol=2e-3)
    for r in (bm, bm2):
        assert r.dtype is grilly.float16
        np.testing.assert_allclose(r.numpy()[0].astype(np.float64), ref, rtol=2e-3, atol=2e-3)
    # Outside autocast the same call stays in float32.
    assert F.linear(grilly.tensor(x), grilly.tensor(w)).dtype is grilly.float32


def test_bfloat16_autocast(rng):
    x = rng.standard_normal((2, 16)).astype(np.float32)
    w = rng.standard_normal((16, 4)).astype(np.float32)
    with amp.autocast(dtype="bfloat16"):
        y = grilly.tensor(x) @ grilly.tensor(w)
    assert y.dtype is grilly.bfloat16
    bf = lambda a: (a.astype(np.float32).view(np.uint32) & 0xFFFF0000).view(np.float32)  # noqa: E731
    ref = bf(x).astype(np.float64) @ bf(w).astype(np.float64)
    np.testing.assert_allclose(y.float().numpy(), ref, rtol=2e-2, atol=3e-2)


def test_softmax_reductions_and_losses_run_in_float32(rng):
    logits = rng.standard_normal((5, 7)).astype(np.float16)
    target = rng.integers(0, 7, 5)
    t = grilly.tensor(logits)
    assert t.dtype is grilly.float16
    with amp.autocast():
        p = F.softmax(t, dim=-1)
        s = t.sum()
        loss = F.cross_entropy(t, target)
        mse = F.mse_loss(t, t * 0.5)
    for r in (p, s, loss, mse):
        assert r.dtype is grilly.float32
    ld = logits.astype(np.float64)
    e = np.exp(ld - ld.max(1, keepdims=True))
    ref_p = e / e.sum(1, keepdims=True)
    np.testing.assert_allclose(p.numpy(), ref_p, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s.item(), ld.sum(), rtol=1e-5)
    ref_loss = -np.log(ref_p[np.arange(5), target]).mean()
    np.testing.assert_allclose(loss.item(), ref_loss, rtol=1e-5)
    np.testing.assert_allclose(mse.item(), ((0.5 * ld) ** 2).mean(), rtol=1e-3)


def test_mixed_binary_ops_promote_inside_autocast_only():
    a = grilly.tensor([1.5, 2.5], dtype=grilly.float16)
    b = grilly.tensor([0.25, 0.5])
    with amp.autocast():
        c = a + b
    assert c.dtype is grilly.float32
    np.testing.assert_array_equal(c.numpy(), [1.75, 3.0])
    with pytest.raises(grilly.DTypeError):
        a + b


def test_gradients_flow_through_the_casts(rng):
    grilly.manual_seed(0)
    lin = nn.Linear(6, 3)
    x = rng.standard_normal((4, 6)).astype(np.float32)
    with amp.autocast():
        out = lin(x)
        loss = (out * out).sum()              # sum runs in float32
    assert out.dtype is grilly.float16 and loss.dtype is grilly.float32
    loss.backward()
    w, b = lin.weight.numpy(), lin.bias.numpy()
    assert lin.weight.grad.dtype is grilly.float32 and lin.bias.grad.dtype is grilly.float32
    y = _f16(x) @ _f16(w).T + _f16(b)
    g = 2 * y
    np.testing.assert_allclose(lin.weight.grad.numpy(), g.T @ _f16(x), rtol=2e-2, atol=2e-3)
    np.testing.assert_allclose(lin.bias.grad.numpy(), g.sum(0), rtol=2e-2, atol=2e-3)


def test_autocast_is_per_thread_nests_and_rejects_float32():
    seen = []
    with amp.autocast():
        t = threading.Thread(target=lambda: seen.append(amp.is_autocast_enabled()))
        t.start()
        t.join()
        with amp.autocast(enabled=False):
            assert not amp.is_autocast_enabled()
        with amp.autocast(dtype=grilly.bfloat16):
            assert amp.get_autocast_dtype() is grilly.bfloat16
        assert amp.get_autocast_dtype() is grilly.float16
    assert seen == [False]

    @amp.autocast()
    def f(a):
        return a @ a
    assert f(grilly.ones(2, 2)).dtype is grilly.float16
    with pytest.raises(grilly.DTypeError, match="float16 or bfloat16"):
        amp.autocast(dtype=grilly.float32)


def _sgd_problem(rng):
    w0 = rng.standard_normal((3, 4)).astype(np.float32)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    w = grilly.tensor(w0, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    return w0, x, w, opt


def test_grad_scaler_scales_unscales_and_steps(rng):
    w0, x, w, opt = _sgd_problem(rng)
    scaler = amp.GradScaler(init_scale=1024.0, growth_interval=2)
    loss = (grilly.tensor(x) @ w.T).sum()
    scaled = scaler.scale(loss)
    assert scaled.item() == pytest.approx(loss.item() * 1024.0, rel=1e-6)
    scaled.backward()
    scaler.unscale_(opt)
    true_grad = np.tile(x.astype(np.float64).sum(0), (3, 1))
    np.testing.assert_allclose(w.grad.numpy(), true_grad, rtol=1e-6)
    with pytest.raises(RuntimeError, match="already called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    scaler.update()
    np.testing.assert_allclose(w.numpy(), w0 - 0.1 * true_grad, rtol=1e-5, atol=1e-6)
    assert not scaler.found_inf(opt) and scaler.get_scale() == 1024.0
    # Second good step in a row: growth_interval 2 doubles the scale.
    opt.zero_grad()
    scaler.scale((grilly.tensor(x) @ w.T).sum()).backward()
    scaler.step(opt)
    scaler.update()
    assert scaler.get_scale() == 2048.0
    np.testing.assert_allclose(w.numpy(), w0 - 0.2 * true_grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_grad_scaler_skips_non_finite_steps(rng, bad):
    w0, x, w, opt = _sgd_problem(rng)
    scaler = amp.GradScaler(init_scale=256.0)
    scaler.scale((grilly.tensor(x) @ w.T).sum()).backward()
    g = w.grad.numpy()
    g[1, 2] = bad
    w.grad = g
    assert scaler.step(opt) is None
    scaler.update()
    np.testing.assert_array_equal(w.numpy(), w0)               # the step was skipped
    assert scaler.get_scale() == 128.0                         # backoff 0.5
    assert opt.step_count == 0


def test_grad_scaler_state_and_checks():
    s = amp.GradScaler(init_scale=8.0, growth_factor=4.0, backoff_factor=0.25, growth_interval=3)
    state = s.state_dict()
    assert state == {"scale": 8.0, "growth_factor": 4.0, "backoff_factor": 0.25,
                     "growth_interval": 3, "_growth_tracker": 0}
    t = amp.GradScaler()
    t.load_state_dict(state)
    assert t.get_scale() == 8.0 and t.get_growth_interval() == 3
    off = amp.GradScaler(enabled=False)
    loss = grilly.tensor(2.0)
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    with pytest.raises(grilly.InvalidArgumentError, match="backoff_factor"):
        amp.GradScaler(backoff_factor=1.5)
    with pytest.raises(TypeError, match="Tensor"):
        s.scale(3.0)
