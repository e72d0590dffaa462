"""grilly.memory: place, grid and time cells, the theta-gamma code, key-value memory, pooling,
injection, sparse expansion and the episodic store against numpy float64 references;
finite-difference gradients of the key-value read and place cells; errors for bad input."""

import copy
import math

import numpy as np
import pytest

import grilly
from grilly import memory as M
from test_functional_losses import check_grad


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_place_grid_time_cells(rng):
    x = rng.uniform(0, 1, (6, 2)).astype(np.float32)
    c = rng.uniform(0, 1, (5, 2)).astype(np.float32)
    sig = rng.uniform(0.1, 0.3, 5).astype(np.float32)
    d2 = ((x[:, None].astype(np.float64) - c[None]) ** 2).sum(-1)
    np.testing.assert_allclose(M.place_cells(x, c, 0.2, 15.0, 1.0).numpy(),
                               1.0 + 15.0 * np.exp(-d2 / (2 * 0.2 ** 2)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(M.place_cells(x, c, sig).numpy(),
                               20.0 * np.exp(-d2 / (2 * sig.astype(np.float64) ** 2)),
                               rtol=1e-5, atol=1e-5)
    check_grad(lambda p, q, s: M.place_cells(p, q, s, max_rate=2.0), [x, c, sig],
               wrt=(0, 1, 2))

    spacing = rng.uniform(0.3, 0.6, 4).astype(np.float32)
    ori = rng.uniform(0, math.pi / 3, 4).astype(np.float32)
    phase = rng.uniform(0, 0.3, (4, 2)).astype(np.float32)
    ref = np.zeros((6, 4))
    for n in range(4):
        k = 4 * math.pi / (math.sqrt(3) * spacing[n])
        tot = 0
        for j in range(3):
            u = np.array([math.cos(ori[n] + j * math.pi / 3), math.sin(ori[n] + j * math.pi / 3)])
            tot = tot + np.cos(k * (x.astype(np.float64) - phase[n]) @ u)
        ref[:, n] = 10.0 * np.maximum(0, tot) / 3
    np.testing.assert_allclose(M.grid_cells(x, spacing, ori, phase, 10.0).numpy(), ref,
                               rtol=1e-4, atol=1e-4)
    peak = M.grid_cells(phase[:1], spacing[:1], ori[:1], phase[:1], 10.0).numpy()
    np.testing.assert_allclose(peak, [[10.0]], rtol=1e-5)
    # Gradient w.r.t. positions, near the firing fields (away from the rectifier's kink).
    near = (phase[0] + rng.uniform(0.01, 0.03, (3, 2))).astype(np.float32)
    check_grad(lambda p: M.grid_cells(p, spacing[:1], ori[:1], phase[:1], 1.0), [near], wrt=(0,))

    pref, sigmas = M.time_cells_tuning(5, 10.0, 1000.0, log_spaced=True, weber=0.2)
    tp = 10.0 * (100.0 ** (np.arange(5) / 4))
    np.testing.assert_allclose(pref.numpy(), tp, rtol=1e-5)
    np.testing.assert_allclose(sigmas.numpy(), 0.2 * tp, rtol=1e-5)
    lin, _ = M.time_cells_tuning(3, 1.0, 3.0, log_spaced=False)
    np.testing.assert_allclose(lin.numpy(), [1, 2, 3], rtol=1e-6)
    t = np.array([[5.0, 50.0], [300.0, 999.0]], np.float32)
    got = M.time_cells(t, pref, sigmas, 8.0)
    assert got.shape == (2, 2, 5)
    ref = 8.0 * np.exp(-(t[..., None] - tp) ** 2 / (2 * (0.2 * tp) ** 2))
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-4, atol=1e-5)


def test_theta_gamma_code(rng):
    prog = rng.uniform(0, 1, (3, 5)).astype(np.float32)
    for prec in (0.0, 2 * math.pi / 5, 1.3):
        ph, tm = M.theta_gamma_code(prog, 125.0, prec)
        ref = np.mod(2 * math.pi * np.arange(5) / 5 - prec * prog.astype(np.float64), 2 * math.pi)
        np.testing.assert_allclose(ph.numpy(), ref, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(tm.numpy(), 125.0 * ref / (2 * math.pi), rtol=1e-5, atol=1e-4)
    ph_default, _ = M.theta_gamma_code(prog, 100.0, None)
    np.testing.assert_allclose(
        ph_default.numpy(),
        np.mod(2 * math.pi * np.arange(5) / 5 - 2 * math.pi / 5 * prog.astype(np.float64),
               2 * math.pi), rtol=1e-5, atol=1e-5)


def test_kv_memory(rng):
    q = rng.standard_normal((2, 3, 8)).astype(np.float32)
    k = rng.standard_normal((10, 8)).astype(np.float32)
    v = rng.standard_normal((10, 4)).astype(np.float32)
    ref = _softmax(q.astype(np.float64) @ k.T / math.sqrt(8)) @ v
    np.testing.assert_allclose(M.kv_memory_read(q, k, v).numpy(), ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(M.kv_memory_read(q, k, v, tau=0.5).numpy(),
                               _softmax(q.astype(np.float64) @ k.T / 0.5) @ v, rtol=1e-4,
                               atol=1e-5)
    kb = rng.standard_normal((2, 10, 8)).astype(np.float32)
    vb = rng.standard_normal((2, 10, 4)).astype(np.float32)
    refb = np.stack([_softmax(q[b].astype(np.float64) @ kb[b].T / math.sqrt(8)) @ vb[b]
                     for b in range(2)])
    np.testing.assert_allclose(M.kv_memory_read(q, kb, vb).numpy(), refb, rtol=1e-4, atol=1e-5)
    check_grad(lambda a, b, c: M.kv_memory_read(a, b, c) * np.arange(4, dtype=np.float32),
               [q[0], k[:5], v[:5]], wrt=(0, 1, 2))

    mem = grilly.tensor(v)
    rows = rng.standard_normal((2, 4)).astype(np.float32)
    M.kv_memory_write_(mem, [1, 7], rows, alpha=0.25)
    want = v.astype(np.float64).copy()
    want[[1, 7]] = 0.75 * want[[1, 7]] + 0.25 * rows
    np.testing.assert_allclose(mem.numpy(), want, rtol=1e-6, atol=1e-6)

    kvm = M.KVMemory(6, 8, 4)
    kvm.write([0, 1], k[:2], v[:2])
    np.testing.assert_array_equal(kvm.keys.numpy()[:2], k[:2])
    out = kvm(q[0])
    out.sum().backward()
    assert kvm.keys.grad.shape == (6, 8) and kvm.values.grad.shape == (6, 4)


def test_pool_inject_sparse_expansion(rng):
    x = rng.standard_normal((2, 5, 6)).astype(np.float32)
    xd = x.astype(np.float64)
    np.testing.assert_allclose(M.memory_pool(x, "mean").numpy(), xd.mean(1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(M.memory_pool(x, "max").numpy(), xd.max(1), rtol=1e-6)
    w = rng.standard_normal(6).astype(np.float32)
    att = _softmax(xd @ w / math.sqrt(6))
    np.testing.assert_allclose(M.memory_pool(x, "attention", w).numpy(),
                               np.einsum("bn,bnd->bd", att, xd), rtol=1e-4, atol=1e-5)

    h = rng.standard_normal((3, 6)).astype(np.float32)
    m = rng.standard_normal((3, 6)).astype(np.float32)
    g = rng.uniform(0, 1, 6).astype(np.float32)
    hd, md, gd = (a.astype(np.float64) for a in (h, m, g))
    np.testing.assert_allclose(M.memory_inject(h, m, "concat").numpy(), np.concatenate([hd, md], 1))
    np.testing.assert_allclose(M.memory_inject(h, m, "gated", g).numpy(),
                               hd + md / (1 + np.exp(-gd)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(M.memory_inject(h, m, "mix", g).numpy(), gd * md + (1 - gd) * hd,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(M.memory_inject(h, m, "residual").numpy(), hd + md, rtol=1e-6)
    inj = M.MemoryInject(6, "gated")
    np.testing.assert_allclose(inj(h, m).numpy(), hd + 0.5 * md, rtol=1e-5, atol=1e-6)
    pool = M.MemoryPool(6)
    np.testing.assert_allclose(pool(x).numpy(), xd.mean(1), rtol=1e-5, atol=1e-6)

    W = rng.standard_normal((20, 6)).astype(np.float32)
    b = rng.standard_normal(20).astype(np.float32)
    z = h.astype(np.float64) @ W.T + b
    ref = np.zeros_like(z)
    for r in range(3):
        top = np.argsort(-z[r], kind="stable")[:4]
        ref[r, top] = z[r, top]
        ref[r] /= max(np.linalg.norm(ref[r]), 1e-12)
    np.testing.assert_allclose(M.sparse_expansion(h, W, b, 4).numpy(), ref, rtol=1e-5,
                               atol=1e-6)
    layer = M.SparseExpansion(6, 20, k=4)
    y = layer(h)
    assert y.shape == (3, 20) and ((y.numpy() != 0).sum(1) == 4).all()


def test_episodic_memory(rng):
    mem = grilly.EpisodicMemory(4, 3, 2, eviction="oldest")
    keys = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    vals = np.array([[1, 1], [2, 2], [3, 3]], np.float32)
    mem.write(keys, vals)
    assert len(mem) == 3
    q = np.array([[0.9, 0.1, 0], [0, 0.2, 1]], np.float32)
    v, s, i = mem.read(q, 2)
    qd = q.astype(np.float64)
    cos = qd @ keys.T / np.linalg.norm(qd, axis=1)[:, None]
    order = np.argsort(-cos, 1, kind="stable")[:, :2]
    np.testing.assert_array_equal(i, order)
    np.testing.assert_allclose(s, np.take_along_axis(cos, order, 1), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(v, vals[order])
    usage = mem.usage()
    assert usage.dtype == np.int32
    np.testing.assert_array_equal(usage, np.bincount(order.ravel(), minlength=4))
    # Two more items: one fills the free slot 3, the next evicts the oldest (slot 0).
    mem.write(np.array([[1, 1, 0], [-1, 0, 0]], np.float32), np.array([[4, 4], [5, 5]], np.float32))
    assert mem.size == 4
    v, _, i = mem.read(np.array([[-1, 0, 0]], np.float32), 1)
    assert i[0, 0] == 0 and v[0, 0, 0] == 5
    twin = copy.copy(mem)                        # a second owner of the same store
    mem.close()
    assert twin.size == 4
    twin.clear()
    assert twin.size == 0
    twin.close()
    lru = M.EpisodicMemory(2, 2, 1, eviction="least_used")
    lru.write(np.array([[1, 0], [0, 1]], np.float32), np.array([[1], [2]], np.float32))
    lru.read(np.array([[1, 0]], np.float32), 1)        # slot 0 used once
    lru.write(np.array([[1, 1]], np.float32), np.array([[3]], np.float32))
    _, _, i = lru.read(np.array([[0, 1]], np.float32), 2)
    assert set(i[0].tolist()) == {0, 1}
    v, _, _ = lru.read(np.array([[1, 1]], np.float32), 1)
    assert v[0, 0, 0] == 3                              # it replaced slot 1 (least used)


def test_errors():
    with pytest.raises(grilly.ShapeError):
        M.place_cells(np.zeros((2, 2), np.float32), np.zeros((3, 3), np.float32))
    with pytest.raises(grilly.InvalidArgumentError):
        M.place_cells(np.zeros((2, 2), np.float32), np.zeros((3, 2), np.float32), sigma=0.0)
    with pytest.raises(grilly.InvalidArgumentError, match="mode"):
        M.memory_pool(np.zeros((1, 2, 3), np.float32), "median")
    with pytest.raises(grilly.InvalidArgumentError):
        M.time_cells_tuning(3, 5.0, 1.0)
    with pytest.raises(grilly.InvalidArgumentError):
        M.sparse_expansion(np.zeros((2, 3), np.float32), np.zeros((4, 3), np.float32), k=5)
    with pytest.raises(TypeError, match="in place"):
        M.kv_memory_write_(np.zeros((3, 2), np.float32), [0], np.zeros((1, 2), np.float32))
    mem = M.EpisodicMemory(3, 2)
    with pytest.raises(grilly.InvalidArgumentError):
        mem.read(np.zeros((1, 2), np.float32), 1)         # k > size (empty store)
    with pytest.raises(grilly.ShapeError):
        mem.write(np.zeros((1, 3), np.float32), np.zeros((1, 2), np.float32))
    with pytest.raises(grilly.InvalidArgumentError, match="eviction"):
        M.EpisodicMemory(3, 2, eviction="random")
