"""The Kafka-style log broker behaves as Kafka 3.x does, one claim per test."""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise

from conftest import scenario_from

from simulator.lessons.summary import RunSummary, summarize
from simulator.simulation import Simulation
from simulator.trace import (
    Acked,
    Appended,
    CommitFailed,
    Committed,
    Delivered,
    LogCompacted,
    MemberLeft,
    MessageLost,
    PositionReset,
    Processed,
    ProduceDeduplicated,
    ProduceRetried,
    Rebalanced,
    Record,
    SentUnacknowledged,
    TransactionAborted,
)

TOPIC = """
[[topics]]
name = "orders"
partitions = {partitions}
[[producers]]
name = "checkout"
topic = "orders"
"""


def run(body: str, partitions: int = 3, seed: int | None = None) -> tuple[Simulation, RunSummary]:
    sim = Simulation(scenario_from(TOPIC.format(partitions=partitions) + body), seed)
    return sim, summarize(sim)


def of(sim: Simulation, kind: type[Record]) -> list[Record]:
    return [r for r in sim.trace.records if isinstance(r, kind)]


def group(name: str, **settings: object) -> str:
    lines = [f'[[groups]]\nname = "{name}"\ntopic = "orders"\nauto_offset_reset = "earliest"']
    for key, value in settings.items():
        lines.append(f"{key} = {value!r}".replace("'", '"'))
    return "\n".join(lines) + "\n"


def workload(count: int = 30, keys: int = 3, rate: int = 100) -> str:
    return (
        f'[[workload.generators]]\nproducer = "checkout"\ncount = {count}\nkeys = {keys}\n'
        f"rate_per_s = {rate}\n"
    )


CRASH = """
[[faults]]
kind = "crash"
target = "{target}"
at = "{point}"
occurrence = {occurrence}
restart_after_ms = 100
"""


# -- delivery semantics -------------------------------------------------------------


def test_commit_before_process_loses_the_rest_of_the_batch_on_crash() -> None:
    body = (
        group(
            "g",
            commit="before-process",
            processing_ms=20,
            max_poll_records=10,
            session_timeout_ms=1000,
            heartbeat_interval_ms=300,
        )
        + workload(count=40, rate=1000)
        + CRASH.format(target="g-0", point="after_commit_before_process", occurrence=1)
    )
    sim, s = run(body, partitions=1)
    assert s.lost >= 1
    assert s.duplicates == 0
    lost = of(sim, MessageLost)
    assert lost and all(r.cause_seq is not None for r in lost)


def test_commit_after_process_replays_the_batch_on_crash_and_loses_nothing() -> None:
    body = (
        group(
            "g",
            commit="after-process",
            processing_ms=5,
            session_timeout_ms=1000,
            heartbeat_interval_ms=300,
        )
        + workload(count=40, rate=1000)
        + CRASH.format(target="g-0", point="after_process_before_commit", occurrence=1)
    )
    sim, s = run(body, partitions=1)
    assert s.lost == 0
    assert s.duplicates >= 1
    redelivered = [r for r in of(sim, Delivered) if r.redelivered]
    assert redelivered, "the replay must be flagged as a redelivery"
    # "why?" walks from the redelivery back to the crash
    chain = sim.trace.causes(redelivered[0].seq)
    assert any(type(r).__name__ == "Crashed" for r in chain)


def test_committed_offset_is_the_next_offset_to_read() -> None:
    sim, _ = run(
        group("g", commit="after-process", commit_every="message") + workload(count=5, keys=1),
        partitions=1,
    )
    processed = [r.offset for r in of(sim, Processed)]
    committed = [r.offset for r in of(sim, Committed)]
    assert committed == [o + 1 for o in processed]


