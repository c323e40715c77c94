"""The determinism guard: user code may not read the machine's clock or the global ``random``.

A run with user code must be as reproducible as any other: the same seed, the
same trace. Code that calls ``time.time()``, ``datetime.now()`` or
``random.random()`` gets a different answer in every run, so while a user
function runs, a profile hook (``sys.setprofile``, which sees every call the
function makes, also of functions it imported by name) watches for those
calls. The first one ends the run with a one-line error naming the call and
the line in the user's file, and what to use instead (``ctx.now_ms``,
``ctx.rng``). The hook watches only the thread running the user code, and only
while it runs.

Starting a thread or a process, or opening a network connection, is caught
the same way: what another thread, process or machine does happens outside
the simulation's one scheduler, in an order no seed decides.

A handler that never returns would stop the whole simulation, so the guard
also keeps a budget: a trace hook (``sys.settrace``, set only on frames of the
user's own files) counts the lines one call runs, and the call that runs more
than ``LINE_BUDGET`` ends the run with the line it had reached. Lines, not
seconds: the same code on the same input stops at the same line on any
machine, so the budget keeps the run deterministic. A loop spinning inside a
C function (``sum(range(10**15))``) runs no line of the user's file, and is
not caught; nor is one that catches ``BaseException`` and loops on (Python
unsets a hook that raised).

The cyclic garbage collector is paused while user code runs: a collection
started by one of its allocations runs ``gc.callbacks`` and the finalizers of
whatever else the process let go inside the user's call, and one that reads
the clock (Hypothesis times every collection) would be blamed on the user's
line — in one run and not the next.

State a function keeps between calls in a module variable is the other way to
differ between runs; no hook sees it, so the grader runs the code twice and
compares the traces (``evsim.grade``).
"""

from __future__ import annotations

import _socket
import _thread
import asyncio
import datetime
import gc
import os
import random
import socket
import sys
import time
import types
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from simulator.usercode.port import CodeAborted, UserCodeRaised

__all__ = ["LINE_BUDGET", "Guard", "describe_error"]

T = TypeVar("T")

_CLOCK = "the machine's clock differs from run to run: use ctx.now_ms, the virtual clock"
_RANDOM = "the global random differs from run to run: use ctx.rng, seeded from the run's seed"
_THREAD = (
    "another thread runs outside the simulation's scheduler, in an order no seed decides:"
    " the simulation runs the consumers concurrently for you"
)
_PROCESS = "another process runs outside the simulation: keep the work inside your function"
_NETWORK = "the network outside the simulation differs from run to run: use ctx.effect, ctx.publish"

LINE_BUDGET = 1_000_000
"""Lines of the user's files one call may run: far beyond any handler, and an endless loop
reaches it in about a second."""

_PROCESS_STARTS = [
    (getattr(os, name), f"os.{name}()")
    for name in ("fork", "forkpty", "system", "posix_spawn", "posix_spawnp", "execv", "execve")
    if hasattr(os, name)
]
try:  # how subprocess starts a child on POSIX
    import _posixsubprocess

    _PROCESS_STARTS.append((_posixsubprocess.fork_exec, "subprocess.Popen()"))
except ImportError:  # pragma: no cover - not on POSIX
    pass

_C_FUNCTIONS: dict[int, tuple[str, str]] = {
    id(fn): (name, hint)
    for fn, name, hint in (
        (time.time, "time.time()", _CLOCK),
        (time.time_ns, "time.time_ns()", _CLOCK),
        (time.monotonic, "time.monotonic()", _CLOCK),
        (time.monotonic_ns, "time.monotonic_ns()", _CLOCK),
        (time.perf_counter, "time.perf_counter()", _CLOCK),
        (time.perf_counter_ns, "time.perf_counter_ns()", _CLOCK),
        (time.process_time, "time.process_time()", _CLOCK),
        (time.process_time_ns, "time.process_time_ns()", _CLOCK),
        (time.localtime, "time.localtime()", _CLOCK),
        (time.ctime, "time.ctime()", _CLOCK),
        (time.sleep, "time.sleep()", "handlers take virtual time: await ctx.sleep(ms)"),
        (os.urandom, "os.urandom()", _RANDOM),
        (_thread.start_new_thread, "threading.Thread.start()", _THREAD),
        (_socket.getaddrinfo, "socket.getaddrinfo()", _NETWORK),
        *((fn, name, _PROCESS) for fn, name in _PROCESS_STARTS),
    )
}
"""Functions written in C, by identity: the profile hook sees them as ``c_call``."""

_C_METHODS: dict[tuple[int, str], tuple[str, str]] = {
    (id(datetime.datetime), "now"): ("datetime.now()", _CLOCK),
    (id(datetime.datetime), "utcnow"): ("datetime.utcnow()", _CLOCK),
    (id(datetime.datetime), "today"): ("datetime.today()", _CLOCK),
    (id(datetime.date), "today"): ("date.today()", _CLOCK),
}
"""Class methods written in C: (the class, the method's name)."""

_GLOBAL_RANDOM = random._inst  # what random.random() and the other module functions use

_RANDOM_CODES: dict[types.CodeType, str] = {
    fn.__code__: name
    for name, fn in vars(random.Random).items()
    if isinstance(fn, types.FunctionType) and not name.startswith("_")
}
"""Methods of ``random.Random`` written in Python (``randint``, ``choice`` …)."""

_SOCKET_METHODS = frozenset({"connect", "connect_ex", "bind", "sendto"})
"""Methods of a socket that reach the network (``c_call`` on an instance of ``socket.socket``)."""

