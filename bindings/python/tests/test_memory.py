"""Handles are released: device memory in use returns to where it started."""

import gc

import numpy as np

import grilly


def test_bytes_in_use_returns_to_start(device):
    gc.collect()
    device.synchronize()
    start = device.memory_stats()["bytes_in_use"]
    for i in range(300):
        a = grilly.rand(64, 33)
        b = grilly.tensor(np.full((64, 33), i, np.float32))
        c = (a + b).exp()[1:, ::2].sum(0)
        w = grilly.randn(33, 8, requires_grad=True)
        loss = (a @ w).relu().mean()
        loss.backward()
        assert w.grad is not None
        del a, b, c, w, loss
    gc.collect()
    device.synchronize()
    stats = device.memory_stats()
    assert stats["bytes_in_use"] == start, stats
    assert stats["allocations"] > 1000


def test_close_releases_at_once(device):
    gc.collect()
    device.synchronize()
    start = device.memory_stats()["bytes_in_use"]
    t = grilly.zeros(1024, 1024)
    assert device.memory_stats()["bytes_in_use"] >= start + 4 * 1024 * 1024
    t.close()
    t.close()                                        # idempotent
    assert device.memory_stats()["bytes_in_use"] == start
    assert repr(t) == "tensor(<closed>)"


def test_view_keeps_storage_alive(device):
    t = grilly.tensor(np.arange(10, dtype=np.float32))
    v = t[2:5]
    del t
    gc.collect()
    np.testing.assert_array_equal(v.numpy(), [2, 3, 4])
