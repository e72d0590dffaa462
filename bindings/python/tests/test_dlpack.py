"""DLPack: grilly tensors export host copies (numpy and PyTorch read them), and grilly.tensor /
grilly.from_dlpack take DLPack producers (numpy arrays, PyTorch CPU tensors when installed)."""

import numpy as np
import pytest

import grilly


class _Producer:
    """Only the DLPack protocol, no __array__: what a third-party library may hand over."""

    def __init__(self, array, device=(1, 0)):
        self._a = array
        self._device = device

    def __dlpack__(self, **kwargs):
        return self._a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._device


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int32, np.int64, np.uint8])
def test_export_is_a_host_copy(dtype, rng):
    a = (rng.standard_normal((3, 5)) * 10).astype(dtype)
    t = grilly.tensor(a)
    assert t.__dlpack_device__() == (1, 0)
    b = np.from_dlpack(t)
    assert b.dtype == a.dtype
    np.testing.assert_array_equal(b, a)
    b[0, 0] = 99                                   # a copy: the device tensor is unchanged
    np.testing.assert_array_equal(t.numpy(), a)


def test_export_of_views_and_bfloat16():
    t = grilly.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))
    np.testing.assert_array_equal(np.from_dlpack(t.T[1:]), np.arange(12).reshape(3, 4).T[1:])
    with pytest.raises(grilly.DTypeError, match="float"):
        np.from_dlpack(t.bfloat16())


def test_import_from_producers(rng):
    a = rng.standard_normal((2, 3)).astype(np.float32)
    t = grilly.from_dlpack(a)
    assert t.dtype is grilly.float32 and t.shape == (2, 3)
    np.testing.assert_array_equal(t.numpy(), a)
    u = grilly.tensor(_Producer(np.arange(5, dtype=np.int32)))
    assert u.dtype is grilly.int32
    np.testing.assert_array_equal(u.numpy(), np.arange(5))
    v = grilly.from_dlpack(_Producer(a), dtype=grilly.float16)
    np.testing.assert_array_equal(v.numpy(), a.astype(np.float16))
    assert grilly.from_dlpack(t) is t
    # A grilly tensor is itself a producer for grilly.
    np.testing.assert_array_equal(grilly.from_dlpack(_Producer(t.numpy())).numpy(), a)


def test_non_host_producer_is_refused():
    class OnGpu(_Producer):
        def __dlpack__(self, **kwargs):
            raise BufferError("device memory cannot be exported to the host")

    with pytest.raises(grilly.InvalidArgumentError, match="cannot read the DLPack producer OnGpu"):
        grilly.tensor(OnGpu(np.zeros(3, np.float32), device=(2, 0)))


def test_pytorch_round_trip(rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((4, 3)).astype(np.float32)
    tt = torch.from_numpy(a.copy())
    g = grilly.tensor(tt)
    np.testing.assert_array_equal(g.numpy(), a)
    g2 = grilly.from_dlpack(tt.to(torch.int64))
    assert g2.dtype is grilly.int64
    back = torch.from_dlpack(grilly.tensor(a) * 2.0)
    np.testing.assert_array_equal(back.numpy(), a * 2)
    with pytest.raises(grilly.InvalidArgumentError, match="detach"):
        grilly.tensor(torch.ones(2, requires_grad=True))
