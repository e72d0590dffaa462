"""Devices: the lazily opened default, explicit devices and the enumeration."""

import numpy as np

import grilly


def test_devices_listing():
    devs = grilly.devices()
    assert len(devs) == grilly.device_count() >= 1
    for i, d in enumerate(devs):
        assert d["index"] == i and d["name"]
        assert d["type"] in {"other", "integrated_gpu", "discrete_gpu", "virtual_gpu", "cpu"}
        assert d["max_buffer_bytes"] > 0


def test_default_device_is_shared():
    d = grilly.default_device()
    assert grilly.default_device() is d
    t = grilly.zeros(2)
    assert t.device is d
    assert (t + 1).device is d
    assert d.name == d.info["name"] and "Device(index=" in repr(d)


def test_explicit_device_and_transfer():
    with grilly.Device(index=0) as dev:
        assert dev.index == 0
        t = grilly.tensor([1.0, 2.0], device=dev)
        assert t.device is dev
        u = t.to(grilly.default_device())
        np.testing.assert_array_equal(u.numpy(), [1, 2])
    # the tensor keeps its device alive after the Python object closed it
    np.testing.assert_array_equal((t * 2).numpy(), [2, 4])


def test_stats_and_sync():
    d = grilly.default_device()
    s = d.memory_stats()
    assert set(s) >= {"bytes_in_use", "bytes_cached", "peak_bytes_in_use", "submissions"}
    d.synchronize()
    d.empty_cache()
