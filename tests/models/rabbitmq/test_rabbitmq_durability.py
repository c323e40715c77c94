"""What a RabbitMQ restart keeps: durable queues, persistent messages, and the disk write.

RabbitMQ's rule (``SEMANTICS.md``, "Replication, durability and availability"): a
durable queue with persistent messages (``delivery_mode=2``) survives a broker
restart; transient messages and non-durable queues do not; the confirm of a
persistent message on a durable queue follows its write to disk.
"""

from __future__ import annotations

import pytest
from conftest import scenario_from

from simulator.errors import InputError
from simulator.lessons.summary import summarize
from simulator.simulation import Simulation
from simulator.trace import (
    Acked,
    MessageLost,
    MessageLostOnRestart,
    Record,
    Routed,
    ScenarioStarted,
)

BODY = """
broker = "rabbitmq"
settle_ms = 1000
[rabbitmq]
disk_write_ms = {disk}
[rabbitmq.delivery_mode]
shop = {mode}
[[topics]]
name = "orders"
[[producers]]
name = "shop"
topic = "orders"
[[groups]]
name = "billing"
topic = "orders"
commit = "after-process"
processing_ms = 100
[groups.rabbitmq]
durable = {durable}
[[workload.generators]]
producer = "shop"
count = 6
rate_per_s = 100
[[faults]]
kind = "crash"
target = "broker"
at_ms = {crash_ms}
restart_after_ms = 500
"""


PLAIN = """
broker = "rabbitmq"
[[topics]]
name = "orders"
[[producers]]
name = "shop"
topic = "orders"
[[groups]]
name = "billing"
topic = "orders"
[[workload.messages]]
producer = "shop"
"""


def _run(*, mode: int = 2, durable: bool = True, disk: int = 0, crash_ms: int = 80) -> list[Record]:
    body = BODY.format(mode=mode, durable=str(durable).lower(), disk=disk, crash_ms=crash_ms)
    return list(Simulation(scenario_from(body)).run())


def _lost_on_restart(trace: list[Record]) -> list[MessageLostOnRestart]:
    return [r for r in trace if isinstance(r, MessageLostOnRestart)]


def test_persistent_messages_on_a_durable_queue_survive_a_restart() -> None:
    trace = _run()
    assert _lost_on_restart(trace) == []
    assert not [r for r in trace if isinstance(r, MessageLost)]


def test_transient_messages_are_gone_after_a_restart_and_counted_lost() -> None:
    trace = _run(mode=1)
    gone = _lost_on_restart(trace)
    assert gone and all("transient" in r.reason for r in gone)
    lost = [r for r in trace if isinstance(r, MessageLost)]
    assert {r.msg for r in lost} == {r.msg for r in gone}
    assert all("restarted" in r.reason for r in lost)
    crash = next(r for r in trace if type(r).__name__ == "Crashed")
    assert all(r.cause_seq == crash.seq for r in gone)  # "why?" leads back to the crash


def test_a_non_durable_queue_loses_even_persistent_messages() -> None:
    gone = _lost_on_restart(_run(durable=False))
    assert gone and all("not durable" in r.reason for r in gone)


def test_a_persistent_confirm_waits_for_the_disk_write() -> None:
    trace = _run(disk=20, crash_ms=10_000)
    routed = {r.msg: r.at for r in trace if isinstance(r, Routed)}
    acked = {r.msg: r.at for r in trace if isinstance(r, Acked)}
    # publisher → broker 1 ms, disk 20 ms, confirm back 1 ms
    assert all(acked[m] - routed[m] == 21 for m in acked)


def test_a_transient_confirm_does_not_wait_for_the_disk() -> None:
    trace = _run(mode=1, disk=20, crash_ms=10_000)
    routed = {r.msg: r.at for r in trace if isinstance(r, Routed)}
    acked = {r.msg: r.at for r in trace if isinstance(r, Acked)}
    assert all(acked[m] - routed[m] == 1 for m in acked)


def test_a_crash_before_the_disk_write_loses_only_unconfirmed_messages() -> None:
    # One message every 10 ms, routed 1 ms later, on disk 20 ms after that: at 35 ms
    # m1 and m2 are written and confirmed, m3 and m4 are still being written.
    trace = _run(disk=20, crash_ms=35)
    gone = _lost_on_restart(trace)
    assert {r.msg for r in gone} == {3, 4}
    assert all("disk write had not finished" in r.reason for r in gone)
    confirmed_before = {r.msg for r in trace if isinstance(r, Acked) and r.at < 35}
    assert confirmed_before == {1, 2}
    # Never confirmed, so its publisher sent it again after the timeout: nothing lost.
    assert not [r for r in trace if isinstance(r, MessageLost)]


def test_a_quorum_queue_keeps_even_transient_messages() -> None:
    body = BODY.format(mode=1, durable="true", disk=0, crash_ms=80).replace(
        "durable = true", 'queue_type = "quorum"'
    )
    trace = list(Simulation(scenario_from(body)).run())
    assert _lost_on_restart(trace) == []


def test_durability_settings_appear_in_the_header_only_when_a_lesson_asks() -> None:
    header = _run()[0]
    assert isinstance(header, ScenarioStarted)
    assert header.settings["publisher.shop.delivery_mode"] == "2 (persistent)"
    assert header.settings["queue.billing.durable"] == "true"
    plain = scenario_from(PLAIN)
    first = next(iter(Simulation(plain)))
    assert isinstance(first, ScenarioStarted)
    assert not any(k.endswith("delivery_mode") for k in first.settings)


def test_a_quorum_queue_cannot_be_declared_non_durable() -> None:
    body = BODY.format(mode=2, durable="false", disk=0, crash_ms=80).replace(
        "durable = false", 'durable = false\nqueue_type = "quorum"'
    )
    with pytest.raises(InputError, match="always durable"):
        scenario_from(body)


def test_a_delivery_mode_for_an_unknown_producer_is_refused() -> None:
    body = BODY.format(mode=1, durable="true", disk=0, crash_ms=80)
    body = body.replace("shop = 1", "nobody = 1")
    with pytest.raises(InputError, match=r"\$\.rabbitmq\.delivery_mode\.nobody"):
        scenario_from(body)


def test_the_run_reports_the_transient_losses_as_lost() -> None:
    body = BODY.format(mode=1, durable="true", disk=0, crash_ms=80)
    summary = summarize(Simulation(scenario_from(body)))
    assert summary.lost == len(_lost_on_restart(_run(mode=1)))
