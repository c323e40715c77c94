"""The model's run and the real broker's, side by side, in one notation.

``outcome_of`` reads what a lesson shows off any trace — simulated or live —
so the two are compared by the same rules: per consumer, the order of its
deliveries (``m3``, or ``m3(r)`` when flagged redelivered; a run of the same
delivery is written once with a count, ``m2(r)×285``); per queue, what it
processed, redelivered and dead-lettered (with the reason the broker gave) and
what the checker found lost, duplicated or out of order; per producer, its
publisher confirms; and each expectation of the lesson.

Timing is not compared: the model's virtual milliseconds and the broker's
wall-clock ones are different clocks. Where RabbitMQ's behaviour is
deterministic — which consumer a message is dispatched to, where a requeued
message goes back, why a message was dead-lettered — the two columns should
agree; where it depends on timing (how a slow consumer's prefetch buffer fills,
how many times a requeue loop turns in two seconds) they may not, and that
difference is part of the lesson.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from simulator.lessons.summary import RunSummary
from simulator.trace import (
    Acked,
    DeadLettered,
    Delivered,
    Produced,
    ProduceFailed,
    Record,
)

__all__ = ["Difference", "LessonOutcome", "compare_outcomes", "delivery", "outcome_of", "runs"]


def delivery(name: str, redelivered: bool) -> str:
    """One delivery in the notation: ``m3``, or ``m3(r)`` when flagged redelivered."""
    return f"{name}(r)" if redelivered else name


def runs(tokens: Sequence[str]) -> str:
    """Tokens joined by spaces, a run of one token written once: ``m1 m2(r)×5 m3``."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and tokens[j] == tokens[i]:
            j += 1
        out.append(tokens[i] if j - i == 1 else f"{tokens[i]}×{j - i}")
        i = j
    return " ".join(out)


class QueueOutcome(msgspec.Struct, frozen=True):
    deliveries: dict[str, str]
    """Consumer → its deliveries in order (in the notation)."""
    processed: int
    redelivered: int
    dead_lettered: str
    """``m2:rejected m4:expired`` in the order they happened."""
    lost: int
    duplicates: int
    out_of_order: int


class LessonOutcome(msgspec.Struct, frozen=True):
    confirms: dict[str, str]
    """Producer → ``acked N`` (and ``nacked M``): what its publisher confirms said."""
    queues: dict[str, QueueOutcome]
    expectations: dict[str, bool]


def outcome_of(records: Iterable[Record], summary: RunSummary) -> LessonOutcome:
    """What a run of a lesson showed, read off its trace and its summary."""
    deliveries: dict[str, dict[str, list[str]]] = {}
    redelivered: dict[str, int] = {}
    dead: dict[str, list[str]] = {}
    acked: dict[str, set[int]] = {}
    nacked: dict[str, set[int]] = {}
    producers: dict[str, None] = {}
    for r in records:
        if isinstance(r, Produced):
            producers.setdefault(r.producer)
        elif isinstance(r, Delivered):
            per_consumer = deliveries.setdefault(r.group, {})
            per_consumer.setdefault(r.consumer, []).append(delivery(f"m{r.msg}", r.redelivered))
            redelivered[r.group] = redelivered.get(r.group, 0) + r.redelivered
        elif isinstance(r, DeadLettered):
            dead.setdefault(r.group, []).append(f"m{r.msg}:{r.reason}")
        elif isinstance(r, Acked) and r.producer in producers:
            acked.setdefault(r.producer, set()).add(r.msg)
        elif isinstance(r, ProduceFailed):
            nacked.setdefault(r.producer, set()).add(r.msg)
    confirms = {}
    for p in producers:
        text = f"acked {len(acked.get(p, ()))}"
        if nacked.get(p):
            text += f", nacked {len(nacked[p])}"
        confirms[p] = text
    queues = {
        name: QueueOutcome(
            deliveries={c: runs(d) for c, d in deliveries.get(name, {}).items()},
            processed=g.processed,
            redelivered=redelivered.get(name, 0),
            dead_lettered=runs(dead.get(name, [])),
            lost=g.lost,
            duplicates=g.duplicates,
            out_of_order=g.out_of_order,
        )
        for name, g in summary.groups.items()
    }
    return LessonOutcome(confirms, queues, {e.name: e.ok for e in summary.expectations})


class Difference(msgspec.Struct, frozen=True):
    """One row of the comparison."""

    aspect: str
    model: str
    live: str

    @property
    def same(self) -> bool:
        return self.model == self.live


def compare_outcomes(model: LessonOutcome, live: LessonOutcome) -> list[Difference]:
    """Every aspect of the two outcomes, row by row, in the lesson's order."""
    rows: list[Difference] = []
    for p in {**model.confirms, **live.confirms}:
        rows.append(
            Difference(f"{p}: confirms", model.confirms.get(p, "-"), live.confirms.get(p, "-"))
        )
    for name in {**model.queues, **live.queues}:
        m, x = model.queues.get(name), live.queues.get(name)
        consumers = {**(m.deliveries if m else {}), **(x.deliveries if x else {})}
        for c in consumers:
            rows.append(
                Difference(
                    f"{name} · {c} delivered",
                    (m.deliveries.get(c, "") if m else "") or "-",
                    (x.deliveries.get(c, "") if x else "") or "-",
                )
            )
        for aspect in (
            "processed",
            "redelivered",
            "dead_lettered",
            "lost",
            "duplicates",
            "out_of_order",
        ):
            mv = str(getattr(m, aspect)) if m else "-"
            xv = str(getattr(x, aspect)) if x else "-"
            rows.append(Difference(f"{name} · {aspect.replace('_', '-')}", mv or "-", xv or "-"))
    for e in {**model.expectations, **live.expectations}:
        rows.append(
            Difference(
                f"expect {e}",
                _verdict(model.expectations.get(e)),
                _verdict(live.expectations.get(e)),
            )
        )
    return rows


def _verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("holds" if ok else "fails")