def test_auto_commit_happens_inside_a_later_poll_and_a_crash_replays_since_then() -> None:
    body = (
        group(
            "g",
            commit="auto",
            auto_commit_interval_ms=1000,
            processing_ms=10,
            session_timeout_ms=1000,
            heartbeat_interval_ms=300,
        )
        + workload(count=300, keys=1, rate=100)
        + '\n[[faults]]\nkind = "crash"\ntarget = "g-0"\nat_ms = 1550\nrestart_after_ms = 10\n'
    )
    sim, s = run(body, partitions=1)
    commits = of(sim, Committed)
    assert commits, "auto-commit must commit"
    # Commits happen no more often than the interval (they ride on polls).
    times = [c.at for c in commits if c.at < 1550]
    assert all(b - a >= 1000 for a, b in pairwise(times))
    assert s.duplicates >= 1 and s.lost == 0


# -- producers ---------------------------------------------------------------------------

LOSE_ACKS = """
[[faults]]
kind = "network"
source = "broker"
destination = "checkout"
drop_probability = 0.3
"""


def _producer(**settings: object) -> str:
    extra = "\n".join(
        f"{k} = {v!r}".replace("'", '"').replace("True", "true").replace("False", "false")
        for k, v in settings.items()
    )
    return TOPIC.format(partitions=1).replace(
        'topic = "orders"\n', 'topic = "orders"\n' + extra + "\n", 1
    )


def test_lost_acks_duplicate_records_without_idempotence() -> None:
    body = (
        _producer(
            idempotent=False,
            acks="all",
            request_timeout_ms=50,
            retry_backoff_ms=10,
            max_in_flight=1,
        )
        + group("g")
        + workload(count=40, keys=2, rate=50)
        + LOSE_ACKS
    )
    sim = Simulation(scenario_from(body))
    s = summarize(sim)
    assert of(sim, ProduceRetried)
    assert s.duplicates >= 1
    assert s.lost == 0


def test_idempotent_producer_turns_repeats_into_deduplicated_acks() -> None:
    body = (
        _producer(idempotent=True, request_timeout_ms=50, retry_backoff_ms=10)
        + group("g")
        + workload(count=40, keys=2, rate=50)
        + LOSE_ACKS
    )
    sim = Simulation(scenario_from(body))
    s = summarize(sim)
    assert of(sim, ProduceDeduplicated)
    assert s.duplicates == 0 and s.lost == 0 and s.out_of_order == 0
    appended = [r.msg for r in of(sim, Appended)]
    assert len(appended) == len(set(appended))


def test_retries_with_many_requests_in_flight_reorder_a_partition_without_idempotence() -> None:
    drop_first = (
        '\n[[faults]]\nkind = "network"\nsource = "checkout"\ndestination = "broker"\nmsgs = [1]\n'
    )
    drop_first += "drop_probability = 1.0\nto_ms = 5\n"
    body = (
        _producer(idempotent=False, request_timeout_ms=30, retry_backoff_ms=5, max_in_flight=5)
        + group("g")
        + workload(count=10, keys=1, rate=1000)
        + drop_first
    )
    sim = Simulation(scenario_from(body))
    s = summarize(sim)
    offsets = {r.msg: r.offset for r in of(sim, Appended)}
    assert offsets[1] > offsets[2], "the retried first record lands after later ones"
    assert s.out_of_order >= 1


def test_idempotence_keeps_order_when_a_batch_is_retried() -> None:
    drop_first = (
        '\n[[faults]]\nkind = "network"\nsource = "checkout"\ndestination = "broker"\nmsgs = [1]\n'
    )
    drop_first += "drop_probability = 1.0\nto_ms = 5\n"
    body = (
        _producer(idempotent=True, request_timeout_ms=30, retry_backoff_ms=5, max_in_flight=5)
        + group("g")
        + workload(count=10, keys=1, rate=1000)
        + drop_first
    )
    sim = Simulation(scenario_from(body))
    s = summarize(sim)
    appended = [r.msg for r in of(sim, Appended)]
    assert appended == sorted(appended)
    assert s.out_of_order == 0 and s.duplicates == 0


