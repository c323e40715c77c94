"""From the processes' observations to one trace the checker has judged.

Every process wrote its observations with a moment on the machine's one
monotonic clock (``live.events``). Ordered by that moment, they become the
records of one trace in evsim's schema: ``seq`` in that order, ``at`` in
wall-clock milliseconds since the run started, and ``cause_seq`` found the way
the model sets it — a delivery was caused by the publish (or by the crash or
nack that returned the message, or the dead-lettering that routed it back), a
processing by its delivery, an ack by its processing, a dead letter by the
reject or expiry before it.

The checker is the simulator's own (``simulator.checker.Checker``), driven
through its public surface over a ``RecordedRuntime``: each record is written
and handed to the checker's observer for its type, so a finding
(``DuplicateDetected``, ``OrderViolated``) lands right after the record that
caused it, as in a simulated run; at the end ``finish()`` adds the
``MessageLost`` findings and ``RunFinished`` closes the trace.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from live.events import Observation
from live.runtime import RecordedRuntime
from simulator.checker import Checker
from simulator.lessons.summary import RunSummary, summarize_books
from simulator.scenario import Scenario
from simulator.trace import RECORD_TYPES, Record, RunFinished, ScenarioStarted, Trace

__all__ = ["Assembled", "assemble", "ordered"]

_KINDS: dict[str, type[Record]] = {cls.__name__: cls for cls in RECORD_TYPES}

HOLD_NS = 200_000_000
"""How long a delivery of a dead letter waits for the tap's record of the dead-lettering."""


def ordered(observations: Iterable[Observation]) -> list[Observation]:
    """By moment; equal moments in file order (one file's lines never swap)."""
    return sorted(observations, key=lambda o: (o.t, o.source, o.n))


@dataclass
class _Causes:
    """The latest record of each kind that can cause another, by what it is about."""

    produced: dict[int, int] = field(default_factory=dict)
    routed: dict[int, int] = field(default_factory=dict)
    """msg → its Routed record (from the firehose, when it is on)."""
    routed_back: dict[tuple[str, int], int] = field(default_factory=dict)
    """(topic, msg) → a DeadLettered that sent the message to that exchange."""
    returned: dict[tuple[str, int], int] = field(default_factory=dict)
    """(group, msg) → the nack or crash that put the message back in its queue."""
    held: dict[tuple[str, int], int] = field(default_factory=dict)
    """(consumer, msg) → its latest Delivered."""
    unsettled: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    """consumer → (group, msg) of deliveries it has not acked or nacked, in delivery order."""
    last: dict[tuple[str, str, int], int] = field(default_factory=dict)
    """(kind, consumer or group, msg) → the latest record of that kind."""
    crashed: dict[str, int] = field(default_factory=dict)
    topic_of: dict[str, str] = field(default_factory=dict)
    """group → the exchange its queue is bound to."""

    def cause(self, o: Observation) -> int | None:
        f = o.fields
        msg = f.get("msg", 0)
        kind = o.kind
        if kind in ("Acked", "ProduceFailed", "Routed"):
            return self.produced.get(msg)
        if kind == "Delivered":
            return _latest(
                self.returned.get((f["group"], msg)),
                self.routed_back.get((f["topic"], msg)),
                self.routed.get(msg),
                self.produced.get(msg),
            )
        if kind in ("Processed", "ProcessingFailed"):
            return self.held.get((f["consumer"], msg))
        consumer = f.get("consumer", "")
        if kind == "RetryScheduled":
            return self.last.get(("ProcessingFailed", consumer, msg))
        if kind == "Nacked":
            return _latest(
                self.last.get(("ProcessingFailed", consumer, msg)),
                self.last.get(("RetryScheduled", consumer, msg)),
            )
        if kind == "DeliveryAcked":
            return self.last.get(("Processed", consumer, msg))
        if kind == "Skipped":
            return _latest(
                self.last.get(("Nacked", consumer, msg)),
                self.last.get(("ProcessingFailed", consumer, msg)),
            )
        if kind == "Restarted":
            return self.crashed.get(o.component)
        group = f.get("group", "")
        if kind in ("MessageExpired", "QueueOverflowed"):
            # What put it in the queue: its publish, or the dead-lettering that routed it there.
            return _latest(
                self.routed_back.get((self.topic_of.get(group, ""), msg)), self.produced.get(msg)
            )
        if kind == "DeadLettered":
            return _latest(
                self.last.get(("Nacked", group, msg)),
                self.last.get(("MessageExpired", group, msg)),
                self.last.get(("QueueOverflowed", group, msg)),
                self.returned.get((group, msg)),
            )
        return None

    def note(self, rec: Record, o: Observation) -> None:
        """Remember ``rec`` as a possible cause of what comes after it."""
        f = o.fields
        msg = f.get("msg", 0)
        kind = o.kind
        consumer = f.get("consumer", "")
        group = f.get("group", "")
        seq = rec.seq
        if kind == "Produced":
            self.produced.setdefault(msg, seq)
        elif kind == "Routed":
            self.routed.setdefault(msg, seq)
        elif kind == "Delivered":
            self.held[(consumer, msg)] = seq
            self.unsettled.setdefault(consumer, []).append((group, msg))
        elif kind == "DeliveryAcked":
            self._settle(consumer, msg, up_to=bool(f.get("multiple")))
        elif kind == "Nacked":
            self._settle(consumer, msg, up_to=False)
            self.last[("Nacked", group, msg)] = seq
            if f.get("requeue"):
                self.returned[(group, msg)] = seq
        elif kind == "Crashed":
            self.crashed[o.component] = seq
            for held in self.unsettled.pop(o.component, []):
                self.returned[held] = seq
        elif kind == "DeadLettered":
            self.routed_back[(f["destination"], msg)] = seq
        if kind in ("MessageExpired", "QueueOverflowed"):
            self.last[(kind, group, msg)] = seq
        self.last[(kind, consumer, msg)] = seq

    def _settle(self, consumer: str, msg: int, *, up_to: bool) -> None:
        held = self.unsettled.get(consumer, [])
        at = next((i for i, (_, m) in enumerate(held) if m == msg), None)
        if at is None:
            return
        if up_to:
            del held[: at + 1]
        else:
            del held[at]


