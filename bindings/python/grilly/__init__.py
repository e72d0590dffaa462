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

from ._device import Device, default_device, device_count, devices, live_handles, set_default_device  # noqa: E402
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
from . import autograd  # noqa: E402,F401
from .functional import (  # noqa: E402,F401  (torch.* names of functional ops)
    add, bernoulli, bmm, concat, cumsum, div, eq, gather, ge, gt, index_select, le, lt, mul, ne,
    normal, outer, pow, rsub, scatter_add, split, sub)
from .serialization import load, save  # noqa: E402,F401


def version_info() -> tuple:
    """(major, minor, patch) of the C library, decoded from grl_version."""
    v = _grilly.grl_version()
    return (v >> 22, (v >> 12) & 0x3FF, v & 0xFFF)


def status_string(status: int) -> str:
    """The constant name of a grl_status code, e.g. 'GRL_ERROR_SHAPE' (grl_status_string)."""
    return _grilly.grl_status_string(status)


def last_error() -> tuple:
    """(status, message) of this thread's last failed C call, (0, '') after a success
    (grl_last_error_status, grl_last_error_message)."""
    return (_grilly.grl_last_error_status(), _grilly.grl_last_error_message())


def dtype_info(d) -> tuple:
    """(C name, element size in bytes) of a dtype (grl_dtype_name, grl_dtype_size)."""
    code = _tensor._to_dtype(d).code
    return (_grilly.grl_dtype_name(code), _grilly.grl_dtype_size(code))


# JIT (graph capture), mixed precision, DLPack, the original grilly facades and utilities.
from ._tensor import from_dlpack  # noqa: E402,F401
from . import amp, jit, utils  # noqa: E402,F401
from ._compute import Compute, VulkanCompute  # noqa: E402,F401
# Neuromorphic families (docs/neuro.md): spiking neurons and synapses, learning rules, search, memory.
from . import learning, memory, search, snn  # noqa: E402,F401
from .learning import Learning  # noqa: E402,F401
from .memory import EpisodicMemory  # noqa: E402,F401
from .search import IndexFlat, IndexFlatIP, IndexFlatL2, pairwise_distances, topk  # noqa: E402,F401
from .snn import SNNCompute  # noqa: E402,F401


def __getattr__(name):
    # VULKAN_AVAILABLE is computed on first access: enumerating devices is not free at import.
    if name == "VULKAN_AVAILABLE":
        from ._compute import vulkan_available
        value = vulkan_available()
        globals()["VULKAN_AVAILABLE"] = value
        return value
    raise AttributeError(f"module 'grilly' has no attribute '{name}'")
