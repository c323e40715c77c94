"""A pool of worker processes for explorations: started once, reused for a whole class.

An exploration is many cases, each a pure function of plain data
(``simulator.lessons.explore.CaseTask``), so they can run in any process. A
``CasePool`` of N workers is this process plus N - 1 helper processes:

- **Started once.** The helpers start when the pool is made, before any
  submission is graded, and keep the simulator imported: a teacher's folder of
  submissions is graded with the one pool, so thirty students cost one start,
  not thirty. A helper is forked from this process when it runs a single
  thread — it starts at once, holding the modules a fresh interpreter would
  import and nothing a grade did — and spawned (a fresh interpreter, which
  imports the simulator itself) when another thread runs, such as a progress
  bar, whose locks a fork could copy mid-use (``start_method``). A case's
  result depends on its task alone, and every run loads the student's code
  afresh, so both kinds of helper give the results this process gives.
- **Every worker takes the next chunk.** The cases are handed out as ranges
  of case numbers (``CaseChunk``) from one counter in shared memory: each
  worker, this process included, takes the next range when it has finished
  its last, so none waits while another has work queued for it, and a helper
  that starts late simply joins in. The ranges shrink toward the end
  (``tail_size``), so the workers finish within a case or two of each other.
- **Started before it is read.** ``CasePool.explore`` sends the
  exploration to every helper (once, through its own pipe; each chunk's
  results come back through one pipe that this process reads), and they set
  to work at once: the grader checks the submission's determinism here while
  they explore. No thread stands between: a helper has its work as soon as it
  is sent.
- **The first failure in case order.** Results are read back chunk by chunk in
  case order, whoever ran them: the first failing case — and everything the
  grade reports about it — is the one a single worker finds. A failure also
  tells every worker (through the same shared memory) to stop at the next case
  past it and to take no chunk after it: nothing after the first failure is
  needed.

Closing the pool (it is a context manager) stops its helpers and waits for
them, so nothing is left running. A helper leaves Ctrl-C to this process,
whose closing stops it; what a helper raises (a bug) comes back as a
``HelperError`` with its traceback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import signal
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any

from simulator.lessons.explore import CaseResult, CaseTask, run_case

__all__ = [
    "CaseChunk",
    "CasePool",
    "Exploration",
    "HelperError",
    "chunk_size",
    "run_chunk",
    "start_method",
    "tail_size",
]

_NO_FAILURE = 2**62
"""The 'first failure known' when none is."""

_GENERATION, _FAILURE, _NEXT = 0, 1, 2
"""The shared counter's slots: which exploration runs, its first failure known, its next case."""


@dataclasses.dataclass(frozen=True)
class CaseChunk:
    """Cases ``task.index`` … ``stop - 1`` of one exploration (plain, picklable data)."""

    task: CaseTask
    stop: int
    generation: int
    """Which exploration of the pool it belongs to: a chunk of an earlier one stops at once."""


