"""grilly: GPU compute for neural-network research on any Vulkan device, with a PyTorch-like API.

``grilly.Tensor`` wraps the C ABI's grl_tensor (include/grilly.h); ``grilly._grilly`` is the
private SWIG module generated from that header. Errors raise ``grilly.GrillyError`` subclasses
carrying the C message.
"""

from . import _grilly
from ._errors import (DTypeError, DeviceError, DeviceMismatchError, GrillyError, GrillyIndexError,
                      GrillyIOError, InternalError, InvalidArgumentError, NoDeviceError,
                      NullArgumentError, OutOfMemoryError, ShapeError, UnsupportedError,
                      error_class)
from . import _errors

_errors._register(_grilly)

from ._device import Device, default_device, device_count, devices, set_default_device  # noqa: E402
from ._tensor import (  # noqa: E402
    Tensor, abs, amax, amin, arange, argmax, argmin, as_tensor, bfloat16, bool_, cat, clamp, clone, cos,
    detach, dtype, empty, enable_grad, exp, flatten, float16, float32, from_numpy, full,
    full_like, initial_seed, int32, int64, is_grad_enabled, log, log_softmax, logsumexp,
    manual_seed, matmul, max, maximum, mean, min, minimum, neg, no_grad, norm, ones, ones_like,
    permute, rand, randn, relu, reshape, rsqrt, set_grad_enabled, sigmoid, sin, softmax, sqrt,
    squeeze, stack, std, sum, tanh, tensor, transpose, uint8, unsqueeze, var, where, zeros,
    zeros_like)

bool = bool_  # noqa: A001  (grilly.bool, as torch.bool: masks are uint8 0/1 here)
float = float32  # noqa: A001
half = float16
long = int64
int = int32  # noqa: A001

__version__ = _grilly.grl_version_string()

from . import functional, nn, optim  # noqa: E402,F401