def test_acks_zero_never_retries_and_loses_what_the_network_drops() -> None:
    body = (
        _producer(acks=0, idempotent=False)
        + group("g")
        + workload(count=50, keys=2, rate=100)
        + '\n[[faults]]\nkind = "network"\nsource = "checkout"\ndestination = "broker"\n'
        + "drop_probability = 0.3\n"
    )
    sim = Simulation(scenario_from(body))
    s = summarize(sim)
    assert not of(sim, ProduceRetried)
    # Every send counts as sent and none is acknowledged: what the network drops is the
    # silent loss of acks=0, counted apart from lost (which needs an acknowledgement).
    assert len(of(sim, SentUnacknowledged)) == 50
    assert s.acked == 0 and not of(sim, Acked)
    assert s.dropped_unacknowledged >= 1 and s.lost == 0
    assert s.processed + s.dropped_unacknowledged == 50


# -- partitions, groups, rebalances ------------------------------------------------------


def test_one_key_lands_in_one_partition_and_stays_in_order_across_consumers() -> None:
    sim, s = run(group("g", consumers=3) + workload(count=60, keys=5), partitions=3)
    by_key: dict[str, set[int]] = defaultdict(set)
    for r in of(sim, Appended):
        by_key[r.key].add(r.partition)
    assert all(len(parts) == 1 for parts in by_key.values())
    assert s.out_of_order == 0 and s.lost == 0 and s.duplicates == 0


def test_unkeyed_records_of_one_entity_are_reordered_across_partitions() -> None:
    body = (
        _producer(use_key=False, partitioner="round-robin").replace(
            "partitions = 1", "partitions = 3"
        )
        + group("g", consumers=3, processing_ms=7)
        + workload(count=60, keys=2, rate=1000)
        + '\n[[faults]]\nkind = "slow"\ntarget = "g-0"\nprocessing_ms = 30\n'
    )
    s = summarize(Simulation(scenario_from(body)))
    assert s.out_of_order >= 1


def test_independent_groups_each_read_every_record() -> None:
    _, s = run(group("a", consumers=2) + group("b") + workload(count=25))
    assert s.groups["a"].processed == 25 and s.groups["b"].processed == 25


def test_each_partition_has_exactly_one_owner_per_generation() -> None:
    sim, _ = run(group("g", consumers=3) + workload(count=5), partitions=7)
    for r in of(sim, Rebalanced):
        owned = [tp for tps in r.assignment.values() for tp in tps]
        assert sorted(owned) == sorted(set(owned)) and len(owned) == 7


def test_a_silent_member_is_evicted_after_the_session_timeout() -> None:
    body = (
        group("g", consumers=2, session_timeout_ms=6000, heartbeat_interval_ms=2000)
        + workload(count=20)
        + '\n[[faults]]\nkind = "crash"\ntarget = "g-0"\nat_ms = 100\n'
    )
    sim, s = run(body)
    left = [r for r in of(sim, MemberLeft) if r.consumer == "g-0"]
    assert len(left) == 1 and left[0].reason == "session_timeout"
    # the last heartbeat (sent at join, t=0) arrived at t=1: eviction at 1 + 6000
    assert left[0].at == 6001
    final = of(sim, Rebalanced)[-1]
    assert list(final.assignment) == ["g-1"] and len(final.assignment["g-1"]) == 3
    assert s.lost == 0


def test_a_livelocked_group_is_stopped_by_the_trace_cap() -> None:
    body = group(
        "g",
        processing_ms=400,
        max_poll_interval_ms=1000,
        max_poll_records=5,
        session_timeout_ms=3000,
        heartbeat_interval_ms=1000,
    ) + workload(count=30, keys=3, rate=1000)
    sim = Simulation(scenario_from("max_records = 2000\n" + TOPIC.format(partitions=3) + body))
    sim.run()
    assert sim.finish_reason == "max_records"
    assert len(sim.trace) < 2000 + 100  # one last action, the findings and RunFinished