def _latest(*seqs: int | None) -> int | None:
    present = [s for s in seqs if s is not None]
    return max(present) if present else None


@dataclass
class Assembled:
    """A judged live trace."""

    runtime: RecordedRuntime
    checker: Checker
    summary: RunSummary

    @property
    def records(self) -> list[Record]:
        return self.runtime.trace


def assemble(
    scenario: Scenario,
    seed: int,
    header: ScenarioStarted,
    observations: Iterable[Observation],
    t0_ns: int,
    end_ns: int,
    reason: str,
) -> Assembled:
    """The trace of a live run, judged, from everything its processes observed."""
    runtime = RecordedRuntime(scenario, seed)
    checker = Checker(runtime, {g.name: g.topic for g in scenario.groups})
    runtime.observers.update(checker.observers())
    runtime.record(header)
    causes = _Causes(topic_of={g.name: g.topic for g in scenario.groups})

    def place(o: Observation) -> None:
        at = max(0, (o.t - t0_ns) // 1_000_000)
        runtime.kernel.now_ms = max(runtime.kernel.now_ms, at)
        # Converted, not constructed: nested fields (a dead letter's headers) arrive as dicts.
        rec = msgspec.convert(
            {
                **o.fields,
                "seq": runtime.next_seq,
                "at": runtime.kernel.now_ms,
                "component": o.component,
                "cause_seq": causes.cause(o),
            },
            _KINDS[o.kind],
        )
        runtime.record(rec)
        causes.note(rec, o)

    # A consumer of a dead-letter queue may receive its copy a moment before the
    # tap reports the dead-lettering; its delivery waits (a little) for that record.
    waiting: dict[str, list[Observation]] = {}
    seen: set[str] = set()
    for o in ordered(observations):
        if o.kind not in _KINDS or o.t > end_ns:
            continue  # a process's own bookkeeping, or after the run was over
        for key in [k for k, held in waiting.items() if held[0].t + HOLD_NS < o.t]:
            for held in waiting.pop(key):
                place(held)
        after = o.meta.get("after")
        if after is not None and after not in seen:
            waiting.setdefault(after, []).append(o)
            continue
        place(o)
        death = o.meta.get("death")
        if death is not None:
            seen.add(death)
            for held in waiting.pop(death, []):
                place(held)
    for held in ordered(o for group in waiting.values() for o in group):
        place(held)
    runtime.kernel.now_ms = max(runtime.kernel.now_ms, (end_ns - t0_ns) // 1_000_000)
    checker.finish(reason)
    runtime.emit(RunFinished, "live", None, reason=reason)
    return Assembled(runtime, checker, summarize(runtime, checker, reason))


def summarize(runtime: RecordedRuntime, checker: Checker, reason: str) -> RunSummary:
    """The JSON contract's outcome of a live trace, judged as a simulation is.

    The counts come from the simulator's own checker over the recorded trace,
    through the same function ``simulator.lessons.summary.summarize`` uses.
    """
    return summarize_books(
        runtime.scenario,
        runtime.seed,
        checker,
        Trace(runtime.trace),
        finished=reason,
        virtual_ms=runtime.kernel.now_ms,
    )
