"""A simulation run: one scenario, one seed, one trace.

``Simulation(scenario, seed)`` builds the broker model and its components,
schedules the workload and the timed faults, and then advances the kernel one
action at a time. Each action may append records to the trace; ``step()``
returns the records of the next action that produced any, ``run()`` plays to
the end. The run ends when no work is left (after a short settle period for
timers such as auto-commit), at ``until_ms``, or when the trace reaches the
scenario's ``max_records`` (a livelock would otherwise never end); then the checker adds its
findings about lost messages — in a run cut short, messages still on their way count as in
flight, not lost — and a ``RunFinished`` record closes the trace.

A run given a spill file (``simulator.spill``) moves whole chunks of its
older records to that file between two actions, so a trace larger than memory
can be written; the records, their seqs and the digest are those of the same
run held in memory.
"""

from __future__ import annotations

import gc
import heapq
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from msgspec.structs import replace

from simulator.checker import Checker
from simulator.faults import FaultPlan
from simulator.kernel import Kernel
from simulator.messages import DetailedMessage, Message
from simulator.models.registry import model
from simulator.models.spec import BrokerModel
from simulator.network import Network
from simulator.rng import SeedSequence
from simulator.scenario import Scenario
from simulator.trace import Record, RunFinished, ScenarioStarted, Trace
from simulator.usercode.port import UserCode
from simulator.usercode.refs import code_settings, names_code
from simulator.workload import expand_workload

if TYPE_CHECKING:
    from simulator.cqrs.event_log import StoreFile
    from simulator.cqrs.model import CqrsModel
    from simulator.runtime import Runtime
    from simulator.spill import SpillFile
    from simulator.usercode.port import CodeBook, CodeHost

__all__ = ["Simulation"]

R = TypeVar("R", bound=Record)


def _user_code(scenario: Scenario, book: CodeBook | None) -> UserCode:
    """The run's user code: ``book`` if given (the grader's double run), else a fresh load.

    The core never executes a file itself (``tests/reliability/test_reliability_no_exec.py``):
    ``evsim.loader`` does, outside it, for exactly the files the scenario's code fields name.
    """
    if book is None:
        from evsim.loader import load_book

        book = load_book(scenario)
    return UserCode(book)


def _chain(
    first: Callable[[Any], None] | None, second: Callable[[Any], None]
) -> Callable[[Any], None]:
    """Two observers of one record type, called in turn (the checker's first)."""
    if first is None:
        return second

    def both(rec: Any) -> None:
        first(rec)
        second(rec)

    return both


