"""Tensor values against numpy float64 references: construction, dtypes, operators, indexing,
views, reductions, elementwise functions and factories."""

import math

import numpy as np
import pytest

import grilly

F32 = dict(rtol=1e-5, atol=1e-6)


def ref(a):
    return np.asarray(a, dtype=np.float64)


# -- construction and dtypes ----------------------------------------------------------------------
def test_from_numpy_roundtrip_every_dtype(rng):
    cases = [
        (rng.standard_normal((3, 4)).astype(np.float32), grilly.float32),
        (rng.standard_normal((2, 5)).astype(np.float16), grilly.float16),
        (rng.integers(-1000, 1000, (4, 3)).astype(np.int32), grilly.int32),
        (rng.integers(-2**40, 2**40, (7,)).astype(np.int64), grilly.int64),
        (rng.integers(0, 255, (2, 2, 2)).astype(np.uint8), grilly.uint8),
    ]
    for a, dt in cases:
        t = grilly.tensor(a)
        assert t.dtype is dt
        assert t.shape == a.shape and t.ndim == a.ndim and t.numel() == a.size
        out = t.numpy()
        assert out.dtype == a.dtype
        np.testing.assert_array_equal(out, a)
        np.testing.assert_array_equal(np.asarray(t), a)


def test_default_dtypes():
    assert grilly.tensor([1.5, 2.0]).dtype is grilly.float32          # float64 -> float32
    assert grilly.tensor([1, 2]).dtype is grilly.int64
    assert grilly.tensor([True, False]).dtype is grilly.uint8
    assert grilly.tensor(np.zeros(3, np.int16)).dtype is grilly.int32
    s = grilly.tensor(2.5)
    assert s.shape == () and s.ndim == 0 and s.item() == 2.5
    assert grilly.tensor([[1, 2]], dtype="float32").dtype is grilly.float32
    assert grilly.tensor([1], dtype=np.float16).dtype is grilly.float16
    assert grilly.bool is grilly.uint8


def test_bfloat16_values_and_raw_bits():
    vals = np.array([1.0, -2.5, 3.140625, 1e-3], dtype=np.float64)
    t = grilly.tensor(vals, dtype=grilly.bfloat16)
    assert t.dtype is grilly.bfloat16
    bits = t.numpy()
    assert bits.dtype == np.uint16                 # raw storage on the numpy side
    # bits -> float32 on the host: the top 16 bits of an IEEE float32.
    host = (bits.astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_allclose(host, vals, rtol=2 ** -8)
    np.testing.assert_array_equal(t.float().numpy(), host)
    again = grilly.tensor(bits, dtype=grilly.bfloat16)   # uint16 input is taken as raw bits
    np.testing.assert_array_equal(again.numpy(), bits)


def test_casts_and_to():
    t = grilly.tensor([1.7, -2.7, 3.2])
    np.testing.assert_array_equal(t.to(grilly.int32).numpy(), np.array([1, -2, 3], np.int32))
    np.testing.assert_array_equal(t.to("int64").numpy(), np.array([1, -2, 3], np.int64))
    h = t.half()
    assert h.dtype is grilly.float16
    np.testing.assert_array_equal(h.numpy(), np.array([1.7, -2.7, 3.2], np.float16))
    assert t.to(grilly.float32) is t


# -- operators --------------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv", "pow"])
def test_binary_tensor_and_broadcast(rng, op):
    a = rng.uniform(0.5, 2.0, (3, 4)).astype(np.float32)
    b = rng.uniform(0.5, 2.0, (4,)).astype(np.float32)
    fn = getattr(np, {"truediv": "divide", "pow": "power", "sub": "subtract", "mul": "multiply"}
                 .get(op, op))
    ta, tb = grilly.tensor(a), grilly.tensor(b)
    pyop = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
            "truediv": lambda x, y: x / y, "pow": lambda x, y: x ** y}[op]
    np.testing.assert_allclose(pyop(ta, tb).numpy(), fn(ref(a), ref(b)), **F32)
    # scalars on either side (the *_scalar and r*_scalar C functions)
    np.testing.assert_allclose(pyop(ta, 1.5).numpy(), fn(ref(a), 1.5), **F32)
    np.testing.assert_allclose(pyop(1.5, ta).numpy(), fn(1.5, ref(a)), **F32)
    # numpy arrays and lists on either side
    np.testing.assert_allclose(pyop(ta, b).numpy(), fn(ref(a), ref(b)), **F32)
    np.testing.assert_allclose(pyop(b, ta).numpy(), fn(ref(b), ref(a)), **F32)
    np.testing.assert_allclose(pyop(ta, b.tolist()).numpy(), fn(ref(a), ref(b)), **F32)


