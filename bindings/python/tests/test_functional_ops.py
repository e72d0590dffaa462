"""grilly.functional's elementwise, activation, reduction, linear-algebra, indexing and random ops
against numpy float64 references, and their errors."""

import math

import numpy as np
import pytest

import grilly
import grilly.functional as F


def _erf(x):
    return np.vectorize(math.erf)(x)


def _close(got, ref, rtol=1e-4, atol=1e-5):
    np.testing.assert_allclose(np.asarray(got.numpy(), dtype=np.float64), ref, rtol=rtol,
                               atol=atol)


@pytest.fixture
def x(rng):
    return rng.standard_normal((3, 8)).astype(np.float32)


def test_binary_and_scalar_forms(rng, x):
    y = rng.uniform(0.5, 2.0, (3, 8)).astype(np.float32)
    d, e = x.astype(np.float64), y.astype(np.float64)
    _close(F.add(x, y), d + e)
    _close(F.add(x, y, alpha=2.0), d + 2 * e)
    _close(F.add(x, 1.5), d + 1.5)
    _close(F.add(1.5, grilly.tensor(x)), d + 1.5)
    _close(F.sub(x, y), d - e)
    _close(F.sub(x, 0.25), d - 0.25)
    _close(F.sub(2.0, grilly.tensor(x)), 2.0 - d)
    _close(F.rsub(x, 3.0), 3.0 - d)
    _close(F.rsub(x, y), e - d)
    _close(F.mul(x, y), d * e)
    _close(F.mul(x, -2.0), -2.0 * d)
    _close(F.div(x, y), d / e)
    _close(F.div(x, 4.0), d / 4.0)
    _close(F.div(3.0, grilly.tensor(y)), 3.0 / e)
    _close(F.pow(y, x), e ** d, rtol=1e-4)
    _close(F.pow(y, 2.5), e ** 2.5)
    _close(F.pow(2.0, grilly.tensor(x)), 2.0 ** d)
    _close(F.minimum(x, y), np.minimum(d, e))
    _close(F.minimum(x, 0.1), np.minimum(d, 0.1))
    _close(F.maximum(x, y), np.maximum(d, e))
    _close(F.maximum(x, -0.1), np.maximum(d, -0.1))


def test_comparisons_give_uint8_masks(x):
    d = x.astype(np.float64)
    t = grilly.tensor(x)
    other = np.flip(x, 1).copy()
    for fn, ref in ((F.eq, np.equal), (F.ne, np.not_equal), (F.lt, np.less),
                    (F.le, np.less_equal), (F.gt, np.greater), (F.ge, np.greater_equal)):
        m = fn(t, other)
        assert m.dtype is grilly.uint8
        np.testing.assert_array_equal(m.numpy(), ref(d, other).astype(np.uint8))
        np.testing.assert_array_equal(fn(t, 0.0).numpy(), ref(d, 0.0).astype(np.uint8))
    np.testing.assert_array_equal(t.gt(0.5).numpy(), (d > 0.5).astype(np.uint8))


def test_unary(rng, x):
    d = x.astype(np.float64)
    pos = rng.uniform(0.1, 3.0, (4, 5)).astype(np.float32)
    p = pos.astype(np.float64)
    _close(F.neg(x), -d)
    _close(F.abs(x), np.abs(d))
    _close(F.exp(x), np.exp(d))
    _close(F.log(pos), np.log(p))
    _close(F.sqrt(pos), np.sqrt(p))
    _close(F.rsqrt(pos), 1 / np.sqrt(p))
    _close(F.sin(x), np.sin(d))
    _close(F.cos(x), np.cos(d))
    _close(F.clamp(x, -0.5, 0.5), np.clip(d, -0.5, 0.5))
    _close(F.clamp(x, min=0.0), np.maximum(d, 0))
    _close(F.where(d > 0, x, np.zeros_like(x)), np.where(d > 0, d, 0))