def chunk_size(runs: int, workers: int) -> int:
    """The largest chunk: about eight per worker, between 2 and 16 cases."""
    return max(2, min(16, runs // (8 * max(1, workers))))


def tail_size(left: int, chunk: int, workers: int) -> int:
    """The next chunk when ``left`` cases are left to hand out: ``chunk`` at most, less at the end.

    Half of each worker's share of what is left (guided scheduling): the last
    chunks are a case or two, so that no worker waits out a whole chunk of
    another's at the end.
    """
    return max(1, min(chunk, -(-left // (2 * max(1, workers)))))


@dataclasses.dataclass(frozen=True)
class _Cases:
    """One exploration's cases, as every worker takes them (plain, picklable data)."""

    first: CaseTask
    stop: int
    chunk: int
    """The largest chunk."""
    workers: int
    generation: int

    def take(self, shared: Any) -> CaseChunk | None:
        """The next chunk, if one is left before the end and the first failure known."""
        with shared.get_lock():
            start = int(shared[_NEXT])
            if shared[_GENERATION] != self.generation or start >= self.stop:
                return None
            if start > shared[_FAILURE]:
                return None
            stop = start + tail_size(self.stop - start, self.chunk, self.workers)
            shared[_NEXT] = stop
        return CaseChunk(dataclasses.replace(self.first, index=start), stop, self.generation)


class HelperError(Exception):
    """What a helper raised (a bug), with the traceback it had there."""


def _serve(shared: Any, work: Connection, results: Connection, lock: Any) -> None:
    """A helper's life: say it is ready, then explore what it is sent until it is sent None.

    For each exploration it takes a chunk, runs it and sends it back, until no
    chunk is left; what it raises (a bug) goes back too, to be raised there.
    Ctrl-C is the grading process's to handle: closing the pool stops its
    helpers at their next case.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def send(message: tuple[Any, ...]) -> None:
        with lock:
            results.send(message)

    send(("ready", os.getpid()))
    while (cases := work.recv()) is not None:
        try:
            while (chunk := cases.take(shared)) is not None:
                done = run_chunk(chunk, shared)
                send(("chunk", chunk.generation, chunk.task.index, chunk.stop, done))
        except BaseException as err:
            # Sent as text: an exception of the student's code need not survive pickling.
            send(("error", cases.generation, "".join(traceback.format_exception(err))))


def run_chunk(chunk: CaseChunk, shared: Any = None) -> list[CaseResult]:
    """Run the chunk's cases in order, up to its first failure or a failure known before it.

    ``shared``: the pool's [generation, first failing case known, next case], if any.
    """
    results: list[CaseResult] = []
    for index in range(chunk.task.index, chunk.stop):
        if shared is not None and (
            shared[_GENERATION] != chunk.generation or index > shared[_FAILURE]
        ):
            break  # a case before this one failed: nothing from here on is needed
        result = run_case(dataclasses.replace(chunk.task, index=index))
        results.append(result)
        if not result.ok:
            if shared is not None:
                with shared.get_lock():
                    if shared[_GENERATION] == chunk.generation and index < shared[_FAILURE]:
                        shared[_FAILURE] = index
            break
    return results


def start_method() -> str:
    """``fork`` when this process runs one thread and can fork, else ``spawn``."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return "spawn"


class CasePool:
    """``workers`` processes for explorations: this one and ``workers - 1`` helpers."""

    def __init__(self, workers: int, start: str | None = None) -> None:
        self.workers = max(1, workers)
        self.start = start or start_method()
        """How the helpers were started: ``fork`` or ``spawn``."""
        context: Any = multiprocessing.get_context(self.start)
        self._shared = context.Array("q", [0, _NO_FAILURE, 0])
        self._receiver: Connection
        self._receiver, sender = context.Pipe(duplex=False)
        self._lock = context.Lock()
        """The helpers' turn at sending (held here too: a spawned helper unpickles it later)."""
        self._helpers: list[BaseProcess] = []
        self._work: list[Connection] = []
        self._ready: set[int] = set()
        self._arrived: list[tuple[int, int, int, list[CaseResult]]] = []
        """Chunks the helpers have sent and no exploration has read yet."""
        self._errors: list[tuple[int, str]] = []
        self._current: Exploration | None = None
        for _ in range(self.workers - 1):
            # Started now, while this process goes on to load and check a submission.
            reader, writer = context.Pipe(duplex=False)
            helper = context.Process(
                target=_serve, args=(self._shared, reader, sender, self._lock), daemon=True
            )
            helper.start()
            reader.close()
            self._helpers.append(helper)
            self._work.append(writer)
        sender.close()

    def __enter__(self) -> CasePool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        err: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the helpers and wait for them (a pool closed twice is closed)."""
        if self._current is not None:
            self._current.close()
        for work in self._work:
            with contextlib.suppress(OSError):  # a helper that has ended already
                work.send(None)
            work.close()
        self._work = []
        # What a helper still sends (of a closed exploration) is read, so that none waits
        # on a full pipe while this process waits for it to end.
        while any(helper.is_alive() for helper in self._helpers):
            self._receive(block=True)
        for helper in self._helpers:
            helper.join()
        self._helpers = []
        self._receiver.close()

    def ready(self) -> set[int]:
        """Wait until the helpers have started; their process ids."""
        while len(self._ready) < len(self._helpers):
            if (ended := self._ended()) is not None:
                raise RuntimeError(f"{ended} before it was ready")
            self._receive(block=True)
        return set(self._ready)

    def explore(self, tasks: Iterable[CaseTask], chunk: int = 8) -> Exploration:
        """Start exploring ``tasks`` (consecutive cases of one exploration) on every worker.

        The helpers begin at once. The ``Exploration`` returned yields the
        results in case order, up to and including the first that is not ok
        (it is for ``first_failure``, which stops there); close it (it is a
        context manager) when done with it, read to the end or not.
        """
        return Exploration(self, tasks, chunk)

    def map(
        self,
        fn: Callable[[CaseTask], CaseResult],
        tasks: Iterable[CaseTask],
        chunk: int = 8,
    ) -> Iterator[CaseResult]:
        """``run_case`` over ``tasks`` (consecutive cases of one exploration), in case order.

        The results end with the first one that is not ok: this map is for
        ``first_failure``, which stops there.
        """
        if fn is not run_case:
            raise ValueError("a CasePool runs exploration cases (run_case) only")
        with self.explore(tasks, chunk) as exploration:
            yield from exploration

    def _send(self, cases: _Cases) -> None:
        for work in self._work:
            work.send(cases)

    def _receive(self, block: bool) -> None:
        """Take in what the helpers have sent; with ``block``, wait for something or an end."""
        if self._receiver.closed:
            return
        ends = [helper.sentinel for helper in self._helpers if helper.exitcode is None]
        if block and not ends:
            return
        if not block and not self._receiver.poll(0):
            return
        if block:
            wait([self._receiver, *ends])
        while self._receiver.poll(0):
            try:
                message = self._receiver.recv()
            except EOFError:
                return  # every helper has ended
            kind, *rest = message
            if kind == "ready":
                self._ready.add(rest[0])
            elif kind == "chunk":
                self._arrived.append((rest[0], rest[1], rest[2], rest[3]))
            else:
                self._errors.append((rest[0], rest[1]))

    def _ended(self) -> str | None:
        """What is wrong if a helper has ended while the pool is open."""
        for helper in self._helpers:
            if helper.exitcode is not None:
                return f"a helper (pid {helper.pid}) ended with exit code {helper.exitcode}"
        return None


class Exploration:
    """One exploration on a pool, started: its results in case order (an iterator).

    Made by ``CasePool.explore``. Its chunks are handed out from the pool's
    shared counter to the helpers — each takes one, runs it, sends it back and
    takes the next — and to this process, which runs the next one whenever the
    result it is to read next is not there yet.
    """

    def __init__(self, pool: CasePool, tasks: Iterable[CaseTask], chunk: int) -> None:
        if pool._current is not None:
            raise RuntimeError("a CasePool runs one exploration at a time")
        first, stop = _consecutive(tasks)
        self._pool = pool
        self._shared = pool._shared
        self._closed = False
        with self._shared.get_lock():
            generation = int(self._shared[_GENERATION])
            self._shared[_FAILURE] = _NO_FAILURE
            self._shared[_NEXT] = stop if first is None else first.index
        self._cases = (
            None if first is None else _Cases(first, stop, max(1, chunk), pool.workers, generation)
        )
        pool._current = self
        pool._arrived.clear()  # chunks of explorations closed before their helpers stopped
        pool._errors.clear()
        if self._cases is not None:
            pool._send(self._cases)
        self._results = self._read()

    def __iter__(self) -> Exploration:
        return self

    def __next__(self) -> CaseResult:
        if self._closed:
            raise StopIteration  # what a closed exploration had not read is gone
        return next(self._results)

    def __enter__(self) -> Exploration:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        err: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the helpers at their next case (an exploration closed twice is closed)."""
        if self._closed:
            return
        self._closed = True
        with self._shared.get_lock():
            self._shared[_GENERATION] += 1
            self._shared[_FAILURE] = _NO_FAILURE
        if self._pool._current is self:
            self._pool._current = None

    def _read(self) -> Iterator[CaseResult]:
        cases = self._cases
        if cases is None:
            return
        ready: dict[int, tuple[int, list[CaseResult]]] = {}
        """Chunks run and not read yet, by their first case: (their stop, their results)."""
        at = cases.first.index
        pool = self._pool
        while True:
            # Read what is there, in case order.
            while at in ready:
                stop, results = ready.pop(at)
                for result in results:
                    yield result
                    if not result.ok:
                        return
                if len(results) != stop - at:
                    raise AssertionError("a chunk stopped early with no failure in it")
                at = stop
            if at >= cases.stop:
                return
            # Run the next chunk here, or wait for a helper's.
            chunk = cases.take(self._shared)
            if chunk is not None:
                ready[chunk.task.index] = (chunk.stop, run_chunk(chunk, self._shared))
            pool._receive(block=chunk is None)
            for generation, start, stop, results in pool._arrived:
                if generation == cases.generation:
                    ready[start] = (stop, results)
            pool._arrived.clear()
            for generation, where in pool._errors:
                if generation == cases.generation:
                    raise HelperError(f"a helper raised, exploring case {at} on:\n{where}")
            if chunk is None and at not in ready and (ended := pool._ended()) is not None:
                raise RuntimeError(f"{ended} while exploring case {at}")


def _consecutive(tasks: Iterable[CaseTask]) -> tuple[CaseTask | None, int]:
    """The first task and the case after the last: ``ValueError`` unless they follow on."""
    first: CaseTask | None = None
    stop = 0
    for task in tasks:
        if first is None:
            first, stop = task, task.index
        elif task.index != stop or (task.lesson, task.file, task.menu, task.base_seed) != (
            first.lesson,
            first.file,
            first.menu,
            first.base_seed,
        ):
            raise ValueError("a CasePool maps consecutive cases of one exploration")
        stop += 1
    return first, stop