class Simulation:
    """Runs a scenario deterministically and records everything in ``trace``.

    It is the ``Runtime`` every component is built on (``simulator.runtime``):
    components see the clock, the trace, the network, the faults and the
    random streams through that port, never this class. The trace, the
    checker, the broker model and the CQRS model are here for the services
    above the core (summary, compare, views).
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int | None = None,
        *,
        until_ms: int | None = None,
        store_file: StoreFile | None = None,
        code: CodeBook | None = None,
        spill: SpillFile | None = None,
    ) -> None:
        """``store_file``: where a ``backend = "sqlite"`` store is written (``evsim play``
        passes one); without it the run keeps its log in memory and writes no file.

        ``spill``: a file the trace moves its older records to as the run goes
        (``simulator.spill``), for a run whose trace would not fit in memory;
        the run and its trace are the same either way."""
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.until_ms = until_ms if until_ms is not None else scenario.until_ms
        self.kernel = Kernel()
        self.rng = SeedSequence(self.seed)
        self.trace = Trace(spill=spill)
        self._records = self.trace.tail
        """The records in memory, appended to in place: seq ``_offset`` onwards."""
        self._offset = 0
        """How many records have been spilled (``trace.offset``): 0 for a trace in memory."""
        self._by_seq: Sequence[Record] = self.trace.tail if spill is None else self.trace
        """What ``records`` hands out: the list itself while the whole trace is in it."""
        self.finished = False
        self.finish_reason = ""
        self._settle_deadline: int | None = None
        self._derived: dict[tuple[int, str], Message] = {}
        self._messages: list[Message] = []
        """Every message of the run, ``m{id}`` at index ``id - 1`` (ids count up from 1)."""
        self.checker = Checker(
            self,
            {g.name: g.topic for g in scenario.groups},
            at_most_once=[g.name for g in scenario.groups if g.commit == "before-process"],
        )
        self._observers = self.checker.observers()
        self._batch_observers = self.checker.batch_observers()
        """What books a batch of one record type in one call (``record_all``); a type
        that gains another observer (``_chain``) is booked record by record instead."""
        self._run_observers = self.checker.run_observers()
        """What books a run of records in one call as far as it writes nothing of its own
        (``record_each``); likewise dropped for a type that gains another observer."""
        self.network = Network(self)
        self.faults = FaultPlan(self)
        self.code: UserCode | None = None
        """The scenario's own code (``simulator.usercode``), if it names any."""
        spec = model(scenario.broker)
        settings = spec.settings_for(scenario)
        if scenario.store is not None:
            from simulator.cqrs.model import settings_for

            settings.update(settings_for(self))
        if code is not None or names_code(scenario):
            self.code = _user_code(scenario, code)
            settings.update(code_settings(scenario, self.code))
        self.emit(
            ScenarioStarted,
            "sim",
            None,
            scenario=scenario.name,
            title=scenario.title.en,
            seed=self.seed,
            broker=scenario.broker,
            follows=spec.follows_in(scenario),
            settings=settings,
        )
        self.broker: BrokerModel = spec.build(self)
        self.cqrs: CqrsModel | None = None
        if scenario.store is not None:
            from simulator.cqrs.model import CqrsModel

            self.cqrs = CqrsModel(self, store_file)
            for cls, observe in self.cqrs.observers().items():
                self._observers[cls] = _chain(self._observers.get(cls), observe)
                self._batch_observers.pop(cls, None)
                self._run_observers.pop(cls, None)
        # The workload's messages, in send order, are _messages[_next_message:_workload_end]:
        # one list of every message, not a second one of the workload.
        self._next_message = len(self._messages)
        workload = expand_workload(scenario, self.rng)
        if self._messages:
            self._messages.extend(workload)
        else:
            self._messages = workload  # no copy (a freed copy would still raise the peak)
        self._workload_end = len(self._messages)
        self.checker.expect(self._workload_end, {p.topic for p in scenario.producers})
        self._feed()
        for crash in self.faults.timed_crashes():
            self.kernel.schedule(crash.at_ms or 0, self._timed_crash, crash)

    # -- recording -------------------------------------------------------------------

    def record(self, rec: R) -> R:
        """Append a record built by the caller (``seq=sim.next_seq``); returns it.

        The hot paths build their records directly, which is several times
        cheaper than ``emit``'s keyword forwarding.
        """
        self._records.append(rec)
        observe = self._observers.get(type(rec))
        if observe is not None:
            observe(rec)
        return rec

    def record_all(self, recs: list[R]) -> None:
        """Append records of one type built by the caller, seqs ``next_seq`` onwards, in order.

        A batch (the acks of one produce request, the records of one fetch) is
        booked in one call instead of one per record. The observers of these
        records must write no records of their own: the seqs were given out in
        advance, so one written in between would break them (checked).
        """
        if not recs:
            return
        records = self._records
        expected = len(records) + len(recs)
        cls = type(recs[0])
        observe_all = self._batch_observers.get(cls)
        observe = None if observe_all is not None else self._observers.get(cls)
        if observe_all is not None:
            records.extend(recs)
            observe_all(recs)
        elif observe is None:
            records.extend(recs)
        else:
            append = records.append
            for rec in recs:
                append(rec)
                observe(rec)
        if len(records) != expected or records[-1].seq != self._offset + expected - 1:
            raise RuntimeError("record_all: the seqs of a batch must follow the trace")

    def record_each(self, recs: list[R]) -> None:
        """Append records of one type built by the caller, seqs ``next_seq`` onwards, each
        booked as ``record`` would book it, in order.

        Unlike ``record_all``, an observer may write records of its own after any
        of them (the checker's findings): the records after it then take the next
        seqs, rebuilt with them in ``recs``. So it is for records whose seqs the
        caller keeps nowhere else (the ``Processed`` of a batch that takes no
        time). Runs that write nothing are booked in one call each where the
        type has a run observer; the record a run stopped at is booked alone.
        """
        records = self._records
        end = len(recs)
        if not end:
            return
        if recs[0].seq != self._offset + len(records):
            raise RuntimeError("record_each: the seqs of a batch must follow the trace")
        cls = type(recs[0])
        observe = self._observers.get(cls)
        book_run = self._run_observers.get(cls)
        i = 0
        while i < end:
            seq = self._offset + len(records)
            if recs[i].seq != seq:  # something was written in between: move the rest up
                for k in range(i, end):
                    recs[k] = replace(recs[k], seq=seq + k - i)
            if observe is None:
                records.extend(recs[i:] if i else recs)
                return
            if book_run is not None:
                records.extend(recs[i:] if i else recs)
                stop = book_run(recs, i)
                if stop >= end:
                    return
                del records[len(records) - (end - stop) :]
                i = stop
            rec = recs[i]
            records.append(rec)
            observe(rec)
            i += 1

    @property
    def records(self) -> Sequence[Record]:
        """The trace so far (``records[seq]``): a live view; its length is ``next_seq``."""
        return self._by_seq

    @property
    def next_seq(self) -> int:
        """The seq the next record will get."""
        return self._offset + len(self._records)

    def _spill_finished(self) -> None:
        """Move the older records to the spill file, if the run has one and enough of them."""
        spill = self.trace.spill
        if spill is not None and len(self._records) >= spill.every * spill.chunk:
            self.trace.spill_finished(spill.chunk)
            self._offset = self.trace.offset

    def emit(self, cls: type[Any], component: str, cause_seq: int | None, **fields: Any) -> Any:
        """Append a record of type ``cls`` at the current virtual time; returns it."""
        records = self._records
        rec = cls(
            seq=self._offset + len(records),
            at=self.kernel.now_ms,
            component=component,
            cause_seq=cause_seq,
            **fields,
        )
        records.append(rec)
        observe = self._observers.get(cls)
        if observe is not None:
            observe(rec)
        return rec

    # -- the workload and faults ----------------------------------------------------------

    def _feed(self, _: object = None) -> None:
        """Hand due messages to their producers, keeping one pending feed action."""
        workload = self._messages
        n = self._workload_end
        i = self._next_message
        now = self.kernel.now_ms
        send = self.broker.send
        while i < n:
            msg = workload[i]
            if msg.at_ms > now:
                break
            send(msg)
            i += 1
        self._next_message = i
        if i < n:
            self.kernel.schedule(workload[i].at_ms, self._feed)

    def _timed_crash(self, crash: Any) -> None:
        self.crash(crash.target, None, crash.restart_after_ms)

    def crash(self, target: str, point: str | None, restart_after_ms: int | None) -> None:
        """Crash ``target`` now; bring it back after ``restart_after_ms`` if given."""
        if self.cqrs is not None and self.cqrs.owns(target):
            seq = self.cqrs.crash(target, point)
        else:
            seq = self.broker.crash(target, point)
        if restart_after_ms is not None:
            self.kernel.after(restart_after_ms, self._restart, (target, seq))

    def _restart(self, arg: tuple[str, int]) -> None:
        if self.cqrs is not None and self.cqrs.owns(arg[0]):
            self.cqrs.restart(arg[0], arg[1])
            return
        self.broker.restart(arg[0], arg[1])

    def publisher(self) -> BrokerModel:
        """The broker model, for components above it that publish (an outbox relay)."""
        return self.broker

    def new_message(self, producer: str, key: str | None, key_seq: int, value: str) -> Message:
        """A message that starts inside the system (a published event), with the next id."""
        msg = Message(len(self._messages) + 1, producer, key, key_seq, value, self.kernel.now_ms)
        self._messages.append(msg)
        return msg

    def derived_message(self, source_id: int, topic: str) -> Message:
        """The message a processor writes to ``topic`` for input ``source_id`` (same on retries)."""
        key = (source_id, topic)
        out = self._derived.get(key)
        if out is None:
            src = self._messages[source_id - 1]
            new_id = len(self._messages) + 1
            # Detailed: the processor may mark it a tombstone or give it an event time.
            out = DetailedMessage(
                new_id, src.producer, src.key, src.key_seq, src.value, self.kernel.now_ms
            )
            self._messages.append(out)
            self._derived[key] = out
        return out

    # -- running -----------------------------------------------------------------------------

    def _advance(self) -> None:
        """Run one kernel action, or finish the run if nothing is due."""
        kernel = self.kernel
        nxt = kernel.next_time_ms()
        if nxt is None:
            self._finish("quiescent")
            return
        if self.until_ms is not None and nxt > self.until_ms:
            kernel.now_ms = max(kernel.now_ms, self.until_ms)
            self._finish("until")
            return
        if self._offset + len(self._records) >= self.scenario.max_records:
            self._finish("max_records")
            return
        if kernel.quiescent:
            if self._settle_deadline is None:
                self._settle_deadline = kernel.now_ms + self.scenario.settle_ms
            if nxt > self._settle_deadline:
                self._finish("quiescent")
                return
        else:
            self._settle_deadline = None
        kernel.step()

    def _finish(self, reason: str) -> None:
        if self.cqrs is not None:
            self.cqrs.finish()
        self.checker.finish(reason)
        if self.scenario.properties:
            from simulator.usercode.properties import report_properties

            report_properties(self, self.code, self.cqrs)
        self.emit(RunFinished, "sim", None, reason=reason)
        self.finished = True
        self.finish_reason = reason

    def step(self) -> list[Record]:
        """Advance until at least one record is written (or the run ends); return them.

        A spilled trace spills before the step, so what the last step returned
        is what leaves memory, not what this one returns.
        """
        self._spill_finished()
        records = self._records
        start = len(records)
        while not self.finished and len(records) == start:
            self._advance()
        return records[start:]

    def run(self) -> Trace:
        """Play to the end and return the trace.

        The loop is ``_advance`` with the common case inlined: while work is
        pending, nothing is near a limit and the next action is due, pop it and
        run it. Anything else (quiescence, ``until_ms``, ``max_records``) goes
        through ``_advance``, which decides exactly as ``step()`` does.

        For the length of the run the objects built so far are *frozen*
        (``gc.freeze``): the scenario, the components, the workload and the
        lists that grow for the whole run (the trace, the partitions' logs)
        live until the end anyway, so the cyclic collector would only rescan
        them, more often and for longer the larger they grow. Unfrozen at the
        end, they are ordinary garbage again once the simulation is dropped.
        The collector plays no part in what the run does, so the trace is the
        same either way.
        """
        self.run_for(None)
        return self.trace

    def run_for(self, records: int | None) -> None:
        """Play until ``records`` more records are written (or to the end, for None).

        The same actions in the same order as ``step()`` takes them, in the
        fast loop of ``run()``: a view that shows progress while a long run
        is computed plays it in slices of this.
        """
        gc.freeze()
        try:
            self._run(sys.maxsize if records is None else self.next_seq + records)
        finally:
            gc.unfreeze()

    def _run(self, stop_at: int) -> None:
        """Play until the trace holds ``stop_at`` records or the run ends.

        The inner loop counts records in memory only (``len`` of the list it
        appends to): it pauses at ``stop_at`` or, with a spill file, once
        ``spill.every`` chunks are in memory; the outer loop spills and goes on.
        """
        kernel = self.kernel
        agenda = kernel._agenda
        records = self._records
        pop = heapq.heappop
        until = self.until_ms if self.until_ms is not None else sys.maxsize
        max_records = self.scenario.max_records
        spill = self.trace.spill
        spill_every = sys.maxsize if spill is None else spill.every * spill.chunk
        advance = self._advance
        if self.finished:
            return
        while True:
            offset = self._offset
            pause = min(stop_at - offset, spill_every)
            # Below the pause (the slice's end or the next spill), below max_records, with
            # work pending and due: the fast path. Anything else is decided as step()
            # decides it; only _advance finishes.
            limit = min(pause, max_records - offset)
            while True:
                written = len(records)
                if (
                    written < limit
                    and agenda
                    and agenda[0][0] <= until
                    and kernel._work_pending != kernel._cancelled_work
                ):
                    self._settle_deadline = None
                    at_ms, _, background, action, arg = pop(agenda)
                    if not background:
                        kernel._work_pending -= 1
                    kernel.now_ms = at_ms
                    action(arg)
                    continue
                if written >= pause:
                    break
                advance()
                if self.finished:
                    return
            if offset + len(records) >= stop_at:
                return
            self._spill_finished()

    def __iter__(self) -> Iterator[Record]:
        """Every record, the ones already written first, running the simulation as needed."""
        seq = 0
        trace = self.trace
        while True:
            while seq < self.next_seq:
                yield trace[seq]  # by seq: between two yields the caller may run a slice
                seq += 1
            if self.finished:
                return
            self.step()


if TYPE_CHECKING:

    def _a_simulation_is_a_runtime(sim: Simulation) -> Runtime:
        return sim  # the type checker proves that Simulation implements the port

    def _a_simulation_hosts_code(sim: Simulation) -> CodeHost:
        return sim  # and that it can run a scenario's own code
