"""Properties: what an exercise asks of user code, judged at the end of every run.

A scenario lists them (``properties = ["effects-once"]``) beside its
expectations. Each is a check over the finished run — its trace, the books
``simulator.usercode.port.UserCode`` kept, the event store — that names every
violation it finds as a ``PropertyViolated`` finding, pointing at the record
that shows it (the second charge, the out-of-order step, the phantom event),
so a view can walk back from there to the crash that caused it. The run's
summary counts a property as an expectation that holds when it found nothing.

- ``effects-once``: every message a group's own handler processed had its
  effect exactly once — a redelivery or a producer's retry repeats nothing.
- ``effects-in-key-order``: per key, a group's effects carry the key's
  sequence numbers 1, 2, 3 … in order, each once, up to the last one processed.
- ``publishes-match-commits``: every message a handler published came from a
  call whose transaction committed, and every message the group processed
  published at least one (an outbox, not a dual write).
- ``saga-net-effects``: a saga step's effects for a saga add up to 1 when the
  saga completed and to 0 when it was compensated; every saga ends.
- ``no-overdraft``: no bank account's balance in the event log ever goes below
  zero (a decision made on a stale state is a lost update).
- ``every-command-decided``: every command ended in events or a rejection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from simulator.trace import (
    CommandRejected,
    EffectPerformed,
    EventStored,
    Processed,
    PropertyViolated,
    Record,
    SagaCompleted,
    SagaStarted,
)
from simulator.usercode.refs import code_fields

if TYPE_CHECKING:
    from simulator.cqrs.model import CqrsModel
    from simulator.runtime import Runtime
    from simulator.usercode.port import UserCode

__all__ = ["MAX_VIOLATIONS", "PROPERTIES", "Violation", "report_properties"]

MAX_VIOLATIONS = 10
"""Findings per property and run: the first few tell the story."""


@dataclass(frozen=True)
class Violation:
    detail: str
    cause_seq: int | None


@dataclass(frozen=True)
class Facts:
    """What a property may look at: the trace, the code's books, the event store."""

    records: list[Record]
    owners: dict[str, list[str]]
    """Role → the components that run user code in it (``handler`` → groups …)."""
    code: UserCode | None
    cqrs: CqrsModel | None


Check = Callable[[Facts], Iterable[Violation]]


def _processed(records: list[Record], groups: set[str]) -> dict[tuple[str, int], int]:
    """(group, msg) → seq of the first ``Processed`` (outside transactions that may abort)."""
    out: dict[tuple[str, int], int] = {}
    for r in records:
        if type(r) is Processed and r.group in groups:
            out.setdefault((r.group, r.msg), r.seq)
    return out


def _effects(records: list[Record], owners: set[str]) -> list[EffectPerformed]:
    return [r for r in records if type(r) is EffectPerformed and r.owner in owners]


def effects_once(facts: Facts) -> Iterable[Violation]:
    groups = set(facts.owners.get("handler", []))
    first: dict[tuple[str, str, str], EffectPerformed] = {}
    counts: dict[tuple[str, str, str], int] = {}
    done: set[tuple[str, str]] = set()
    for e in _effects(facts.records, groups):
        done.add((e.owner, e.ref))
        key = (e.owner, e.name, e.ref)
        counts[key] = counts.get(key, 0) + 1
        if key not in first:
            first[key] = e
        elif counts[key] == 2:
            yield Violation(
                f"{e.owner}: {e.name} for {e.ref} happened again (first at #{first[key].seq}):"
                " a redelivered or repeated message was not recognised",
                e.seq,
            )
    for (group, msg), seq in sorted(_processed(facts.records, groups).items(), key=lambda i: i[1]):
        if (group, f"m{msg}") not in done:
            yield Violation(f"{group}: m{msg} was processed, but no effect was done for it", seq)


def effects_in_key_order(facts: Facts) -> Iterable[Violation]:
    groups = set(facts.owners.get("handler", []))
    expected: dict[tuple[str, str], int] = {}
    broken: set[tuple[str, str]] = set()
    for e in _effects(facts.records, groups):
        if e.key is None or e.key_seq is None:
            continue
        k = (e.owner, e.key)
        want = expected.get(k, 1)
        if e.key_seq == want:
            expected[k] = want + 1
            continue
        if k in broken:
            continue
        broken.add(k)
        if e.key_seq == want - 1:
            what = f"#{e.key_seq} applied a second time"
        elif e.key_seq < want:
            what = f"#{e.key_seq} applied after #{want - 1} (out of order)"
        else:
            what = f"#{e.key_seq} applied before #{want} (out of order)"
        yield Violation(f"{e.owner}: {e.name} for key {e.key}: {what}", e.seq)
    last: dict[tuple[str, str], tuple[int, int]] = {}
    for r in facts.records:
        if type(r) is Processed and r.group in groups and r.key is not None:
            k = (r.group, r.key)
            if r.key_seq > last.get(k, (0, 0))[0]:
                last[k] = (r.key_seq, r.seq)
    for k, (top, seq) in sorted(last.items()):
        if k in broken:
            continue
        applied = expected.get(k, 1) - 1
        if applied < top:
            yield Violation(
                f"{k[0]}: key {k[1]} was processed up to #{top}, applied only up to #{applied}",
                seq,
            )


