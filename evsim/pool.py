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
- **Chunks, not cases.** Each task sent is a range of case numbers
  (``CaseChunk``); one message carries a dozen cases there and their results
  back, and a bounded window of chunks is in flight at once.
- **This process works too.** Between reading results it runs the next chunk
  itself, so the pool is never slower than one worker while the helpers start.
- **The first failure in case order.** Results are read back chunk by chunk in
  case order, whoever ran them: the first failing case — and everything the
  grade reports about it — is the one a single worker finds. A failure also
  tells every helper (through a number in shared memory) to stop at the next
  case past it, and the chunks not started are cancelled: nothing after the
  first failure is needed.

Closing the pool (it is a context manager) stops its helpers and waits for
them, so nothing is left running.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from types import TracebackType
from typing import Any

from simulator.lessons.explore import CaseResult, CaseTask, run_case

__all__ = [
    "CHUNKS_IN_FLIGHT",
    "CaseChunk",
    "CasePool",
    "chunk_size",
    "run_chunk",
    "start_method",
]

CHUNKS_IN_FLIGHT = 2
"""Chunks sent ahead per helper: one running, one waiting, so a helper never idles."""

_NO_FAILURE = 2**62
"""The 'first failure known' when none is."""


@dataclasses.dataclass(frozen=True)
class CaseChunk:
    """Cases ``task.index`` … ``stop - 1`` of one exploration (plain, picklable data)."""

    task: CaseTask
    stop: int
    generation: int
    """Which exploration of the pool it belongs to: a chunk of an earlier one stops at once."""


def chunk_size(runs: int, workers: int) -> int:
    """Cases per chunk: about eight chunks per worker, between 2 and 16 cases each."""
    return max(2, min(16, runs // (8 * max(1, workers))))


_signal: Any = None
"""In a helper: the pool's shared [generation, first failing case known]."""


def _start_helper(signal: Any) -> None:
    global _signal
    _signal = signal


def _ready() -> int:
    """A helper's first task: say who it is (its start imported the simulator already)."""
    return os.getpid()


def run_chunk(chunk: CaseChunk, signal: Any = None) -> list[CaseResult]:
    """Run the chunk's cases in order, up to its first failure or a failure known before it."""
    signal = _signal if signal is None else signal
    results: list[CaseResult] = []
    for index in range(chunk.task.index, chunk.stop):
        if signal is not None and (signal[0] != chunk.generation or index > signal[1]):
            break  # a case before this one failed: nothing from here on is needed
        result = run_case(dataclasses.replace(chunk.task, index=index))
        results.append(result)
        if not result.ok:
            if signal is not None:
                with signal.get_lock():
                    if signal[0] == chunk.generation and index < signal[1]:
                        signal[1] = index
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
        helpers = self.workers - 1
        self.start = start or start_method()
        """How the helpers were started: ``fork`` or ``spawn``."""
        context = multiprocessing.get_context(self.start)
        self._signal = context.Array("q", [0, _NO_FAILURE])
        self._executor: ProcessPoolExecutor | None = None
        self._started: list[Future[int]] = []
        if helpers:
            self._executor = ProcessPoolExecutor(
                max_workers=helpers,
                mp_context=context,
                initializer=_start_helper,
                initargs=(self._signal,),
            )
            # One task per helper starts them all now, while this process goes on.
            self._started = [self._executor.submit(_ready) for _ in range(helpers)]
        self._window = CHUNKS_IN_FLIGHT * helpers
        self._limit = 4 * CHUNKS_IN_FLIGHT * self.workers
        """Chunks sent or run ahead of the one read next, at most."""

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
        if self._executor is not None:
            self._next_exploration()
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def _next_exploration(self) -> None:
        with self._signal.get_lock():
            self._signal[0] += 1
            self._signal[1] = _NO_FAILURE

    def ready(self) -> set[int]:
        """Wait until the helpers have started; their process ids."""
        return {started.result() for started in self._started}

    def _helpers_ready(self) -> bool:
        """Whether the helpers have started (until then this process runs every chunk)."""
        return self._executor is not None and any(s.done() for s in self._started)

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
        chunks = _chunked(tasks, chunk, self._signal[0])
        ahead: deque[_Ahead] = deque()
        """Chunks sent or run and not read yet, in case order."""
        exhausted = False
        try:
            while True:
                # Read what is done, in case order.
                while ahead and ahead[0].done():
                    item = ahead.popleft()
                    results = item.results()
                    for result in results:
                        yield result
                        if not result.ok:
                            return
                    if len(results) != item.chunk.stop - item.chunk.task.index:
                        raise AssertionError("a chunk stopped early with no failure in it")
                # Keep every started helper busy, a bounded window ahead.
                while (
                    self._executor is not None
                    and not exhausted
                    and len(ahead) < self._limit
                    and sum(1 for a in ahead if a.running()) < self._window
                    and self._helpers_ready()
                ):
                    following = next(chunks, None)
                    if following is None:
                        exhausted = True
                    else:
                        sent = self._executor.submit(run_chunk, following)
                        ahead.append(_Ahead(following, sent))
                if exhausted and not ahead:
                    return
                # Run the next chunk here, unless this process is far enough ahead ...
                if not exhausted and len(ahead) < self._limit:
                    following = next(chunks, None)
                    if following is None:
                        exhausted = True
                    else:
                        ahead.append(_Ahead(following, run_chunk(following, self._signal)))
                    continue
                # ... or wait for the oldest chunk a helper runs.
                if ahead:
                    ahead[0].wait()
        finally:
            for item in ahead:
                item.cancel()
            self._next_exploration()


@dataclasses.dataclass
class _Ahead:
    """A chunk sent to a helper (its future) or run here (its results)."""

    chunk: CaseChunk
    outcome: Future[list[CaseResult]] | list[CaseResult]

    def done(self) -> bool:
        return not isinstance(self.outcome, Future) or self.outcome.done()

    def running(self) -> bool:
        return isinstance(self.outcome, Future) and not self.outcome.done()

    def results(self) -> list[CaseResult]:
        return self.outcome.result() if isinstance(self.outcome, Future) else self.outcome

    def wait(self) -> None:
        if isinstance(self.outcome, Future):
            wait([self.outcome])

    def cancel(self) -> None:
        if isinstance(self.outcome, Future):
            self.outcome.cancel()


def _chunked(tasks: Iterable[CaseTask], chunk: int, generation: int) -> Iterator[CaseChunk]:
    """Consecutive tasks, ``chunk`` at a time, as ranges of case numbers."""
    template: CaseTask | None = None
    first: CaseTask | None = None
    last = -1
    for task in tasks:
        if template is None:
            template = task
        elif task.index != last + 1 or dataclasses.replace(task, index=template.index) != template:
            raise ValueError("a CasePool maps consecutive cases of one exploration")
        first = first or task
        last = task.index
        if last + 1 - first.index == chunk:
            yield CaseChunk(first, last + 1, generation)
            first = None
    if first is not None:
        yield CaseChunk(first, last + 1, generation)