_PYTHON_FUNCTIONS: dict[types.CodeType, tuple[str, str]] = {
    uuid.uuid1.__code__: ("uuid.uuid1()", "derive ids from the message or ctx.rng"),
    uuid.uuid4.__code__: ("uuid.uuid4()", "derive ids from the message or ctx.rng"),
    asyncio.run.__code__: ("asyncio.run()", _THREAD.replace("another thread", "an event loop")),
    asyncio.new_event_loop.__code__: (
        "asyncio.new_event_loop()",
        _THREAD.replace("another thread", "an event loop"),
    ),
}


class _Nondeterministic(BaseException):
    """Raised into user code at the forbidden call (a BaseException: ``except Exception``
    in the user's code does not swallow it, and the guard notices even if it is caught)."""


class _OverBudget(BaseException):
    """Raised into user code at the line past the budget (caught or not, the guard knows)."""


def _user_line(frame: types.FrameType | None, files: frozenset[str]) -> tuple[str, int] | None:
    """The innermost frame of the user's own files, as (file name, line)."""
    while frame is not None:
        if frame.f_code.co_filename in files:
            return os.path.basename(frame.f_code.co_filename), frame.f_lineno
        frame = frame.f_back
    return None


def describe_error(err: BaseException, files: frozenset[str]) -> str:
    """``ValueError: bad amount (consumer.py:12)``: type, message, and the user's line."""
    where: tuple[str, int] | None = None
    tb = err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in files:
            where = os.path.basename(tb.tb_frame.f_code.co_filename), tb.tb_lineno
        tb = tb.tb_next
    text = " ".join(str(err).split())
    head = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return f"{head} ({where[0]}:{where[1]})" if where else head


class Guard:
    """Runs user functions: translates their exceptions, stops non-deterministic calls and
    calls that run past the line budget."""

    def __init__(self, files: frozenset[str], line_budget: int = LINE_BUDGET) -> None:
        self.files = files
        """The user's files, as their code objects name them (absolute paths)."""
        self.line_budget = line_budget
        self._found: tuple[str, str, tuple[str, int] | None] | None = None
        self._over: tuple[str, int] | None = None
        self._lines = 0

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` under the guard (see ``simulator.usercode.port.CodeBook.run``)."""
        self._found = None
        self._over = None
        self._lines = 0
        previous = sys.getprofile()
        previous_trace = sys.gettrace()
        collecting = gc.isenabled()
        gc.disable()
        sys.setprofile(self._watch)
        sys.settrace(self._call)
        try:
            result = fn(*args)
        except StopIteration:
            self._check()
            raise  # a coroutine finished: its value rides on the exception
        except (_Nondeterministic, _OverBudget):
            self._check()  # raises CodeAborted: the guard found the call
            raise
        except (Exception, SystemExit) as err:
            self._check()
            raise UserCodeRaised(describe_error(err, self.files)) from None
        finally:
            sys.settrace(previous_trace)
            sys.setprofile(previous)
            if collecting:
                gc.enable()
        self._check()
        return result

    def _check(self) -> None:
        found, over = self._found, self._over
        if found is None and over is None:
            return
        sys.setprofile(None)
        sys.settrace(None)
        if over is not None:
            raise CodeAborted(
                over[0],
                f"line {over[1]}",
                f"one call of your code ran {self.line_budget:,} lines without returning"
                " (an endless loop?): a handler must finish its message and return",
            )
        assert found is not None
        call, hint, where = found
        file, line = where if where is not None else ("your code", 0)
        raise CodeAborted(
            file,
            f"line {line}" if line else "",
            f"your code is not deterministic: it calls {call} ({hint})",
        )

    def _call(self, frame: types.FrameType, event: str, arg: Any) -> Any:
        """The global trace hook: count lines only in frames of the user's files."""
        if frame.f_code.co_filename in self.files:
            return self._line
        return None

    def _line(self, frame: types.FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            self._lines += 1
            if self._lines > self.line_budget and self._over is None:
                self._over = (os.path.basename(frame.f_code.co_filename), frame.f_lineno)
                raise _OverBudget()
        return self._line

    def _watch(self, frame: types.FrameType, event: str, arg: Any) -> None:
        if self._found is not None:
            return
        if event == "c_call":
            found = _C_FUNCTIONS.get(id(arg))
            if found is None:
                owner = getattr(arg, "__self__", None)
                if owner is _GLOBAL_RANDOM:
                    found = (f"random.{getattr(arg, '__name__', '?')}()", _RANDOM)
                elif isinstance(owner, socket.socket):
                    name = getattr(arg, "__name__", "")
                    if name in _SOCKET_METHODS:
                        found = (f"socket.{name}()", _NETWORK)
                elif owner is not None:
                    found = _C_METHODS.get((id(owner), getattr(arg, "__name__", "")))
            if found is not None:
                self._stop(found, frame)
        elif event == "call":
            code = frame.f_code
            python = _PYTHON_FUNCTIONS.get(code)
            if python is not None:
                self._stop(python, frame.f_back)
                return
            method = _RANDOM_CODES.get(code)
            if method is None:
                return
            owner = frame.f_locals.get("self")
            if owner is _GLOBAL_RANDOM:
                self._stop((f"random.{method}()", _RANDOM), frame.f_back)
            elif method == "seed" and frame.f_locals.get("a") is None:
                self._stop(("random.Random() without a seed", _RANDOM), frame.f_back)

    def _stop(self, found: tuple[str, str], frame: types.FrameType | None) -> None:
        self._found = (found[0], found[1], _user_line(frame, self.files))
        raise _Nondeterministic(found[0])
