"""A read-only ``Runtime`` over records that already happened.

The simulator's components — the checker, the fault plan — depend on the
``Runtime`` port (``simulator.runtime``), never on a simulation. Live mode has
no simulation: its records come from a real broker's clients. This runtime lets
those same components work over them unchanged. Its clock does not run by
itself; whoever replays the records sets ``kernel.now_ms`` to the time of the
record at hand, so a finding the checker emits gets that time. It writes
records only through ``record``/``emit`` (the checker's findings); what only a
simulation can do — a network to cross, crashes to schedule, messages to mint
— it refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import msgspec

from simulator.kernel import Kernel
from simulator.rng import SeedSequence
from simulator.scenario import Scenario
from simulator.trace import Record

if TYPE_CHECKING:
    from simulator.messages import Message
    from simulator.runtime import FaultPort, NetworkPort, Publisher, Runtime

__all__ = ["RecordedRuntime"]

R = TypeVar("R", bound=Record)


class RecordedRuntime:
    """The ``Runtime`` port over a list of records written elsewhere."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self._scenario = scenario
        self._seed = seed
        self._kernel = Kernel()
        self._rng = SeedSequence(seed)
        self.trace: list[Record] = []
        self.observers: dict[type[Record], Callable[[Any], None]] = {}
        """Called for each record of that type as it is written (the checker's)."""

    @property
    def scenario(self) -> Scenario:
        return self._scenario

    @property
    def seed(self) -> int:
        return self._seed

    @property
    def kernel(self) -> Kernel:
        return self._kernel

    @property
    def rng(self) -> SeedSequence:
        return self._rng

    @property
    def records(self) -> Sequence[Record]:
        return self.trace

    @property
    def next_seq(self) -> int:
        return len(self.trace)

    def record(self, rec: R) -> R:
        self.trace.append(rec)
        observe = self.observers.get(type(rec))
        if observe is not None:
            observe(rec)
        return rec

    def record_all(self, recs: list[R]) -> None:
        for rec in recs:
            self.record(rec)

    def record_each(self, recs: list[R]) -> None:
        for rec in recs:
            if rec.seq != len(self.trace):  # a finding was written in between
                rec = msgspec.structs.replace(rec, seq=len(self.trace))
            self.record(rec)

    def emit(self, cls: type[R], component: str, cause_seq: int | None, **fields: Any) -> R:
        rec = cls(
            seq=len(self.trace),
            at=self._kernel.now_ms,
            component=component,
            cause_seq=cause_seq,
            **fields,
        )
        return self.record(rec)

    # -- what only a simulation has ---------------------------------------------------------

    @property
    def network(self) -> NetworkPort:
        _refuse("a network to simulate")

    @property
    def faults(self) -> FaultPort:
        _refuse("a fault plan of its own (build a FaultPlan over this runtime)")

    def crash(self, target: str, point: str | None, restart_after_ms: int | None) -> None:
        _refuse("crashes to schedule")

    def new_message(self, producer: str, key: str | None, key_seq: int, value: str) -> Message:
        _refuse("messages to mint")

    def derived_message(self, source_id: int, topic: str) -> Message:
        _refuse("messages to mint")

    def publisher(self) -> Publisher:
        _refuse("a broker model to publish to")


def _refuse(what: str) -> NoReturn:
    raise NotImplementedError(f"a recorded runtime has no {what}: the run already happened")


if TYPE_CHECKING:

    def _a_recorded_runtime_is_a_runtime(r: RecordedRuntime) -> Runtime:
        return r  # the type checker proves that RecordedRuntime implements the port
