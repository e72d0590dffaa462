"""grilly.jit: trace Python functions into a captured grl_graph and replay it (graph capture).

Owns ``grilly.jit`` (the decorator), ``grilly.jit.trace``, ``Tracer`` and ``Graph``.

How it works: on the first call with given argument shapes, the function runs once with the
device capturing (grl_graph_begin_capture / grl_graph_end_capture): its grilly ops are recorded,
not run. Its tensor arguments become the graph's named inputs (private copies made before the
capture) and its returned tensors the named outputs; the graph is then replayed once for the
first call's results. Later calls with the same shapes, dtypes and non-tensor arguments copy the
new argument data into the inputs (grl_graph_bind / grl_graph_bind_host) and submit the whole
recorded sequence at once (grl_graph_replay): no Python code of the function runs. New shapes
trace a new graph (each is kept).

What can be traced: any sequence of grilly ops, autograd included (``loss.backward()``), and
optimizer steps (``opt.zero_grad()``, ``opt.step()``): a whole training step replays as one
submission. Parameters reached through closures or modules are used in place, so updates made by
a replayed step land in the real parameters. A jit function called while another is being traced
is inlined into that trace.

What cannot be traced:
  - host reads inside the function (``.item()``, ``.numpy()``, ``print(t)``, ``float(t)``): the
    core refuses them while capturing, and tracing fails with that message;
  - Python control flow on tensor values (it would need a host read; on shapes it is fine, since
    shapes are part of the cache key);
  - Python side effects (appending to a list, counters, logging) run once, at trace time only;
  - random ops (dropout, rand) replay the numbers drawn at trace time (a warning says so);
  - ``optimizer.param_groups[0]['lr'] = ...`` or a scheduler step inside the function (set the
    learning rate between calls instead: replays read it from the device);
  - gradients flowing to the function's tensor arguments: arguments are data, copied into the
    graph's input buffers; differentiate with respect to parameters held outside.
Returned tensors are the graph's own storage: the next call overwrites them (as CUDA graphs do).
Clone a result to keep it, or pass ``copy_outputs=True``.
"""

from __future__ import annotations

import functools
import threading
import warnings
from typing import Any, Callable

import numpy as np

from . import _grilly as _C
from . import _tensor as _t
from ._device import Device, default_device
from ._errors import GrillyError, InvalidArgumentError
from ._tensor import Tensor

__all__ = ["jit", "trace", "Tracer", "Graph", "TracedFunction"]


# ------------------------------------------------------------------------------------------------
# Graph and Tracer
# ------------------------------------------------------------------------------------------------