def test_activations(x):
    d = x.astype(np.float64)
    sig = 1 / (1 + np.exp(-d))
    sp = np.log1p(np.exp(d))
    cases = [
        (F.leaky_relu(x), np.where(d > 0, d, 0.01 * d)),
        (F.leaky_relu(x, 0.2), np.where(d > 0, d, 0.2 * d)),
        (F.elu(x), np.where(d > 0, d, np.expm1(d))),
        (F.elu(x, alpha=0.5), np.where(d > 0, d, 0.5 * np.expm1(d))),
        (F.softplus(x), sp),
        (F.softplus(x, beta=2.0, threshold=1.0),
         np.where(2 * d > 1.0, d, np.log1p(np.exp(2 * d)) / 2)),
        (F.mish(x), d * np.tanh(sp)),
        (F.hardswish(x), d * np.clip(d + 3, 0, 6) / 6),
        (F.hardsigmoid(x), np.clip(d + 3, 0, 6) / 6),
        (F.gcu(x), d * np.cos(d)),
        (F.roswish(x), (d + 1) * sig - 0.5),
        (F.roswish(x, alpha=0.5, beta=2.0), (d + 0.5) / (1 + np.exp(-2 * d)) - 0.25),
        (F.silu(x), d * sig),
        (F.gelu(x), 0.5 * d * (1 + _erf(d / math.sqrt(2)))),
    ]
    for got, ref in cases:
        _close(got, ref)
    a, b = d[:, :4], d[:, 4:]
    _close(F.swiglu(x), a / (1 + np.exp(-a)) * b)
    _close(F.geglu(x), 0.5 * a * (1 + _erf(a / math.sqrt(2))) * b)
    _close(F.reglu(x), np.maximum(a, 0) * b)
    _close(grilly.tensor(x).mish(), d * np.tanh(sp))
    with pytest.raises(grilly.ShapeError):
        F.swiglu(np.ones((2, 3), np.float32))
    with pytest.raises(grilly.DTypeError):
        F.elu(np.ones(3, np.int32))


def test_reductions(rng):
    a = rng.standard_normal((3, 4, 5)).astype(np.float32)
    d = a.astype(np.float64)
    _close(F.sum(a, (0, 2)), d.sum((0, 2)), atol=1e-4)
    _close(F.mean(a, 1, keepdim=True), d.mean(1, keepdims=True))
    _close(F.var(a, 2), d.var(2, ddof=1))
    _close(F.var(a, 2, unbiased=False), d.var(2))
    _close(F.std(a, (0, 1), correction=0), d.std((0, 1)))
    vals, idx = F.max(a, 1)
    _close(vals, d.max(1))
    np.testing.assert_array_equal(idx.numpy(), d.argmax(1))
    vals, idx = F.min(a, -1, keepdim=True)
    _close(vals, d.min(-1, keepdims=True))
    np.testing.assert_array_equal(idx.numpy(), d.argmin(-1)[..., None])
    _close(F.amax(a, (0, 1)), d.max((0, 1)))
    _close(F.amin(a), d.min())
    assert F.argmax(a).item() == d.argmax()
    np.testing.assert_array_equal(F.argmin(a, 0).numpy(), d.argmin(0))
    _close(F.norm(a), np.sqrt((d * d).sum()), rtol=1e-5)
    _close(F.norm(a, 1, dim=2), np.abs(d).sum(2))
    _close(F.norm(a, float("inf"), dim=(0, 1)), np.abs(d).max((0, 1)))
    _close(F.logsumexp(a, 1), np.log(np.exp(d).sum(1)))
    _close(F.cumsum(a, 1), np.cumsum(d, 1), atol=1e-4)
    ci = F.cumsum(np.arange(6, dtype=np.int32).reshape(2, 3), -1)
    assert ci.dtype is grilly.int64
    np.testing.assert_array_equal(ci.numpy(), np.cumsum(np.arange(6).reshape(2, 3), -1))
    with pytest.raises(grilly.InvalidArgumentError):
        F.sum(a, (1, 1))
    with pytest.raises(grilly.DTypeError):
        F.mean(np.arange(4, dtype=np.int32))


def test_linear_algebra(rng):
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    b = rng.standard_normal((2, 4, 5)).astype(np.float32)
    _close(F.bmm(a, b), np.matmul(a.astype(np.float64), b), atol=1e-4)
    _close(grilly.tensor(a).bmm(b), np.matmul(a.astype(np.float64), b), atol=1e-4)
    u = rng.standard_normal(3).astype(np.float32)
    v = rng.standard_normal(4).astype(np.float32)
    _close(F.outer(u, v), np.outer(u.astype(np.float64), v))
    with pytest.raises(grilly.ShapeError):
        F.bmm(a, a)
    with pytest.raises(grilly.ShapeError):
        F.outer(a, v)


def test_embedding_index_select_gather_scatter(rng):
    w = rng.standard_normal((6, 3)).astype(np.float32)
    idx = np.array([[0, 5], [2, 2]])
    _close(F.embedding(idx, w), w[idx].astype(np.float64))
    x = rng.standard_normal((4, 5)).astype(np.float32)
    sel = np.array([4, 0, 0])
    _close(F.index_select(x, 1, sel), x[:, sel].astype(np.float64))
    g = np.array([[0, 3], [1, 1], [4, 2], [0, 0]])
    _close(F.gather(x, 1, g), np.take_along_axis(x, g, 1).astype(np.float64))
    src = rng.standard_normal((4, 2)).astype(np.float32)
    ref = x.astype(np.float64).copy()
    for i in range(4):
        for j in range(2):
            ref[i, g[i, j]] += src[i, j]
    _close(F.scatter_add(x, 1, g, src), ref)
    _close(grilly.tensor(x).gather(1, grilly.tensor(g, dtype=grilly.int32)),
           np.take_along_axis(x, g, 1).astype(np.float64))
    with pytest.raises(grilly.DTypeError):
        F.index_select(x, 0, grilly.tensor([0.0, 1.0]))
    F.embedding(np.array([6]), w)              # out of range: reported at the next read
    with pytest.raises(grilly.GrillyIndexError, match="6"):
        grilly.default_device().synchronize()


