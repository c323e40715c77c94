"""Scaling out a Kafka consumer group: partitions, added partitions, a lag-driven autoscaler.

A partition belongs to one member of a group at a time, so consumers beyond the
partition count sit idle; adding partitions moves keys (``murmur2(key) % N``)
once clients notice at their next metadata refresh, and order per key breaks
across the change; a KEDA-style scaler asks for ``ceil(lag / lagThreshold)``
consumers and every join and leave rebalances the group.
"""

from __future__ import annotations

from conftest import scenario_from

from simulator.lessons.summary import RunSummary, summarize
from simulator.models.log.autoscaler import desired_consumers
from simulator.models.log.books import log_metrics
from simulator.models.log.partitioner import partition_for_key
from simulator.models.log.settings import Autoscale
from simulator.simulation import Simulation
from simulator.trace import (
    Appended,
    Crashed,
    MemberJoined,
    MemberLeft,
    MetadataRefreshed,
    PartitionsAdded,
    Produced,
    Rebalanced,
    Record,
    ScaledIn,
    ScaledOut,
)


def run(text: str) -> tuple[Simulation, RunSummary]:
    sim = Simulation(scenario_from(text))
    return sim, summarize(sim)


def of(sim: Simulation, kind: type[Record]) -> list[Record]:
    return [r for r in sim.trace.records if isinstance(r, kind)]


TOPIC = """
[[topics]]
name = "payments"
partitions = {partitions}
[[producers]]
name = "checkout"
topic = "payments"
[[groups]]
name = "ledger"
topic = "payments"
consumers = {consumers}
commit = "after-process"
auto_offset_reset = "{reset}"
processing_ms = {processing_ms}
max_poll_records = 5
[[workload.generators]]
producer = "checkout"
count = {count}
rate_per_s = {rate}
keys = 6
key_prefix = "account-"
"""


def topic(
    partitions: int = 3,
    consumers: int = 3,
    reset: str = "earliest",
    processing_ms: int = 1,
    count: int = 30,
    rate: int = 100,
) -> str:
    return TOPIC.format(
        partitions=partitions,
        consumers=consumers,
        reset=reset,
        processing_ms=processing_ms,
        count=count,
        rate=rate,
    )


# -- partitions are the unit of parallelism ---------------------------------------------


def test_consumers_beyond_the_partition_count_own_nothing_and_process_nothing() -> None:
    sim, s = run(topic(partitions=3, consumers=5))
    last = of(sim, Rebalanced)[-1]
    idle = [m for m, owned in last.assignment.items() if not owned]  # type: ignore[attr-defined]
    assert len(idle) == 2
    busy = {r.consumer for r in sim.trace if type(r).__name__ == "Processed"}  # type: ignore[attr-defined]
    assert not busy & set(idle)
    assert log_metrics(sim.trace)["idle_consumers"]["ledger"] == 2
    assert s.processed == 30


# -- adding partitions -----------------------------------------------------------------------


ADD = """
[log]
metadata_max_age_ms = 1000
[[log.add_partitions]]
topic = "payments"
at_ms = 1500
partitions = 3
"""


def test_clients_learn_of_new_partitions_at_their_next_metadata_refresh() -> None:
    sim, _ = run(topic(partitions=2, count=120, rate=40, processing_ms=100) + ADD)
    added = of(sim, PartitionsAdded)[0]
    assert added.at == 1500 and added.partitions == 3  # type: ignore[attr-defined]
    refreshed = {r.client: r.at for r in of(sim, MetadataRefreshed)}  # type: ignore[attr-defined]
    assert refreshed == {"checkout": 2000, "ledger": 2000}
    # Before the producer's refresh, nothing is written to the new partition.
    new = [r for r in of(sim, Appended) if r.partition == 2]  # type: ignore[attr-defined]
    assert new and min(r.at for r in new) > 2000


