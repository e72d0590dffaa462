"""Failed C calls raise the grilly.GrillyError subclass of their status, with the C message."""

import numpy as np
import pytest

import grilly
from grilly import _grilly as C


def test_hierarchy_matches_status_codes():
    table = {
        C.GRL_ERROR_INVALID_ARGUMENT: grilly.InvalidArgumentError,
        C.GRL_ERROR_NULL_ARGUMENT: grilly.NullArgumentError,
        C.GRL_ERROR_SHAPE: grilly.ShapeError,
        C.GRL_ERROR_DTYPE: grilly.DTypeError,
        C.GRL_ERROR_DEVICE_MISMATCH: grilly.DeviceMismatchError,
        C.GRL_ERROR_INDEX: grilly.GrillyIndexError,
        C.GRL_ERROR_OUT_OF_MEMORY: grilly.OutOfMemoryError,
        C.GRL_ERROR_NO_DEVICE: grilly.NoDeviceError,
        C.GRL_ERROR_DEVICE: grilly.DeviceError,
        C.GRL_ERROR_UNSUPPORTED: grilly.UnsupportedError,
        C.GRL_ERROR_IO: grilly.GrillyIOError,
        C.GRL_ERROR_INTERNAL: grilly.InternalError,
    }
    for status, cls in table.items():
        assert grilly.error_class(status) is cls
        assert issubclass(cls, grilly.GrillyError)
        assert cls.status == status
    assert issubclass(grilly.GrillyIndexError, IndexError)
    assert issubclass(grilly.GrillyIOError, OSError)
    assert issubclass(grilly.ShapeError, ValueError)
    assert issubclass(grilly.DTypeError, TypeError)
    assert issubclass(grilly.OutOfMemoryError, MemoryError)


def test_shape_error_carries_c_message():
    a, b = grilly.zeros(2, 3), grilly.zeros(4)
    with pytest.raises(grilly.ShapeError) as info:
        a + b
    msg = str(info.value)
    assert msg.startswith("grl_add:") and "[2, 3]" in msg and "[4]" in msg
    assert info.value.status == C.GRL_ERROR_SHAPE
    with pytest.raises(grilly.ShapeError, match="grl_matmul"):
        grilly.zeros(2, 3) @ grilly.zeros(2, 3)


def test_dtype_error():
    with pytest.raises(grilly.DTypeError, match="grl_add"):
        grilly.zeros(3) + grilly.zeros(3, dtype=grilly.int32)
    with pytest.raises(grilly.DTypeError):
        grilly.arange(4).mean()                         # mean takes floating dtypes only
    with pytest.raises(grilly.DTypeError):
        grilly.tensor([1, 2], requires_grad=True)       # only floating leaves
    with pytest.raises(grilly.DTypeError):
        grilly.tensor(np.zeros(2, np.complex64))


def test_invalid_argument_and_null():
    t = grilly.zeros(2, 3)
    with pytest.raises(grilly.InvalidArgumentError, match="grl_softmax|axis"):
        t.softmax(5)
    with pytest.raises(grilly.ShapeError, match="grl_reshape"):
        t.reshape(-1, -1)
    with pytest.raises(grilly.InvalidArgumentError):
        grilly.arange(0, 5, 0)
    t.close()
    with pytest.raises(grilly.NullArgumentError):
        C.grl_tensor_fill_(None, 1.0)
    with pytest.raises(grilly.NullArgumentError):
        t + 1


def test_device_side_index_error_is_reported_at_download():
    w = grilly.tensor(np.arange(12, dtype=np.float32).reshape(4, 3))
    bad = grilly.tensor([0, 9])
    out = w[bad]                                       # grl_index_select: reported at the sync
    with pytest.raises(grilly.GrillyIndexError, match="9"):
        out.numpy()
    np.testing.assert_array_equal(w[grilly.tensor([3, 0])].numpy(),
                                  np.arange(12, dtype=np.float32).reshape(4, 3)[[3, 0]])


def test_io_error():
    with pytest.raises(grilly.GrillyIOError, match="no/such"):
        C.grl_load_safetensors(grilly.default_device()._h, "/no/such/file.safetensors")


def test_no_device_error_for_missing_device():
    with pytest.raises(grilly.NoDeviceError):
        grilly.Device(name="no-such-device-name")
    with pytest.raises(grilly.NoDeviceError):
        grilly.Device(index=1000)


def test_error_message_is_cleared_after_success():
    with pytest.raises(grilly.ShapeError):
        grilly.zeros(2) + grilly.zeros(3)
    (grilly.zeros(2) + 1).numpy()
    assert C.grl_last_error_message() == ""