class Graph:
    """A captured, replayable sequence of ops (grl_graph). Made by Tracer or grilly.jit."""

    __slots__ = ("_h", "_device", "_inputs", "_outputs", "__weakref__")

    def __init__(self, handle, device: Device):
        self._h = handle
        self._device = device
        self._inputs: dict[str, Tensor] = {}
        self._outputs: dict[str, Tensor] = {}

    def close(self) -> None:
        """Drops this object's reference (grl_graph_release) and the tensors it names; idempotent.
        The graph's memory returns to the pool once no tensor refers to it."""
        h, self._h = self._h, None
        self._inputs.clear()
        self._outputs.clear()
        if h is not None and _C is not None:
            _C.grl_graph_release(h)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _handle(self):
        if self._h is None:
            raise InvalidArgumentError("grilly.jit.Graph: the graph was closed")
        return self._h

    def __copy__(self) -> "Graph":
        """Another owner of the same graph (grl_graph_retain): each releases its own reference,
        so closing one leaves the other replayable."""
        h = self._handle()
        _C.grl_graph_retain(h)
        g = Graph(h, self._device)
        g._inputs = dict(self._inputs)
        g._outputs = dict(self._outputs)
        return g

    @property
    def device(self) -> Device:
        return self._device

    def set_input(self, name: str, tensor: Tensor) -> None:
        """Names a contiguous tensor the captured work reads as an input (grl_graph_set_input)."""
        _C.grl_graph_set_input(self._handle(), name, tensor._h)
        self._inputs[name] = tensor

    def set_output(self, name: str, tensor: Tensor) -> None:
        """Names a tensor as an output (grl_graph_set_output)."""
        _C.grl_graph_set_output(self._handle(), name, tensor._h)
        self._outputs[name] = tensor

    @property
    def input_names(self) -> list[str]:
        return list(self._inputs)

    @property
    def output_names(self) -> list[str]:
        return list(self._outputs)

    def bind(self, name: str, value) -> None:
        """Copies new data into an input: a Tensor through grl_graph_bind (on the device), a numpy
        array or anything array-like through grl_graph_bind_host. Shape and dtype must match the
        captured input (ShapeError / DTypeError otherwise)."""
        if isinstance(value, Tensor):
            _C.grl_graph_bind(self._handle(), name, value._h)
            return
        target = self._inputs.get(name)
        arr = np.asarray(value)
        if target is not None:
            if tuple(arr.shape) != target.shape:
                from ._errors import ShapeError
                raise ShapeError(f"grilly.jit.Graph.bind: input '{name}' was captured with shape "
                                 f"{list(target.shape)}; the value has shape {list(arr.shape)}")
            arr = np.ascontiguousarray(arr, dtype=target.dtype.numpy_dtype)
        _C.grl_graph_bind_host(self._handle(), name, np.ascontiguousarray(arr))

    def replay(self) -> None:
        """Submits the captured work once (grl_graph_replay); does not wait."""
        _C.grl_graph_replay(self._handle())

    def output(self, name: str) -> Tensor:
        """The named output (grl_graph_output): the graph's tensor, overwritten by each replay."""
        return _t._wrap(_C.grl_graph_output(self._handle(), name), self._device)

    @property
    def op_count(self) -> int:
        """Number of captured kernels and copies (grl_graph_op_count)."""
        return _C.grl_graph_op_count(self._handle())

    def summary(self) -> str:
        """One line per input, captured op and output (grl_graph_summary, through grilly.i's
        grilly_graph_summary, which sizes the buffer)."""
        return _C.grilly_graph_summary(self._handle())

    def __repr__(self):
        if self._h is None:
            return "grilly.jit.Graph(closed)"
        return (f"grilly.jit.Graph(ops={self.op_count}, inputs={self.input_names}, "
                f"outputs={self.output_names})")


class Tracer:
    """Context manager that captures every op issued on a device into a Graph.

        with grilly.jit.Tracer() as tr:
            y = (x * 2).exp()
        tr.graph.set_input("x", x); tr.graph.set_output("y", y)
        tr.graph.replay()            # y now holds exp(2 x); rebind x and replay again

    Inside the block ops are recorded, not run (grl_graph_begin_capture); on exit the capture
    ends (grl_graph_end_capture) and ``.graph`` holds it. Host reads inside the block raise. If
    the block raises, the capture is discarded and the device is usable again. Ops issued by
    other threads on the same device during the block are captured too.
    """

    def __init__(self, device: Device | None = None):
        self.device = default_device() if device is None else device
        self.graph: Graph | None = None
        self._active = False

    def __enter__(self) -> "Tracer":
        _C.grl_graph_begin_capture(self.device._handle())
        self._active = True
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._active = False
        h = _C.grl_graph_end_capture(self.device._handle())
        if exc_type is not None:
            _C.grl_graph_release(h)
            return False
        self.graph = Graph(h, self.device)
        return False


# ------------------------------------------------------------------------------------------------
# Argument flattening: tensors (and numpy arrays) become inputs; everything else is part of the
# cache key and must be hashable.
# ------------------------------------------------------------------------------------------------


class _Slot:
    """Marks the position of the i-th tensor input inside the flattened argument structure."""
    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index

    def __eq__(self, other):
        return isinstance(other, _Slot) and other.index == self.index

    def __hash__(self):
        return hash(("slot", self.index))


def _flatten(obj, leaves: list):
    """(hashable structure, with tensors and arrays replaced by _Slot and appended to leaves)."""
    if isinstance(obj, (Tensor, np.ndarray)):
        leaves.append(obj)
        return _Slot(len(leaves) - 1)
    if isinstance(obj, tuple):
        return ("tuple",) + tuple(_flatten(o, leaves) for o in obj)
    if isinstance(obj, list):
        return ("list",) + tuple(_flatten(o, leaves) for o in obj)
    if isinstance(obj, dict):
        return ("dict",) + tuple((k, _flatten(v, leaves)) for k, v in sorted(obj.items()))
    try:
        hash(obj)
    except TypeError:
        raise TypeError(f"grilly.jit: argument {obj!r} is neither a tensor nor hashable; pass "
                        "tensors, numpy arrays, or hashable constants") from None
    return ("const", type(obj).__name__, obj)


