"""grilly.functional (import as F): every op of the C ABI under PyTorch's names and argument order.

Every function accepts grilly Tensors or anything grilly.tensor accepts (numpy arrays, lists);
the docstrings name the C function behind each call. Importing this module also gives
grilly.Tensor the methods that mirror these functions (t.leaky_relu(), t.cumsum(1), ...).
"""

from __future__ import annotations

import builtins
import math
from typing import Sequence

import numpy as np

from . import _grilly as _C
from . import _tensor as _t
from ._errors import InvalidArgumentError, ShapeError
from ._tensor import Tensor, as_tensor

# Names that shadow Python builtins (sum, max, min, abs, pow) stay out of the star-import.
__all__ = [
    # elementwise
    "add", "sub", "rsub", "mul", "div", "minimum", "maximum", "eq", "ne", "lt", "le", "gt",
    "ge", "neg", "exp", "log", "sqrt", "rsqrt", "sin", "cos", "clamp", "where",
    # activations
    "relu", "leaky_relu", "elu", "gelu", "silu", "softplus", "mish", "hardswish", "hardsigmoid",
    "gcu", "roswish", "swiglu", "geglu", "reglu", "sigmoid", "tanh", "softmax", "log_softmax",
    # reductions
    "mean", "var", "std", "amax", "amin", "argmax", "argmin", "norm",
    "logsumexp", "cumsum",
    # linear algebra and normalisation
    "linear", "matmul", "bmm", "outer", "layer_norm", "rms_norm",
    # indexing and shape
    "embedding", "index_select", "gather", "scatter_add", "cat", "concat", "stack", "split", "pad",
    "one_hot",
    # random
    "dropout", "uniform", "normal", "bernoulli",
    # losses
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "cosine_embedding_loss",
    "margin_ranking_loss", "triplet_margin_loss", "contrastive_loss",
]

_REDUCTIONS = {"none": _C.GRL_REDUCTION_NONE, "mean": _C.GRL_REDUCTION_MEAN,
               "sum": _C.GRL_REDUCTION_SUM}


def _reduction(reduction: str) -> int:
    try:
        return _REDUCTIONS[reduction]
    except (KeyError, TypeError):
        raise InvalidArgumentError(
            f"grilly: reduction must be 'none', 'mean' or 'sum', got {reduction!r}") from None


def _like(x, ref: Tensor):
    """x as a Tensor on ref's device (arrays and lists take ref's dtype); None stays None."""
    if x is None or isinstance(x, Tensor):
        return x
    return _t.tensor(x, dtype=ref.dtype, device=ref.device)


def _h(t):
    return None if t is None else t._h


def _index(x, ref: Tensor | None) -> Tensor:
    """An index tensor: Tensors pass as they are (the C call checks their dtype), arrays become
    int64 on ref's device (the default device without ref)."""
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype.kind not in "iu":
        raise _t.DTypeError(f"grilly: indices must be integers, got a {arr.dtype} array")
    return _t.tensor(arr.astype(np.int64), device=None if ref is None else ref.device)


# ------------------------------------------------------------------------------------------------
# elementwise (grl_add ... grl_ge and their _scalar forms, through Tensor's operators)
# ------------------------------------------------------------------------------------------------


def _pair(input, other):
    """Operands for a binary op: a Tensor first when either is one (scalars stay scalars)."""
    if isinstance(input, Tensor):
        return input, other
    if isinstance(other, Tensor) and _t._is_scalar(input):
        return None, other
    return as_tensor(input), other


def add(input, other, *, alpha=1) -> Tensor:
    """grl_add / grl_add_scalar: input + alpha * other."""
    if alpha != 1:
        other = other * alpha if isinstance(other, Tensor) else as_tensor(other) * alpha
    a, b = _pair(input, other)
    return b + input if a is None else a + b


def sub(input, other, *, alpha=1) -> Tensor:
    """grl_sub / grl_sub_scalar (a scalar input: grl_rsub_scalar): input - alpha * other."""
    if alpha != 1:
        other = other * alpha if isinstance(other, Tensor) else as_tensor(other) * alpha
    a, b = _pair(input, other)
    return input - b if a is None else a - b


