"""A Kafka cluster replicates as Kafka 3.x does: one claim per test.

Followers fetch from the leader across the network; the high watermark is
what every ISR member has, and consumers read only below it; ``acks=all``
waits for it and ``min.insync.replicas`` refuses writes below it; the ISR
shrinks after ``replica.lag.time.max.ms`` and grows on catching up; the
controller fences a dead broker after ``broker.session.timeout.ms`` and
elects from the ISR; a returning leader truncates to the new leader's epoch.
"""

from __future__ import annotations

from conftest import scenario_from

from simulator.lessons.summary import RunSummary, summarize
from simulator.models.log.books import log_metrics
from simulator.simulation import Simulation
from simulator.trace import (
    Acked,
    Appended,
    Crashed,
    Delivered,
    HighWatermarkAdvanced,
    IsrExpanded,
    IsrShrunk,
    LeaderElected,
    LogTruncatedToEpoch,
    MessageLost,
    MetadataRefreshed,
    PartitionOffline,
    ProduceDeduplicated,
    ProduceFailed,
    ProduceRefused,
    Record,
    ReplicaFetched,
)

CLUSTER = """
[log]
brokers = 3
default_replication_factor = 3
{log}

[[topics]]
name = "orders"
partitions = {partitions}

[[producers]]
name = "shop"
topic = "orders"
{producer}

[[groups]]
name = "billing"
topic = "orders"
commit = "after-process"
auto_offset_reset = "earliest"
{group}
"""


def cluster(
    body: str = "",
    *,
    log: str = "",
    producer: str = "",
    group: str = "",
    partitions: int = 1,
) -> str:
    return CLUSTER.format(log=log, producer=producer, group=group, partitions=partitions) + body


def run(text: str, seed: int | None = None) -> tuple[Simulation, RunSummary]:
    sim = Simulation(scenario_from(text), seed)
    return sim, summarize(sim)


def of(sim: Simulation, kind: type[Record]) -> list[Record]:
    return [r for r in sim.trace.records if isinstance(r, kind)]


def workload(count: int = 10, rate: int = 10, start_ms: int = 0) -> str:
    return (
        f'[[workload.generators]]\nproducer = "shop"\ncount = {count}\nrate_per_s = {rate}\n'
        f"start_ms = {start_ms}\n"
    )


def crash(target: str, *, at: str | None = None, at_ms: int | None = None, **more: object) -> str:
    text = f'[[faults]]\nkind = "crash"\ntarget = "{target}"\n'
    text += f'at = "{at}"\n' if at is not None else f"at_ms = {at_ms}\n"
    return text + "".join(f"{k} = {v}\n" for k, v in more.items())


def cut(a: str, b: str, from_ms: int, to_ms: int) -> str:
    return (
        f'[[faults]]\nkind = "partition"\nbetween = ["{a}", "{b}"]\n'
        f"from_ms = {from_ms}\nto_ms = {to_ms}\n"
    )


ACKS_1 = "acks = 1\nidempotent = false\nrequest_timeout_ms = 5000"
LEADER_CRASH = crash(
    "broker-1",
    at="after_leader_append_before_replication",
    occurrence=3,
    restart_after_ms=15000,
)


# -- followers, the high watermark, readers ----------------------------------------------


def test_every_follower_fetches_each_appended_record_from_the_leader() -> None:
    sim, _ = run(cluster(workload(count=5)))
    appended = of(sim, Appended)
    fetched = of(sim, ReplicaFetched)
    for follower in ("broker-2", "broker-3"):
        copied = sum(r.records for r in fetched if r.broker == follower)  # type: ignore[attr-defined]
        assert copied == len(appended)
    assert all(r.leader == "broker-1" for r in fetched)  # type: ignore[attr-defined]
    # A copy's cause is the append it copied.
    assert all(isinstance(sim.trace[r.cause_seq], Appended) for r in fetched if r.cause_seq)


