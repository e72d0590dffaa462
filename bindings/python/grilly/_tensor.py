"""grilly.Tensor over grl_tensor, its dtypes, factories, the random seed and grad mode.

Every method names the C function it wraps. A Tensor owns one reference to its handle and drops it
in close() or when collected; results of ops stay on the device until numpy()/item() reads them.
"""

from __future__ import annotations

import builtins
import collections
import numbers
import operator
import os
import threading

import numpy as np

from . import _grilly as _C
from ._device import Device, default_device
from ._errors import DTypeError, GrillyIndexError, InvalidArgumentError, UnsupportedError

# ------------------------------------------------------------------------------------------------
# dtypes
# ------------------------------------------------------------------------------------------------


class dtype:
    """A grilly dtype: its grl_dtype code and the numpy dtype that holds its values on the host.

    bfloat16 has no numpy dtype: on the numpy side it is its raw bits as uint16 (numpy() returns
    them; tensor(uint16_array, dtype=bfloat16) takes them). Use t.float() for the values.
    """

    __slots__ = ("name", "code", "numpy_dtype", "is_floating_point", "itemsize")

    def __init__(self, name, code, numpy_dtype, is_floating_point):
        self.name = name
        self.code = code
        self.numpy_dtype = np.dtype(numpy_dtype)
        self.is_floating_point = is_floating_point
        self.itemsize = self.numpy_dtype.itemsize

    def __repr__(self):
        return f"grilly.{self.name}"

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))


float32 = dtype("float32", _C.GRL_F32, np.float32, True)
float16 = dtype("float16", _C.GRL_F16, np.float16, True)
bfloat16 = dtype("bfloat16", _C.GRL_BF16, np.uint16, True)
int32 = dtype("int32", _C.GRL_I32, np.int32, False)
int64 = dtype("int64", _C.GRL_I64, np.int64, False)
uint8 = dtype("uint8", _C.GRL_U8, np.uint8, False)
bool_ = uint8  # comparison masks are uint8 0/1 (GRL_U8)

_BY_CODE = {d.code: d for d in (float32, float16, bfloat16, int32, int64, uint8)}
_BY_NAME = {
    "float32": float32, "float": float32, "f32": float32,
    "float16": float16, "half": float16, "f16": float16,
    "bfloat16": bfloat16, "bf16": bfloat16,
    "int32": int32, "int": int32, "i32": int32,
    "int64": int64, "long": int64, "i64": int64,
    "uint8": uint8, "u8": uint8, "bool": uint8,
}
# numpy dtypes without a grilly dtype go to the nearest one that holds their values.
_FROM_NUMPY = {
    np.dtype(np.float64): float32, np.dtype(np.float32): float32, np.dtype(np.float16): float16,
    np.dtype(np.int64): int64, np.dtype(np.int32): int32, np.dtype(np.int16): int32,
    np.dtype(np.int8): int32, np.dtype(np.uint8): uint8, np.dtype(np.bool_): uint8,
    np.dtype(np.uint16): int32, np.dtype(np.uint32): int64,
}


def _dtype_by_name(name):
    return _BY_NAME[name]


def _to_dtype(d) -> dtype:
    """A grilly dtype from a grilly dtype, a name ('float32', 'bf16'...), or a numpy/Python type."""
    if isinstance(d, dtype):
        return d
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d]
    if d is builtins.float:
        return float32
    if d is builtins.int:
        return int64
    if d is builtins.bool:
        return uint8
    try:
        nd = np.dtype(d)
    except TypeError:
        nd = None
    if nd is not None and nd in _FROM_NUMPY:
        return _FROM_NUMPY[nd]
    raise DTypeError(f"grilly: unsupported dtype {d!r} (expected one of float32, float16, "
                     "bfloat16, int32, int64, uint8)")


# ------------------------------------------------------------------------------------------------
# grad mode and the random seed
# ------------------------------------------------------------------------------------------------


class set_grad_enabled:
    """Turns autograd recording on or off for this thread (grl_set_grad_enabled); restores the
    previous mode on exit when used as a context manager or decorator."""

    def __init__(self, mode: bool):
        self._prev = builtins.bool(_C.grl_set_grad_enabled(int(builtins.bool(mode))))
        self._mode = builtins.bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _C.grl_set_grad_enabled(int(self._prev))
        return False


