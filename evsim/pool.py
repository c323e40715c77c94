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
- **Started before it is read.** ``CasePool.explore`` sets the helpers to
  work at once: the grader checks the submission's determinism here while
  they explore.
- **The first failure in case order.** Results are read back chunk by chunk in
  case order, whoever ran them: the first failing case — and everything the
  grade reports about it — is the one a single worker finds. A failure also
  tells every worker (through the same shared memory) to stop at the next case
  past it and to take no chunk after it: nothing after the first failure is
  needed.

Closing the pool (it is a context manager) stops its helpers and waits for
them, so nothing is left running.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from simulator.lessons.explore import CaseResult, CaseTask, run_case

__all__ = [
    "CaseChunk",
    "CasePool",
    "Exploration",
    "chunk_size",
    "run_chunk",
    "start_method",
    "tail_size",
]

_NO_FAILURE = 2**62
"""The 'first failure known' when none is."""

_GENERATION, _FAILURE, _NEXT = 0, 1, 2
"""The shared counter's slots: which exploration runs, its first failure known, its next case."""

_WAIT_S = 0.1
"""How long this process waits for a helper's results before checking that the helpers live."""

_POLL_S = 0.01
"""How often a closing pool reads what the helpers still send while it waits for them."""


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

    def take(self, signal: Any) -> CaseChunk | None:
        """The next chunk, if one is left before the end and the first failure known."""
        with signal.get_lock():
            start = int(signal[_NEXT])
            if signal[_GENERATION] != self.generation or start >= self.stop:
                return None
            if start > signal[_FAILURE]:
                return None
            stop = start + tail_size(self.stop - start, self.chunk, self.workers)
            signal[_NEXT] = stop
        return CaseChunk(dataclasses.replace(self.first, index=start), stop, self.generation)


_signal: Any = None
"""In a helper: the pool's shared [generation, first failing case known, next case]."""

_results: tuple[Connection, Any] | None = None
"""In a helper: where it sends the chunks it ran (a pipe's end, and the lock its writers share)."""


def _start_helper(signal: Any, results: Connection, lock: Any) -> None:
    global _signal, _results
    _signal = signal
    _results = (results, lock)


def _ready() -> int:
    """A helper's first task: say who it is (its start imported the simulator already)."""
    return os.getpid()


def run_chunk(chunk: CaseChunk, signal: Any = None) -> list[CaseResult]:
    """Run the chunk's cases in order, up to its first failure or a failure known before it."""
    signal = _signal if signal is None else signal
    results: list[CaseResult] = []
    for index in range(chunk.task.index, chunk.stop):
        if signal is not None and (
            signal[_GENERATION] != chunk.generation or index > signal[_FAILURE]
        ):
            break  # a case before this one failed: nothing from here on is needed
        result = run_case(dataclasses.replace(chunk.task, index=index))
        results.append(result)
        if not result.ok:
            if signal is not None:
                with signal.get_lock():
                    if signal[_GENERATION] == chunk.generation and index < signal[_FAILURE]:
                        signal[_FAILURE] = index
            break
    return results


def _explore_in_helper(cases: _Cases) -> int:
    """A helper's part of an exploration: take a chunk, run it, send it back, until none is left."""
    assert _results is not None, "a helper is started by CasePool"
    results, lock = _results
    ran = 0
    while (chunk := cases.take(_signal)) is not None:
        done = run_chunk(chunk)
        with lock:
            results.send((chunk.generation, chunk.task.index, chunk.stop, done))
        ran += 1
    return ran


def start_method() -> str:
    """``fork`` when this process runs one thread and can fork, else ``spawn``."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return "spawn"


class CasePool:
    """``workers`` processes for explorations: this one and ``workers - 1`` helpers."""

    def __init__(self, workers: int, start: str | None = None) -> None:
        self.workers = max(1, workers)
        helpers = self.workers - 1
        self.start = start or start_method()
        """How the helpers were started: ``fork`` or ``spawn``."""
        context = multiprocessing.get_context(self.start)
        self._signal = context.Array("q", [0, _NO_FAILURE, 0])
        self._receiver, sender = context.Pipe(duplex=False)
        self._executor: ProcessPoolExecutor | None = None
        self._started: list[Future[int]] = []
        self._helping: list[Future[int]] = []
        """Helpers' parts of explorations that may still run."""
        self._current: Exploration | None = None
        if helpers:
            self._executor = ProcessPoolExecutor(
                max_workers=helpers,
                mp_context=context,
                initializer=_start_helper,
                initargs=(self._signal, sender, context.Lock()),
            )
            # One task per helper starts them all now, while this process goes on.
            self._started = [self._executor.submit(_ready) for _ in range(helpers)]

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
        if self._executor is not None:
            executor, self._executor = self._executor, None
            # A helper still sending a chunk of a closed exploration must not wait on a
            # full pipe while this process waits for it.
            while wait(self._helping, timeout=_POLL_S).not_done:
                self._drain()
            executor.shutdown(wait=True, cancel_futures=True)
            self._receiver.close()

    def ready(self) -> set[int]:
        """Wait until the helpers have started; their process ids."""
        return {started.result() for started in self._started}

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

    def _drain(self, wait_s: float = 0.0) -> list[tuple[int, int, int, list[CaseResult]]]:
        """The chunks the helpers have sent, waiting up to ``wait_s`` for the first."""
        got = []
        if self._receiver.poll(wait_s):
            got.append(self._receiver.recv())
            while self._receiver.poll(0):
                got.append(self._receiver.recv())
        return got


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
        self._signal = pool._signal
        self._closed = False
        with self._signal.get_lock():
            generation = int(self._signal[_GENERATION])
            self._signal[_FAILURE] = _NO_FAILURE
            self._signal[_NEXT] = stop if first is None else first.index
        self._cases = (
            None if first is None else _Cases(first, stop, max(1, chunk), pool.workers, generation)
        )
        self._helpers: list[Future[int]] = []
        if pool._executor is not None and self._cases is not None:
            pool._helping = [h for h in pool._helping if not h.done()]
            self._helpers = [
                pool._executor.submit(_explore_in_helper, self._cases)
                for _ in range(pool.workers - 1)
            ]
            pool._helping += self._helpers
        pool._current = self
        self._results = self._read()

    def __iter__(self) -> Exploration:
        return self

    def __next__(self) -> CaseResult:
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
        with self._signal.get_lock():
            self._signal[_GENERATION] += 1
            self._signal[_FAILURE] = _NO_FAILURE
        for helper in self._helpers:
            helper.cancel()  # one a helper has not begun never will
        if self._pool._current is self:
            self._pool._current = None

    def _read(self) -> Iterator[CaseResult]:
        cases = self._cases
        if cases is None:
            return
        ready: dict[int, tuple[int, list[CaseResult]]] = {}
        """Chunks run and not read yet, by their first case: (their stop, their results)."""
        at = cases.first.index
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
            chunk = cases.take(self._signal)
            if chunk is not None:
                ready[chunk.task.index] = (chunk.stop, run_chunk(chunk, self._signal))
            ended = chunk is None and all(helper.done() for helper in self._helpers)
            for generation, start, stop, results in self._pool._drain(
                0.0 if chunk is not None or ended else _WAIT_S
            ):
                if generation == cases.generation:
                    ready[start] = (stop, results)
            if ended and at not in ready:
                # Every helper has ended, and the chunk to read next never came.
                for helper in self._helpers:
                    error = None if helper.cancelled() else helper.exception()
                    if error is not None:
                        raise error
                raise AssertionError(f"case {at} was taken and never run")


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