def test_consumers_read_only_below_the_high_watermark() -> None:
    # The followers' fetches reach the leader late, so the high watermark lags the appends.
    slow = (
        '[[faults]]\nkind = "network"\nsource = "broker-2"\ndestination = "broker-1"\n'
        'delay_ms = 200\n[[faults]]\nkind = "network"\nsource = "broker-3"\n'
        'destination = "broker-1"\ndelay_ms = 200\n'
    )
    sim, s = run(cluster(workload(count=10, rate=100) + slow))
    assert s.processed == 10
    high = 0
    for r in sim.trace:
        if isinstance(r, HighWatermarkAdvanced):
            high = r.high_watermark
        elif isinstance(r, Delivered):
            assert r.offset is not None and r.offset < high, f"{r} read above hw {high}"


def test_acks_all_is_answered_only_once_the_high_watermark_passes_the_record() -> None:
    sim, _ = run(cluster(workload(count=5)))
    high = 0
    for r in sim.trace:
        if isinstance(r, HighWatermarkAdvanced):
            high = r.high_watermark
        elif isinstance(r, Acked):
            assert r.offset is not None and r.offset < high


def test_acks_1_is_answered_before_any_follower_has_the_record() -> None:
    sim, _ = run(cluster(workload(count=1), producer=ACKS_1))
    acked = of(sim, Acked)[0]
    fetched = of(sim, ReplicaFetched)
    assert fetched and acked.seq < min(r.seq for r in fetched)


# -- the ISR ------------------------------------------------------------------------------


LAG_10S = "replica_lag_time_max_ms = 10000"
FOLLOWERS_CUT = cut("broker-1", "broker-2", 1000, 20000) + cut("broker-1", "broker-3", 1000, 20000)


def test_a_follower_cut_off_by_the_network_falls_out_of_the_isr_after_the_lag_time() -> None:
    sim, _ = run(cluster(workload(count=20, rate=1) + FOLLOWERS_CUT, log=LAG_10S))
    shrunk = of(sim, IsrShrunk)
    assert shrunk, "the cut-off followers must leave the ISR"
    first = shrunk[0]
    assert first.removed == ["broker-2", "broker-3"]  # type: ignore[attr-defined]
    assert first.isr == ["broker-1"]  # type: ignore[attr-defined]
    # Not before replica.lag.time.max.ms behind: last caught up at ~1 s, checked every 5 s.
    assert first.at >= 1000 + 10000


def test_a_lossy_link_drops_one_followers_fetches_and_only_that_follower_leaves_the_isr() -> None:
    # The ordinary network fault reaches a replication link: broker-3's fetches to its leader
    # are lost from 1 s on. broker-2 keeps up, so with min.insync.replicas=2 writes go on.
    lossy = (
        '[[faults]]\nkind = "network"\nsource = "broker-3"\ndestination = "broker-1"\n'
        "from_ms = 1000\ndrop_probability = 1.0\n"
    )
    sim, s = run(cluster(workload(count=20, rate=1) + lossy, log=LAG_10S + "\n" + MIN_ISR_2))
    shrunk = of(sim, IsrShrunk)
    assert [r.removed for r in shrunk] == [["broker-3"]]  # type: ignore[attr-defined]
    assert shrunk[0].isr == ["broker-1", "broker-2"]  # type: ignore[attr-defined]
    assert not of(sim, ProduceRefused) and s.acked == 20 and s.lost == 0


def test_a_follower_that_is_cut_off_while_nothing_is_written_stays_in_sync() -> None:
    # Kafka's rule: a follower at the leader's log end is caught up, however long ago it asked.
    sim, _ = run(cluster(workload(count=1) + FOLLOWERS_CUT, log=LAG_10S))
    assert not of(sim, IsrShrunk)