class _GradMode:
    _enabled = False

    def __enter__(self):
        self._prev = _C.grl_set_grad_enabled(int(self._enabled))
        return self

    def __exit__(self, *exc):
        _C.grl_set_grad_enabled(self._prev)
        return False

    def __call__(self, fn):
        import functools

        cls = type(self)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with cls():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Context manager (and decorator) that turns autograd recording off for this thread."""
    _enabled = False


class enable_grad(_GradMode):
    """Context manager (and decorator) that turns autograd recording on for this thread."""
    _enabled = True


def is_grad_enabled() -> bool:
    """Whether ops record for autograd on this thread (grl_is_grad_enabled)."""
    return builtins.bool(_C.grl_is_grad_enabled())


_MASK64 = (1 << 64) - 1
_rng_lock = threading.Lock()
_rng_seed = int.from_bytes(os.urandom(8), "little")
_rng_offset = 0


def manual_seed(seed: int) -> None:
    """Seeds the Philox generator of rand/randn (and resets its offset to 0)."""
    global _rng_seed, _rng_offset
    with _rng_lock:
        _rng_seed = int(seed) & _MASK64
        _rng_offset = 0


def initial_seed() -> int:
    return _rng_seed


def _draw(n: int):
    """(seed, offset) for n fresh elements; the running offset advances by n."""
    global _rng_offset
    with _rng_lock:
        offset = _rng_offset
        _rng_offset = (_rng_offset + n) & _MASK64
        return _rng_seed, offset


# ------------------------------------------------------------------------------------------------
# Tensor
# ------------------------------------------------------------------------------------------------

_MinMax = collections.namedtuple("_MinMax", ["values", "indices"])


def _is_scalar(x) -> bool:
    return isinstance(x, (numbers.Number, np.bool_)) and not isinstance(x, np.ndarray)


def _wrap(h, device) -> "Tensor":
    t = Tensor.__new__(Tensor)
    t._h = h
    t._device = device
    return t


def _device_of(device) -> Device:
    if device is None:
        return default_device()
    if isinstance(device, Device):
        return device
    raise TypeError(f"grilly: expected a grilly.Device or None, got {type(device).__name__}")


def _size(args) -> tuple:
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        return tuple(int(s) for s in args[0])
    return tuple(int(s) for s in args)


def _axes(dim):
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        return [int(d) for d in dim]
    return [int(dim)]


class Tensor:
    """An n-d array on a device (grl_tensor). Build with grilly.tensor(), zeros(), rand(), ...

    Ops record GPU work and return at once; numpy(), item() and printing wait for the results.
    """

    __slots__ = ("_h", "_device", "__weakref__")
    __array_ufunc__ = None      # numpy operators defer to Tensor's reflected methods
    __array_priority__ = 1000

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        self._h = None
        t = tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        self._h, self._device, t._h = t._h, t._device, None

    # -- ownership ---------------------------------------------------------------------------
    def close(self) -> None:
        """Drops this object's reference (grl_tensor_release); idempotent."""
        h, self._h = self._h, None
        if h is not None and _C is not None:
            _C.grl_tensor_release(h)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _new(self, h) -> "Tensor":
        return _wrap(h, self._device)

    def _other(self, x) -> "Tensor":
        """x as a Tensor on this tensor's device; arrays and lists take this tensor's dtype."""
        if isinstance(x, Tensor):
            return x
        return tensor(x, dtype=self.dtype, device=self._device)

    # -- metadata ----------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """The shape as a tuple (grl_tensor_shape)."""
        return _C.grl_tensor_shape(self._h)

    def size(self, dim=None):
        return self.shape if dim is None else _C.grl_tensor_dim(self._h, int(dim))

    @property
    def ndim(self) -> int:
        return _C.grl_tensor_ndim(self._h)

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return _C.grl_tensor_numel(self._h)

    @property
    def dtype(self) -> dtype:
        return _BY_CODE[_C.grl_tensor_dtype(self._h)]

    @property
    def device(self) -> Device:
        return self._device

    def stride(self, dim=None):
        """Strides in elements (grl_tensor_stride)."""
        if dim is not None:
            return _C.grl_tensor_stride(self._h, int(dim))
        return tuple(_C.grl_tensor_stride(self._h, i) for i in range(self.ndim))

    def is_contiguous(self) -> bool:
        return builtins.bool(_C.grl_tensor_is_contiguous(self._h))

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return _C.grl_tensor_dim(self._h, 0)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # -- host data ---------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """A host copy (grl_tensor_download; waits for the device). bfloat16: raw uint16 bits."""
        out = np.empty(self.shape, dtype=self.dtype.numpy_dtype)
        _C.grl_tensor_download(self._h, out)
        return out

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """DLPack export of a host copy: grl_tensor_download into a new numpy array, whose
        capsule is returned (consumers get CPU memory; device memory is never exposed).
        bfloat16 has no numpy dtype: convert with .float() first."""
        if self.dtype is bfloat16:
            raise DTypeError("grilly.Tensor.__dlpack__: bfloat16 cannot be exported through "
                             "numpy; export t.float() instead")
        kwargs = {k: v for k, v in (("max_version", max_version), ("dl_device", dl_device),
                                    ("copy", copy)) if v is not None}
        return self.numpy().__dlpack__(stream=stream, **kwargs)

    def __dlpack_device__(self) -> tuple:
        """(kDLCPU, 0): __dlpack__ exports a host copy."""
        return (1, 0)

    def tolist(self):
        return self._values().tolist()

    def _values(self) -> np.ndarray:
        """numpy() with bfloat16 converted to float32 values."""
        if self.dtype is bfloat16:
            return self.to(float32).numpy()
        return self.numpy()

    def item(self):
        """The single element as a Python number."""
        if self.numel() != 1:
            raise ValueError(f"item(): the tensor has {self.numel()} elements, expected 1")
        return self._values().reshape(-1)[0].item()

    def __float__(self):
        return builtins.float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.numel() != 1:
            raise ValueError(f"the truth value of a tensor with {self.numel()} elements is "
                             "ambiguous")
        return builtins.bool(self.item())

    def __repr__(self):
        if self._h is None:
            return "tensor(<closed>)"
        body = np.array2string(self._values(), separator=", ", prefix="tensor(")
        extra = []
        if self.dtype not in (float32, int64):
            extra.append(f"dtype={self.dtype!r}")
        fn = _C.grl_tensor_grad_fn_name(self._h)
        if fn:
            extra.append(f"grad_fn=<{fn}>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    # -- conversions and layout --------------------------------------------------------------
    def to(self, *args, dtype=None, device=None) -> "Tensor":
        """to(dtype) casts (grl_cast); to(device) copies through the host to another device."""
        for a in args:
            if isinstance(a, Device):
                device = a
            else:
                dtype = a
        t = self
        if device is not None and device != self._device:
            t = tensor(self.numpy(), dtype=self.dtype, device=device)
        if dtype is not None:
            d = _to_dtype(dtype)
            if d is not t.dtype:
                t = t._new(_C.grl_cast(t._h, d.code))
        return t

    def float(self):
        return self.to(float32)

    def half(self):
        return self.to(float16)

    def bfloat16(self):
        return self.to(bfloat16)

    def int(self):
        return self.to(int32)

    def long(self):
        return self.to(int64)

    def contiguous(self) -> "Tensor":
        """grl_contiguous: self's data when already contiguous, else a copy."""
        return self._new(_C.grl_contiguous(self._h))

    def clone(self) -> "Tensor":
        """A contiguous copy in new storage (grl_clone)."""
        return self._new(_C.grl_clone(self._h))

    def reshape(self, *shape) -> "Tensor":
        """grl_reshape: one dim may be -1; a view when the layout allows."""
        return self._new(_C.grl_reshape(self._h, _size(shape)))

    def view(self, *shape) -> "Tensor":
        return self.reshape(*shape)

    def flatten(self, start_dim=0, end_dim=-1) -> "Tensor":
        shape = self.shape
        nd = len(shape)
        if nd == 0:
            return self.reshape(1)
        s, e = start_dim % nd, end_dim % nd
        n = 1
        for d in shape[s:e + 1]:
            n *= d
        return self.reshape(shape[:s] + (n,) + shape[e + 1:])

    def transpose(self, dim0, dim1) -> "Tensor":
        """grl_transpose (a view)."""
        return self._new(_C.grl_transpose(self._h, int(dim0), int(dim1)))

    def permute(self, *dims) -> "Tensor":
        """grl_permute (a view)."""
        return self._new(_C.grl_permute(self._h, _size(dims)))

    @property
    def T(self) -> "Tensor":
        nd = self.ndim
        if nd < 2:
            return self
        return self.permute(*reversed(range(nd)))

    def squeeze(self, dim=None) -> "Tensor":
        """grl_squeeze; without dim every size-1 axis is removed."""
        if dim is not None:
            return self._new(_C.grl_squeeze(self._h, int(dim)))
        t = self
        for axis in reversed(range(self.ndim)):
            if t.shape[axis] == 1:
                t = t._new(_C.grl_squeeze(t._h, axis))
        return t

    def unsqueeze(self, dim) -> "Tensor":
        """grl_unsqueeze (a view)."""
        return self._new(_C.grl_unsqueeze(self._h, int(dim)))

    def expand(self, *sizes) -> "Tensor":
        """grl_expand: a broadcast view; -1 keeps a size."""
        return self._new(_C.grl_expand(self._h, _size(sizes)))

    # -- indexing ----------------------------------------------------------------------------
    def __getitem__(self, key) -> "Tensor":
        """Integers, slices (step > 0), None and ... through views (grl_slice, grl_squeeze,
        grl_unsqueeze); a 1-d integer tensor or list along one axis through grl_index_select."""
        if not isinstance(key, tuple):
            key = (key,)
        specified = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
        nd = self.ndim
        if specified > nd:
            raise GrillyIndexError(f"too many indices for a tensor of dimension {nd}")
        if builtins.sum(1 for k in key if k is Ellipsis) > 1:
            raise GrillyIndexError("an index can only have a single ellipsis ('...')")
        t, axis = self, 0
        for k in key:
            if k is None:
                t = t._new(_C.grl_unsqueeze(t._h, axis))
                axis += 1
            elif k is Ellipsis:
                axis += nd - specified
            elif isinstance(k, slice):
                size = _C.grl_tensor_dim(t._h, axis)
                start, stop, step = k.indices(size)
                if step <= 0:
                    raise ValueError("grilly: slices need a positive step")
                t = t._new(_C.grl_slice(t._h, axis, start, builtins.max(stop, start), step))
                axis += 1
            elif isinstance(k, (Tensor, list, np.ndarray)):
                idx = k if isinstance(k, Tensor) else tensor(np.asarray(k, dtype=np.int64),
                                                             device=self._device)
                if idx.ndim != 1 or idx.dtype not in (int32, int64):
                    raise GrillyIndexError("grilly: tensor indices must be 1-d int32 or int64")
                t = t._new(_C.grl_index_select(t._h, axis, idx._h))
                axis += 1
            else:
                try:
                    i = operator.index(k)
                except TypeError:
                    raise TypeError(f"grilly: unsupported index {k!r}") from None
                size = _C.grl_tensor_dim(t._h, axis)
                if not -size <= i < size:
                    raise GrillyIndexError(
                        f"index {i} is out of range for dimension {axis} of size {size}")
                i %= size
                t = t._new(_C.grl_slice(t._h, axis, i, i + 1, 1))
                t = t._new(_C.grl_squeeze(t._h, axis))
        return t

    def __setitem__(self, key, value) -> None:
        """Writes into the view self[key]: a scalar by grl_tensor_fill_, else grl_copy_."""
        view = self[key]
        if _is_scalar(value):
            _C.grl_tensor_fill_(view._h, builtins.float(value))
        else:
            src = self._other(value)  # kept alive across the call: it owns the handle
            _C.grl_copy_(view._h, src._h)

    def fill_(self, value) -> "Tensor":
        """grl_tensor_fill_."""
        _C.grl_tensor_fill_(self._h, builtins.float(value))
        return self

    def copy_(self, src) -> "Tensor":
        """grl_copy_ (src broadcast to self's shape, dtype converted)."""
        src = self._other(src)
        _C.grl_copy_(self._h, src._h)
        return self

    # -- arithmetic --------------------------------------------------------------------------
    def _binary(self, other, fn, fn_scalar):
        if isinstance(other, Tensor):
            return self._new(fn(self._h, other._h))
        if _is_scalar(other):
            return self._new(fn_scalar(self._h, builtins.float(other)))
        if other is None:
            return NotImplemented
        o = self._other(other)  # a temporary's handle must outlive the call
        return self._new(fn(self._h, o._h))

    def _rbinary(self, other, fn, fn_rscalar):
        if _is_scalar(other):
            return self._new(fn_rscalar(self._h, builtins.float(other)))
        if other is None:
            return NotImplemented
        o = self._other(other)
        return self._new(fn(o._h, self._h))

    def __add__(self, o):
        return self._binary(o, _C.grl_add, _C.grl_add_scalar)

    def __radd__(self, o):
        return self._rbinary(o, _C.grl_add, _C.grl_add_scalar)

    def __sub__(self, o):
        return self._binary(o, _C.grl_sub, _C.grl_sub_scalar)

    def __rsub__(self, o):
        return self._rbinary(o, _C.grl_sub, _C.grl_rsub_scalar)

    def __mul__(self, o):
        return self._binary(o, _C.grl_mul, _C.grl_mul_scalar)

    def __rmul__(self, o):
        return self._rbinary(o, _C.grl_mul, _C.grl_mul_scalar)

    def __truediv__(self, o):
        return self._binary(o, _C.grl_div, _C.grl_div_scalar)

    def __rtruediv__(self, o):
        return self._rbinary(o, _C.grl_div, _C.grl_rdiv_scalar)

    def __pow__(self, o):
        return self._binary(o, _C.grl_pow, _C.grl_pow_scalar)

    def __rpow__(self, o):
        return self._rbinary(o, _C.grl_pow, _C.grl_rpow_scalar)

    def __matmul__(self, o):
        """grl_matmul (numpy rules)."""
        if _is_scalar(o) or o is None:
            return NotImplemented
        o = self._other(o)
        return self._new(_C.grl_matmul(self._h, o._h))

    def __rmatmul__(self, o):
        if _is_scalar(o) or o is None:
            return NotImplemented
        o = self._other(o)
        return self._new(_C.grl_matmul(o._h, self._h))

    def __neg__(self):
        """grl_neg."""
        return self._new(_C.grl_neg(self._h))

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def __eq__(self, o):
        return self._binary(o, _C.grl_eq, _C.grl_eq_scalar)

    def __ne__(self, o):
        return self._binary(o, _C.grl_ne, _C.grl_ne_scalar)

    def __lt__(self, o):
        return self._binary(o, _C.grl_lt, _C.grl_lt_scalar)

    def __le__(self, o):
        return self._binary(o, _C.grl_le, _C.grl_le_scalar)

    def __gt__(self, o):
        return self._binary(o, _C.grl_gt, _C.grl_gt_scalar)

    def __ge__(self, o):
        return self._binary(o, _C.grl_ge, _C.grl_ge_scalar)

    __hash__ = object.__hash__

    def add(self, o):
        return self + o

    def sub(self, o):
        return self - o

    def mul(self, o):
        return self * o

    def div(self, o):
        return self / o

    def pow(self, o):
        return self ** o

    def matmul(self, o):
        return self @ o

    def maximum(self, o):
        """grl_maximum / grl_maximum_scalar."""
        return self._binary(o, _C.grl_maximum, _C.grl_maximum_scalar)

    def minimum(self, o):
        """grl_minimum / grl_minimum_scalar."""
        return self._binary(o, _C.grl_minimum, _C.grl_minimum_scalar)

    def clamp(self, min=None, max=None):
        """grl_clamp (a missing bound is infinite)."""
        lo = -np.inf if min is None else builtins.float(min)
        hi = np.inf if max is None else builtins.float(max)
        return self._new(_C.grl_clamp(self._h, lo, hi))

    # -- elementwise functions ---------------------------------------------------------------
    def abs(self):
        """grl_abs."""
        return self._new(_C.grl_abs(self._h))

    def neg(self):
        return -self

    def exp(self):
        """grl_exp."""
        return self._new(_C.grl_exp(self._h))

    def log(self):
        """grl_log."""
        return self._new(_C.grl_log(self._h))

    def sqrt(self):
        """grl_sqrt."""
        return self._new(_C.grl_sqrt(self._h))

    def rsqrt(self):
        """grl_rsqrt."""
        return self._new(_C.grl_rsqrt(self._h))

    def sin(self):
        """grl_sin."""
        return self._new(_C.grl_sin(self._h))

    def cos(self):
        """grl_cos."""
        return self._new(_C.grl_cos(self._h))

    def tanh(self):
        """grl_tanh."""
        return self._new(_C.grl_tanh(self._h))

    def sigmoid(self):
        """grl_sigmoid."""
        return self._new(_C.grl_sigmoid(self._h))

    def relu(self):
        """grl_relu."""
        return self._new(_C.grl_relu(self._h))

    def softmax(self, dim):
        """grl_softmax along dim."""
        return self._new(_C.grl_softmax(self._h, int(dim)))

    def log_softmax(self, dim):
        """grl_log_softmax along dim."""
        return self._new(_C.grl_log_softmax(self._h, int(dim)))

    # -- reductions --------------------------------------------------------------------------
    def sum(self, dim=None, keepdim=False):
        """grl_sum over dim (an int, a tuple, or None for all)."""
        return self._new(_C.grl_sum(self._h, _axes(dim), int(keepdim)))

    def mean(self, dim=None, keepdim=False):
        """grl_mean (floating dtypes)."""
        return self._new(_C.grl_mean(self._h, _axes(dim), int(keepdim)))

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """grl_var with correction 1 (unbiased, the default) or 0."""
        c = _correction(unbiased, correction)
        return self._new(_C.grl_var(self._h, _axes(dim), c, int(keepdim)))

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """grl_std with correction 1 (unbiased, the default) or 0."""
        c = _correction(unbiased, correction)
        return self._new(_C.grl_std(self._h, _axes(dim), c, int(keepdim)))

    def _minmax(self, fn, argfn, dim, keepdim):
        if dim is None:
            return self._new(fn(self._h, None, 0))
        if isinstance(dim, (tuple, list)):   # several axes: values only (torch.amax / amin)
            return self._new(fn(self._h, _axes(dim), int(keepdim)))
        values = self._new(fn(self._h, [int(dim)], int(keepdim)))
        indices = self._new(argfn(self._h, int(dim), int(keepdim)))
        return _MinMax(values, indices)

    def max(self, dim=None, keepdim=False):
        """grl_max; with dim, (values, indices) as torch.max (grl_argmax)."""
        if isinstance(dim, (Tensor, np.ndarray)) or _is_scalar(dim) and not isinstance(
                dim, (int, np.integer)):
            return self.maximum(dim)
        return self._minmax(_C.grl_max, _C.grl_argmax, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        """grl_min; with dim, (values, indices) as torch.min (grl_argmin)."""
        if isinstance(dim, (Tensor, np.ndarray)) or _is_scalar(dim) and not isinstance(
                dim, (int, np.integer)):
            return self.minimum(dim)
        return self._minmax(_C.grl_min, _C.grl_argmin, dim, keepdim)

    def amax(self, dim=None, keepdim=False):
        """grl_max over dim (an int, a tuple, or None for all): values only."""
        return self._new(_C.grl_max(self._h, _axes(dim), int(keepdim)))

    def amin(self, dim=None, keepdim=False):
        """grl_min over dim (an int, a tuple, or None for all): values only."""
        return self._new(_C.grl_min(self._h, _axes(dim), int(keepdim)))

    def argmax(self, dim=None, keepdim=False):
        """grl_argmax (int64); without dim, the index into the flattened tensor."""
        if dim is None:
            flat = self.reshape(-1)
            return self._new(_C.grl_argmax(flat._h, 0, 0))
        return self._new(_C.grl_argmax(self._h, int(dim), int(keepdim)))

    def argmin(self, dim=None, keepdim=False):
        """grl_argmin (int64); without dim, the index into the flattened tensor."""
        if dim is None:
            flat = self.reshape(-1)
            return self._new(_C.grl_argmin(flat._h, 0, 0))
        return self._new(_C.grl_argmin(self._h, int(dim), int(keepdim)))

    def norm(self, p=2, dim=None, keepdim=False):
        """grl_norm."""
        return self._new(_C.grl_norm(self._h, builtins.float(p), _axes(dim), int(keepdim)))

    def logsumexp(self, dim=None, keepdim=False):
        """grl_logsumexp."""
        return self._new(_C.grl_logsumexp(self._h, _axes(dim), int(keepdim)))

    # -- autograd ----------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        """grl_tensor_requires_grad; setting it marks a leaf (grl_tensor_set_requires_grad)."""
        return builtins.bool(_C.grl_tensor_requires_grad(self._h))

    @requires_grad.setter
    def requires_grad(self, value):
        _C.grl_tensor_set_requires_grad(self._h, int(builtins.bool(value)))

    def requires_grad_(self, requires_grad=True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return builtins.bool(_C.grl_tensor_is_leaf(self._h))

    @property
    def grad_fn(self):
        """The name of the op that made this tensor (grl_tensor_grad_fn_name), or None."""
        name = _C.grl_tensor_grad_fn_name(self._h)
        return name or None

    @property
    def grad(self):
        """The accumulated gradient (grl_tensor_grad), or None."""
        h = _C.grl_tensor_grad(self._h)
        return None if h is None else self._new(h)

    @grad.setter
    def grad(self, value):
        g = None if value is None else self._other(value)
        _C.grl_tensor_set_grad(self._h, None if g is None else g._h)

    def backward(self, gradient=None, retain_graph=False) -> None:
        """grl_tensor_backward: gradient may be None for a one-element tensor."""
        g = None if gradient is None else self._other(gradient)
        _C.grl_tensor_backward(self._h, None if g is None else g._h, int(builtins.bool(retain_graph)))

    def detach(self) -> "Tensor":
        """grl_tensor_detach: the same data outside autograd."""
        return self._new(_C.grl_tensor_detach(self._h))


def _correction(unbiased, correction) -> int:
    if correction is not None:
        return int(correction)
    return 0 if unbiased is False else 1


# ------------------------------------------------------------------------------------------------
# factories
# ------------------------------------------------------------------------------------------------


def _finish(t: Tensor, requires_grad) -> Tensor:
    if requires_grad:
        t.requires_grad = True
    return t


def tensor(data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor holding a copy of data (a numpy array, nested lists, a scalar or a Tensor)
    through grl_tensor_from_host. Default dtypes: float64 and Python floats give float32, Python
    ints int64, bools uint8; other numpy dtypes keep their own when grilly has it.
    """
    dev = _device_of(device)
    if isinstance(data, Tensor):
        t = data.detach().to(dev).clone()
        if dtype is not None:
            t = t.to(dtype)
        return _finish(t, requires_grad)
    if not isinstance(data, np.ndarray) and hasattr(data, "__dlpack__"):
        data = _host_from_dlpack(data)
    arr = np.asarray(data)
    if arr.dtype == object:
        raise DTypeError("grilly.tensor: data must be numbers (got Python objects)")
    target = _FROM_NUMPY.get(arr.dtype) if dtype is None else _to_dtype(dtype)
    if target is None:
        raise DTypeError(f"grilly.tensor: numpy dtype {arr.dtype} has no grilly dtype; pass "
                         "dtype= (float32, float16, bfloat16, int32, int64, uint8)")
    if target is bfloat16 and arr.dtype != np.uint16:
        # Values, not bits: upload as float32 and round to bfloat16 on the device (grl_cast).
        t = tensor(arr, dtype=float32, device=dev)
        return _finish(t.to(bfloat16), requires_grad)
    buf = np.ascontiguousarray(arr, dtype=target.numpy_dtype)
    h = _C.grl_tensor_from_host(dev._handle(), target.code, arr.shape, buf)
    return _finish(_wrap(h, dev), requires_grad)


def _host_from_dlpack(obj) -> np.ndarray:
    """A numpy view of a DLPack producer's host memory (np.from_dlpack)."""
    try:
        return np.from_dlpack(obj)
    except (BufferError, RuntimeError, TypeError, ValueError) as e:
        raise InvalidArgumentError(
            f"grilly: cannot read the DLPack producer {type(obj).__name__} on the host ({e}); "
            "grilly takes CPU tensors of numpy dtypes (move GPU tensors to the CPU, detach "
            "tensors that require grad)") from e


def from_dlpack(obj, dtype=None, device=None) -> Tensor:
    """A new tensor holding a copy of a DLPack producer's data (numpy arrays, PyTorch CPU
    tensors, ...): np.from_dlpack, then grl_tensor_from_host. A grilly Tensor is returned as is."""
    if isinstance(obj, Tensor) and dtype is None and device is None:
        return obj
    if isinstance(obj, Tensor):
        return tensor(obj, dtype=dtype, device=device)
    return tensor(_host_from_dlpack(obj), dtype=dtype, device=device)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """data itself when it is a Tensor of that dtype, else grilly.tensor(data, dtype)."""
    if isinstance(data, Tensor) and (dtype is None or _to_dtype(dtype) is data.dtype):
        return data
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    return tensor(array)


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """grl_tensor_zeros."""
    dev = _device_of(device)
    d = float32 if dtype is None else _to_dtype(dtype)
    return _finish(_wrap(_C.grl_tensor_zeros(dev._handle(), d.code, _size(size)), dev),
                   requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """grl_tensor_empty (contents unspecified)."""
    dev = _device_of(device)
    d = float32 if dtype is None else _to_dtype(dtype)
    return _finish(_wrap(_C.grl_tensor_empty(dev._handle(), d.code, _size(size)), dev),
                   requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """grl_full; the dtype follows fill_value (bool uint8, int int64, float float32)."""
    dev = _device_of(device)
    if dtype is None:
        if isinstance(fill_value, (builtins.bool, np.bool_)):
            dtype = uint8
        elif isinstance(fill_value, (int, np.integer)):
            dtype = int64
        else:
            dtype = float32
    d = _to_dtype(dtype)
    if isinstance(size, (int, np.integer)):
        size = (size,)
    h = _C.grl_full(dev._handle(), _size((size,)), builtins.float(fill_value), d.code)
    return _finish(_wrap(h, dev), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """grl_full with 1."""
    return full(_size(size), 1.0, dtype=dtype or float32, device=device,
                requires_grad=requires_grad)


def zeros_like(t: Tensor, dtype=None, requires_grad=False) -> Tensor:
    return zeros(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad=False) -> Tensor:
    return ones(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value, dtype=None, requires_grad=False) -> Tensor:
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=t.device,
                requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """grl_arange: start, start+step, ... < end; int64 when every bound is an integer."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = builtins.all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = int64 if ints else float32
    dev = _device_of(device)
    h = _C.grl_arange(dev._handle(), builtins.float(start), builtins.float(end),
                      builtins.float(step), _to_dtype(dtype).code)
    return _finish(_wrap(h, dev), requires_grad)


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def rand(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform [0, 1) from the global Philox generator (grl_rand_uniform; see manual_seed)."""
    shape = _size(size)
    dev = _device_of(device)
    seed, offset = _draw(_numel(shape))
    d = float32 if dtype is None else _to_dtype(dtype)
    h = _C.grl_rand_uniform(dev._handle(), shape, d.code, 0.0, 1.0, seed, offset)
    return _finish(_wrap(h, dev), requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal from the global Philox generator (grl_rand_normal; see manual_seed)."""
    shape = _size(size)
    dev = _device_of(device)
    seed, offset = _draw(_numel(shape))
    d = float32 if dtype is None else _to_dtype(dtype)
    h = _C.grl_rand_normal(dev._handle(), shape, d.code, 0.0, 1.0, seed, offset)
    return _finish(_wrap(h, dev), requires_grad)


# ------------------------------------------------------------------------------------------------
# module-level functions
# ------------------------------------------------------------------------------------------------


def cat(tensors, dim=0) -> Tensor:
    """grl_concat."""
    ts = [as_tensor(t) for t in tensors]
    if not ts:
        raise InvalidArgumentError("grilly.cat: expected at least one tensor")
    return ts[0]._new(_C.grl_concat([t._h for t in ts], int(dim)))


def stack(tensors, dim=0) -> Tensor:
    """grl_stack."""
    ts = [as_tensor(t) for t in tensors]
    if not ts:
        raise InvalidArgumentError("grilly.stack: expected at least one tensor")
    return ts[0]._new(_C.grl_stack([t._h for t in ts], int(dim)))


def where(condition, a, b) -> Tensor:
    """grl_where: condition (uint8) ? a : b."""
    cond = as_tensor(condition, dtype=uint8)
    ref = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    dt = ref.dtype if ref is not None else None
    ta = as_tensor(a, dtype=dt, device=cond.device)
    tb = as_tensor(b, dtype=ta.dtype, device=cond.device)
    return cond._new(_C.grl_where(cond._h, ta._h, tb._h))


def _method(name):
    def fn(input, *args, **kwargs):
        return getattr(as_tensor(input), name)(*args, **kwargs)
    fn.__name__ = name
    fn.__doc__ = f"grilly.{name}(t, ...) is t.{name}(...)."
    return fn


for _name in ("exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "relu", "abs",
              "softmax", "log_softmax", "sum", "mean", "var", "std", "max", "min", "argmax",
              "argmin", "amax", "amin", "norm", "logsumexp", "reshape", "transpose", "permute", "squeeze",
              "unsqueeze", "flatten", "clamp", "maximum", "minimum", "matmul", "clone",
              "detach", "neg"):
    globals()[_name] = _method(_name)
del _name

_unsupported = UnsupportedError  # re-exported for symmetry with the C statuses
