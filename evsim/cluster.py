"""Exploration on a Dask cluster: a class's grading spread over many machines.

Every case of an exploration is a pure function of plain data
(``simulator.lessons.explore.CaseTask``), so any worker can run it. Here the
cases go to an existing Dask ``distributed`` scheduler
(``--executor dask://HOST:PORT``): a bounded window of them is in flight at
once (four per worker thread), and their results are read back *in case
order*, as the local process pool reads them — so the first failure, and
everything the grade reports, is the same case, the same seed, the same
counterexample as on one machine. Once a case fails, the cases still in
flight are cancelled.

A worker runs the cases with its own copy of evsim and reads the submission's
files itself: evsim must be importable there, and the files readable at the
same absolute path (a shared folder). The grader checks the files before it
sends a case.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from simulator.errors import InputError
from simulator.lessons.explore import CaseResult, CaseTask, run_case

__all__ = ["LOCAL", "WINDOW_PER_THREAD", "DaskCluster", "run_case_alone", "scheduler_address"]

LOCAL = "local"
"""The default executor: a process pool on this machine (``--workers``)."""

WINDOW_PER_THREAD = 4
"""Cases in flight per worker thread: enough to keep every worker busy, few to cancel."""

_one_case_at_a_time = threading.Lock()


def run_case_alone(task: CaseTask) -> CaseResult:
    """``run_case``, one case at a time in a worker process.

    The determinism guard pauses the process's garbage collector while user
    code runs (``evsim.guard``); two threads of one Dask worker would each
    pause and resume it, and a collection could start inside the other's user
    code. One case at a time keeps the guard's promise whatever ``--nthreads``
    a worker was started with.
    """
    with _one_case_at_a_time:
        return run_case(task)


def scheduler_address(executor: str) -> str | None:
    """``local`` → None; ``dask://HOST:PORT`` → the scheduler's ``tcp://HOST:PORT``."""
    if executor == LOCAL:
        return None
    where = f"--executor {executor}"
    parts = urlsplit(executor)
    if parts.scheme != "dask":
        raise InputError(where, "", "expected `local` or dask://HOST:PORT")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or parts.path not in ("", "/") or parts.query:
        raise InputError(where, "", "expected dask://HOST:PORT (the scheduler's address)")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"tcp://{host}:{port}"


class DaskCluster:
    """A connection to a Dask scheduler that runs an exploration's cases (a context manager)."""

    def __init__(self, executor: str) -> None:
        address = scheduler_address(executor)
        if address is None:
            raise ValueError("a local executor has no scheduler")
        self.executor = executor
        self.address = address
        self._client: Any = None
        self._in_flight: deque[Any] = deque()

    def _error(self, message: str) -> InputError:
        return InputError(f"--executor {self.executor}", "", message)

    def __enter__(self) -> DaskCluster:
        try:
            from distributed import Client
        except ImportError:
            raise self._error(
                "Dask distributed is not installed (pip install 'evsim[cluster]')"
            ) from None
        try:
            connect: Any = Client  # distributed ships no type information for it
            self._client = connect(self.address, set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise self._error(f"cannot reach the scheduler ({err})") from None
        if not self._client.nthreads():
            self.close()
            raise self._error("the scheduler has no workers")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        err: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def threads(self) -> int:
        """Worker threads on the cluster now (what ``Grade.workers`` reports)."""
        threads: dict[str, int] = self._client.nthreads()
        return max(1, sum(threads.values()))

    def check_readable(self, paths: Iterable[str]) -> None:
        """Every worker can read every one of ``paths`` (absolute), or one line says which not."""
        for path in paths:
            seen: dict[str, bool] = self._client.run(os.access, path, os.R_OK)
            for worker, readable in sorted(seen.items()):
                if not readable:
                    raise self._error(
                        f"worker {worker} cannot read {path}: workers need the"
                        " submission's files at the same path"
                    )

    def map(
        self, fn: Callable[[CaseTask], CaseResult], tasks: Iterable[CaseTask]
    ) -> Iterator[CaseResult]:
        """``fn`` over ``tasks`` on the cluster, a window at a time, results in task order."""
        runner = run_case_alone if fn is run_case else fn
        window = WINDOW_PER_THREAD * self.threads
        pending = iter(tasks)
        for task in pending:
            self._submit(runner, task)
            if len(self._in_flight) >= window:
                break
        while self._in_flight:
            future = self._in_flight.popleft()
            try:
                result: CaseResult = future.result()
            except (
                Exception
            ) as err:  # the cluster's failure (a lost worker, an import), not a case's
                self.cancel()
                what = " ".join(f"{type(err).__name__}: {err}".split())
                raise self._error(f"a worker failed ({what})") from None
            following = next(pending, None)
            if following is not None:
                self._submit(runner, following)
            yield result

    def _submit(self, fn: Callable[[CaseTask], CaseResult], task: CaseTask) -> None:
        self._in_flight.append(self._client.submit(fn, task, pure=False))

    def cancel(self) -> None:
        """Cancel the cases still in flight (the exploration has its answer)."""
        if self._in_flight and self._client is not None:
            self._client.cancel(list(self._in_flight))
        self._in_flight.clear()

    def close(self) -> None:
        self.cancel()
        if self._client is not None:
            self._client.close()
            self._client = None