def test_integer_arithmetic():
    a = grilly.tensor([7, -7, 9], dtype=grilly.int32)
    b = grilly.tensor([2, 2, 0], dtype=grilly.int32)
    np.testing.assert_array_equal((a + b).numpy(), [9, -5, 9])
    np.testing.assert_array_equal((a * 3).numpy(), [21, -21, 27])
    np.testing.assert_array_equal((a / b).numpy(), [3, -3, 0])   # truncation, /0 gives 0


def test_unary_and_comparisons(rng):
    a = rng.standard_normal((5, 3)).astype(np.float32)
    b = rng.standard_normal((5, 3)).astype(np.float32)
    ta, tb = grilly.tensor(a), grilly.tensor(b)
    np.testing.assert_array_equal((-ta).numpy(), -a)
    np.testing.assert_array_equal(abs(ta).numpy(), np.abs(a))
    for name, fn in [("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                     ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal)]:
        op = {"lt": "__lt__", "le": "__le__", "gt": "__gt__", "ge": "__ge__", "eq": "__eq__",
              "ne": "__ne__"}[name]
        m = getattr(ta, op)(tb)
        assert m.dtype is grilly.uint8
        np.testing.assert_array_equal(m.numpy(), fn(a, b).astype(np.uint8))
        np.testing.assert_array_equal(getattr(ta, op)(0.25).numpy(), fn(a, 0.25).astype(np.uint8))
    # reflected comparisons with a scalar on the left
    np.testing.assert_array_equal((0.0 < ta).numpy(), (a > 0).astype(np.uint8))
    assert (ta == None) is False  # noqa: E711


def test_matmul(rng):
    a = rng.standard_normal((4, 6)).astype(np.float32)
    b = rng.standard_normal((6, 3)).astype(np.float32)
    v = rng.standard_normal(6).astype(np.float32)
    ta, tb = grilly.tensor(a), grilly.tensor(b)
    np.testing.assert_allclose((ta @ tb).numpy(), ref(a) @ ref(b), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose((ta @ v).numpy(), ref(a) @ ref(v), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose((v @ tb).numpy(), ref(v) @ ref(b), rtol=1e-4, atol=1e-5)
    bat = rng.standard_normal((2, 3, 4, 6)).astype(np.float32)
    np.testing.assert_allclose((grilly.tensor(bat) @ tb).numpy(), ref(bat) @ ref(b),
                               rtol=1e-4, atol=1e-5)


# -- indexing and views ------------------------------------------------------------------------------
def test_indexing_matches_numpy():
    a = np.arange(2 * 3 * 5, dtype=np.float32).reshape(2, 3, 5)
    t = grilly.tensor(a)
    for key in [0, -1, (1, 2), (1, -1, 3), slice(None), slice(0, 1), (slice(None), 1),
                (slice(None), slice(1, None), slice(None, None, 2)), (Ellipsis, 1),
                (None, 0), (0, None, slice(1, 3)), (Ellipsis, None), slice(5, 9),
                (slice(None), slice(2, 1)), (1, Ellipsis, slice(-3, None))]:
        got = t[key].numpy()
        np.testing.assert_array_equal(got, a[key], err_msg=repr(key))
    assert t[1, 2, 3].item() == a[1, 2, 3]
    np.testing.assert_array_equal(t[:, [2, 0]].numpy(), a[:, [2, 0]])
    assert len(t) == 2
    np.testing.assert_array_equal(np.stack([r.numpy() for r in t]), a)


def test_index_errors():
    t = grilly.zeros(2, 3)
    with pytest.raises(IndexError):
        t[2]
    with pytest.raises(grilly.GrillyIndexError):
        t[0, -4]
    with pytest.raises(grilly.GrillyIndexError):
        t[0, 0, 0]
    with pytest.raises(ValueError):
        t[::-1]


def test_setitem_writes_through_views():
    a = np.zeros((3, 4), np.float32)
    t = grilly.tensor(a)
    t[1] = 5.0
    t[:, 2] = [1, 2, 3]
    t[0, 0] = -1
    a[1] = 5.0
    a[:, 2] = [1, 2, 3]
    a[0, 0] = -1
    np.testing.assert_array_equal(t.numpy(), a)


def test_views_and_layout(rng):
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    t = grilly.tensor(a)
    np.testing.assert_array_equal(t.reshape(6, 4).numpy(), a.reshape(6, 4))
    np.testing.assert_array_equal(t.view(-1).numpy(), a.reshape(-1))
    np.testing.assert_array_equal(t.reshape((4, -1)).numpy(), a.reshape(4, -1))
    np.testing.assert_array_equal(t.transpose(0, 2).numpy(), a.transpose(2, 1, 0))
    np.testing.assert_array_equal(t.permute(1, 2, 0).numpy(), a.transpose(1, 2, 0))
    np.testing.assert_array_equal(t.permute((2, 0, 1)).numpy(), a.transpose(2, 0, 1))
    m = grilly.tensor(a[0])
    np.testing.assert_array_equal(m.T.numpy(), a[0].T)
    tt = t.transpose(0, 1)
    assert not tt.is_contiguous()
    c = tt.contiguous()
    assert c.is_contiguous()
    np.testing.assert_array_equal(c.numpy(), a.transpose(1, 0, 2))
    cl = t.clone()
    cl[0] = 0.0
    np.testing.assert_array_equal(t.numpy(), a)        # clone has its own storage
    np.testing.assert_array_equal(t.unsqueeze(1).squeeze().numpy(), a)
    np.testing.assert_array_equal(t.flatten(1).numpy(), a.reshape(2, 12))
    np.testing.assert_array_equal(grilly.tensor([[1.0], [2.0]]).expand(2, 3).numpy(),
                                  np.array([[1, 1, 1], [2, 2, 2]], np.float32))


# -- reductions --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_reductions(rng, dim, keepdim):
    a = rng.standard_normal((3, 4, 5)).astype(np.float32)
    t = grilly.tensor(a)
    ax = dim
    for name, fn in [("sum", np.sum), ("mean", np.mean), ("max", np.max), ("min", np.min)]:
        got = getattr(t, name)(dim, keepdim=keepdim) if dim is not None else getattr(t, name)()
        if isinstance(got, tuple):
            got = got.values
        want = fn(ref(a), axis=ax, keepdims=keepdim if dim is not None else False)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5, err_msg=name)
    for name, fn in [("var", np.var), ("std", np.std)]:
        for unbiased in (True, False):
            got = getattr(t, name)(dim, unbiased=unbiased, keepdim=keepdim)
            want = fn(ref(a), axis=ax, ddof=1 if unbiased else 0, keepdims=keepdim)
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-5, err_msg=name)


def test_argmax_and_max_with_indices(rng):
    a = rng.standard_normal((4, 6)).astype(np.float32)
    t = grilly.tensor(a)
    assert t.argmax().item() == int(np.argmax(a))
    assert t.argmax().dtype is grilly.int64
    np.testing.assert_array_equal(t.argmax(1).numpy(), np.argmax(a, 1))
    np.testing.assert_array_equal(t.argmax(0, keepdim=True).numpy(), np.argmax(a, 0)[None])
    values, indices = t.max(1)
    np.testing.assert_array_equal(values.numpy(), a.max(1))
    np.testing.assert_array_equal(indices.numpy(), a.argmax(1))
    values, indices = t.min(dim=0)
    np.testing.assert_array_equal(values.numpy(), a.min(0))
    np.testing.assert_array_equal(indices.numpy(), a.argmin(0))


def test_integer_sum_is_int64():
    t = grilly.tensor(np.arange(10, dtype=np.int32))
    s = t.sum()
    assert s.dtype is grilly.int64 and s.item() == 45


# -- elementwise functions ---------------------------------------------------------------------------
def test_elementwise_functions(rng):
    a = rng.uniform(0.1, 3.0, (4, 5)).astype(np.float32)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    ta, tx = grilly.tensor(a), grilly.tensor(x)
    np.testing.assert_allclose(ta.exp().numpy(), np.exp(ref(a)), rtol=1e-5)
    np.testing.assert_allclose(ta.log().numpy(), np.log(ref(a)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ta.sqrt().numpy(), np.sqrt(ref(a)), rtol=1e-5)
    np.testing.assert_allclose(tx.tanh().numpy(), np.tanh(ref(x)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tx.sigmoid().numpy(), 1 / (1 + np.exp(-ref(x))), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_array_equal(tx.relu().numpy(), np.maximum(x, 0))
    np.testing.assert_array_equal(tx.abs().numpy(), np.abs(x))
    np.testing.assert_allclose(grilly.exp(x).numpy(), np.exp(ref(x)), rtol=1e-5)
    np.testing.assert_array_equal(tx.clamp(-0.5, 0.5).numpy(), np.clip(x, -0.5, 0.5))
    for dim in (0, 1, -1):
        e = np.exp(ref(x) - ref(x).max(dim, keepdims=True))
        np.testing.assert_allclose(tx.softmax(dim).numpy(), e / e.sum(dim, keepdims=True),
                                   rtol=1e-5, atol=1e-6)


def test_item_len_repr_and_numpy_interop():
    t = grilly.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert t.sum().item() == 10.0
    assert float(t[1, 1]) == 4.0
    assert len(t) == 2 and t.numel() == 4 and t.ndim == 2
    r = repr(t)
    assert r.startswith("tensor([[1., 2.],") and r.endswith("4.]])")
    assert "dtype=grilly.int32" in repr(grilly.tensor([1], dtype=grilly.int32))
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError):
        t.item()
    with pytest.raises(TypeError):
        len(grilly.tensor(1.0))
    np.testing.assert_array_equal(np.exp(t.numpy()), np.exp(np.asarray(t)))


# -- factories ---------------------------------------------------------------------------------------
def test_factories():
    np.testing.assert_array_equal(grilly.zeros(2, 3).numpy(), np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(grilly.ones((2, 3)).numpy(), np.ones((2, 3), np.float32))
    f = grilly.full((2, 2), 7)
    assert f.dtype is grilly.int64
    np.testing.assert_array_equal(f.numpy(), np.full((2, 2), 7))
    np.testing.assert_array_equal(grilly.full([3], 2.5).numpy(), np.full(3, 2.5, np.float32))
    assert grilly.empty(4, 5, dtype=grilly.int32).shape == (4, 5)
    a = grilly.arange(5)
    assert a.dtype is grilly.int64
    np.testing.assert_array_equal(a.numpy(), np.arange(5))
    np.testing.assert_allclose(grilly.arange(0, 1, 0.25).numpy(), [0, 0.25, 0.5, 0.75])
    np.testing.assert_array_equal(grilly.arange(10, 0, -3).numpy(), [10, 7, 4, 1])
    assert grilly.zeros(3, dtype=grilly.float16).dtype is grilly.float16
    z = grilly.zeros_like(f)
    assert z.dtype is grilly.int64 and z.shape == (2, 2)


def test_random_seed_and_offset():
    grilly.manual_seed(42)
    a = grilly.rand(1000).numpy()
    b = grilly.rand(1000).numpy()
    assert a.min() >= 0 and a.max() < 1
    assert abs(a.mean() - 0.5) < 0.05
    assert not np.array_equal(a, b)                  # the offset advanced by 1000
    grilly.manual_seed(42)
    np.testing.assert_array_equal(grilly.rand(1000).numpy(), a)
    c = grilly.rand(500).numpy()                     # offset 1000: b's first 500 elements
    np.testing.assert_array_equal(c, b[:500])
    grilly.manual_seed(7)
    n = grilly.randn(20000).numpy().astype(np.float64)
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05
    assert grilly.randn(2, 3, dtype=grilly.float16).dtype is grilly.float16


def test_cat_stack_where():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = -np.arange(6, dtype=np.float32).reshape(2, 3)
    ta, tb = grilly.tensor(a), grilly.tensor(b)
    np.testing.assert_array_equal(grilly.cat([ta, tb], 1).numpy(), np.concatenate([a, b], 1))
    np.testing.assert_array_equal(grilly.stack([ta, tb]).numpy(), np.stack([a, b]))
    np.testing.assert_array_equal(grilly.where(ta > 2, ta, tb).numpy(), np.where(a > 2, a, b))


def test_no_grad_and_grad_mode():
    assert grilly.is_grad_enabled()
    x = grilly.ones(3, requires_grad=True)
    with grilly.no_grad():
        assert not grilly.is_grad_enabled()
        y = x * 2
    assert grilly.is_grad_enabled()
    assert not y.requires_grad

    @grilly.no_grad()
    def f(t):
        return t * 3
    assert not f(x).requires_grad
    assert (x * 2).requires_grad
