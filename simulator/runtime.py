"""The Runtime port: everything a component may ask of the simulation it runs in.

A broker, a consumer, a projector or a saga service never sees the whole
``Simulation``. It is handed a ``Runtime`` — the virtual clock and its timers,
a way to write trace records, the network between components, the fault plan,
seeded random streams and a crash hook — much as a SimPy process sees only its
``Environment``. The kernel and this port know no component, so a component can
be built and tested with nothing but a runtime, and the dependency arrows point
one way: components → runtime → kernel, trace, rng, messages.

``Simulation`` is the one implementation used for real runs; a test may supply
its own. The network and fault plan are components too (they are built on a
runtime), so they appear here only as the small protocols components call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from simulator.kernel import Kernel
from simulator.messages import Message
from simulator.rng import SeedSequence
from simulator.trace import Record

if TYPE_CHECKING:  # the scenario is data a component is built from, read-only
    from simulator.scenario import Crash, Scenario

__all__ = ["FaultPort", "NetworkPort", "Publisher", "Runtime"]

R = TypeVar("R", bound=Record)


class NetworkPort(Protocol):
    """Calls between components cross the network (latency, loss, duplicates, partitions)."""

    latency_ms: int
    faulty: bool
    """False when no network fault is configured (lets hot paths skip asking)."""

    def send(
        self,
        source: str,
        destination: str,
        what: str,
        msg: int | Sequence[int] | None,
        deliver: Callable[[Any], None],
        arg: Any,
        *,
        background: bool = False,
        cause_seq: int | None = None,
    ) -> int | None:
        """Deliver ``deliver(arg)`` later; the seq of a ``NetworkDropped`` record if lost."""
        ...

    def allows(
        self,
        source: str,
        destination: str,
        what: str,
        *,
        background: bool = False,
        cause_seq: int | None = None,
    ) -> bool:
        """Whether a synchronous call gets through right now."""
        ...

    def last_drop(self, msg: int) -> int | None:
        """The seq of the latest ``NetworkDropped`` record that carried ``msg``."""
        ...


class FaultPort(Protocol):
    """The scenario's faults, asked at the moments that matter."""

    def crash_at_point(self, component: str, point: str) -> Crash | None:
        """Count one arrival of ``component`` at ``point``; the crash due now, if any."""
        ...

    def crashes_at(self, component: str, point: str) -> bool:
        """Count one arrival at ``point``; if a crash is due, crash ``component`` now (True)."""
        ...

    def handler_error(
        self, group: str, consumer: str, msg: int, key: str | None, value: str
    ) -> str | None:
        """``poison``, ``transient`` or None: what the handler does with this message now."""
        ...

    def handlers_may_fail(self, group: str) -> bool:
        """Whether any handler fault could touch ``group``."""
        ...

    def may_slow(self, consumer: str) -> bool:
        """Whether a ``slow`` fault names ``consumer``."""
        ...

    def may_crash(self, component: str) -> bool:
        """Whether a ``crash`` fault names ``component`` (at a time or at a point)."""
        ...

    def processing_ms(self, consumer: str, default_ms: int) -> int:
        """How long the handler takes now, with any ``slow`` fault applied."""
        ...


class Publisher(Protocol):
    """Where a component hands a message it publishes (the scenario's broker model)."""

    def send(self, msg: Message) -> None:
        """Publish ``msg`` from its producer, as the workload does."""
        ...


@runtime_checkable
class Runtime(Protocol):
    """What a component may use: clock, trace, network, faults, randomness, crashes."""

    # Read-only properties, not attributes: a component never replaces them, and
    # an implementation may hold richer types (``Network`` for ``NetworkPort``).

    @property
    def scenario(self) -> Scenario:
        """The scenario a component is built from (read it; never change it)."""
        ...

    @property
    def seed(self) -> int:
        """The seed of this run (every random stream derives from it)."""
        ...

    @property
    def kernel(self) -> Kernel:
        """The virtual clock (``now_ms``) and the agenda (``schedule``, ``after``, ``timer``)."""
        ...

    @property
    def rng(self) -> SeedSequence:
        """Named, independent random streams derived from the seed."""
        ...

    @property
    def network(self) -> NetworkPort:
        """The network every call between two components crosses."""
        ...

    @property
    def faults(self) -> FaultPort:
        """The scenario's fault plan, asked at the moments that matter."""
        ...

    @property
    def records(self) -> Sequence[Record]:
        """The trace so far, read-only (``records[seq]``): a live view a component may keep."""
        ...

    @property
    def next_seq(self) -> int:
        """The seq the next record will get."""
        ...

    def record(self, rec: R) -> R:
        """Append a record the caller built with ``seq=next_seq``; returns it."""
        ...

    def record_all(self, recs: list[R]) -> None:
        """Append a batch of records of one type, built with seqs ``next_seq`` onwards."""
        ...

    def record_each(self, recs: list[R]) -> None:
        """Append records of one type built with seqs ``next_seq`` onwards, as ``record`` would
        one by one: a record written in between (a finding) moves the later ones' seqs up."""
        ...

    def emit(self, cls: type[R], component: str, cause_seq: int | None, **fields: Any) -> R:
        """Append a record of type ``cls`` at the current virtual time; returns it."""
        ...

    def crash(self, target: str, point: str | None, restart_after_ms: int | None) -> None:
        """Crash ``target`` now (any component); bring it back after ``restart_after_ms``."""
        ...

    def new_message(self, producer: str, key: str | None, key_seq: int, value: str) -> Message:
        """A message that starts inside the system (a published event), with the next id."""
        ...

    def derived_message(self, source_id: int, topic: str) -> Message:
        """The message a processor writes to ``topic`` for input ``source_id``."""
        ...

    def publisher(self) -> Publisher:
        """The broker model, for components above it that publish (an outbox relay)."""
        ...
