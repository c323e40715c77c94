"""The view state is a fold of the trace; seeking equals folding from zero."""

from __future__ import annotations

import random
from functools import reduce

import pytest

from simulator.scenario import (
    Scenario,
    builtin_names,
    builtin_path,
    decode_scenario,
    load_scenario,
)
from simulator.simulation import Simulation
from simulator.trace import (
    RECORD_TYPES,
    Crashed,
    DeadLettered,
    Delivered,
    Enqueued,
    PublisherBlocked,
    PublisherUnblocked,
    Record,
    Redriven,
    Restarted,
)
from tui import fold as fold_module
from tui.fold import ViewState, apply, fold, initial_state
from tui.player import Player, beat_triggers, build_index


@pytest.fixture(scope="module")
def records(lesson: Scenario) -> list[Record]:
    return Simulation(lesson).run().records


def test_seek_equals_a_fresh_fold_from_zero_at_random_points(records: list[Record]) -> None:
    player = Player(build_index(records, every=16))
    rng = random.Random(7)
    for _ in range(60):
        n = rng.randrange(len(records) + 1)
        assert player.seek(n) == fold(initial_state(), records[:n])
        assert player.position == n


def test_step_back_equals_a_fresh_fold(records: list[Record]) -> None:
    player = Player(build_index(records, every=32))
    player.seek(200)
    for n in range(199, 150, -1):
        assert player.back() == fold(initial_state(), records[:n])


def test_fold_is_apply_chained_and_never_mutates_its_input(records: list[Record]) -> None:
    start = fold(initial_state(), records[:50])
    snapshot = start.copy()
    chained = reduce(apply, records[50:120], start)
    assert chained == fold(start, records[50:120])
    assert start == snapshot


def test_final_counts_match_the_core(lesson: Scenario, records: list[Record]) -> None:
    from simulator.lessons.summary import summarize

    sim = Simulation(lesson)
    summary = summarize(sim)
    final = build_index(records).final
    assert final.lost == summary.lost
    assert final.duplicates == summary.duplicates
    assert final.out_of_order == summary.out_of_order
    assert final.count("Processed") == summary.processed


@pytest.mark.parametrize(
    "name", ["rabbitmq-requeue-loop", "producer-idempotence", "sqs-redrive-dlq", "three-brokers"]
)
def test_the_metrics_count_retries_performed_as_the_json_does(name: str) -> None:
    from simulator.lessons.summary import summarize

    scenario = load_scenario(builtin_path(name))
    sim = Simulation(scenario)
    summary = summarize(sim)
    index = build_index(sim.trace.records)
    assert summary.retries > 0
    assert index.final.retries == summary.retries
    scheduled = index.final.count("RetryScheduled") + index.final.count("ProduceRetried")
    # Mid-run the count never runs ahead of what was scheduled, and it only grows.
    counts = [c.retries for c in index.checkpoints]
    assert counts == sorted(counts) and max(counts) <= scheduled


def test_unknown_record_kinds_are_shown_generically() -> None:
    class EventStored(Record, frozen=True, kw_only=True, tag_field="kind", tag=True):
        stream: str

    state = apply(ViewState(), EventStored(seq=0, at=5, component="store/accounts", stream="A1"))
    assert state.others == {"store/accounts": "EventStored"}
    assert state.counts == {"EventStored": 1}
    assert state.at_ms == 5


def test_every_record_class_is_handled_or_declared_quiet() -> None:
    handled = set(fold_module._HANDLERS)
    quiet = set(fold_module._QUIET)
    forgotten = [cls.__name__ for cls in RECORD_TYPES if cls not in handled | quiet]
    assert forgotten == [], "add a handler to tui.fold._HANDLERS or the class to _QUIET"
    assert handled & quiet == set()
    assert handled | quiet <= set(RECORD_TYPES)


