"""grilly.functional against numpy float64 references."""

import math

import numpy as np
import pytest

import grilly
import grilly.functional as F


def _erf(x):
    return np.vectorize(math.erf)(x)


def _log_softmax(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


@pytest.fixture
def x(rng):
    return rng.standard_normal((4, 6)).astype(np.float32)


def test_linear(rng, x):
    w = rng.standard_normal((3, 6)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    ref = x.astype(np.float64) @ w.T.astype(np.float64) + b
    np.testing.assert_allclose(F.linear(x, w, b).numpy(), ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(F.linear(grilly.tensor(x), grilly.tensor(w)).numpy(),
                               x.astype(np.float64) @ w.T, rtol=1e-4, atol=1e-4)


def test_activations(x):
    d = x.astype(np.float64)
    cases = [
        (F.relu(x), np.maximum(d, 0)),
        (F.gelu(x), 0.5 * d * (1 + _erf(d / math.sqrt(2)))),
        (F.gelu(x, approximate="tanh"),
         0.5 * d * (1 + np.tanh(math.sqrt(2 / math.pi) * (d + 0.044715 * d ** 3)))),
        (F.silu(x), d / (1 + np.exp(-d))),
        (F.sigmoid(x), 1 / (1 + np.exp(-d))),
        (F.tanh(x), np.tanh(d)),
    ]
    for got, ref in cases:
        np.testing.assert_allclose(got.numpy(), ref, rtol=1e-4, atol=1e-5)
    with pytest.raises(grilly.InvalidArgumentError):
        F.gelu(x, approximate="fast")


def test_softmax_log_softmax(x):
    d = x.astype(np.float64)
    for dim in (0, 1, -1):
        ls = _log_softmax(d, axis=dim)
        np.testing.assert_allclose(F.log_softmax(x, dim).numpy(), ls, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(F.softmax(x, dim=dim).numpy(), np.exp(ls), rtol=1e-4,
                                   atol=1e-6)


def test_layer_norm_rms_norm(rng, x):
    d = x.astype(np.float64)
    w = rng.standard_normal(6).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    mu = d.mean(-1, keepdims=True)
    var = d.var(-1, keepdims=True)
    ref = (d - mu) / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(F.layer_norm(x, (6,)).numpy(), ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(F.layer_norm(x, [6], w, b).numpy(), ref * w + b, rtol=1e-4,
                               atol=1e-4)
    full = (d - d.mean()) / np.sqrt(d.var() + 1e-3)
    np.testing.assert_allclose(F.layer_norm(x, x.shape, eps=1e-3).numpy(), full, rtol=1e-4,
                               atol=1e-4)
    rms = d / np.sqrt((d * d).mean(-1, keepdims=True) + 1e-6)
    np.testing.assert_allclose(F.rms_norm(x, (6,), w, eps=1e-6).numpy(), rms * w, rtol=1e-4,
                               atol=1e-4)


def test_dropout_follows_the_global_generator():
    x = np.ones((64, 64), dtype=np.float32)
    grilly.manual_seed(7)
    a = F.dropout(x, p=0.25).numpy()
    b = F.dropout(x, p=0.25).numpy()
    grilly.manual_seed(7)
    a2 = F.dropout(x, p=0.25).numpy()
    np.testing.assert_array_equal(a, a2)
    assert not np.array_equal(a, b)
    assert set(np.unique(a)) <= {0.0, np.float32(1 / 0.75)}
    assert 0.18 < (a == 0).mean() < 0.32
    np.testing.assert_array_equal(F.dropout(x, p=0.25, training=False).numpy(), x)


def test_matmul(rng):
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    b = rng.standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_allclose(F.matmul(a, b).numpy(), a.astype(np.float64) @ b, rtol=1e-4,
                               atol=1e-4)


def test_cross_entropy_and_nll(rng):
    logits = rng.standard_normal((5, 4)).astype(np.float32)
    target = np.array([0, 3, -100, 1, 2])
    ls = _log_softmax(logits.astype(np.float64))
    keep = target != -100
    per = np.where(keep, -ls[np.arange(5), np.where(keep, target, 0)], 0.0)
    np.testing.assert_allclose(F.cross_entropy(logits, target).item(), per.sum() / keep.sum(),
                               rtol=1e-5)
    np.testing.assert_allclose(F.cross_entropy(logits, target, reduction="none").numpy(), per,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(F.cross_entropy(logits, target, reduction="sum").item(),
                               per.sum(), rtol=1e-5)
    # label smoothing
    eps = 0.1
    sm = (1 - eps) * -ls[np.arange(5), np.where(keep, target, 0)] + eps / 4 * -ls.sum(1)
    np.testing.assert_allclose(F.cross_entropy(logits, target, label_smoothing=eps).item(),
                               sm[keep].mean(), rtol=1e-5)
    # nll over log-probabilities, ignore_index
    t2 = np.array([1, 1, 2, 0, 3])
    np.testing.assert_allclose(F.nll_loss(ls.astype(np.float32), t2, ignore_index=1).item(),
                               -ls[np.arange(2, 5), t2[2:]].mean(), rtol=1e-5)
    with pytest.raises(grilly.InvalidArgumentError):
        F.cross_entropy(logits, target, reduction="avg")


def test_cross_entropy_gradient(rng):
    logits = rng.standard_normal((3, 4)).astype(np.float32)
    target = np.array([2, 0, 1])
    x = grilly.tensor(logits, requires_grad=True)
    F.cross_entropy(x, target).backward()
    p = np.exp(_log_softmax(logits.astype(np.float64)))
    p[np.arange(3), target] -= 1
    np.testing.assert_allclose(x.grad.numpy(), p / 3, rtol=1e-4, atol=1e-6)


def test_regression_losses(rng):
    a = rng.standard_normal((3, 5)).astype(np.float32)
    b = rng.standard_normal((3, 5)).astype(np.float32)
    d = a.astype(np.float64) - b
    np.testing.assert_allclose(F.mse_loss(a, b).item(), (d * d).mean(), rtol=1e-5)
    np.testing.assert_allclose(F.mse_loss(a, b, reduction="sum").item(), (d * d).sum(),
                               rtol=1e-5)
    np.testing.assert_allclose(F.l1_loss(grilly.tensor(a), b, reduction="none").numpy(),
                               np.abs(d), rtol=1e-5, atol=1e-6)
    t = (rng.random((3, 5)) > 0.5).astype(np.float32)
    x = a.astype(np.float64)
    bce = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(a, t).item(), bce.mean(),
                               rtol=1e-5)
