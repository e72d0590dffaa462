"""Backward through the Python API against analytic gradients (float64 references)."""

import numpy as np
import pytest

import grilly


def test_polynomial_and_broadcast(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    tx = grilly.tensor(x, requires_grad=True)
    tb = grilly.tensor(b, requires_grad=True)
    loss = ((tx * tx) * 3.0 + tx * tb - tb / 2.0).sum()
    assert loss.requires_grad and loss.grad_fn is not None
    loss.backward()
    xd, bd = x.astype(np.float64), b.astype(np.float64)
    np.testing.assert_allclose(tx.grad.numpy(), 6 * xd + bd, rtol=1e-5, atol=1e-5)
    # b is broadcast over 3 rows: its gradient is summed back to its shape.
    np.testing.assert_allclose(tb.grad.numpy(), xd.sum(0) - 3 * 0.5, rtol=1e-5, atol=1e-5)
    assert tx.is_leaf and not loss.is_leaf


def test_matmul_tanh_mean(rng):
    x = rng.standard_normal((5, 3)).astype(np.float32)
    w = rng.standard_normal((3, 2)).astype(np.float32)
    tw = grilly.tensor(w, requires_grad=True)
    y = (grilly.tensor(x) @ tw).tanh().mean()
    y.backward()
    xd, wd = x.astype(np.float64), w.astype(np.float64)
    z = xd @ wd
    g = (1 - np.tanh(z) ** 2) / z.size
    np.testing.assert_allclose(tw.grad.numpy(), xd.T @ g, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(y.item(), np.tanh(z).mean(), rtol=1e-5)


def test_exp_log_sqrt_sigmoid_softmax(rng):
    a = rng.uniform(0.5, 2.0, 6).astype(np.float32)
    t = grilly.tensor(a, requires_grad=True)
    (t.exp() + t.log() + t.sqrt() + t.sigmoid()).sum().backward()
    ad = a.astype(np.float64)
    s = 1 / (1 + np.exp(-ad))
    want = np.exp(ad) + 1 / ad + 0.5 / np.sqrt(ad) + s * (1 - s)
    np.testing.assert_allclose(t.grad.numpy(), want, rtol=1e-5, atol=1e-6)

    x = rng.standard_normal((2, 5)).astype(np.float32)
    c = rng.standard_normal((2, 5)).astype(np.float32)
    tx = grilly.tensor(x, requires_grad=True)
    (tx.softmax(-1) * grilly.tensor(c)).sum().backward()
    xd, cd = x.astype(np.float64), c.astype(np.float64)
    p = np.exp(xd - xd.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    want = p * (cd - (p * cd).sum(-1, keepdims=True))
    np.testing.assert_allclose(tx.grad.numpy(), want, rtol=1e-5, atol=1e-6)


def test_gradient_accumulates_and_can_be_cleared(rng):
    t = grilly.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (t * 2).sum().backward()
    (t * 3).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), [5, 5, 5])
    t.grad = None
    assert t.grad is None
    (t * t).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), [2, 4, 6])


def test_backward_with_gradient_and_retain_graph():
    t = grilly.tensor([1.0, -2.0], requires_grad=True)
    y = t * t
    y.backward(grilly.tensor([1.0, 10.0]), retain_graph=True)
    np.testing.assert_allclose(t.grad.numpy(), [2, -40])
    y.backward([1.0, 1.0])
    np.testing.assert_allclose(t.grad.numpy(), [4, -44])
    with pytest.raises(grilly.InvalidArgumentError, match="retain"):
        y.backward([1.0, 1.0])


def test_backward_of_non_scalar_needs_gradient():
    t = grilly.ones(3, requires_grad=True)
    with pytest.raises(grilly.GrillyError):
        (t * 2).backward()


def test_indexing_and_views_are_differentiable():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = grilly.tensor(a, requires_grad=True)
    (t[1, 1:] * 2).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [[0, 0, 0], [0, 2, 2]])
    t.grad = None
    (t.T.reshape(-1) * grilly.arange(6, dtype=grilly.float32)).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.arange(6).reshape(3, 2).T)


def test_detach_and_requires_grad_flag():
    t = grilly.tensor([1.0, 2.0], requires_grad=True)
    d = t.detach()
    assert not d.requires_grad
    np.testing.assert_array_equal(d.numpy(), [1, 2])
    t.requires_grad = False
    assert not (t * 2).requires_grad
    u = grilly.zeros(2).requires_grad_()
    assert u.requires_grad


def test_no_grad_stops_recording():
    t = grilly.tensor([1.0, 2.0], requires_grad=True)
    with grilly.no_grad():
        y = t * 2
    assert not y.requires_grad and y.grad_fn is None
