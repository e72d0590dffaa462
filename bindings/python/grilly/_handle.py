"""_handle.py: the Python owner of one reference to a refcounted C handle (a flat index, an SNN
simulator, an episodic store): close, finalizer, copy and context-manager behaviour in one place."""
from __future__ import annotations

from . import _grilly as _C
from ._errors import NullArgumentError


class OwnedHandle:
    """Holds one reference to a C handle in ``self._h``. Subclasses name their C release and
    retain functions and how a closed object is described. ``close()`` drops the reference
    (idempotent; also on garbage collection and at the end of a ``with`` block); ``copy.copy``
    gives a second owner of the same handle through the retain function."""

    _release_fn: str
    _retain_fn: str
    _closed_message: str
    _h = None

    def close(self) -> None:
        """Drops this object's reference (the C release function); idempotent."""
        h, self._h = self._h, None
        if h is not None and _C is not None:  # _C is None while the interpreter shuts down
            getattr(_C, self._release_fn)(h)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __copy__(self):
        """Another owner of the same C object (the C retain function)."""
        other = type(self).__new__(type(self))
        other.__dict__.update(self.__dict__)
        getattr(_C, self._retain_fn)(self._handle())
        return other

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _handle(self):
        if self._h is None:
            raise NullArgumentError(self._closed_message)
        return self._h
