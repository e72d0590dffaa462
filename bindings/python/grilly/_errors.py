"""The exception hierarchy of grilly: one class per grl_status code of include/grilly.h.

Every failed C call raises the class mapped from its status, with the core's message
(grl_last_error_message) as text and the status code as ``.status``.
"""

from __future__ import annotations


class GrillyError(Exception):
    """Base of every error raised by grilly; ``status`` is the C grl_status code (negative)."""

    status: int | None = None

    def __init__(self, message: str = "", status: int | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class InvalidArgumentError(GrillyError, ValueError):
    """GRL_ERROR_INVALID_ARGUMENT: a value outside its documented range."""
    status = -1


class NullArgumentError(GrillyError, ValueError):
    """GRL_ERROR_NULL_ARGUMENT: a required handle or pointer is NULL (a closed tensor...)."""
    status = -2


class ShapeError(GrillyError, ValueError):
    """GRL_ERROR_SHAPE: shapes do not fit the op's rule."""
    status = -3


class DTypeError(GrillyError, TypeError):
    """GRL_ERROR_DTYPE: the op does not take this dtype, or dtypes disagree."""
    status = -4


class DeviceMismatchError(GrillyError, ValueError):
    """GRL_ERROR_DEVICE_MISMATCH: tensors live on different devices."""
    status = -5


class GrillyIndexError(GrillyError, IndexError):
    """GRL_ERROR_INDEX: an index out of range (also Python's IndexError)."""
    status = -6


class OutOfMemoryError(GrillyError, MemoryError):
    """GRL_ERROR_OUT_OF_MEMORY: host or device memory is exhausted."""
    status = -7


class NoDeviceError(GrillyError):
    """GRL_ERROR_NO_DEVICE: no Vulkan, or no device matches the request."""
    status = -8


class DeviceError(GrillyError):
    """GRL_ERROR_DEVICE: the Vulkan driver failed (device lost, ...)."""
    status = -9


class UnsupportedError(GrillyError, NotImplementedError):
    """GRL_ERROR_UNSUPPORTED: a valid request the device or build cannot do."""
    status = -10


class GrillyIOError(GrillyError, OSError):
    """GRL_ERROR_IO: a file could not be read or written (also Python's OSError)."""
    status = -11

    def __init__(self, message: str = "", status: int | None = None):
        # OSError's constructor interprets a 2-tuple as (errno, strerror): keep the message whole.
        GrillyError.__init__(self, message, status)

    def __str__(self) -> str:
        return self.message


class InternalError(GrillyError):
    """GRL_ERROR_INTERNAL: a bug in grilly; please report it with the message."""
    status = -99


_BY_STATUS = {
    cls.status: cls
    for cls in (InvalidArgumentError, NullArgumentError, ShapeError, DTypeError,
                DeviceMismatchError, GrillyIndexError, OutOfMemoryError, NoDeviceError,
                DeviceError, UnsupportedError, GrillyIOError, InternalError)
}


for _cls in (GrillyError, *_BY_STATUS.values()):
    _cls.__module__ = "grilly"
del _cls


def error_class(status: int) -> type[GrillyError]:
    """The exception class raised for a grl_status code."""
    return _BY_STATUS.get(status, GrillyError)


def _register(module) -> None:
    mapping = dict(_BY_STATUS)
    mapping["default"] = GrillyError
    module._set_error_classes(mapping)