def test_a_failing_handler_raises_instead_of_hiding_the_component(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(s: ViewState, r: Delivered) -> None:
        raise KeyError("a bug in a handler")

    monkeypatch.setitem(fold_module._HANDLERS, Delivered, broken)
    record = Delivered(
        seq=0, at=1, component="g", group="g", consumer="c", msg=1, key=None,
        topic="t", partition=0, offset=0, redelivered=False,
    )  # fmt: skip
    with pytest.raises(KeyError, match="a bug in a handler"):
        apply(ViewState(), record)
    with pytest.raises(KeyError):
        fold(ViewState(), [record])


def test_a_redriven_message_is_back_in_its_source_queue_with_its_key() -> None:
    def enqueued(seq: int, queue: str) -> Enqueued:
        return Enqueued(
            seq=seq, at=seq, component=queue, group=queue, msg=7, key="k1", copy=False,
            visible_in_ms=0,
        )  # fmt: skip

    dead = DeadLettered(
        seq=1, at=1, component="orders", group="orders", msg=7, key="k1",
        destination="orders-dlq", reason="max receives",
    )  # fmt: skip
    back = Redriven(seq=3, at=3, component="orders", group="orders", msg=7, source="orders-dlq")
    state = fold(ViewState(), [enqueued(0, "orders"), dead, enqueued(2, "orders-dlq"), back])
    assert state.lanes["orders"].ready == [(7, "k1")]
    assert state.others == {}


@pytest.mark.parametrize("name", builtin_names())
def test_every_built_in_lesson_folds_with_no_generic_component(name: str) -> None:
    records = Simulation(load_scenario(builtin_path(name))).run().records
    assert fold(initial_state(), records).others == {}


@pytest.mark.parametrize("name", builtin_names())
def test_every_built_in_lessons_metrics_show_the_json_retries(name: str) -> None:
    """The metrics panel's retries are the JSON's: retries performed, in every lesson."""
    from simulator.lessons.summary import summarize

    sim = Simulation(load_scenario(builtin_path(name)))
    summary = summarize(sim)
    assert build_index(sim.trace.records).final.retries == summary.retries


def test_markers_step_through_faults_and_findings_in_order(records: list[Record]) -> None:
    index = build_index(records)
    player = Player(index)
    seen = []
    while (nxt := player.next_marker()) is not None:
        player.seek(nxt)
        seen.append(nxt - 1)
    assert seen == index.marks and seen
    back = []
    while (prev := player.previous_marker()) is not None:
        player.seek(prev)
        back.append(prev - 1)
    assert back == list(reversed(index.marks))[1:]


def test_seek_time_lands_after_the_last_record_at_that_time(records: list[Record]) -> None:
    player = Player(build_index(records))
    at = records[100].at
    player.seek_time(at)
    assert records[player.position - 1].at <= at
    assert player.position == len(records) or records[player.position].at > at


def test_beats_fire_on_their_kind_or_time(lesson: Scenario, records: list[Record]) -> None:
    triggers = beat_triggers(lesson.narration, records)
    kinds = [type(records[s]).__name__ if s is not None else None for s in triggers]
    assert kinds[1:] == ["Crashed", "DuplicateDetected"]
    assert triggers[0] == 0


QUEUE_BROKERS = """
title = {{ en = "queue", ko = "큐" }}
summary = {{ en = "queue", ko = "큐" }}
broker = "{broker}"
settle_ms = 1000
[[topics]]
name = "orders"
[[producers]]
name = "checkout"
topic = "orders"
[[groups]]
name = "shipping"
topic = "orders"
consumers = 2
commit = "after-process"
processing_ms = 25
[[workload.generators]]
producer = "checkout"
count = 40
rate_per_s = 200
keys = 3
[[faults]]
kind = "crash"
target = "shipping-0"
at_ms = 120
"""


@pytest.mark.parametrize("broker", ["rabbitmq", "sqs"])
def test_queue_brokers_fold_and_seek_like_the_log(broker: str) -> None:
    text = QUEUE_BROKERS.format(broker=broker).encode()
    records = Simulation(decode_scenario(text, "queue.toml", "queue")).run().records
    index = build_index(records, every=8)
    player = Player(index)
    rng = random.Random(3)
    for _ in range(30):
        n = rng.randrange(len(records) + 1)
        assert player.seek(n) == fold(initial_state(), records[:n])
    final = index.final
    assert final.lanes["shipping"].queue
    assert final.consumers["shipping-0"].state == "crashed"
    assert final.count("Processed") > 0


# -- a RabbitMQ cluster: nodes, quorum leaders, unavailable queues, partitions --------------


def _lesson_records(name: str) -> list[Record]:
    return Simulation(load_scenario(builtin_path(name))).run().records


def _at(records: list[Record], at_ms: int) -> ViewState:
    return fold(initial_state(), [r for r in records if r.at <= at_ms])


def test_a_cluster_folds_from_its_header_and_its_first_election() -> None:
    state = _at(_lesson_records("rabbitmq-quorum-node-crash"), 0)
    cluster = state.cluster
    assert cluster is not None
    assert cluster.nodes == ["rabbit-1", "rabbit-2", "rabbit-3"]
    assert cluster.homes == {"orders-classic": "rabbit-2"}
    assert cluster.clients["shop-quorum"] == "rabbit-1"
    quorum = cluster.quorum["orders-quorum"]
    assert (quorum.leader, quorum.term) == ("rabbit-2", 1)
    assert quorum.members == ["rabbit-2", "rabbit-3", "rabbit-1"]


def test_a_leaders_crash_folds_into_an_election_and_an_unavailable_classic_queue() -> None:
    records = _lesson_records("rabbitmq-quorum-node-crash")
    crash = next(r for r in records if isinstance(r, Crashed) and r.component == "rabbit-2")
    back = next(r for r in records if isinstance(r, Restarted) and r.component == "rabbit-2")
    during = _at(records, crash.at + 3000)
    assert during.cluster is not None and "rabbit-2" in during.crashed
    quorum = during.cluster.quorum["orders-quorum"]
    assert quorum.leader in {"rabbit-1", "rabbit-3"} and quorum.term == 2
    assert "rabbit-2" not in quorum.replicas  # commits went on without the dead member
    assert "is down" in during.cluster.unavailable["orders-classic"]
    after = _at(records, back.at + 100)
    assert after.cluster is not None and after.cluster.unavailable == {}
    assert after.cluster.quorum["orders-quorum"].leader == quorum.leader  # no second election


def test_a_partition_between_nodes_folds_into_cut_links_until_it_heals() -> None:
    records = _lesson_records("rabbitmq-quorum-minority-partition")
    during = _at(records, 3000)
    assert during.cluster is not None
    assert during.cluster.cut == [("rabbit-1", "rabbit-2"), ("rabbit-1", "rabbit-3")]
    healed = _at(records, 10_500)
    assert healed.cluster is not None and healed.cluster.cut == []
    assert healed.cluster.quorum["orders"].leader in {"rabbit-2", "rabbit-3"}


def test_a_cluster_fold_never_mutates_its_input() -> None:
    records = _lesson_records("rabbitmq-quorum-node-crash")
    start = fold(initial_state(), records[:5])
    snapshot = start.copy()
    assert reduce(apply, records[5:], start) == fold(start, records[5:])
    assert start == snapshot


def test_one_node_has_no_cluster() -> None:
    assert _at(_lesson_records("rabbitmq-transient-vs-persistent"), 10**9).cluster is None


def test_a_blocked_publisher_folds_as_blocked_until_it_is_unblocked() -> None:
    records = _lesson_records("rabbitmq-publisher-blocked")
    blocked = next(r for r in records if isinstance(r, PublisherBlocked))
    unblocked = next(r for r in records if isinstance(r, PublisherUnblocked))
    assert _at(records, blocked.at - 1).producers["tracker"].state == "running"
    assert _at(records, blocked.at).producers["tracker"].state == "blocked"
    assert _at(records, unblocked.at).producers["tracker"].state == "running"