def test_a_follower_that_catches_up_rejoins_the_isr() -> None:
    # Writes go on past the heal at 20 s and the followers' retried fetch at 31 s.
    sim, _ = run(cluster(workload(count=40, rate=1) + FOLLOWERS_CUT, log=LAG_10S))
    expanded = of(sim, IsrExpanded)
    shrunk = of(sim, IsrShrunk)
    assert {b for r in expanded for b in r.added} == {"broker-2", "broker-3"}  # type: ignore[attr-defined]
    assert all(r.seq > shrunk[0].seq for r in expanded)
    assert expanded[-1].isr == ["broker-1", "broker-2", "broker-3"]  # type: ignore[attr-defined]


# -- acks=all and min.insync.replicas ------------------------------------------------------


MIN_ISR_2 = "min_insync_replicas = 2\n"
STRICT = "retry_backoff_ms = 2000\ndelivery_timeout_ms = 10000"


def test_an_isr_below_min_insync_replicas_refuses_writes_with_nothing_written() -> None:
    sim, s = run(
        cluster(
            workload(count=30, rate=1) + FOLLOWERS_CUT,
            log=LAG_10S + "\n" + MIN_ISR_2,
            producer=STRICT,
        )
    )
    refused = [r for r in of(sim, ProduceRefused) if r.error == "NOT_ENOUGH_REPLICAS"]  # type: ignore[attr-defined]
    assert refused
    appended = {r.msg for r in of(sim, Appended)}  # type: ignore[attr-defined]
    shrunk_at = of(sim, IsrShrunk)[0].seq
    # A batch refused while the ISR is short was not written by that request.
    for r in refused:
        later = [a for a in of(sim, Appended) if a.seq > r.seq and a.msg in r.msgs]  # type: ignore[attr-defined]
        assert r.seq > shrunk_at
        assert not later or later[0].seq > of(sim, IsrExpanded)[0].seq
    assert appended
    assert s.lost == 0


def test_records_waiting_when_the_isr_shrinks_below_the_minimum_are_refused_after_append() -> None:
    sim, _ = run(
        cluster(
            workload(count=30, rate=1) + FOLLOWERS_CUT,
            log=LAG_10S + "\n" + MIN_ISR_2,
            producer=STRICT,
        )
    )
    after = [
        r
        for r in of(sim, ProduceRefused)
        if r.error == "NOT_ENOUGH_REPLICAS_AFTER_APPEND"  # type: ignore[attr-defined]
    ]
    assert after
    appended = {r.msg for r in of(sim, Appended)}  # type: ignore[attr-defined]
    assert all(m in appended for r in after for m in r.msgs)  # type: ignore[attr-defined]


def test_refused_writes_are_retried_and_finally_failed_not_lost() -> None:
    _, s = run(
        cluster(
            workload(count=30, rate=1) + FOLLOWERS_CUT,
            log=LAG_10S + "\n" + MIN_ISR_2,
            producer=STRICT,
        )
    )
    assert s.lost == 0
    assert s.retries > 0
    assert s.acked < s.produced  # some sends failed, and the application was told


def test_with_min_insync_replicas_1_the_leader_alone_acknowledges() -> None:
    sim, s = run(cluster(workload(count=30, rate=1) + FOLLOWERS_CUT, log=LAG_10S))
    assert s.acked == s.produced == 30
    assert not of(sim, ProduceRefused)


# -- failover --------------------------------------------------------------------------------


def test_acks_0_drops_the_request_in_flight_to_a_dying_leader_unnoticed() -> None:
    # Fire-and-forget: nothing is acknowledged, so nothing can be lost in the checker's sense;
    # the request on the wire when broker-1 dies is gone without a retry. The closed
    # connection makes the producer hold the rest until the controller elects broker-2.
    text = cluster(
        workload(count=30) + crash("broker-1", at_ms=1000, restart_after_ms=20000),
        producer="acks = 0\nidempotent = false",
    )
    sim, s = run(text)
    assert s.acked == 0 and s.lost == 0 and s.retries == 0 and not of(sim, MessageLost)
    assert s.dropped_unacknowledged >= 1
    assert s.processed + s.dropped_unacknowledged == s.produced
    after = [r for r in of(sim, Appended) if r.at > 1000]
    assert after and all(r.at >= 9000 for r in after)  # held, then written to the new leader


