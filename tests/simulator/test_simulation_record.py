"""``record_each``: records built ahead, each booked as ``record`` would book it.

An observer may write a record of its own after any of them (a finding); the
records after it then move up a seq, so the trace is the one writing them one
by one would have made.
"""

from __future__ import annotations

import pytest

from simulator.scenario import builtin_path, load_scenario
from simulator.simulation import Simulation
from simulator.trace import DuplicateDetected, Processed


def _processed(first_seq: int, count: int) -> list[Processed]:
    return [
        Processed(
            seq=first_seq + i,
            at=0,
            component="c-1",
            cause_seq=None,
            group="g",
            consumer="c-1",
            msg=i + 1,
            key=None,
            key_seq=0,
            topic="t",
            partition=0,
            offset=i,
        )
        for i in range(count)
    ]


def _simulation() -> Simulation:
    return Simulation(load_scenario(builtin_path("partitions-and-offsets")))


@pytest.mark.parametrize("in_runs", [True, False])
def test_the_records_after_one_whose_observer_wrote_move_up_a_seq(in_runs: bool) -> None:
    sim = _simulation()
    if not in_runs:
        sim._run_observers.clear()
    booked: list[int] = []

    def observe(rec: Processed) -> None:
        booked.append(rec.seq)
        if rec.msg == 2:
            sim.emit(DuplicateDetected, "checker", rec.seq, group="g", msg=2, key=None, first_seq=0)

    def book_run(recs: list[Processed], start: int) -> int:
        """Books all but message 2, which it leaves to ``observe``."""
        for i in range(start, len(recs)):
            if recs[i].msg == 2:
                return i
            booked.append(recs[i].seq)
        return len(recs)

    sim._observers[Processed] = observe
    if in_runs:
        sim._run_observers[Processed] = book_run
    first = sim.next_seq
    sim.record_each(_processed(first, 4))
    written = [(type(r).__name__, r.seq) for r in sim.records[first:]]
    assert written == [
        ("Processed", first),
        ("Processed", first + 1),
        ("DuplicateDetected", first + 2),
        ("Processed", first + 3),
        ("Processed", first + 4),
    ]
    assert [r.msg for r in sim.records[first:] if isinstance(r, Processed)] == [1, 2, 3, 4]
    assert booked == [first, first + 1, first + 3, first + 4]


def test_a_batch_whose_seqs_do_not_follow_the_trace_is_refused() -> None:
    sim = _simulation()
    with pytest.raises(RuntimeError, match="follow the trace"):
        sim.record_each(_processed(sim.next_seq + 1, 2))
