"""Files evsim reads and writes: regular files only, and whole or not at all.

Opening a FIFO blocks until someone opens its other end, a device can be
endless (``/dev/zero``) or refuse every byte (``/dev/full``), and a directory
is not a file at all; so every path a user hands in is checked *before* it is
opened (``os.stat`` never blocks), then opened without blocking and checked
again on the open descriptor, in case it changed in between.

Every file evsim writes (a trace export, a handout, an SVG) goes first to a
temporary file beside the target — ``NAME.evsim-incomplete-PID`` — and is
renamed over the target only once it is complete. A rename is atomic on POSIX
and Windows, so a reader sees the old file or the new one, never half of
either; two exports racing to one target each rename a whole file (the last
one wins) instead of interleaving their bytes; and a write that fails or is
killed leaves nothing at the target (a ``.evsim-incomplete-`` file left by a
killed process says what it is). A write never replaces a file the caller
protects — the scenario being played, the run's own event store.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from simulator.errors import InputError

__all__ = [
    "INCOMPLETE",
    "PendingFile",
    "file_kind",
    "open_regular",
    "refuse_overwriting",
    "same_file",
    "write_atomically",
    "writing_beside",
]

INCOMPLETE = ".evsim-incomplete-"
"""Infix of a temporary file being written: ``trace.jsonl.evsim-incomplete-4242``."""

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str | None:
    """What a non-regular file is (``"a FIFO (named pipe)"``), or None for a regular file."""
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return None if stat.S_ISREG(mode) else "not a regular file"


def _os_error(path: str | Path, err: OSError) -> InputError:
    return InputError(str(path), "", err.strerror or "cannot read file")


def open_regular(path: str | Path, what: str) -> BinaryIO:
    """Open a regular file for reading, refusing anything else before it can block.

    ``what`` names the expected content in the refusal: ``"a scenario file"``.
    """
    try:
        kind = file_kind(os.stat(path).st_mode)
    except FileNotFoundError:
        raise InputError(str(path), "", "no such file") from None
    except OSError as err:
        raise _os_error(path, err) from None
    if kind is not None:
        raise InputError(str(path), "", f"is {kind}, not {what}")
    try:
        # O_NONBLOCK: had the path become a FIFO since the stat, open would not wait.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        raise _os_error(path, err) from None
    try:
        kind = file_kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise InputError(str(path), "", f"is {kind}, not {what}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file (through links too); False if either is missing."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def refuse_overwriting(target: Path, protected: Iterable[str | Path], what: str) -> None:
    """Refuse ``target`` if it is a protected file or exists as anything but a regular file."""
    for keep in protected:
        if same_file(target, keep):
            raise InputError(
                str(target), "", f"is {Path(keep).name}, which this run reads: not {what}"
            )
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return
    except OSError as err:
        raise InputError(str(target), "", err.strerror or "cannot write") from None
    kind = file_kind(mode)
    if kind is not None:
        raise InputError(str(target), "", f"is {kind}: not {what}")


@contextmanager
def _temporary_beside(target: Path) -> Iterator[tuple[BinaryIO, Path]]:
    """A new file in ``target``'s folder (open to write and read back), removed again
    unless the caller moved it."""
    stem = f"{target.name}{INCOMPLETE}{os.getpid()}"
    for attempt in range(100):
        temp = target.with_name(stem if attempt == 0 else f"{stem}-{attempt}")
        try:
            # Mode 0o666 minus the umask, like any file the user creates; O_EXCL: never
            # someone else's file, never through a symlink.
            fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"{target}: too many {INCOMPLETE}files beside it")
    try:
        with os.fdopen(fd, "w+b") as out:
            yield out, temp
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


class PendingFile:
    """A file being written beside its target; ``commit`` renames it over the target."""

    def __init__(
        self, out: BinaryIO, temp: Path, target: Path, protected: list[str | Path], what: str
    ) -> None:
        self.out = out
        """Open to write (and read back what was written: a spilled trace does)."""
        self.temp = temp
        self.target = target
        self._protected = protected
        self._what = what
        self.committed = False

    def commit(self) -> None:
        """Make the file durable and put it at the target, whole (the target checked again:
        a long run gave it time to change)."""
        refuse_overwriting(self.target, self._protected, self._what)
        self.out.flush()
        os.fsync(self.out.fileno())
        os.replace(self.temp, self.target)
        self.committed = True


@contextmanager
def writing_beside(
    target: Path, *, protected: Iterable[str | Path] = (), what: str
) -> Iterator[PendingFile]:
    """A file to write ``target`` through, for a writer that produces it over a long time.

    ``target`` is refused up front as ``write_atomically`` refuses it; the file
    is ``NAME.evsim-incomplete-PID`` beside it until ``commit`` renames it into
    place, and it is removed if the block ends without a commit, by an error or not.
    """
    keep = list(protected)
    refuse_overwriting(target, keep, what)
    with _temporary_beside(target) as (out, temp):
        pending = PendingFile(out, temp, target, keep, what)
        try:
            yield pending
        finally:
            if not pending.committed:
                with contextlib.suppress(OSError):
                    temp.unlink()


def write_atomically(
    target: Path, chunks: Iterable[bytes], *, protected: Iterable[str | Path] = (), what: str
) -> None:
    """Write ``chunks`` to ``target`` as one whole file, or leave ``target`` as it was.

    Raises ``InputError`` for a target that may not be written (``what`` says
    what it would have held: ``"a trace export"``) and ``OSError`` when the
    writing itself fails; either way nothing new is left at ``target``.
    """
    with writing_beside(target, protected=protected, what=what) as pending:
        for chunk in chunks:
            pending.out.write(chunk)
        pending.commit()
