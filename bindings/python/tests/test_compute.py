"""The original grilly facades: grilly.Compute / VulkanCompute (numpy in, numpy out) against
numpy float64 references, its op registry, VULKAN_AVAILABLE and grilly.utils."""

import math

import numpy as np
import pytest

import grilly
from grilly import _compute, utils


def _ln(x, g, b, eps):
    x = x.astype(np.float64)
    mu = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def test_facade_ops_against_numpy(rng, device):
    c = grilly.Compute()
    assert grilly.Compute is grilly.VulkanCompute
    assert c.device_name == device.name and isinstance(c.device_name, str)
    x = rng.standard_normal((4, 6)).astype(np.float32)
    w = rng.standard_normal((3, 6)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    xd = x.astype(np.float64)
    y = c.linear(x, w, b)
    assert isinstance(y, np.ndarray) and y.dtype == np.float32
    np.testing.assert_allclose(y, xd @ w.T + b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(c.linear(x, w), xd @ w.T, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(c.activation_relu(x), np.maximum(x, 0))
    erf = np.vectorize(math.erf)
    np.testing.assert_allclose(c.activation_gelu(x), 0.5 * xd * (1 + erf(xd / math.sqrt(2))),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c.activation_silu(x), xd / (1 + np.exp(-xd)), rtol=1e-5, atol=1e-6)
    e = np.exp(xd - xd.max(-1, keepdims=True))
    np.testing.assert_allclose(c.softmax(x), e / e.sum(-1, keepdims=True), rtol=1e-5, atol=1e-7)
    g = rng.standard_normal(6).astype(np.float32)
    be = rng.standard_normal(6).astype(np.float32)
    np.testing.assert_allclose(c.layernorm(x, g, be, 1e-5), _ln(x, g, be, 1e-5), rtol=1e-4,
                               atol=1e-5)
    # The fnn namespace is the same op; float64 input comes back as float32.
    np.testing.assert_allclose(c.fnn.linear(xd, w, b), y, rtol=1e-6)


def test_facade_errors_carry_the_c_message():
    c = grilly.Compute()
    with pytest.raises(grilly.ShapeError, match="grl_linear"):
        c.linear(np.zeros((2, 5), np.float32), np.zeros((3, 4), np.float32))
    with pytest.raises(AttributeError, match="namespaces: .*fnn"):
        c.no_such_op
    with pytest.raises(AttributeError, match="has no op 'nope'"):
        c.fnn.nope


def test_registry_is_the_extension_point():
    ops = _compute.registered_ops()
    assert {"linear", "activation_relu", "activation_gelu", "activation_silu", "softmax",
            "layernorm"} <= set(ops["fnn"])

    @_compute.register_op("test_ns", "double_it")
    def double_it(c, x):
        """2 x (grl_mul_scalar)."""
        return (c._tensor(x) * 2.0).numpy()
    try:
        c = grilly.Compute()
        np.testing.assert_array_equal(c.test_ns.double_it([1.0, 2.0]), [2.0, 4.0])
        np.testing.assert_array_equal(c.double_it([3.0]), [6.0])
        assert "double_it" in dir(c) and "test_ns" in dir(c)
    finally:
        del _compute._REGISTRY["test_ns"]


def test_vulkan_available_and_utils(device, rng):
    assert grilly.VULKAN_AVAILABLE is True
    a = rng.standard_normal((2, 3))
    t = utils.to_vulkan(a)
    assert isinstance(t, utils.VulkanTensor) and t.dtype is grilly.float32
    np.testing.assert_allclose(utils.from_vulkan(t), a, rtol=1e-6)
    np.testing.assert_array_equal(utils.from_vulkan(a), a)
    listed = utils.list_devices()
    assert len(listed) == grilly.device_count() >= 1
    assert device.name in [d["name"] for d in listed]
    assert utils.get_device() is grilly.default_device()
    assert utils.zeros(2, 2).numpy().sum() == 0
    assert utils.randn(3).shape == (3,) and utils.tensor([1, 2]).dtype is grilly.int64


def test_select_device(device):
    before = grilly.default_device()
    try:
        chosen = utils.select_device(device.index)
        assert grilly.default_device() is chosen and chosen.name == device.name
        assert grilly.zeros(1).device is chosen
        by_name = utils.select_device(device.name[:4])
        assert by_name.name == device.name
        assert utils.select_device(before) is before
        with pytest.raises(grilly.NoDeviceError):
            utils.select_device("no such device name")
    finally:
        grilly.set_default_device(before)