def rsub(input, other, *, alpha=1) -> Tensor:
    """torch.rsub: other - alpha * input (grl_rsub_scalar for a scalar other)."""
    x = as_tensor(input)
    if alpha != 1:
        x = x * alpha
    if _t._is_scalar(other):
        return x._new(_C.grl_rsub_scalar(x._h, builtins.float(other)))
    return x.__rsub__(other)


def mul(input, other) -> Tensor:
    """grl_mul / grl_mul_scalar."""
    a, b = _pair(input, other)
    return b * input if a is None else a * b


def div(input, other) -> Tensor:
    """grl_div / grl_div_scalar (a scalar input: grl_rdiv_scalar)."""
    a, b = _pair(input, other)
    return input / b if a is None else a / b


def pow(input, exponent) -> Tensor:
    """grl_pow / grl_pow_scalar (a scalar input: grl_rpow_scalar)."""
    a, b = _pair(input, exponent)
    return input ** b if a is None else a ** b


def minimum(input, other) -> Tensor:
    """grl_minimum / grl_minimum_scalar."""
    return as_tensor(input).minimum(other)


def maximum(input, other) -> Tensor:
    """grl_maximum / grl_maximum_scalar."""
    return as_tensor(input).maximum(other)


def eq(input, other) -> Tensor:
    """grl_eq / grl_eq_scalar: a uint8 mask."""
    return as_tensor(input) == other


def ne(input, other) -> Tensor:
    """grl_ne / grl_ne_scalar: a uint8 mask."""
    return as_tensor(input) != other


def lt(input, other) -> Tensor:
    """grl_lt / grl_lt_scalar: a uint8 mask."""
    return as_tensor(input) < other


def le(input, other) -> Tensor:
    """grl_le / grl_le_scalar: a uint8 mask."""
    return as_tensor(input) <= other


def gt(input, other) -> Tensor:
    """grl_gt / grl_gt_scalar: a uint8 mask."""
    return as_tensor(input) > other


def ge(input, other) -> Tensor:
    """grl_ge / grl_ge_scalar: a uint8 mask."""
    return as_tensor(input) >= other


def neg(input) -> Tensor:
    """grl_neg."""
    return -as_tensor(input)


def abs(input) -> Tensor:
    """grl_abs."""
    return as_tensor(input).abs()


def exp(input) -> Tensor:
    """grl_exp."""
    return as_tensor(input).exp()


def log(input) -> Tensor:
    """grl_log."""
    return as_tensor(input).log()


def sqrt(input) -> Tensor:
    """grl_sqrt."""
    return as_tensor(input).sqrt()


def rsqrt(input) -> Tensor:
    """grl_rsqrt."""
    return as_tensor(input).rsqrt()


def sin(input) -> Tensor:
    """grl_sin."""
    return as_tensor(input).sin()


def cos(input) -> Tensor:
    """grl_cos."""
    return as_tensor(input).cos()


def clamp(input, min=None, max=None) -> Tensor:
    """grl_clamp (a missing bound is infinite)."""
    return as_tensor(input).clamp(min, max)


def where(condition, input, other) -> Tensor:
    """grl_where: condition (uint8) ? input : other."""
    return _t.where(condition, input, other)


# ------------------------------------------------------------------------------------------------
# activations
# ------------------------------------------------------------------------------------------------


def relu(input, inplace: bool = False) -> Tensor:
    """grl_relu."""
    return as_tensor(input).relu()


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """grl_leaky_relu: x where x > 0, else negative_slope * x."""
    x = as_tensor(input)
    return x._new(_C.grl_leaky_relu(x._h, builtins.float(negative_slope)))


def elu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """grl_elu: x where x > 0, else alpha * (exp(x) - 1)."""
    x = as_tensor(input)
    return x._new(_C.grl_elu(x._h, builtins.float(alpha)))


