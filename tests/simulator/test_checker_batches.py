"""A batch booked in one call (``record_all``) leaves the checker's books exactly as
the same records booked one by one would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from simulator.checker import Checker
from simulator.faults import FaultPlan
from simulator.lessons.summary import as_dict, summarize
from simulator.permessage import PerMessage
from simulator.scenario import Scenario, builtin_names, builtin_path, load_scenario
from simulator.simulation import Simulation
from simulator.trace import Processed, Produced, Record


def _per_message(books: PerMessage) -> tuple[list[tuple[int, int]], dict[int, int]]:
    """What ``books`` holds, however its array happened to grow."""
    return [(m, n) for m, n in enumerate(books.numbers) if n >= 0], dict(books.far)


def _books(sim: Simulation) -> dict[str, object]:
    checker = sim.checker
    groups = {
        name: (
            g.delivered,
            g.processed,
            g.duplicates,
            g.out_of_order,
            len(g.first_processed),
            _per_message(g.first_processed),
            g.latest_per_key,
        )
        for name, g in checker.groups.items()
    }
    return {
        "produced": checker.produced,
        "acked": checker.acked,
        "acked_messages": len(checker._acked),
        "acked_seqs": _per_message(checker._acked),
        "first_produced": _per_message(checker._first_produced),
        "retries": checker.retry_books.performed(sim.kernel.now_ms),
        "groups": groups,
        "summary": msgspec.json.encode(as_dict(summarize(sim))),
    }


@pytest.mark.parametrize("name", builtin_names())
def test_a_lesson_books_the_same_with_and_without_batch_observers(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_scenario(builtin_path(name))
    batched = Simulation(spec)
    batched.run()
    with monkeypatch.context() as m:
        m.setattr(Checker, "batch_observers", lambda self: {})
        one_by_one = Simulation(spec)
        assert not one_by_one._batch_observers
        one_by_one.run()
    assert batched.trace.digest() == one_by_one.trace.digest()
    assert _books(batched) == _books(one_by_one)


def test_the_kafka_lessons_do_book_batches() -> None:
    """The comparison above means something: W1's shape books Acked and Delivered batches."""
    calls: list[int] = []
    sim = Simulation(load_scenario(builtin_path("consumer-rebalance")))
    for cls, observe in list(sim._batch_observers.items()):

        def counting(recs: list[object], observe: object = observe) -> None:
            calls.append(len(recs))
            observe(recs)  # type: ignore[operator]

        sim._batch_observers[cls] = counting
    sim.run()
    assert calls and max(calls) > 1


def _instant(spec: Scenario) -> Scenario:
    """``spec`` with handlers that take no time: a log consumer's batch is processed in
    one action, its ``Processed`` records booked together (``record_each``)."""
    groups = [msgspec.structs.replace(g, processing_ms=0) for g in spec.groups]
    return msgspec.structs.replace(spec, groups=groups)


@pytest.mark.parametrize("name", builtin_names())
def test_a_batch_that_takes_no_time_books_as_one_record_at_a_time_would(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The consumer's batch of ``Processed`` records, written and booked in runs, leaves
    the same trace (findings at the same seqs) and the same books as the consumer's
    record-at-a-time loop (which it takes when a handler may be slowed down)."""
    spec = _instant(load_scenario(builtin_path(name)))
    together = Simulation(spec)
    together.run()
    with monkeypatch.context() as m:
        m.setattr(FaultPlan, "may_slow", lambda self, consumer: True)
        m.setattr(Simulation, "record_each", _refused)
        one_at_a_time = Simulation(spec)
        one_at_a_time.run()
    assert together.trace.digest() == one_at_a_time.trace.digest()
    assert _books(together) == _books(one_at_a_time)


def _refused(self: Simulation, recs: list[Processed]) -> None:
    raise AssertionError("the record-at-a-time loop books each record itself")


def _stops(name: str) -> tuple[int, int]:
    """Runs of ``Processed`` the checker booked whole, and runs it stopped in (a finding, or
    a record it leaves to ``_processed``), in ``name`` with handlers that take no time."""
    counts = [0, 0]
    sim = Simulation(_instant(load_scenario(builtin_path(name))))
    book_run = sim._run_observers[Processed]

    def counting(recs: list[Processed], start: int) -> int:
        stop = book_run(recs, start)
        counts[stop < len(recs)] += 1
        return stop

    sim._run_observers[Processed] = counting
    sim.run()
    return counts[0], counts[1]


def test_runs_of_processed_records_are_booked_whole_and_stopped_at_findings() -> None:
    """The comparison above means something: runs are booked whole, and in a lesson that
    finds duplicates and reorderings with instant handlers, runs stop at findings."""
    whole, stopped = _stops("auto-commit-replay")
    assert whole > 0
    assert stopped > 0


def _booked_at_once(self: Checker) -> dict[type[Record], Callable[[Any], None]]:
    """The checker's observers, with each hand-over booked the moment it is written."""
    observers = _observers(self)

    def produced(rec: Produced) -> None:
        self._handed_over.append(rec)
        self._book_handed_over()

    observers[Produced] = produced
    return observers


_observers = Checker.observers


@pytest.mark.parametrize("name", builtin_names())
def test_hand_overs_booked_together_book_as_each_booked_at_once_would(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Produced`` records are listed and booked later, together: the trace (findings
    included) and every book are those of booking each one as it is written."""
    spec = load_scenario(builtin_path(name))
    late = Simulation(spec)
    late.run()
    with monkeypatch.context() as m:
        m.setattr(Checker, "observers", _booked_at_once)
        at_once = Simulation(spec)
        at_once.run()
    assert late.trace.digest() == at_once.trace.digest()
    assert _books(late) == _books(at_once)
