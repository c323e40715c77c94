"""How the core reaches user code, and the books one run keeps about it.

The core never imports a student's file itself: ``evsim.loader`` does (running
a file a scenario names is its whole purpose, so it lives outside the core,
where ``tests/reliability/test_reliability_no_exec.py`` can argue for it). It
hands the simulation a ``CodeBook``: the loaded functions, and ``run`` — the
one way any user function is called, under the determinism guard. A user
exception comes back as ``UserCodeRaised`` with its type, message and line; a
call of the machine's clock or the global ``random`` module ends the run with
``CodeAborted`` (a one-line ``InputError``), because a run that depends on
them means nothing.

``UserCode`` is what a component gets from its runtime (``code_of``): the
book, every component's store, and the run's books of what user code
published and committed — what the properties (``properties``) judge at the
end. A run without user code has none, and pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from simulator.errors import InputError
from simulator.usercode.api import Role
from simulator.usercode.store import Table

if TYPE_CHECKING:
    from simulator.runtime import Runtime

__all__ = [
    "CodeAborted",
    "CodeBook",
    "CodeHost",
    "UserCode",
    "UserCodeRaised",
    "UserFunction",
    "code_of",
]

T = TypeVar("T")


class UserCodeRaised(Exception):
    """User code raised: ``error`` is its type, message and line (``ValueError: … (x.py:9)``)."""

    def __init__(self, error: str) -> None:
        self.error = error
        super().__init__(error)


class CodeAborted(InputError):
    """User code did something that makes the run meaningless (read the wall clock …)."""


class UserFunction(Protocol):
    """One function a scenario names, loaded and checked against its role."""

    @property
    def ref(self) -> str:
        """``"my_consumer.py:handle"``, as the scenario wrote it."""
        ...

    @property
    def role(self) -> Role:
        """What its marker said (the evolve of a decider, the compensation of a saga step)."""
        ...

    @property
    def arity(self) -> int:
        """How many arguments to pass it (a projector may leave out ``ctx``)."""
        ...

    @property
    def fn(self) -> Callable[..., Any]:
        """The function itself (call it only through ``CodeBook.run``)."""
        ...


class CodeBook(Protocol):
    """The loaded code of one run, as ``evsim.loader`` provides it."""

    def function(self, ref: str, role: str) -> UserFunction:
        """The function ``ref`` names, checked for ``role`` when it was loaded."""
        ...

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Call user code under the guard.

        Raises ``UserCodeRaised`` when it raised (``StopIteration`` passes
        through, for coroutines), ``CodeAborted`` when it broke determinism.
        """
        ...

    def digests(self) -> dict[str, str]:
        """File name → SHA-256 of the source that ran (for the trace header)."""
        ...


@runtime_checkable
class CodeHost(Protocol):
    """A runtime that can run a scenario's own code (``Simulation`` is one)."""

    @property
    def code(self) -> UserCode | None:
        """The scenario's code in this run; None when it names none."""
        ...


def code_of(runtime: Runtime) -> UserCode | None:
    """The user code a component's runtime runs, if any (a recorded runtime runs none)."""
    if isinstance(runtime, CodeHost):
        return runtime.code
    return None


class UserCode:
    """One run's user code: the book, each component's store, and what was published."""

    def __init__(self, book: CodeBook) -> None:
        self.book = book
        self._tables: dict[str, Table] = {}
        self.published: dict[str, dict[int, tuple[int, int]]] = {}
        """Owner → message id → (seq of its first ``Produced``, the message being handled)."""
        self.committed: dict[str, set[int]] = {}
        """Owner → ids of messages published by calls whose transaction committed."""
        self.committed_calls: dict[str, dict[int, int]] = {}
        """Owner → input message id → messages its committed calls published (in total)."""

    def function(self, ref: str, role: str) -> UserFunction:
        return self.book.function(ref, role)

    def table(self, owner: str) -> Table:
        """The durable store of ``owner`` (created empty on first use)."""
        table = self._tables.get(owner)
        if table is None:
            table = self._tables[owner] = Table(owner)
        return table

    def tables(self) -> dict[str, Table]:
        return dict(self._tables)

    def book_publish(self, owner: str, msg_id: int, produced_seq: int, source: int) -> None:
        self.published.setdefault(owner, {}).setdefault(msg_id, (produced_seq, source))

    def book_commit(self, owner: str, input_msg: int | None, published: list[int]) -> None:
        self.committed.setdefault(owner, set()).update(published)
        if input_msg is not None:
            calls = self.committed_calls.setdefault(owner, {})
            calls[input_msg] = calls.get(input_msg, 0) + len(published)
