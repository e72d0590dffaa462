"""grilly.functional (import as F): PyTorch's functional names and argument order over the C ABI.

Every function accepts grilly Tensors or anything grilly.tensor accepts (numpy arrays, lists);
the docstrings name the C function behind each call.
"""

import builtins

from . import _grilly as _C
from . import _tensor as _t
from ._errors import InvalidArgumentError
from ._tensor import Tensor, as_tensor

__all__ = ["linear", "relu", "gelu", "silu", "sigmoid", "tanh", "softmax", "log_softmax",
           "layer_norm", "rms_norm", "dropout", "matmul", "cross_entropy", "mse_loss", "l1_loss",
           "nll_loss", "binary_cross_entropy_with_logits"]

_REDUCTIONS = {"none": _C.GRL_REDUCTION_NONE, "mean": _C.GRL_REDUCTION_MEAN,
               "sum": _C.GRL_REDUCTION_SUM}


def _reduction(reduction) -> int:
    try:
        return _REDUCTIONS[reduction]
    except KeyError:
        raise InvalidArgumentError(
            f"grilly: reduction must be 'none', 'mean' or 'sum', got {reduction!r}") from None


def _like(x, ref: Tensor):
    """x as a Tensor on ref's device (arrays and lists take ref's dtype); None stays None."""
    if x is None or isinstance(x, Tensor):
        return x
    return _t.tensor(x, dtype=ref.dtype, device=ref.device)


def linear(input, weight, bias=None) -> Tensor:
    """grl_linear: input @ weight.T + bias (weight [out, in], bias [out] or None)."""
    x = as_tensor(input)
    w, b = _like(weight, x), _like(bias, x)
    return x._new(_C.grl_linear(x._h, w._h, None if b is None else b._h))


def relu(input, inplace=False) -> Tensor:
    """grl_relu."""
    return as_tensor(input).relu()


def gelu(input, approximate="none") -> Tensor:
    """grl_gelu (approximate 'none': erf; 'tanh': the tanh form)."""
    if approximate not in ("none", "tanh"):
        raise InvalidArgumentError(f"grilly.gelu: approximate must be 'none' or 'tanh', got "
                                   f"{approximate!r}")
    x = as_tensor(input)
    mode = _C.GRL_GELU_EXACT if approximate == "none" else _C.GRL_GELU_TANH
    return x._new(_C.grl_gelu(x._h, mode))


def silu(input, inplace=False) -> Tensor:
    """grl_silu: x * sigmoid(x)."""
    x = as_tensor(input)
    return x._new(_C.grl_silu(x._h))


def sigmoid(input) -> Tensor:
    """grl_sigmoid."""
    return as_tensor(input).sigmoid()


def tanh(input) -> Tensor:
    """grl_tanh."""
    return as_tensor(input).tanh()


def softmax(input, dim) -> Tensor:
    """grl_softmax along dim."""
    return as_tensor(input).softmax(dim)


def log_softmax(input, dim) -> Tensor:
    """grl_log_softmax along dim."""
    return as_tensor(input).log_softmax(dim)


def _norm_ndim(normalized_shape) -> int:
    if hasattr(normalized_shape, "__index__"):
        return 1
    return len(tuple(normalized_shape))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5) -> Tensor:
    """grl_layer_norm over the last len(normalized_shape) axes."""
    x = as_tensor(input)
    w, b = _like(weight, x), _like(bias, x)
    return x._new(_C.grl_layer_norm(x._h, _norm_ndim(normalized_shape),
                                    None if w is None else w._h, None if b is None else b._h,
                                    builtins.float(eps)))


def rms_norm(input, normalized_shape, weight=None, eps=None) -> Tensor:
    """grl_rms_norm over the last len(normalized_shape) axes (eps None: float32's machine eps,
    as PyTorch)."""
    x = as_tensor(input)
    w = _like(weight, x)
    if eps is None:
        eps = 1.1920928955078125e-07
    return x._new(_C.grl_rms_norm(x._h, _norm_ndim(normalized_shape),
                                  None if w is None else w._h, builtins.float(eps)))


def dropout(input, p=0.5, training=True, inplace=False) -> Tensor:
    """grl_dropout (inverted dropout); the mask comes from the global generator
    (grilly.manual_seed), whose offset advances by the element count."""
    x = as_tensor(input)
    if not training or p == 0:
        return x._new(_C.grl_dropout(x._h, builtins.float(p), 0, 0, 0))
    seed, offset = _t._draw(_t._numel(x.shape))
    return x._new(_C.grl_dropout(x._h, builtins.float(p), 1, seed, offset))


def matmul(input, other) -> Tensor:
    """grl_matmul (numpy's matmul rules)."""
    a = as_tensor(input)
    return a.matmul(other)


def _targets(target, ref: Tensor) -> Tensor:
    if isinstance(target, Tensor):
        return target
    import numpy as np
    arr = np.asarray(target)
    if arr.dtype.kind in "iu":
        return _t.tensor(arr.astype(np.int64), device=ref.device)
    return _t.tensor(arr, dtype=ref.dtype, device=ref.device)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0) -> Tensor:
    """grl_cross_entropy: logits [N, C] (or [N, C, d...]) against class indices or
    probabilities."""
    if weight is not None or size_average is not None or reduce is not None:
        raise InvalidArgumentError("grilly.cross_entropy: weight, size_average and reduce are "
                                   "not supported")
    x = as_tensor(input)
    t = _targets(target, x)
    return x._new(_C.grl_cross_entropy(x._h, t._h, int(ignore_index),
                                       builtins.float(label_smoothing), _reduction(reduction)))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean") -> Tensor:
    """grl_nll_loss: log-probabilities against class indices."""
    if weight is not None or size_average is not None or reduce is not None:
        raise InvalidArgumentError("grilly.nll_loss: weight, size_average and reduce are not "
                                   "supported")
    x = as_tensor(input)
    t = _targets(target, x)
    return x._new(_C.grl_nll_loss(x._h, t._h, int(ignore_index), _reduction(reduction)))


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean") -> Tensor:
    """grl_mse_loss."""
    x = as_tensor(input)
    t = _like(target, x)
    return x._new(_C.grl_mse_loss(x._h, t._h, _reduction(reduction)))


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean") -> Tensor:
    """grl_l1_loss."""
    x = as_tensor(input)
    t = _like(target, x)
    return x._new(_C.grl_l1_loss(x._h, t._h, _reduction(reduction)))


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None) -> Tensor:
    """grl_bce_with_logits (weight is not supported; pos_weight is)."""
    if weight is not None:
        raise InvalidArgumentError("grilly.binary_cross_entropy_with_logits: weight is not "
                                   "supported")
    x = as_tensor(input)
    t, pw = _like(target, x), _like(pos_weight, x)
    return x._new(_C.grl_bce_with_logits(x._h, t._h, None if pw is None else pw._h,
                                         _reduction(reduction)))

