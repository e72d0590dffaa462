"""The neuromorphic facades (numpy in, numpy out): Compute().lif_step and the snn namespace,
hebbian_learning / stdp_learning and the learning namespace, grilly.Learning(), the search and
memory namespaces, against numpy float64 references; errors for bad input."""

import gc
import math

import numpy as np
import pytest

import grilly
from grilly import _compute


def test_namespaces_are_registered():
    ops = _compute.registered_ops()
    assert {"lif_step", "spiking_node", "synapse_filter", "poisson_encode",
            "rate_decode"} <= set(ops["snn"])
    assert {"hebbian_learning", "oja_learning", "stdp_learning", "ewc_penalty",
            "fisher_info_update", "natural_gradient", "nlms_update", "nlms_predict",
            "whitening"} <= set(ops["learning"])
    assert {"compute_distances", "topk", "knn"} <= set(ops["search"])
    assert {"place_cells", "time_cells", "theta_gamma_encoding",
            "memory_read"} <= set(ops["memory"])
    c = grilly.Compute()
    assert "lif_step" in dir(c) and "snn" in dir(c) and "learning" in dir(c)


def test_lif_step_facade(rng):
    c = grilly.Compute()
    n = 32
    v = rng.uniform(0, 1, n).astype(np.float32)
    r = np.where(rng.uniform(size=n) < 0.2, 0.5, 0).astype(np.float32)
    i = rng.uniform(0, 60, n).astype(np.float32)
    v0, r0 = v.copy(), r.copy()
    mem, ref, spikes = c.lif_step(i, v, r, dt=0.5, tau_mem=20.0, v_thresh=1.0)
    np.testing.assert_array_equal(v, v0)               # the inputs are not changed
    np.testing.assert_array_equal(r, r0)
    vd = v.astype(np.float64)
    v_new = vd + 0.5 * (-vd + i) / 20.0
    refr = r > 0
    s = ~refr & (v_new >= 1.0)
    assert s.any() and (~s).any()
    np.testing.assert_array_equal(spikes, s.astype(np.float32))
    np.testing.assert_allclose(mem, np.where(refr | s, 0.0, v_new), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ref, np.where(refr, np.maximum(r - 0.5, 0), 0.0), atol=1e-7)
    assert all(isinstance(a, np.ndarray) for a in (mem, ref, spikes))
    m2, _, _ = c.snn.lif_step(i, v, None, dt=0.5)
    np.testing.assert_allclose(m2, np.where(v_new >= 1.0, 0.0, v_new), rtol=1e-5, atol=1e-6)
    spk = c.snn.spiking_node(np.full((3, 2), 0.6, np.float32), kind="if")
    np.testing.assert_array_equal(spk, [[0, 0], [1, 1], [0, 0]])
    np.testing.assert_allclose(c.snn.rate_decode(np.array([[1, 0], [1, 1]], np.float32)),
                               [1.0, 0.5])


