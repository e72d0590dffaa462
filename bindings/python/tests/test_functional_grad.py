"""Gradients of grilly.functional against central finite differences through the Python API: the
activations, and a representative op of every other family (elementwise, reductions, linear
algebra, normalisation, indexing and shape)."""

import numpy as np
import pytest

import grilly
import grilly.functional as F
from test_functional_losses import check_grad


@pytest.fixture
def x(rng):
    # Away from the kinks of relu-like functions, where differences straddle two branches.
    v = rng.standard_normal((2, 6))
    v = np.where(np.abs(v) < 0.05, 0.3, v)
    return v.astype(np.float32)


@pytest.mark.parametrize("fn", [
    lambda t: F.leaky_relu(t, 0.1), lambda t: F.elu(t, 0.7), F.gelu,
    lambda t: F.gelu(t, approximate="tanh"), F.silu, lambda t: F.softplus(t, beta=2.0),
    F.mish, F.hardswish, F.hardsigmoid, F.gcu, lambda t: F.roswish(t, 0.5, 1.5), F.swiglu,
    F.geglu, F.reglu, lambda t: F.log_softmax(t, 1), lambda t: F.softmax(t, 0), F.sigmoid,
    F.tanh, F.relu,
], ids=["leaky_relu", "elu", "gelu", "gelu_tanh", "silu", "softplus", "mish", "hardswish",
        "hardsigmoid", "gcu", "roswish", "swiglu", "geglu", "reglu", "log_softmax", "softmax",
        "sigmoid", "tanh", "relu"])
def test_activation_gradients(x, fn):
    w = np.linspace(-1, 1, fn(x).numel()).reshape(fn(x).shape).astype(np.float32)
    check_grad(lambda t: fn(t) * w, [x], wrt=(0,))


def test_elementwise_gradients(rng):
    a = rng.uniform(0.5, 2.0, (2, 3)).astype(np.float32)
    b = rng.uniform(0.5, 2.0, (3,)).astype(np.float32)
    check_grad(lambda p, q: F.pow(p, q) + F.div(p, q) - F.mul(q, 2.0), [a, b], wrt=(0, 1))
    check_grad(lambda p: F.rsub(p, 1.0) * F.clamp(p, 0.8, 1.5) + F.rsqrt(p), [a], wrt=(0,))
    # Fixed values at least 0.1 from every tie of maximum / minimum.
    u = np.array([[0.7, 1.4, 1.9], [1.1, 0.6, 1.6]], np.float32)
    v = np.array([1.0, 1.2, 1.75], np.float32)
    check_grad(lambda p, q: F.maximum(p, q) + F.minimum(p, 1.25), [u, v], wrt=(0, 1))
    mask = (a > 1).astype(np.uint8)
    check_grad(lambda p: F.where(mask, p * 3.0, F.exp(p)), [a], wrt=(0,))


def test_reduction_gradients(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    check_grad(lambda t: F.var(t, 1) + F.std(t, 0, correction=0).sum(), [a], wrt=(0,))
    check_grad(lambda t: F.norm(t, 3, dim=1) + F.logsumexp(t, 0).sum(), [a], wrt=(0,))
    check_grad(lambda t: F.cumsum(t, 1) * np.arange(4, dtype=np.float32), [a], wrt=(0,))
    check_grad(lambda t: F.amax(t, 1) + F.mean(t), [a], wrt=(0,))


def test_linear_algebra_gradients(rng):
    a = rng.standard_normal((2, 2, 3)).astype(np.float32)
    b = rng.standard_normal((2, 3, 2)).astype(np.float32)
    check_grad(F.bmm, [a, b], wrt=(0, 1))
    u = rng.standard_normal(3).astype(np.float32)
    v = rng.standard_normal(2).astype(np.float32)
    check_grad(lambda p, q: F.outer(p, q) * np.array([[1, 2]], np.float32), [u, v], wrt=(0, 1))
    w = rng.standard_normal((2, 3)).astype(np.float32)
    check_grad(lambda p, q, r: F.linear(p, q, r), [a, w, v], wrt=(0, 1, 2))


def test_normalisation_gradients(rng):
    a = rng.standard_normal((2, 5)).astype(np.float32)
    w = rng.uniform(0.5, 1.5, 5).astype(np.float32)
    c = np.linspace(-1, 1, 10).reshape(2, 5).astype(np.float32)
    check_grad(lambda t, g: F.rms_norm(t, (5,), g, eps=1e-5) * c, [a, w], wrt=(0, 1))
    check_grad(lambda t, g: F.layer_norm(t, (5,), g, g) * c, [a, w], wrt=(0, 1))


def test_indexing_gradients(rng):
    w = rng.standard_normal((5, 3)).astype(np.float32)
    c = rng.standard_normal((2, 2, 3)).astype(np.float32)
    check_grad(lambda t: F.embedding(np.array([[0, 4], [4, 2]]), t) * c, [w], wrt=(0,))
    x = rng.standard_normal((3, 4)).astype(np.float32)
    idx = np.array([[0, 3], [1, 1], [2, 0]])
    k = np.array([[1.0, -2.0], [0.5, 3.0], [2.0, 1.0]], np.float32)
    check_grad(lambda t: F.gather(t, 1, idx) * k, [x], wrt=(0,))
    src = rng.standard_normal((3, 2)).astype(np.float32)
    m = rng.standard_normal((3, 4)).astype(np.float32)
    check_grad(lambda t, s: F.scatter_add(t, 1, idx, s) * m, [x, src], wrt=(0, 1))
    check_grad(lambda t: F.index_select(t, 1, np.array([3, 3, 0])) * k[:, :1], [x], wrt=(0,))


def test_shape_gradients(rng):
    a = rng.standard_normal((2, 3)).astype(np.float32)
    b = rng.standard_normal((2, 2)).astype(np.float32)
    c = np.arange(10, dtype=np.float32).reshape(2, 5)
    check_grad(lambda p, q: F.cat([p, q], 1) * c, [a, b], wrt=(0, 1))
    check_grad(lambda p: F.stack([p, p * 2.0], 1) * np.arange(12, dtype=np.float32).reshape(
        2, 2, 3), [a], wrt=(0,))
    check_grad(lambda p: F.split(p, [1, 2], 1)[1] * np.array([[1, -1]], np.float32), [a],
               wrt=(0,))
    check_grad(lambda p: F.pad(p, (1, -1, 0, 1), value=2.0) * np.arange(9, dtype=np.float32)
               .reshape(3, 3), [a], wrt=(0,))


def test_dropout_gradient_is_the_mask():
    x = grilly.tensor(np.ones((16, 16), np.float32), requires_grad=True)
    grilly.manual_seed(5)
    y = F.dropout(x, p=0.5)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.numpy())