def test_after_adding_partitions_a_key_goes_to_murmur2_mod_the_new_count() -> None:
    sim, _ = run(topic(partitions=2, count=120, rate=40, processing_ms=100) + ADD)
    for r in of(sim, Appended):
        sent = sim.trace[r.cause_seq] if r.cause_seq is not None else None
        assert isinstance(sent, Produced)
        count = 3 if sent.at >= 2000 else 2
        assert r.partition == partition_for_key(r.key, count), r  # type: ignore[attr-defined]


def test_the_group_rebalances_onto_the_new_partition() -> None:
    sim, _ = run(topic(partitions=2, count=120, rate=40, processing_ms=100) + ADD)
    last = of(sim, Rebalanced)[-1]
    owned = sorted(tp for tps in last.assignment.values() for tp in tps)  # type: ignore[attr-defined]
    assert owned == ["payments/0", "payments/1", "payments/2"]


def test_adding_partitions_under_a_backlog_breaks_per_key_order() -> None:
    _, s = run(topic(partitions=2, count=120, rate=40, processing_ms=100) + ADD)
    assert s.out_of_order >= 1
    assert s.lost == 0


def test_with_reset_latest_a_new_partitions_records_from_before_the_group_noticed_are_lost() -> (
    None
):
    _, s = run(topic(partitions=2, count=120, rate=40, processing_ms=100, reset="latest") + ADD)
    assert s.lost >= 1


# -- the autoscaler ----------------------------------------------------------------------------


def test_the_scaler_asks_for_lag_over_threshold_consumers_capped_at_the_partitions() -> None:
    scale = Autoscale(min_consumers=1, max_consumers=10, lag_threshold=10)
    assert desired_consumers(0, 6, scale) == 1
    assert desired_consumers(25, 6, scale) == 3
    assert desired_consumers(1000, 6, scale) == 6
    idle_ok = Autoscale(max_consumers=10, lag_threshold=10, allow_idle_consumers=True)
    assert desired_consumers(1000, 6, idle_ok) == 10


SCALED = """
[[topics]]
name = "clicks"
partitions = 6
[[producers]]
name = "web"
topic = "clicks"
[[groups]]
name = "g"
topic = "clicks"
consumers = 1
commit = "after-process"
auto_offset_reset = "earliest"
processing_ms = 250
max_poll_records = 4
[groups.log.autoscale]
max_consumers = 6
lag_threshold = 8
polling_interval_ms = 1000
cooldown_ms = {cooldown}
startup_ms = 2000
[[workload.generators]]
producer = "web"
count = 200
rate_per_s = 10
keys = 12
"""


def test_scaled_out_consumers_join_the_group_after_their_startup_time() -> None:
    sim, _ = run(SCALED.format(cooldown=0))
    out = of(sim, ScaledOut)[0]
    joined = {r.consumer: r for r in of(sim, MemberJoined)}  # type: ignore[attr-defined]
    for name in out.added:  # type: ignore[attr-defined]
        assert joined[name].at == out.at + 2000
        assert joined[name].cause_seq == out.seq


def test_scaled_in_consumers_leave_cleanly_without_losing_or_repeating_anything() -> None:
    sim, s = run(SCALED.format(cooldown=0))
    assert of(sim, ScaledIn)
    left = of(sim, MemberLeft)
    assert left and all(r.reason == "left_group" for r in left)  # type: ignore[attr-defined]
    assert not of(sim, Crashed)
    assert s.lost == 0 and s.duplicates == 0


def test_a_cooldown_holds_consumers_until_a_lower_count_was_asked_for_the_whole_window() -> None:
    sim, _ = run(SCALED.format(cooldown=60000))
    outs = of(sim, ScaledOut)
    for r in of(sim, ScaledIn):
        assert r.at - max(o.at for o in outs if o.at <= r.at) >= 60000


def test_a_scaler_without_cooldown_rebalances_its_group_more_often() -> None:
    jumpy, _ = run(SCALED.format(cooldown=0))
    calm, _ = run(SCALED.format(cooldown=60000))
    assert len(of(jumpy, Rebalanced)) > len(of(calm, Rebalanced))