def _unflatten(struct, values: list):
    if isinstance(struct, _Slot):
        return values[struct.index]
    kind = struct[0]
    if kind == "tuple":
        return tuple(_unflatten(s, values) for s in struct[1:])
    if kind == "list":
        return [_unflatten(s, values) for s in struct[1:]]
    if kind == "dict":
        return {k: _unflatten(s, values) for k, s in struct[1:]}
    return struct[2]


def _leaf_key(x) -> tuple:
    # A numpy array and a tensor of one shape and dtype share a trace: both bind into the input.
    if isinstance(x, Tensor):
        return (x.shape, x.dtype.code)
    dt = _t._FROM_NUMPY.get(x.dtype)
    if dt is None:
        raise TypeError(f"grilly.jit: numpy dtype {x.dtype} has no grilly dtype")
    return (tuple(x.shape), dt.code)


def _flatten_outputs(obj, leaves: list):
    """Like _flatten for results: tensors become outputs; other values are returned as traced."""
    if isinstance(obj, Tensor):
        leaves.append(obj)
        return _Slot(len(leaves) - 1)
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return ("tuple",) + tuple(_flatten_outputs(o, leaves) for o in obj)
    if isinstance(obj, tuple):  # namedtuple (e.g. max's (values, indices))
        return ("named", type(obj)) + tuple(_flatten_outputs(o, leaves) for o in obj)
    if isinstance(obj, list):
        return ("list",) + tuple(_flatten_outputs(o, leaves) for o in obj)
    if isinstance(obj, dict):
        return ("dict",) + tuple((k, _flatten_outputs(v, leaves)) for k, v in obj.items())
    return ("const", type(obj).__name__, obj)


def _unflatten_outputs(struct, values: list):
    if isinstance(struct, _Slot):
        return values[struct.index]
    kind = struct[0]
    if kind == "named":
        return struct[1](*(_unflatten_outputs(s, values) for s in struct[2:]))
    if kind == "tuple":
        return tuple(_unflatten_outputs(s, values) for s in struct[1:])
    if kind == "list":
        return [_unflatten_outputs(s, values) for s in struct[1:]]
    if kind == "dict":
        return {k: _unflatten_outputs(s, values) for k, s in struct[1:]}
    return struct[2]


class _Entry:
    """One traced specialisation: its graph and how to map arguments and results."""
    __slots__ = ("graph", "n_inputs", "out_struct", "n_outputs")

    def __init__(self, graph: Graph, n_inputs: int, out_struct, n_outputs: int):
        self.graph = graph
        self.n_inputs = n_inputs
        self.out_struct = out_struct
        self.n_outputs = n_outputs


def _host_read_hint(err: GrillyError, name: str) -> GrillyError:
    msg = err.message
    if "capturing" in msg:
        msg = (f"grilly.jit: tracing '{name}' failed: {msg}. A traced function cannot read tensor "
               "values on the host (.item(), .numpy(), print, Python branches on values); move "
               "such reads out of the function")
    else:
        msg = f"grilly.jit: tracing '{name}' failed: {msg}"
    return type(err)(msg, err.status)


_tracing = threading.local()  # depth of jit traces running on this thread


