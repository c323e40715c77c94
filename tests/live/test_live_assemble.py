"""From observations to a judged trace: order, causes, findings (no broker needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from live.assemble import assemble
from live.broker import BrokerAddress
from live.events import EventLog, Observation, read_new
from live.outcome import Difference, compare_outcomes, outcome_of, runs
from live.run import header
from simulator.scenario import resolve_scenario
from simulator.trace import (
    Crashed,
    DeadLettered,
    Delivered,
    DuplicateDetected,
    MessageLost,
    Processed,
    RunFinished,
    ScenarioStarted,
)

MS = 1_000_000
T0 = 10_000 * MS


def obs(ms: int, kind: str, component: str, source: str = "a", meta: Any = None, **f: Any) -> Any:
    return Observation(T0 + ms * MS, kind, component, f, 0, meta or {}, source)


def produced(ms: int, msg: int, key: str = "k") -> Observation:
    return obs(
        ms, "Produced", "app", "app", producer="app", msg=msg, key=key, key_seq=msg, topic="orders"
    )


def acked(ms: int, msg: int) -> Observation:
    return obs(
        ms,
        "Acked",
        "app",
        "app",
        producer="app",
        msg=msg,
        topic="orders",
        partition=None,
        offset=None,
    )


def delivered(ms: int, consumer: str, msg: int, redelivered: bool = False, **kw: Any) -> Any:
    return obs(
        ms,
        "Delivered",
        consumer,
        consumer,
        group="shipping",
        consumer=consumer,
        msg=msg,
        key="k",
        topic="orders",
        partition=None,
        offset=None,
        redelivered=redelivered,
        **kw,
    )


def processed(ms: int, consumer: str, msg: int) -> Observation:
    return obs(
        ms,
        "Processed",
        consumer,
        consumer,
        group="shipping",
        consumer=consumer,
        msg=msg,
        key="k",
        key_seq=msg,
        topic="orders",
        partition=None,
        offset=None,
    )


def _assemble(observations: list[Observation], end_ms: int = 1_000) -> Any:
    s = resolve_scenario("rabbitmq-consumer-crash")
    head = header(s, 1, BrokerAddress.parse("amqp://127.0.0.1:5672"), "3.10.8", "p-", 1.0)
    return assemble(s, 1, head, observations, T0, T0 + end_ms * MS, "quiescent")


def test_observations_of_many_processes_become_one_trace_in_time_order() -> None:
    out = _assemble(
        [processed(30, "shipping-0", 1), produced(1, 1), delivered(5, "shipping-0", 1), acked(4, 1)]
    )
    kinds = [type(r).__name__ for r in out.records]
    assert kinds == [
        "ScenarioStarted",
        "Produced",
        "Acked",
        "Delivered",
        "Processed",
        "RunFinished",
    ]
    assert [r.seq for r in out.records] == list(range(6))
    assert [r.at for r in out.records[1:5]] == [1, 4, 5, 30]
    assert isinstance(out.records[0], ScenarioStarted)
    assert isinstance(out.records[-1], RunFinished) and out.records[-1].at == 1_000


def test_a_delivery_is_caused_by_its_publish_and_a_processing_by_its_delivery() -> None:
    out = _assemble([produced(1, 1), delivered(5, "shipping-0", 1), processed(30, "shipping-0", 1)])
    p, d, done = out.records[1:4]
    assert d.cause_seq == p.seq and done.cause_seq == d.seq


def test_a_redelivery_after_a_crash_walks_back_to_the_crash() -> None:
    out = _assemble(
        [
            produced(1, 1),
            acked(2, 1),
            delivered(5, "shipping-0", 1),
            obs(10, "Crashed", "shipping-0", "run", point=None),
            delivered(15, "shipping-1", 1, redelivered=True),
            processed(40, "shipping-1", 1),
        ]
    )
    crash = next(r for r in out.records if isinstance(r, Crashed))
    again = next(r for r in out.records if isinstance(r, Delivered) and r.redelivered)
    assert again.cause_seq == crash.seq
    assert out.summary.lost == 0


def test_the_checker_places_a_duplicate_right_after_the_processing_it_finds() -> None:
    out = _assemble(
        [
            produced(1, 1),
            acked(2, 1),
            delivered(5, "shipping-0", 1),
            processed(10, "shipping-0", 1),
            delivered(12, "shipping-1", 1, redelivered=True),
            processed(20, "shipping-1", 1),
        ]
    )
    dup = next(r for r in out.records if isinstance(r, DuplicateDetected))
    before = out.records[dup.seq - 1]
    assert isinstance(before, Processed) and before.consumer == "shipping-1"
    assert dup.cause_seq == before.seq and out.summary.duplicates == 1


def test_an_acked_message_nobody_processed_is_lost_at_the_end() -> None:
    out = _assemble([produced(1, 1), acked(2, 1)])
    lost = [r for r in out.records if isinstance(r, MessageLost)]
    assert [r.msg for r in lost] == [1] and out.summary.lost == 1
    assert not out.summary.ok


def test_a_dead_letter_delivered_before_the_tap_saw_it_is_placed_after_the_dead_lettering() -> None:
    event = "shipping|m1|rejected|1"
    out = _assemble(
        [
            produced(1, 1),
            obs(
                9,
                "Delivered",
                "dlq-0",
                "dlq-0",
                meta={"after": event},
                group="dlq",
                consumer="dlq-0",
                msg=1,
                key="k",
                topic="dlx",
                partition=None,
                offset=None,
                redelivered=False,
            ),
            obs(
                10,
                "DeadLettered",
                "shipping",
                "run",
                meta={"death": event},
                group="shipping",
                msg=1,
                key="k",
                destination="dlx",
                reason="rejected",
            ),
        ]
    )
    dead = next(r for r in out.records if isinstance(r, DeadLettered))
    late = next(r for r in out.records if isinstance(r, Delivered))
    assert late.seq == dead.seq + 1 and late.cause_seq == dead.seq
    assert late.at >= dead.at


def test_what_happened_after_the_end_of_the_run_is_left_out() -> None:
    out = _assemble([produced(1, 1), produced(2_000, 2)], end_ms=1_000)
    assert [getattr(r, "msg", None) for r in out.records[1:-1]] == [1]


def test_an_event_log_keeps_every_whole_line_and_leaves_a_half_written_one(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "c.1.jsonl")
    log.write("Produced", "app", producer="app", msg=1)
    log.write("Acked", "app", meta={"x": 1}, producer="app", msg=1)
    with (tmp_path / "c.1.jsonl").open("ab") as f:
        f.write(b'{"t": 1, "kind": "Deliv')
    got, offset = read_new(tmp_path / "c.1.jsonl", 0)
    assert [(o.kind, o.n, o.source) for o in got] == [
        ("Produced", 0, "c.1.jsonl"),
        ("Acked", 1, "c.1.jsonl"),
    ]
    assert got[1].meta == {"x": 1} and got[0].t <= got[1].t
    again, _ = read_new(tmp_path / "c.1.jsonl", offset)
    assert again == []
    log.close()


def test_a_run_of_the_same_delivery_is_written_once_with_its_count() -> None:
    assert runs(["m1", "m2", "m2(r)", "m2(r)", "m2(r)", "m3"]) == "m1 m2 m2(r)×3 m3"
    assert runs([]) == ""


def test_the_comparison_marks_an_aspect_the_two_runs_disagree_on() -> None:
    from simulator.lessons.summary import summarize
    from simulator.simulation import Simulation

    sim = Simulation(resolve_scenario("rabbitmq-consumer-crash"))
    summary = summarize(sim)
    same = outcome_of(sim.trace, summary)
    rows = compare_outcomes(same, same)
    assert rows and all(r.same for r in rows)
    assert not Difference("x", "m1 m2", "m2 m1").same
    assert any(r.aspect == "shipping · shipping-1 delivered" for r in rows)
