"""A batch booked in one call (``record_all``) leaves the checker's books exactly as
the same records booked one by one would."""

from __future__ import annotations

import msgspec
import pytest

from simulator.checker import Checker
from simulator.lessons.summary import as_dict, summarize
from simulator.scenario import builtin_names, builtin_path, load_scenario
from simulator.simulation import Simulation


def _books(sim: Simulation) -> dict[str, object]:
    checker = sim.checker
    groups = {
        name: (g.delivered, g.processed, g.duplicates, g.out_of_order, len(g.first_processed))
        for name, g in checker.groups.items()
    }
    return {
        "produced": checker.produced,
        "acked": checker.acked,
        "acked_messages": len(checker._acked),
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