def slower_than_max_poll_interval(count: int = 30) -> str:
    """Two consumers, one slowed past max.poll.interval.ms for a while: it is evicted."""
    return (
        group(
            "g",
            consumers=2,
            commit="after-process",
            processing_ms=50,
            max_poll_interval_ms=1000,
            max_poll_records=5,
            session_timeout_ms=3000,
            heartbeat_interval_ms=1000,
        )
        + workload(count=count, keys=3, rate=1000)
        + '\n[[faults]]\nkind = "slow"\ntarget = "g-0"\nprocessing_ms = 400\nto_ms = 1500\n'
    )


def test_processing_slower_than_max_poll_interval_evicts_and_the_zombie_commit_fails() -> None:
    sim, s = run(slower_than_max_poll_interval())
    assert any(r.reason == "max_poll_interval" for r in of(sim, MemberLeft))
    assert of(sim, CommitFailed)
    assert s.duplicates >= 1


# -- transactions --------------------------------------------------------------------------

EOS = """
[[topics]]
name = "ledger"
partitions = 1
[[groups]]
name = "processor"
topic = "orders"
commit = "transactional"
output_topic = "ledger"
auto_offset_reset = "earliest"
max_poll_records = 5
processing_ms = 5
session_timeout_ms = 1000
heartbeat_interval_ms = 300
[[groups]]
name = "committed-reader"
topic = "ledger"
isolation = "read_committed"
auto_offset_reset = "earliest"
[[groups]]
name = "uncommitted-reader"
topic = "ledger"
isolation = "read_uncommitted"
auto_offset_reset = "earliest"
[[faults]]
kind = "crash"
target = "processor-0"
at = "before_commit_transaction"
occurrence = 2
restart_after_ms = 50
"""


def test_transactions_give_exactly_once_to_read_committed_readers_only() -> None:
    sim, s = run(EOS + workload(count=20, keys=2, rate=1000), partitions=1)
    assert of(sim, TransactionAborted)
    assert s.groups["processor"].duplicates == 0 and s.groups["processor"].lost == 0
    assert s.groups["committed-reader"].duplicates == 0
    assert s.groups["committed-reader"].lost == 0
    assert s.groups["uncommitted-reader"].duplicates >= 1


# -- retention, compaction -------------------------------------------------------------------


def test_a_group_that_falls_off_the_log_start_resets_and_loses_records() -> None:
    body = (
        TOPIC.format(partitions=1).replace(
            "partitions = 1", "partitions = 1\nretention_messages = 5"
        )
        + group("slow", processing_ms=100, max_poll_records=1)
        + workload(count=40, keys=1, rate=200)
    )
    sim = Simulation(scenario_from(body))
    s = summarize(sim)
    assert any(r.reason == "out_of_range" for r in of(sim, PositionReset))
    assert s.lost >= 1
    assert any("retention" in r.reason for r in of(sim, MessageLost))


def test_compaction_keeps_the_latest_value_per_key_and_never_changes_offsets() -> None:
    body = TOPIC.format(partitions=1).replace(
        "partitions = 1", "partitions = 1\ncompaction = true\ncompaction_interval_ms = 1000"
    ) + workload(count=30, keys=3, rate=100)
    sim = Simulation(scenario_from(body))
    sim.run()
    part = sim.broker.partitions["orders"][0]
    assert of(sim, LogCompacted)
    keys = [e.msg.key for e in part.entries]
    assert sorted(keys) == ["key-0", "key-1", "key-2"]
    original = {r.msg: r.offset for r in of(sim, Appended)}
    assert all(original[e.msg.id] == e.offset for e in part.entries)


def test_a_tombstone_survives_one_compaction_pass_then_goes() -> None:
    body = (
        TOPIC.format(partitions=1).replace(
            "partitions = 1", "partitions = 1\ncompaction = true\ncompaction_interval_ms = 1000"
        )
        + '[[workload.messages]]\nproducer = "checkout"\nkey = "a"\nvalue = "1"\n'
        + '[[workload.messages]]\nproducer = "checkout"\nkey = "a"\ntombstone = true\nat_ms = 10\n'
        + '[[workload.messages]]\nproducer = "checkout"\nkey = "b"\nvalue = "2"\nat_ms = 20\n'
    )
    sim = Simulation(scenario_from(body))
    sim.run()
    passes = of(sim, LogCompacted)
    assert passes[0].removed == 1 and passes[0].tombstones_removed == 0
    assert passes[1].tombstones_removed == 1
    assert [e.msg.key for e in sim.broker.partitions["orders"][0].entries] == ["b"]