def test_the_controller_elects_a_new_leader_from_the_isr_after_the_session_timeout() -> None:
    sim, _ = run(cluster(workload(count=10) + crash("broker-1", at_ms=250)))
    crashed = of(sim, Crashed)[0]
    elected = [r for r in of(sim, LeaderElected) if r.reason != "created"]  # type: ignore[attr-defined]
    assert elected[0].at == crashed.at + 9000
    assert elected[0].leader == "broker-2"  # the first in-sync replica in assignment order
    assert elected[0].leader_epoch == 1  # type: ignore[attr-defined]
    assert elected[0].cause_seq == crashed.seq


def test_acks_1_loses_the_record_a_leader_acknowledged_before_any_follower_copied_it() -> None:
    sim, s = run(cluster(workload(count=10) + LEADER_CRASH, producer=ACKS_1))
    assert s.lost == 1
    lost = of(sim, MessageLost)[0]
    truncated = of(sim, LogTruncatedToEpoch)[0]
    assert lost.msg in truncated.msgs  # type: ignore[attr-defined]
    assert lost.cause_seq == truncated.seq
    chain = sim.trace.causes(lost.seq)
    assert any(isinstance(r, LeaderElected) for r in chain)
    assert any(isinstance(r, Crashed) and r.component == "broker-1" for r in chain)


def test_a_returning_leader_truncates_exactly_what_the_new_leader_never_had() -> None:
    sim, _ = run(cluster(workload(count=10) + LEADER_CRASH, producer=ACKS_1))
    truncated = of(sim, LogTruncatedToEpoch)[0]
    assert truncated.broker == "broker-1"  # type: ignore[attr-defined]
    assert truncated.offset == 2 and truncated.removed == 1  # type: ignore[attr-defined]
    assert truncated.leader_epoch == 0  # type: ignore[attr-defined]


def test_acks_all_with_min_insync_2_loses_nothing_when_the_leader_crashes() -> None:
    _, s = run(cluster(workload(count=10) + LEADER_CRASH, log=MIN_ISR_2))
    assert s.lost == 0
    assert s.duplicates == 0
    assert s.processed == 10


def test_an_idempotent_producers_retry_to_the_new_leader_is_deduplicated() -> None:
    # m3 is appended at 201 ms and copied at 202 ms, when broker-1 dies before it could see
    # the followers have it: never answered, so the producer sends it again to broker-2.
    sim, s = run(cluster(workload(count=10) + crash("broker-1", at_ms=202), log=MIN_ISR_2))
    dedup = of(sim, ProduceDeduplicated)
    assert dedup and all(r.component == "orders/0" for r in dedup)
    assert s.duplicates == 0


def test_a_producer_refreshes_its_metadata_and_sends_to_the_new_leader() -> None:
    sim, _ = run(cluster(workload(count=10) + LEADER_CRASH, log=MIN_ISR_2))
    refreshed = [r for r in of(sim, MetadataRefreshed) if r.client == "shop"]  # type: ignore[attr-defined]
    assert refreshed and refreshed[-1].leader == "broker-2"  # type: ignore[attr-defined]


def test_a_broker_that_no_longer_leads_answers_not_leader_or_follower() -> None:
    # broker-1 loses power (no connection is closed): the producer still thinks it leads,
    # and after its return as a follower it answers NOT_LEADER_OR_FOLLOWER.
    text = cluster(
        '[[workload.messages]]\nproducer = "shop"\nat_ms = 0\n'
        '[[workload.messages]]\nproducer = "shop"\nat_ms = 12000\n'
        '[[faults]]\nkind = "power-loss"\ntargets = ["broker-1"]\nat_ms = 1000\n'
        "restart_after_ms = 10000\n"
    )
    sim, s = run(text)
    refused = [r for r in of(sim, ProduceRefused) if r.error == "NOT_LEADER_OR_FOLLOWER"]  # type: ignore[attr-defined]
    assert refused and refused[0].broker == "broker-1"  # type: ignore[attr-defined]
    refreshed = [r for r in of(sim, MetadataRefreshed) if r.reason == "NOT_LEADER_OR_FOLLOWER"]  # type: ignore[attr-defined]
    assert refreshed and refreshed[0].leader == "broker-2"  # type: ignore[attr-defined]
    assert s.acked == 2 and s.lost == 0