class TracedFunction:
    """A function traced into grl_graphs, one per argument signature (see grilly.jit)."""

    def __init__(self, fn: Callable, *, copy_outputs: bool = False, device: Device | None = None):
        functools.update_wrapper(self, fn)
        self._fn = fn
        self._copy_outputs = bool(copy_outputs)
        self._device = device
        self._cache: dict[Any, _Entry] = {}
        self._last: _Entry | None = None
        self._lock = threading.Lock()

    # -- public ----------------------------------------------------------------------------
    @property
    def graphs(self) -> list[Graph]:
        """Every graph traced so far, one per argument signature."""
        return [e.graph for e in self._cache.values()]

    @property
    def graph(self) -> Graph:
        """The graph used by the latest call."""
        if self._last is None:
            raise InvalidArgumentError(f"grilly.jit: '{self.__name__}' has not been called yet")
        return self._last.graph

    @property
    def trace_count(self) -> int:
        return len(self._cache)

    def clear(self) -> None:
        """Releases every traced graph (grl_graph_release); the next call traces again."""
        with self._lock:
            for e in self._cache.values():
                e.graph.close()
            self._cache.clear()
            self._last = None

    def __call__(self, *args, **kwargs):
        if getattr(_tracing, "depth", 0):
            # Called while an outer jit function is being traced: inline into that trace.
            return self._fn(*args, **kwargs)
        leaves: list = []
        struct = _flatten((args, kwargs), leaves)
        key = (struct, tuple(_leaf_key(x) for x in leaves), _t.is_grad_enabled(), _autocast_key())
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                entry = self._trace(struct, leaves)
                self._cache[key] = entry
                first = True
            else:
                first = False
            self._last = entry
            g = entry.graph
            if not first:
                for i, x in enumerate(leaves):
                    g.bind(f"in{i}", x)
            g.replay()
            outs = [g.output(f"out{i}") for i in range(entry.n_outputs)]
        if self._copy_outputs:
            outs = [o.clone() for o in outs]
        return _unflatten_outputs(entry.out_struct, outs)

    # -- tracing ---------------------------------------------------------------------------
    def _trace(self, struct, leaves) -> _Entry:
        dev = self._device
        if dev is None:
            dev = next((x.device for x in leaves if isinstance(x, Tensor)), None) or default_device()
        # Private input buffers, filled now (eagerly) with this call's data: the graph reads them,
        # and later calls copy into them, never into the caller's tensors.
        inputs = []
        for x in leaves:
            if isinstance(x, Tensor):
                d = x.detach()  # must outlive the call: it owns the handle passed in
                inputs.append(_t._wrap(_C.grl_clone(d._h), x.device))
            else:
                inputs.append(_t.tensor(x, device=dev))
        call_args, call_kwargs = _unflatten(struct, inputs)
        rng_before = _t._rng_offset
        name = getattr(self._fn, "__qualname__", repr(self._fn))
        tracer = Tracer(dev)
        _tracing.depth = getattr(_tracing, "depth", 0) + 1
        try:
            with tracer:
                result = self._fn(*call_args, **call_kwargs)
        except GrillyError as e:
            raise _host_read_hint(e, name) from e
        finally:
            _tracing.depth -= 1
        if _t._rng_offset != rng_before:
            warnings.warn(f"grilly.jit: '{name}' drew random numbers while being traced; every "
                          "replay reuses the same numbers (the same dropout mask)", stacklevel=3)
        graph = tracer.graph
        out_leaves: list = []
        out_struct = _flatten_outputs(result, out_leaves)
        try:
            for i, t in enumerate(inputs):
                graph.set_input(f"in{i}", t)
            for i, t in enumerate(out_leaves):
                graph.set_output(f"out{i}", t)
        except BaseException:
            graph.close()
            raise
        return _Entry(graph, len(inputs), out_struct, len(out_leaves))

    def __repr__(self):
        return f"grilly.jit.TracedFunction({self.__name__}, traces={self.trace_count})"


def _autocast_key():
    """The autocast state is part of the cache key: a trace under autocast records casts."""
    from . import amp
    return amp._state_key()


def jit(fn: Callable | None = None, *, copy_outputs: bool = False,
        device: Device | None = None) -> TracedFunction | Callable[[Callable], TracedFunction]:
    """Decorator: trace ``fn`` into a grl_graph on its first call and replay it afterwards.

        @grilly.jit
        def step(x, y):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

    Tensor and numpy arguments are the graph's inputs; other arguments must be hashable and are
    part of the cache key with the tensors' shapes and dtypes, grad mode and autocast state: a
    new key traces a new graph. Results are the graph's tensors, overwritten by the next call
    unless ``copy_outputs=True``. See the module docstring for what cannot be traced.
    """
    if fn is None:
        return lambda f: TracedFunction(f, copy_outputs=copy_outputs, device=device)
    return TracedFunction(fn, copy_outputs=copy_outputs, device=device)


def trace(module: Callable, example_input, *, copy_outputs: bool = False) -> TracedFunction:
    """Traces ``module(example_input)`` now (a tuple passes several arguments) and returns the
    callable that replays it; new input shapes trace again. The example call's ops run once,
    through the first replay (so a traced training step takes one step here)."""
    traced = TracedFunction(module, copy_outputs=copy_outputs)
    args = example_input if isinstance(example_input, tuple) else (example_input,)
    traced(*args)
    return traced


def _install_callable_module():
    """Makes ``grilly.jit`` both the module and the decorator: ``@grilly.jit`` and
    ``grilly.jit.trace(...)`` both work."""
    import sys
    import types

    mod = sys.modules[__name__]

    class _CallableModule(types.ModuleType):
        def __call__(self, fn=None, **kwargs):
            return jit(fn, **kwargs)

    mod.__class__ = _CallableModule


_install_callable_module()