# -- failures, retries, DLT ------------------------------------------------------------------------


def test_poison_message_goes_through_retries_and_retry_topics_to_the_dlt() -> None:
    body = (
        '[[topics]]\nname = "orders.DLT"\n'
        + group("g", retry_topics=[100, 500], dead_letter_topic="orders.DLT")
        + '[groups.retry]\npolicy = "exponential"\nattempts = 3\nbackoff_ms = 10\n'
        + workload(count=12, keys=3)
        + '\n[[faults]]\nkind = "poison"\nkeys = ["key-1"]\n'
    )
    sim, s = run(body)
    assert s.dead_lettered == 4
    assert s.lost == 0
    # per poisoned message: 2 blocking retries x 3 topics + 2 hops to retry topics
    assert s.retries == 4 * (2 * 3 + 2)
    dlt = sim.broker.partitions["orders.DLT"]
    assert sum(len(p.entries) for p in dlt) == 4


def test_transient_failures_without_a_policy_are_skipped_and_counted_lost() -> None:
    body = group("g") + workload(count=40) + '\n[[faults]]\nkind = "handler-error"\ngroup = "g"\n'
    body += "probability = 0.3\n"
    sim, s = run(body)
    assert s.lost >= 1
    assert all("skipped" in r.reason for r in of(sim, MessageLost))


# -- the network between consumers and the broker ----------------------------------------

CUT = """
[[faults]]
kind = "partition"
between = ["g-0", "broker"]
from_ms = 1000
to_ms = 2500
"""


def test_a_partitioned_consumer_can_neither_fetch_nor_rejoin_until_the_cut_heals() -> None:
    body = (
        group("g", commit="after-process", session_timeout_ms=1000, heartbeat_interval_ms=300)
        + workload(count=30, keys=1, rate=10)
        + CUT
    )
    sim, s = run(body, partitions=1)
    during = [r for r in of(sim, Delivered) if 1000 <= r.at < 2500]
    assert during == []
    left = [r for r in of(sim, MemberLeft) if r.consumer == "g-0"]
    assert left and left[0].reason == "session_timeout" and left[0].at < 2500
    rejoined = [r for r in sim.trace.records if type(r).__name__ == "MemberJoined" and r.at > 1000]
    assert rejoined and all(r.at >= 2500 for r in rejoined)
    assert s.lost == 0


def test_a_lossy_link_drops_commits_as_well_as_heartbeats() -> None:
    body = (
        group(
            "g",
            commit="after-process",
            commit_every="message",
            session_timeout_ms=1000,
            heartbeat_interval_ms=300,
        )
        + workload(count=30, keys=1, rate=10)
        + '\n[[faults]]\nkind = "network"\nsource = "g-0"\ndestination = "broker"\n'
        + "from_ms = 1000\nto_ms = 2500\ndrop_probability = 1.0\n"
    )
    sim, _ = run(body, partitions=1)
    assert not [r for r in of(sim, Committed) if 1000 <= r.at < 2500]
    assert not [r for r in of(sim, Delivered) if 1000 <= r.at < 2500]


def test_exponential_backoff_reaches_its_ceiling_without_overflow() -> None:
    import random

    from simulator.retry import backoff_ms
    from simulator.scenario import RetryPolicy

    policy = RetryPolicy(
        policy="exponential", attempts=1000, backoff_ms=100, max_backoff_ms=30_000, multiplier=100.0
    )
    rng = random.Random(1)
    assert [backoff_ms(policy, a, rng) for a in (1, 2, 3)] == [100, 10_000, 30_000]
    assert backoff_ms(policy, 999, rng) == 30_000