def test_a_refused_produce_and_the_refresh_it_causes_count_as_one_not_leader_error() -> None:
    text = cluster(
        '[[workload.messages]]\nproducer = "shop"\nat_ms = 0\n'
        '[[workload.messages]]\nproducer = "shop"\nat_ms = 12000\n'
        '[[faults]]\nkind = "power-loss"\ntargets = ["broker-1"]\nat_ms = 1000\n'
        "restart_after_ms = 10000\n"
    )
    sim, _ = run(text)
    refused = [r for r in of(sim, ProduceRefused) if r.error == "NOT_LEADER_OR_FOLLOWER"]  # type: ignore[attr-defined]
    by_consumers = [
        r
        for r in of(sim, MetadataRefreshed)
        if r.reason == "NOT_LEADER_OR_FOLLOWER" and r.client != "shop"  # type: ignore[attr-defined]
    ]
    counted = log_metrics(sim.trace)["not_leader_or_follower"][None]
    assert refused and counted == len(refused) + len(by_consumers)


def test_a_crashed_follower_leaves_the_isr_when_the_controller_fences_it() -> None:
    sim, _ = run(cluster(workload(count=10) + crash("broker-3", at_ms=100)))
    shrunk = of(sim, IsrShrunk)[0]
    assert shrunk.component == "controller"
    assert shrunk.removed == ["broker-3"]  # type: ignore[attr-defined]
    assert shrunk.at == 100 + 9000


# -- when no in-sync replica is left -----------------------------------------------------


UNCLEAN_BASE = (
    workload(count=15, rate=1)
    + FOLLOWERS_CUT
    + crash("broker-1", at_ms=16000, restart_after_ms=30000)
)


def test_with_no_in_sync_replica_left_a_clean_partition_goes_offline_and_waits() -> None:
    sim, s = run(cluster(UNCLEAN_BASE, log=LAG_10S, group="start_ms = 50000"))
    offline = of(sim, PartitionOffline)
    assert offline and offline[0].isr == ["broker-1"]  # type: ignore[attr-defined]
    back = [r for r in of(sim, LeaderElected) if r.seq > offline[0].seq]
    assert back[0].leader == "broker-1" and not back[0].unclean  # type: ignore[attr-defined]
    assert s.lost == 0


def test_unclean_election_lets_an_out_of_sync_replica_lead_and_lose_committed_records() -> None:
    sim, s = run(
        cluster(
            UNCLEAN_BASE,
            log=LAG_10S + "\nunclean_leader_election = true",
            group="start_ms = 50000",
        )
    )
    unclean = [r for r in of(sim, LeaderElected) if r.unclean]  # type: ignore[attr-defined]
    assert unclean and unclean[0].leader == "broker-2"  # type: ignore[attr-defined]
    assert not of(sim, PartitionOffline)
    assert s.lost >= 10  # committed with one copy (ISR = the leader), then truncated away


def test_a_partition_without_a_leader_holds_the_producers_records_until_one_returns() -> None:
    text = UNCLEAN_BASE + '[[workload.messages]]\nproducer = "shop"\nat_ms = 30000\n'
    sim, s = run(cluster(text, log=LAG_10S, group="start_ms = 50000"))
    late = max(r.msg for r in of(sim, Acked))  # type: ignore[attr-defined]
    acked_at = next(r.at for r in of(sim, Acked) if r.msg == late)  # type: ignore[attr-defined]
    assert acked_at >= 46000  # broker-1 is back at 46 s
    assert not of(sim, ProduceFailed)
    assert s.lost == 0