def test_cat_stack_split_pad_one_hot(rng):
    a = rng.standard_normal((2, 3)).astype(np.float32)
    b = rng.standard_normal((2, 1)).astype(np.float32)
    _close(F.cat([a, b], 1), np.concatenate([a, b], 1).astype(np.float64))
    _close(F.concat([a, a], 0), np.concatenate([a, a], 0).astype(np.float64))
    _close(F.stack([a, a * 2], -1), np.stack([a, a * 2], -1).astype(np.float64))
    x = np.arange(14, dtype=np.float32).reshape(7, 2)
    parts = F.split(x, 3)
    assert [p.shape for p in parts] == [(3, 2), (3, 2), (1, 2)]
    for p, r in zip(parts, np.split(x, [3, 6])):
        np.testing.assert_array_equal(p.numpy(), r)
    parts = grilly.tensor(x).split([1, 6], 0)
    np.testing.assert_array_equal(parts[1].numpy(), x[1:])
    parts = F.split(x, [1, 1], dim=1)
    np.testing.assert_array_equal(parts[0].numpy(), x[:, :1])
    with pytest.raises(grilly.GrillyError):
        F.split(x, [3, 3])
    _close(F.pad(a, (1, 2)), np.pad(a, ((0, 0), (1, 2))).astype(np.float64))
    _close(F.pad(a, (0, 0, 1, 0), value=-1.0),
           np.pad(a, ((1, 0), (0, 0)), constant_values=-1).astype(np.float64))
    _close(F.pad(a, (-1, 0)), a[:, 1:].astype(np.float64))
    with pytest.raises(grilly.InvalidArgumentError):
        F.pad(a, (1, 1), mode="reflect")
    oh = F.one_hot(np.array([0, 2, 1]), 4)
    assert oh.dtype is grilly.int64
    np.testing.assert_array_equal(oh.numpy(), np.eye(4, dtype=np.int64)[[0, 2, 1]])
    np.testing.assert_array_equal(F.one_hot(grilly.tensor([1, 3])).numpy(),
                                  np.eye(4, dtype=np.int64)[[1, 3]])
    assert F.one_hot(np.array([1]), 2, dtype=grilly.float32).dtype is grilly.float32


def test_random(device):
    grilly.manual_seed(11)
    u = F.uniform((200, 50), -2.0, 3.0).numpy()
    assert u.min() >= -2.0 and u.max() < 3.0
    assert abs(u.mean() - 0.5) < 0.05
    n = F.normal(1.0, 2.0, (200, 50)).numpy()
    assert abs(n.mean() - 1.0) < 0.1 and abs(n.std() - 2.0) < 0.1
    b = F.bernoulli(0.3, (200, 50)).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.03
    probs = np.tile(np.array([0.0, 0.2, 0.9, 1.0], np.float32), (2000, 1))
    bt = F.bernoulli(probs).numpy()
    assert bt.dtype == np.float32
    np.testing.assert_allclose(bt.mean(0), [0.0, 0.2, 0.9, 1.0], atol=0.03)
    assert bt[:, 0].max() == 0 and bt[:, 3].min() == 1
    grilly.manual_seed(11)
    np.testing.assert_array_equal(F.uniform((200, 50), -2.0, 3.0).numpy(), u)
    with pytest.raises(grilly.InvalidArgumentError):
        F.bernoulli(1.5, 3)
    with pytest.raises(grilly.InvalidArgumentError):
        F.bernoulli(0.5)
    with pytest.raises(grilly.InvalidArgumentError):
        F.normal(0.0, -1.0, 3)
    with pytest.raises(grilly.InvalidArgumentError):
        F.dropout(np.ones(3, np.float32), p=1.5)


def test_library_info_helpers():
    assert grilly.version_info() == tuple(int(v) for v in grilly.__version__.split("."))
    assert grilly.status_string(-3) == "GRL_ERROR_SHAPE"
    assert grilly.dtype_info(grilly.bfloat16) == ("bf16", 2)
    assert grilly.dtype_info("int64") == ("i64", 8)
    with pytest.raises(grilly.ShapeError) as e:
        F.bmm(np.ones((2, 2, 2), np.float32), np.ones((2, 3, 2), np.float32))
    status, message = grilly.last_error()
    assert status == -3 and message == str(e.value)
