"""The progress bar of grilly.utils: tqdm when it is installed, else a small built-in bar with the
same everyday interface (iteration, update, set_postfix, set_description, close, with-blocks)."""

from __future__ import annotations

import sys
import time
from typing import Any, Iterable, Iterator, TextIO


class ProgressBar:
    """A one-line text progress bar: ``desc  42%|#####     | 21/50 [00:03<00:04, 7.1it/s, loss=0.3]``.

    Redraws at most every ``mininterval`` seconds (with a carriage return when ``file`` is a
    terminal, one line per redraw otherwise) and once more on close.
    """

    def __init__(self, iterable: Iterable | None = None, total: int | None = None,
                 desc: str | None = None, disable: bool = False, file: TextIO | None = None,
                 mininterval: float = 0.1, width: int = 24, unit: str = "it", leave: bool = True):
        self.iterable = iterable
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.total = total
        self.desc = desc or ""
        self.disable = disable
        self.file = file if file is not None else sys.stderr
        self.mininterval = mininterval
        self.width = width
        self.unit = unit
        self.leave = leave
        self.n = 0
        self.postfix = ""
        self._start = time.perf_counter()
        self._last_draw = -1e9
        self._closed = False
        self._dirty = True  # something changed since the last draw
        self._tty = bool(getattr(self.file, "isatty", lambda: False)())

    def __iter__(self) -> Iterator:
        if self.iterable is None:
            raise TypeError("grilly.utils.ProgressBar: no iterable was given")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __len__(self) -> int:
        if self.total is None:
            raise TypeError("grilly.utils.ProgressBar: the total is unknown")
        return self.total

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False

    def update(self, n: int = 1) -> None:
        self.n += n
        self._dirty = True
        now = time.perf_counter()
        if now - self._last_draw >= self.mininterval:
            self._draw(now)

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        self.desc = desc or ""
        self._dirty = True
        if refresh:
            self._draw(time.perf_counter())

    def set_postfix(self, ordered_dict: dict | None = None, refresh: bool = True,
                    **kwargs: Any) -> None:
        items = dict(ordered_dict or {}, **kwargs)
        parts = []
        for k, v in items.items():
            if isinstance(v, float):
                v = f"{v:.4g}"
            parts.append(f"{k}={v}")
        self.postfix = ", ".join(parts)
        self._dirty = True
        if refresh:
            self._draw(time.perf_counter())

    def write(self, text: str) -> None:
        """Prints a line above the bar."""
        if self._tty and not self.disable:
            self.file.write("\r\033[K")
        self.file.write(text + "\n")
        if not self._closed:
            self._draw(time.perf_counter())

    @staticmethod
    def _clock(seconds: float) -> str:
        m, s = divmod(int(seconds), 60)
        h, m = divmod(m, 60)
        return f"{h:d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"

    def format(self, now: float | None = None) -> str:
        """The bar's text at time `now` (perf_counter seconds)."""
        elapsed = (time.perf_counter() if now is None else now) - self._start
        rate = self.n / elapsed if elapsed > 0 else 0.0
        head = f"{self.desc}: " if self.desc else ""
        post = f", {self.postfix}" if self.postfix else ""
        if self.total:
            frac = min(self.n / self.total, 1.0)
            fill = int(frac * self.width)
            bar = "#" * fill + " " * (self.width - fill)
            eta = (self.total - self.n) / rate if rate > 0 else 0.0
            return (f"{head}{frac * 100:3.0f}%|{bar}| {self.n}/{self.total} "
                    f"[{self._clock(elapsed)}<{self._clock(eta)}, {rate:.1f}{self.unit}/s{post}]")
        return f"{head}{self.n}{self.unit} [{self._clock(elapsed)}, {rate:.1f}{self.unit}/s{post}]"

    def _draw(self, now: float) -> None:
        if self.disable or self._closed:
            return
        self._last_draw = now
        self._dirty = False
        text = self.format(now)
        if self._tty:
            self.file.write("\r" + text + "\033[K")
        else:
            self.file.write(text + "\n")
        self.file.flush()

    def close(self) -> None:
        if self._closed:
            return
        if not self.disable:
            if self.leave:
                if self._dirty:
                    self._draw(time.perf_counter())
                if self._tty:
                    self.file.write("\n")
            elif self._tty:
                self.file.write("\r\033[K")
            self.file.flush()
        self._closed = True


def progress(iterable: Iterable | None = None, total: int | None = None, desc: str | None = None,
             *, disable: bool = False, file: TextIO | None = None, use_tqdm: bool | None = None,
             **kwargs: Any):
    """A progress bar over `iterable`: a ``tqdm.tqdm`` when tqdm is installed (and use_tqdm is
    not False), else grilly's ProgressBar. Both support iteration, ``update``, ``set_postfix``,
    ``set_description`` and ``close``."""
    if use_tqdm is not False:
        try:
            from tqdm import tqdm
        except ImportError:
            if use_tqdm:
                raise
        else:
            return tqdm(iterable, total=total, desc=desc, disable=disable, file=file, **kwargs)
    return ProgressBar(iterable, total=total, desc=desc, disable=disable, file=file, **kwargs)
