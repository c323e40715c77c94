"""What each live process writes down, and how the run reads it back.

Every process of a live run — producers, consumers, and the run itself —
appends what it observes to a file of its own, one JSON line per
*observation*: the moment (``time.monotonic_ns()``, one clock for every
process on the machine), the record kind it will become (``Delivered``,
``Processed`` …), the component and the record's own fields. Each line is
written with a single ``os.write`` on a file opened for appending, so once the
call returns the line is in the kernel's hands: a process killed with
``SIGKILL`` the next instant still leaves every line it wrote. That is why a
consumer writes ``Crashed`` before it kills itself, and why nothing here is
buffered.

The run reads the files while it waits (to know when everything has settled)
and once more at the end, then orders every observation by its moment into
one trace (``live.assemble``).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import msgspec

__all__ = ["EventLog", "Observation", "read_new"]


class Observation(msgspec.Struct, frozen=True):
    """One line of a process's file."""

    t: int
    """``time.monotonic_ns()`` when it was observed."""
    kind: str
    component: str
    fields: dict[str, Any]
    n: int = 0
    """Its place in its file: 0, 1, 2 … (two moments can be equal; this order cannot)."""
    meta: dict[str, Any] = {}
    """What the trace does not record but its assembly uses (``live.assemble``)."""
    source: str = ""
    """The file it came from (filled in when read)."""


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Observation)


class EventLog:
    """An append-only file of observations, safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._lock = threading.Lock()
        self._n = 0

    def write(
        self, kind: str, component: str, meta: dict[str, Any] | None = None, **fields: Any
    ) -> int:
        """Append one observation now; returns its moment."""
        with self._lock:
            # Taken under the lock, so the order of lines is the order of moments.
            t = time.monotonic_ns()
            obs = Observation(t, kind, component, fields, self._n, meta or {})
            os.write(self._fd, _encoder.encode(obs) + b"\n")
            self._n += 1
        return t

    def close(self) -> None:
        os.close(self._fd)


def read_new(path: Path, offset: int) -> tuple[list[Observation], int]:
    """The complete lines after byte ``offset``; returns them and the new offset."""
    try:
        with path.open("rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1  # a line being written right now waits for the next read
    out = []
    for raw in data[:end].splitlines():
        out.append(msgspec.structs.replace(_decoder.decode(raw), source=path.name))
    return out, offset + end