def gelu(input, approximate: str = "none") -> Tensor:
    """grl_gelu (approximate 'none': erf; 'tanh': the tanh form)."""
    if approximate not in ("none", "tanh"):
        raise InvalidArgumentError(f"grilly.gelu: approximate must be 'none' or 'tanh', got "
                                   f"{approximate!r}")
    x = as_tensor(input)
    mode = _C.GRL_GELU_EXACT if approximate == "none" else _C.GRL_GELU_TANH
    return x._new(_C.grl_gelu(x._h, mode))


def silu(input, inplace: bool = False) -> Tensor:
    """grl_silu: x * sigmoid(x)."""
    x = as_tensor(input)
    return x._new(_C.grl_silu(x._h))


def softplus(input, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """grl_softplus: log(1 + exp(beta x)) / beta, x where beta x > threshold."""
    x = as_tensor(input)
    return x._new(_C.grl_softplus(x._h, builtins.float(beta), builtins.float(threshold)))


def mish(input, inplace: bool = False) -> Tensor:
    """grl_mish: x * tanh(softplus(x))."""
    x = as_tensor(input)
    return x._new(_C.grl_mish(x._h))


def hardswish(input, inplace: bool = False) -> Tensor:
    """grl_hardswish: x * relu6(x + 3) / 6."""
    x = as_tensor(input)
    return x._new(_C.grl_hardswish(x._h))


def hardsigmoid(input, inplace: bool = False) -> Tensor:
    """grl_hardsigmoid: relu6(x + 3) / 6."""
    x = as_tensor(input)
    return x._new(_C.grl_hardsigmoid(x._h))


def gcu(input) -> Tensor:
    """grl_gcu: the growing cosine unit x * cos(x)."""
    x = as_tensor(input)
    return x._new(_C.grl_gcu(x._h))


def roswish(input, alpha: float = 1.0, beta: float = 1.0) -> Tensor:
    """grl_roswish: (x + alpha) * sigmoid(beta x) - alpha / 2."""
    x = as_tensor(input)
    return x._new(_C.grl_roswish(x._h, builtins.float(alpha), builtins.float(beta)))


def swiglu(input) -> Tensor:
    """grl_swiglu: the last axis (2H) split as [a, b], silu(a) * b of shape [..., H]."""
    x = as_tensor(input)
    return x._new(_C.grl_swiglu(x._h))


def geglu(input) -> Tensor:
    """grl_geglu: the last axis (2H) split as [a, b], gelu(a) * b (exact gelu)."""
    x = as_tensor(input)
    return x._new(_C.grl_geglu(x._h))


def reglu(input) -> Tensor:
    """grl_reglu: the last axis (2H) split as [a, b], relu(a) * b."""
    x = as_tensor(input)
    return x._new(_C.grl_reglu(x._h))


def sigmoid(input) -> Tensor:
    """grl_sigmoid."""
    return as_tensor(input).sigmoid()


def tanh(input) -> Tensor:
    """grl_tanh."""
    return as_tensor(input).tanh()


def softmax(input, dim: int) -> Tensor:
    """grl_softmax along dim."""
    return as_tensor(input).softmax(dim)


def log_softmax(input, dim: int) -> Tensor:
    """grl_log_softmax along dim."""
    return as_tensor(input).log_softmax(dim)


# ------------------------------------------------------------------------------------------------
# reductions (Tensor methods over grl_sum ... grl_logsumexp)
# ------------------------------------------------------------------------------------------------


def sum(input, dim=None, keepdim: bool = False) -> Tensor:
    """grl_sum over dim (an int, a tuple, or None for all)."""
    return as_tensor(input).sum(dim, keepdim)


def mean(input, dim=None, keepdim: bool = False) -> Tensor:
    """grl_mean (floating dtypes)."""
    return as_tensor(input).mean(dim, keepdim)


def var(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """grl_var with correction 1 (unbiased, the default) or 0."""
    return as_tensor(input).var(dim, unbiased, keepdim, correction=correction)


def std(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """grl_std with correction 1 (unbiased, the default) or 0."""
    return as_tensor(input).std(dim, unbiased, keepdim, correction=correction)


def max(input, dim=None, keepdim: bool = False):
    """grl_max; with an int dim, (values, indices) through grl_argmax, as torch.max."""
    return as_tensor(input).max(dim, keepdim)


def min(input, dim=None, keepdim: bool = False):
    """grl_min; with an int dim, (values, indices) through grl_argmin, as torch.min."""
    return as_tensor(input).min(dim, keepdim)


def amax(input, dim=None, keepdim: bool = False) -> Tensor:
    """grl_max: values only."""
    return as_tensor(input).amax(dim, keepdim)


def amin(input, dim=None, keepdim: bool = False) -> Tensor:
    """grl_min: values only."""
    return as_tensor(input).amin(dim, keepdim)


def argmax(input, dim=None, keepdim: bool = False) -> Tensor:
    """grl_argmax (int64)."""
    return as_tensor(input).argmax(dim, keepdim)


def argmin(input, dim=None, keepdim: bool = False) -> Tensor:
    """grl_argmin (int64)."""
    return as_tensor(input).argmin(dim, keepdim)


def norm(input, p=2, dim=None, keepdim: bool = False) -> Tensor:
    """grl_norm: p > 0, inf ('inf' too) or 0 ('fro' is 2)."""
    if p == "fro":
        p = 2
    elif isinstance(p, str) and p in ("inf", "-inf"):
        p = builtins.float(p)
    return as_tensor(input).norm(p, dim, keepdim)


def logsumexp(input, dim=None, keepdim: bool = False) -> Tensor:
    """grl_logsumexp."""
    return as_tensor(input).logsumexp(dim, keepdim)


def cumsum(input, dim: int) -> Tensor:
    """grl_cumsum: inclusive prefix sums along dim (integers accumulate into int64)."""
    x = as_tensor(input)
    return x._new(_C.grl_cumsum(x._h, int(dim)))


# ------------------------------------------------------------------------------------------------
# linear algebra and normalisation
# ------------------------------------------------------------------------------------------------


def linear(input, weight, bias=None) -> Tensor:
    """grl_linear: input @ weight.T + bias (weight [out, in], bias [out] or None)."""
    x = as_tensor(input)
    w, b = _like(weight, x), _like(bias, x)
    return x._new(_C.grl_linear(x._h, w._h, _h(b)))


def matmul(input, other) -> Tensor:
    """grl_matmul (numpy's matmul rules)."""
    return as_tensor(input).matmul(other)


def bmm(input, mat2) -> Tensor:
    """grl_bmm: [B, M, K] x [B, K, N] -> [B, M, N]."""
    a = as_tensor(input)
    b = _like(mat2, a)
    return a._new(_C.grl_bmm(a._h, b._h))


def outer(input, vec2) -> Tensor:
    """grl_outer: [M] x [N] -> [M, N]."""
    a = as_tensor(input)
    b = _like(vec2, a)
    return a._new(_C.grl_outer(a._h, b._h))


def _norm_ndim(normalized_shape) -> int:
    if hasattr(normalized_shape, "__index__"):
        return 1
    return len(tuple(normalized_shape))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """grl_layer_norm over the last len(normalized_shape) axes."""
    x = as_tensor(input)
    w, b = _like(weight, x), _like(bias, x)
    return x._new(_C.grl_layer_norm(x._h, _norm_ndim(normalized_shape), _h(w), _h(b),
                                    builtins.float(eps)))


def rms_norm(input, normalized_shape, weight=None, eps=None) -> Tensor:
    """grl_rms_norm over the last len(normalized_shape) axes (eps None: float32's machine eps,
    as PyTorch)."""
    x = as_tensor(input)
    w = _like(weight, x)
    if eps is None:
        eps = 1.1920928955078125e-07
    return x._new(_C.grl_rms_norm(x._h, _norm_ndim(normalized_shape), _h(w),
                                  builtins.float(eps)))


# ------------------------------------------------------------------------------------------------
# indexing and shape
# ------------------------------------------------------------------------------------------------


def embedding(input, weight) -> Tensor:
    """grl_embedding: rows of weight [num, dim] picked by the indices input [...] -> [..., dim].
    An index out of range raises GrillyIndexError at the next read or synchronize."""
    w = as_tensor(weight)
    idx = _index(input, w)
    return w._new(_C.grl_embedding(w._h, idx._h))


def index_select(input, dim: int, index) -> Tensor:
    """grl_index_select: entries of input along dim picked by a 1-d index."""
    x = as_tensor(input)
    idx = _index(index, x)
    return x._new(_C.grl_index_select(x._h, int(dim), idx._h))


def gather(input, dim: int, index) -> Tensor:
    """grl_gather (torch.gather): out[i][j] = input[index[i][j]][j] for dim 0."""
    x = as_tensor(input)
    idx = _index(index, x)
    return x._new(_C.grl_gather(x._h, int(dim), idx._h))


def scatter_add(input, dim: int, index, src) -> Tensor:
    """grl_scatter_add (torch.scatter_add, out of place): src added into input at index."""
    x = as_tensor(input)
    idx = _index(index, x)
    s = _like(src, x)
    return x._new(_C.grl_scatter_add(x._h, int(dim), idx._h, s._h))


def cat(tensors: Sequence, dim: int = 0) -> Tensor:
    """grl_concat along dim."""
    return _t.cat(tensors, dim)


concat = cat


def stack(tensors: Sequence, dim: int = 0) -> Tensor:
    """grl_stack: a new axis dim of size len(tensors)."""
    return _t.stack(tensors, dim)


def split(tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """grl_split: views of tensor along dim, each of split_size (the last smaller) or of the
    listed sizes (which must add up to the axis size)."""
    x = as_tensor(tensor)
    size = x.shape[dim] if x.ndim else 0
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0:
            raise InvalidArgumentError(f"grilly.split: split_size must be positive, got {step}")
        sizes = [builtins.min(step, size - i) for i in range(0, size, step)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
    return tuple(x._new(h) for h in _C.grilly_split(x._h, sizes, int(dim)))


def pad(input, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """grl_pad: constant padding, pad = (last_lo, last_hi, second_last_lo, ...); negative pads
    crop. Only mode='constant' exists in the core."""
    if mode != "constant":
        raise InvalidArgumentError(f"grilly.pad: mode must be 'constant', got {mode!r}")
    x = as_tensor(input)
    return x._new(_C.grl_pad(x._h, [int(p) for p in pad], builtins.float(
        0.0 if value is None else value)))


def one_hot(tensor, num_classes: int = -1, dtype=None) -> Tensor:
    """grl_one_hot: indices [...] -> [..., num_classes] (int64 like PyTorch unless dtype is
    given). num_classes -1 takes max(index) + 1, which reads the indices."""
    idx = _index(tensor, None)
    if num_classes == -1:
        num_classes = int(idx.amax().item()) + 1 if idx.numel() else 0
    d = _t.int64 if dtype is None else _t._to_dtype(dtype)
    return idx._new(_C.grl_one_hot(idx._h, int(num_classes), d.code))


# ------------------------------------------------------------------------------------------------
# random numbers (Philox, seeded by grilly.manual_seed; each call advances the global offset)
# ------------------------------------------------------------------------------------------------


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """grl_dropout (inverted dropout); the mask comes from the global generator
    (grilly.manual_seed), whose offset advances by the element count."""
    x = as_tensor(input)
    if not training or p == 0:
        return x._new(_C.grl_dropout(x._h, builtins.float(p), 0, 0, 0))
    seed, offset = _t._draw(_t._numel(x.shape))
    return x._new(_C.grl_dropout(x._h, builtins.float(p), 1, seed, offset))


def _random_args(size, dtype=None, device=None):
    """(device, shape, dtype code, seed, offset) for a draw of `size` from the global generator."""
    shape = (int(size),) if isinstance(size, (int, np.integer)) else _t._size((size,))
    dev = _t._device_of(device)
    seed, offset = _t._draw(_t._numel(shape))
    d = _t.float32 if dtype is None else _t._to_dtype(dtype)
    return dev, shape, d.code, seed, offset


def uniform(size, low: float = 0.0, high: float = 1.0, *, dtype=None, device=None) -> Tensor:
    """grl_rand_uniform: U(low, high) of the given size from the global generator."""
    dev, shape, code, seed, offset = _random_args(size, dtype=dtype, device=device)
    return _t._wrap(_C.grl_rand_uniform(dev._handle(), shape, code, builtins.float(low),
                                        builtins.float(high), seed, offset), dev)


def normal(mean: float = 0.0, std: float = 1.0, size=(1,), *, dtype=None, device=None) -> Tensor:
    """grl_rand_normal: N(mean, std^2) of the given size (torch.normal(mean, std, size))."""
    dev, shape, code, seed, offset = _random_args(size, dtype=dtype, device=device)
    return _t._wrap(_C.grl_rand_normal(dev._handle(), shape, code, builtins.float(mean),
                                       builtins.float(std), seed, offset), dev)


def bernoulli(input, size=None, *, dtype=None, device=None) -> Tensor:
    """1 with probability p, else 0. A number p with a size: grl_bernoulli. A tensor of
    probabilities (torch.bernoulli(input)): one grl_rand_uniform draw u per element and u < p
    (grl_lt), the same rule grl_bernoulli applies."""
    if _t._is_scalar(input):
        if size is None:
            raise InvalidArgumentError("grilly.bernoulli: a scalar probability needs size=")
        dev, shape, code, seed, offset = _random_args(size, dtype=dtype, device=device)
        return _t._wrap(_C.grl_bernoulli(dev._handle(), shape, builtins.float(input), code,
                                         seed, offset), dev)
    p = as_tensor(input)
    if size is not None:
        raise InvalidArgumentError("grilly.bernoulli: size= goes with a scalar probability only")
    u = uniform(p.shape, 0.0, 1.0, dtype=p.dtype, device=p.device)
    return (u < p).to(p.dtype if dtype is None else dtype)


# ------------------------------------------------------------------------------------------------
# losses
# ------------------------------------------------------------------------------------------------


def _targets(target, ref: Tensor) -> Tensor:
    """Class indices (integer arrays) as int64, probabilities in ref's dtype."""
    if isinstance(target, Tensor):
        return target
    arr = np.asarray(target)
    if arr.dtype.kind in "iu":
        return _t.tensor(arr.astype(np.int64), device=ref.device)
    return _t.tensor(arr, dtype=ref.dtype, device=ref.device)


def _labels(y, ref: Tensor) -> Tensor:
    """Labels of any dtype (the C losses accept them): Tensors as they are, arrays as float."""
    if isinstance(y, Tensor):
        return y
    return _t.tensor(np.asarray(y), dtype=ref.dtype, device=ref.device)


def _no_legacy(name, size_average, reduce):
    if size_average is not None or reduce is not None:
        raise InvalidArgumentError(f"grilly.{name}: size_average and reduce are deprecated in "
                                   "PyTorch and not supported; use reduction=")


def mse_loss(input, target, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """grl_mse_loss: (input - target)^2."""
    _no_legacy("mse_loss", size_average, reduce)
    x = as_tensor(input)
    t = _like(target, x)
    return x._new(_C.grl_mse_loss(x._h, t._h, _reduction(reduction)))


def l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """grl_l1_loss: |input - target|."""
    _no_legacy("l1_loss", size_average, reduce)
    x = as_tensor(input)
    t = _like(target, x)
    return x._new(_C.grl_l1_loss(x._h, t._h, _reduction(reduction)))


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """grl_smooth_l1_loss: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta."""
    _no_legacy("smooth_l1_loss", size_average, reduce)
    x = as_tensor(input)
    t = _like(target, x)
    return x._new(_C.grl_smooth_l1_loss(x._h, t._h, builtins.float(beta),
                                        _reduction(reduction)))


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """grl_huber_loss: delta * smooth_l1 with beta = delta."""
    x = as_tensor(input)
    t = _like(target, x)
    return x._new(_C.grl_huber_loss(x._h, t._h, builtins.float(delta), _reduction(reduction)))


def _weighted_nll(logp: Tensor, t: Tensor, weight, ignore_index: int, reduction: str,
                  label_smoothing: float) -> Tensor:
    """PyTorch's class-weighted nll / cross_entropy over log-probabilities, composed from
    grl_nll_loss (reduction none), grl_index_select and elementwise ops (the core has no class
    weights): index targets weigh each position by weight[target] and 'mean' divides by the sum
    of those weights; probability targets weigh each class and 'mean' averages the positions."""
    red = _reduction(reduction)
    w = _like(weight, logp)
    axis = 1 if logp.ndim >= 2 else 0
    n_classes = logp.shape[axis]
    if w.shape != (n_classes,):
        raise ShapeError(f"grilly: weight has shape {w.shape}; expected ({n_classes},), one "
                         "weight per class")
    wb = w.reshape([n_classes if i == axis else 1 for i in range(logp.ndim)])
    ls = builtins.float(label_smoothing)
    if t.dtype.is_floating_point:
        q = t * (1.0 - ls) + ls / n_classes if ls else t
        per = -(logp * wb * q).sum(axis)
        if red == _C.GRL_REDUCTION_NONE:
            return per
        return per.sum() if red == _C.GRL_REDUCTION_SUM else per.mean()
    valid = t != int(ignore_index)
    safe = _t.where(valid, t, 0)
    wt = index_select(w, 0, safe.reshape(-1)).reshape(t.shape) * valid.to(logp.dtype)
    per = logp._new(_C.grl_nll_loss(logp._h, safe._h, -1, _C.GRL_REDUCTION_NONE)) * wt
    if ls:
        smooth = -(logp * wb).sum(axis) * valid.to(logp.dtype)
        per = per * (1.0 - ls) + smooth * (ls / n_classes)
    if red == _C.GRL_REDUCTION_NONE:
        return per
    return per.sum() if red == _C.GRL_REDUCTION_SUM else per.sum() / wt.sum()


def cross_entropy(input, target, weight=None, size_average=None, ignore_index: int = -100,
                  reduce=None, reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """grl_cross_entropy: logits [N, C] (or [N, C, d...], or [C]) against class indices or
    probabilities. Class weights (weight [C]) go through grl_log_softmax and the weighted
    composition of nll_loss, as PyTorch defines them."""
    _no_legacy("cross_entropy", size_average, reduce)
    x = as_tensor(input)
    t = _targets(target, x)
    if weight is not None:
        return _weighted_nll(x.log_softmax(1 if x.ndim >= 2 else 0), t, weight, ignore_index,
                             reduction, label_smoothing)
    return x._new(_C.grl_cross_entropy(x._h, t._h, int(ignore_index),
                                       builtins.float(label_smoothing), _reduction(reduction)))


def nll_loss(input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
             reduction: str = "mean") -> Tensor:
    """grl_nll_loss: -input[target] over log-probabilities; with class weights (weight [C]),
    -weight[target] * input[target] and 'mean' divides by the weights' sum, as PyTorch."""
    _no_legacy("nll_loss", size_average, reduce)
    x = as_tensor(input)
    t = _targets(target, x)
    if weight is not None:
        if t.dtype.is_floating_point:
            raise _t.DTypeError("grilly.nll_loss: target must be class indices (int32/int64)")
        return _weighted_nll(x, t, weight, ignore_index, reduction, 0.0)
    return x._new(_C.grl_nll_loss(x._h, t._h, int(ignore_index), _reduction(reduction)))


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """grl_binary_cross_entropy over probabilities (logs clamped at -100, as PyTorch)."""
    _no_legacy("binary_cross_entropy", size_average, reduce)
    x = as_tensor(input)
    t, w = _like(target, x), _like(weight, x)
    return x._new(_C.grl_binary_cross_entropy(x._h, t._h, _h(w), _reduction(reduction)))


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction: str = "mean", pos_weight=None) -> Tensor:
    """grl_bce_with_logits; an element weight is applied by multiplying the unreduced loss."""
    _no_legacy("binary_cross_entropy_with_logits", size_average, reduce)
    x = as_tensor(input)
    t, pw = _like(target, x), _like(pos_weight, x)
    red = _reduction(reduction)
    if weight is None:
        return x._new(_C.grl_bce_with_logits(x._h, t._h, _h(pw), red))
    per = x._new(_C.grl_bce_with_logits(x._h, t._h, _h(pw), _C.GRL_REDUCTION_NONE))
    per = per * _like(weight, x)
    if red == _C.GRL_REDUCTION_NONE:
        return per
    return per.sum() if red == _C.GRL_REDUCTION_SUM else per.mean()


def kl_div(input, target, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """grl_kl_div: input log-probabilities, target probabilities (or log-probabilities with
    log_target). 'batchmean' divides the sum by the batch size (the C MEAN); 'mean' averages over
    every element, as PyTorch."""
    _no_legacy("kl_div", size_average, reduce)
    x = as_tensor(input)
    t = _like(target, x)
    lt = int(builtins.bool(log_target))
    if reduction == "batchmean":
        return x._new(_C.grl_kl_div(x._h, t._h, lt, _C.GRL_REDUCTION_MEAN))
    if reduction == "mean":
        total = x._new(_C.grl_kl_div(x._h, t._h, lt, _C.GRL_REDUCTION_SUM))
        return total / x.numel() if x.numel() else total * math.nan
    return x._new(_C.grl_kl_div(x._h, t._h, lt, _reduction(reduction)))


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, size_average=None,
                          reduce=None, reduction: str = "mean") -> Tensor:
    """grl_cosine_embedding_loss: 1 - cos for target 1, max(0, cos - margin) for -1."""
    _no_legacy("cosine_embedding_loss", size_average, reduce)
    a = as_tensor(input1)
    b, y = _like(input2, a), _labels(target, a)
    return a._new(_C.grl_cosine_embedding_loss(a._h, b._h, y._h, builtins.float(margin),
                                               _reduction(reduction)))


def margin_ranking_loss(input1, input2, target, margin: float = 0.0, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """grl_margin_ranking_loss: max(0, -target (input1 - input2) + margin)."""
    _no_legacy("margin_ranking_loss", size_average, reduce)
    a = as_tensor(input1)
    b, y = _like(input2, a), _labels(target, a)
    return a._new(_C.grl_margin_ranking_loss(a._h, b._h, y._h, builtins.float(margin),
                                             _reduction(reduction)))


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """grl_triplet_margin_loss: max(0, ||a - p + eps||_p - ||a - n + eps||_p + margin) (eps is
    fixed at 1e-6 and swap is not in the core)."""
    _no_legacy("triplet_margin_loss", size_average, reduce)
    if swap or eps != 1e-6:
        raise InvalidArgumentError("grilly.triplet_margin_loss: the core computes eps=1e-6 "
                                   f"without swap; got eps={eps}, swap={swap}")
    a = as_tensor(anchor)
    pos, neg = _like(positive, a), _like(negative, a)
    return a._new(_C.grl_triplet_margin_loss(a._h, pos._h, neg._h, builtins.float(margin),
                                             builtins.float(p), _reduction(reduction)))


def contrastive_loss(input1, input2, target, margin: float = 1.0,
                     reduction: str = "mean") -> Tensor:
    """grl_contrastive_loss (Hadsell et al.): 0.5 (y d^2 + (1 - y) max(0, margin - d)^2),
    d = ||input1 - input2||, y = 1 for similar pairs."""
    a = as_tensor(input1)
    b, y = _like(input2, a), _labels(target, a)
    return a._new(_C.grl_contrastive_loss(a._h, b._h, y._h, builtins.float(margin),
                                          _reduction(reduction)))


# ------------------------------------------------------------------------------------------------
# Tensor methods mirroring the functions above (only those Tensor does not define itself)
# ------------------------------------------------------------------------------------------------


def _install_methods() -> None:
    def method(fn):
        def m(self, *args, **kwargs):
            return fn(self, *args, **kwargs)
        m.__name__ = fn.__name__
        m.__doc__ = fn.__doc__
        return m

    for name in ("leaky_relu", "elu", "gelu", "silu", "softplus", "mish", "hardswish",
                 "hardsigmoid", "gcu", "roswish", "swiglu", "geglu", "reglu", "cumsum", "bmm",
                 "outer", "index_select", "gather", "scatter_add", "split", "eq", "ne", "lt",
                 "le", "gt", "ge", "rsub"):
        if not hasattr(Tensor, name):
            setattr(Tensor, name, method(globals()[name]))


_install_methods()
del _install_methods