def test_learning_namespace(rng):
    c = grilly.Compute()
    w = rng.standard_normal((3, 4)).astype(np.float32)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    y = rng.standard_normal((6, 3)).astype(np.float32)
    got = c.hebbian_learning(w, x, y, learning_rate=0.05, weight_decay=0.01)
    wd = w.astype(np.float64)
    np.testing.assert_allclose(got, wd + 0.05 * y.T.astype(np.float64) @ x / 6 - 0.01 * wd,
                               rtol=1e-5, atol=1e-6)
    assert c.learning.hebbian_learning is not None
    pre = np.array([1, 0, 0, 1], np.float32)
    post = np.array([0, 1, 0], np.float32)
    x1 = np.array([0.5, 1.0, 0.0, 0.2], np.float32)
    y1 = np.array([0.3, 0.0, 1.0], np.float32)
    w0 = np.full((3, 4), 0.5, np.float32)
    w1, xt, yt = c.stdp_learning(w0, pre, post, x1, y1, bound="none")
    d = math.exp(-1 / 20.0)
    ltp = np.outer(post, 0.01 * x1 * d)
    ltd = np.outer(y1 * d, 0.0105 * pre)
    np.testing.assert_allclose(w1, 0.5 + ltp - ltd, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(xt, x1 * d + pre, rtol=1e-6)
    np.testing.assert_allclose(yt, y1 * d + post, rtol=1e-6)
    np.testing.assert_array_equal(w0, 0.5)


def test_learning_facade(rng):
    lrn = grilly.Learning()
    assert isinstance(lrn, grilly.Compute)
    th = rng.standard_normal(10).astype(np.float32)
    st = rng.standard_normal(10).astype(np.float32)
    f = rng.uniform(0, 1, 10).astype(np.float32)
    g = rng.standard_normal(10).astype(np.float32)
    thd, std, fd, gd = (a.astype(np.float64) for a in (th, st, f, g))
    pen = lrn.ewc_penalty(th, st, f, lambda_ewc=4.0)
    assert isinstance(pen, float)
    np.testing.assert_allclose(pen, 2.0 * np.sum(fd * (thd - std) ** 2), rtol=1e-5)
    np.testing.assert_allclose(lrn.fisher_info_update(f, g, decay=0.8), 0.8 * fd + 0.2 * gd ** 2,
                               rtol=1e-5)
    np.testing.assert_allclose(lrn.fisher_info_update(f, g, mode="accumulate", scale=2.0),
                               fd + 2 * gd ** 2, rtol=1e-5)
    np.testing.assert_allclose(lrn.natural_gradient(th, g, f, learning_rate=0.1, eps=1e-2),
                               thd - 0.1 * gd / (fd + 1e-2), rtol=1e-5, atol=1e-6)
    x = rng.standard_normal((20, 3)).astype(np.float32)
    t = (x @ np.array([1.0, -2.0, 0.5])).astype(np.float32)
    w, b, mu, e = lrn.nlms_update(np.zeros(3, np.float32), x, t, mu=0.5, bias=0.0)
    wr, br = np.zeros(3), 0.0
    errs = []
    for xn, tn in zip(x.astype(np.float64), t):
        en = tn - (wr @ xn + br)
        errs.append(en)
        wr = wr + 0.5 * en * xn / (xn @ xn + 1e-6)
        br += 0.5 * en
    np.testing.assert_allclose(w, wr, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b, br, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(e, errs, rtol=1e-4, atol=1e-4)
    assert mu == 0.5
    np.testing.assert_allclose(lrn.nlms_predict(w, x, b), x @ wr + br, rtol=1e-4, atol=1e-4)
    xw = (rng.standard_normal((50, 3)) * [1, 3, 5] + 2).astype(np.float32)
    white = lrn.whitening(xw)
    np.testing.assert_allclose(white.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(white.var(0), 1 / (1 + 1e-5 / xw.astype(np.float64).var(0)),
                               rtol=1e-4)
    zca = lrn.whitening(xw, method="zca").astype(np.float64)
    np.testing.assert_allclose(np.cov(zca, rowvar=False, bias=True), np.eye(3), atol=1e-3)
    with pytest.raises(grilly.InvalidArgumentError, match="method"):
        lrn.whitening(xw, method="pca")
    with pytest.raises(grilly.ShapeError):
        lrn.ewc_penalty(th, st[:5], f)
    assert "fnn" in dir(lrn) and lrn.linear(np.ones((1, 2)), np.ones((1, 2))).shape == (1, 1)


def test_search_and_memory_namespaces(rng):
    c = grilly.Compute()
    q = rng.standard_normal((3, 5)).astype(np.float32)
    b = rng.standard_normal((7, 5)).astype(np.float32)
    qd = q.astype(np.float64)
    np.testing.assert_allclose(c.search.compute_distances(q, b, "dot"), qd @ b.T, rtol=1e-5,
                               atol=1e-5)
    v, i = c.search.topk(b.T, 2)
    np.testing.assert_array_equal(i, np.argsort(-b.T, 1, kind="stable")[:, :2])
    x = rng.uniform(0, 1, (4, 2)).astype(np.float32)
    cen = rng.uniform(0, 1, (3, 2)).astype(np.float32)
    d2 = ((x[:, None].astype(np.float64) - cen[None]) ** 2).sum(-1)
    np.testing.assert_allclose(c.memory.place_cells(x, cen, 0.3),
                               20 * np.exp(-d2 / (2 * 0.09)), rtol=1e-5, atol=1e-5)
    ph, tm = c.theta_gamma_encoding(np.zeros((1, 4), np.float32), 100.0)
    np.testing.assert_allclose(ph[0], 2 * math.pi * np.arange(4) / 4, rtol=1e-6)
    np.testing.assert_allclose(tm[0], [0, 25, 50, 75], rtol=1e-5, atol=1e-4)


def test_neuro_handles_release_device_memory(device, rng):
    # The simulator, index and episodic store own device memory through their handles: closing
    # (or collecting) them, and dropping the tensors, returns bytes_in_use to where it started.
    from grilly import snn
    gc.collect()
    device.synchronize()
    start = device.memory_stats()["bytes_in_use"]
    for _ in range(3):
        sim = grilly.SNNCompute(256, dt=1.0, tau_mem=5.0, t_ref=1.0)
        sim.process(np.full(256, 3.0, np.float32))
        sim.get_state()
        index = grilly.IndexFlat(16)
        index.add(rng.standard_normal((300, 16)).astype(np.float32))
        index.search(rng.standard_normal((4, 16)).astype(np.float32), 5)
        mem = grilly.EpisodicMemory(64, 8, 4)
        mem.write(rng.standard_normal((10, 8)).astype(np.float32),
                  rng.standard_normal((10, 4)).astype(np.float32))
        mem.read(rng.standard_normal((2, 8)).astype(np.float32), 3)
        x = grilly.tensor(rng.uniform(0, 2, (5, 3, 4)).astype(np.float32), requires_grad=True)
        node = snn.LIFNode(step_mode="m")
        node(x).sum().backward()
        sim.close()
        del sim, index, mem, x, node
    gc.collect()
    device.synchronize()
    assert device.memory_stats()["bytes_in_use"] == start