def publishes_match_commits(facts: Facts) -> Iterable[Violation]:
    code = facts.code
    if code is None:
        return
    groups = facts.owners.get("handler", [])
    for group in groups:
        committed = code.committed.get(group, set())
        published = code.published.get(group, {})
        for msg, (produced, source) in sorted(published.items(), key=lambda i: i[1][0]):
            if msg not in committed:
                yield Violation(
                    f"{group}: m{msg}, published while handling m{source}, came from a call whose"
                    " transaction never committed: subscribers see what was never saved"
                    " (a dual write)",
                    produced,
                )
        calls = code.committed_calls.get(group, {})
        processed = _processed(facts.records, {group})
        for (_, msg), seq in sorted(processed.items(), key=lambda i: i[1]):
            if not calls.get(msg, 0):
                yield Violation(f"{group}: m{msg} was processed but published nothing", seq)


def saga_net_effects(facts: Facts) -> Iterable[Violation]:
    services = set(facts.owners.get("saga_step", []))
    if not services:
        return
    net: dict[tuple[str, str], int] = {}
    last: dict[tuple[str, str], int] = {}
    for e in _effects(facts.records, services):
        k = (e.owner, e.ref)
        net[k] = net.get(k, 0) + e.amount
        last[k] = e.seq
    started: dict[str, int] = {}
    ended: dict[str, SagaCompleted] = {}
    for r in facts.records:
        if type(r) is SagaStarted:
            started.setdefault(r.saga, r.seq)
        elif type(r) is SagaCompleted:
            ended.setdefault(r.saga, r)
    for saga, seq in sorted(started.items(), key=lambda i: i[1]):
        end = ended.get(saga)
        if end is None:
            yield Violation(f"saga {saga} never ended (no completion, no compensation)", seq)
            continue
        want = 1 if end.outcome == "completed" else 0
        for service in sorted(services):
            k = (service, saga)
            got = net.get(k, 0)
            if got != want:
                verb = "completed" if want else f"ended {end.outcome}"
                yield Violation(
                    f"saga {saga} {verb}, but {service}'s effects for it add up to {got},"
                    f" not {want}",
                    last.get(k, end.seq),
                )


def no_overdraft(facts: Facts) -> Iterable[Violation]:
    cqrs = facts.cqrs
    if cqrs is None:
        return
    from simulator.domain import bank, get_domain

    domain = get_domain("bank")
    codec = cqrs.store.codec(domain)
    tags = {t.__struct_config__.tag for t in domain.event_types}
    balances: dict[tuple[str, str], int] = {}
    reported: set[str] = set()
    for stored in cqrs.store.read_all(1, cqrs.store.head_position()):
        if stored.type not in tags or stored.stream_id in reported:
            continue
        event = codec.decode(stored)
        if isinstance(event, bank.MoneyDeposited | bank.MoneyWithdrawn):
            k = (stored.stream_id, event.currency)
            sign = 1 if isinstance(event, bank.MoneyDeposited) else -1
            balances[k] = balances.get(k, 0) + sign * event.amount_cents
            if balances[k] < 0:
                reported.add(stored.stream_id)
                yield Violation(
                    f"{stored.stream_id} went to {balances[k]} {event.currency} cents at"
                    f" v{stored.version}: a withdrawal decided on a stale balance",
                    cqrs.log.stored_seq.get(stored.position),
                )


def every_command_decided(facts: Facts) -> Iterable[Violation]:
    cqrs = facts.cqrs
    if cqrs is None:
        return
    decided: set[str] = set()
    for r in facts.records:
        if type(r) is EventStored or type(r) is CommandRejected:
            decided.add(r.command)
    for planned in cqrs.planned:
        if planned.id not in decided:
            yield Violation(f"command {planned.id} ended with no events and no rejection", None)


PROPERTIES: dict[str, Check] = {
    "effects-once": effects_once,
    "effects-in-key-order": effects_in_key_order,
    "publishes-match-commits": publishes_match_commits,
    "saga-net-effects": saga_net_effects,
    "no-overdraft": no_overdraft,
    "every-command-decided": every_command_decided,
}
"""Every property a scenario may name, by name."""


def report_properties(runtime: Runtime, code: UserCode | None, cqrs: CqrsModel | None) -> None:
    """Check the scenario's properties; one ``PropertyViolated`` per violation found."""
    owners: dict[str, list[str]] = {}
    for f in code_fields(runtime.scenario):
        owners.setdefault(f.role, []).append(f.owner)
    facts = Facts(list(runtime.records), owners, code, cqrs)
    for name in runtime.scenario.properties:
        for i, v in enumerate(PROPERTIES[name](facts)):
            if i >= MAX_VIOLATIONS:
                break
            runtime.emit(PropertyViolated, "checker", v.cause_seq, property=name, detail=v.detail)
