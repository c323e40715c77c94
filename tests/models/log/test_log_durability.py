"""Durability in a Kafka cluster: acknowledged after the page cache, not after fsync.

A crashed process leaves its writes to the operating system, which still puts
them on disk; a machine that loses power keeps only what reached the disk —
what ``flush.messages`` fsynced, or what the OS wrote back once it was
``dirty_expire_ms`` old. So losing power on every replica at once loses
acknowledged records, and a process crash on every replica does not.
"""

from __future__ import annotations

from conftest import scenario_from

from simulator.lessons.summary import RunSummary, summarize
from simulator.simulation import Simulation
from simulator.trace import Crashed, MessageLost, PageCacheLost, PowerLost, Record

BASE = """
[log]
brokers = 3
default_replication_factor = 3
min_insync_replicas = 2
{log}

[[topics]]
name = "readings"
partitions = 1

[[producers]]
name = "sensors"
topic = "readings"

[[groups]]
name = "archive"
topic = "readings"
commit = "after-process"
auto_offset_reset = "earliest"
start_ms = {start_ms}

[[workload.generators]]
producer = "sensors"
count = 5
rate_per_s = 1
"""

ALL_THREE = ["broker-1", "broker-2", "broker-3"]


def power_loss(at_ms: int, targets: list[str] = ALL_THREE) -> str:
    names = ", ".join(f'"{t}"' for t in targets)
    return (
        f'[[faults]]\nkind = "power-loss"\ntargets = [{names}]\nat_ms = {at_ms}\n'
        "restart_after_ms = 8000\n"
    )


def run(text: str) -> tuple[Simulation, RunSummary]:
    sim = Simulation(scenario_from(text))
    return sim, summarize(sim)


def of(sim: Simulation, kind: type[Record]) -> list[Record]:
    return [r for r in sim.trace.records if isinstance(r, kind)]


def scenario(log: str = "", start_ms: int = 30000) -> str:
    return BASE.format(log=log, start_ms=start_ms)


def test_power_loss_on_every_replica_loses_records_acknowledged_with_acks_all() -> None:
    sim, s = run(scenario() + power_loss(6000))
    assert s.acked == 5
    assert s.lost == 5
    assert {r.component for r in of(sim, PageCacheLost)} == set(ALL_THREE)


def test_each_lost_records_cause_chain_leads_to_the_power_loss() -> None:
    sim, _ = run(scenario() + power_loss(6000))
    for lost in of(sim, MessageLost):
        chain = sim.trace.causes(lost.seq)
        assert any(isinstance(r, PowerLost) for r in chain), lost


def test_flush_messages_1_fsyncs_every_record_and_keeps_them_through_a_power_loss() -> None:
    sim, s = run(scenario("flush_messages = 1") + power_loss(6000))
    assert s.lost == 0 and s.processed == 5
    assert not of(sim, PageCacheLost)


def test_records_older_than_the_dirty_expiry_were_written_back_and_survive() -> None:
    # The OS writes dirty pages back once they are 30 s old: at 40 s, everything is on disk.
    sim, s = run(scenario(start_ms=60000) + power_loss(40000))
    assert s.lost == 0
    assert not of(sim, PageCacheLost)


def test_power_loss_on_one_replica_loses_nothing_the_others_hold() -> None:
    _, s = run(scenario() + power_loss(6000, ["broker-1"]))
    assert s.lost == 0 and s.processed == 5


def test_a_process_crash_of_every_broker_keeps_the_page_cache() -> None:
    crashes = "".join(
        f'[[faults]]\nkind = "crash"\ntarget = "{b}"\nat_ms = 6000\nrestart_after_ms = 8000\n'
        for b in ALL_THREE
    )
    sim, s = run(scenario() + crashes)
    assert len(of(sim, Crashed)) == 3
    assert not of(sim, PageCacheLost)
    assert s.lost == 0 and s.processed == 5
