"""Back-pressure: the memory alarm blocks publishers; a full queue refuses them.

RabbitMQ's memory alarm (the "Memory and Disk Alarms" guide): above the high
watermark, publishing connections are blocked — the broker stops reading them
and sends ``connection.blocked`` — while consuming connections go on; when
memory falls below it again, ``connection.unblocked``. Nothing is refused or
lost. A queue's ``x-overflow = reject-publish`` is the other answer to a full
broker: each publish over the limit is refused with a ``basic.nack``.
"""

from __future__ import annotations

from conftest import scenario_from

from simulator.lessons.summary import summarize
from simulator.simulation import Simulation
from simulator.trace import (
    Acked,
    Delivered,
    Produced,
    ProduceFailed,
    PublisherBlocked,
    PublisherUnblocked,
    Record,
    Routed,
)

BODY = """
broker = "rabbitmq"
settle_ms = 2000
[rabbitmq]
memory_high_watermark_messages = 20
[[topics]]
name = "clicks"
[[producers]]
name = "tracker"
topic = "clicks"
[[groups]]
name = "analytics"
topic = "clicks"
commit = "after-process"
processing_ms = 40
[groups.rabbitmq]
prefetch = 5
[[workload.generators]]
producer = "tracker"
count = 300
rate_per_s = 100
"""


def _run(body: str = BODY) -> tuple[Simulation, list[Record]]:
    sim = Simulation(scenario_from(body))
    return sim, list(sim.run())


def test_the_memory_alarm_blocks_the_publisher_and_unblocks_it_when_memory_falls() -> None:
    _, trace = _run()
    blocked = [r for r in trace if isinstance(r, PublisherBlocked)]
    unblocked = [r for r in trace if isinstance(r, PublisherUnblocked)]
    assert blocked and len(unblocked) == len(blocked)
    assert "high watermark 20" in blocked[0].reason
    assert all(u.at > b.at for b, u in zip(blocked, unblocked, strict=True))
    # the memory monitor looks once a second: the alarm clears on a tick (plus one hop) ...
    assert all(r.at % 1000 == 1 for r in unblocked)
    # ... but a connection is blocked by its first publish into the alarm: the publish
    # sent on the tick reaches the broker one hop later, the answer one hop after that
    assert all(r.at % 1000 == 2 for r in blocked)
    produced = {r.seq: r for r in trace if isinstance(r, Produced)}
    assert all(produced[b.cause_seq].at == b.at - 2 for b in blocked if b.cause_seq)
    assert all(b.cause_seq in produced for b in blocked)


def test_a_connection_that_publishes_nothing_during_the_alarm_is_never_blocked() -> None:
    # RabbitMQ 3.10.8: an idle connection hears neither connection.blocked nor unblocked
    body = BODY.replace(
        "[[groups]]",
        '[[producers]]\nname = "early"\ntopic = "clicks"\n[[groups]]',
        1,
    ).replace(
        "[[workload.generators]]",
        '[[workload.messages]]\nproducer = "early"\nat_ms = 0\nvalue = "once"\n'
        "[[workload.generators]]",
    )
    _, trace = _run(body)
    told = {r.producer for r in trace if isinstance(r, PublisherBlocked | PublisherUnblocked)}
    assert told == {"tracker"}


def test_a_blocked_publisher_holds_its_sends_and_nothing_is_lost_or_refused() -> None:
    sim, trace = _run()
    blocked, unblocked = (
        next(r for r in trace if isinstance(r, PublisherBlocked)),
        next(r for r in trace if isinstance(r, PublisherUnblocked)),
    )
    produced_while = {r.msg for r in trace if isinstance(r, Produced) and blocked.at < r.at}
    produced_while &= {r.msg for r in trace if isinstance(r, Produced) and r.at < unblocked.at}
    routed_while = [
        r
        for r in trace
        if isinstance(r, Routed) and r.msg in produced_while and r.at < unblocked.at
    ]
    assert produced_while and routed_while == []  # held at the publisher, not sent
    assert unblocked.held == len(produced_while)
    summary = summarize(sim)
    assert summary.lost == 0 and summary.acked == summary.produced == 300
    assert not [r for r in trace if isinstance(r, ProduceFailed)]


def test_consumers_are_not_blocked() -> None:
    _, trace = _run()
    blocked = next(r for r in trace if isinstance(r, PublisherBlocked))
    unblocked = next(r for r in trace if isinstance(r, PublisherUnblocked))
    assert [r for r in trace if isinstance(r, Delivered) and blocked.at < r.at < unblocked.at]


def test_a_full_queue_with_reject_publish_refuses_instead() -> None:
    body = BODY.replace("memory_high_watermark_messages = 20", "").replace(
        "prefetch = 5", 'prefetch = 5\nmax_length = 20\noverflow = "reject-publish"'
    )
    _sim, trace = _run(body)
    assert not [r for r in trace if isinstance(r, PublisherBlocked)]
    refused = [r for r in trace if isinstance(r, ProduceFailed)]
    assert refused and all("reject-publish" in r.reason for r in refused)
    acked = {r.msg for r in trace if isinstance(r, Acked)}
    assert len(acked) + len(refused) == 300


def test_no_alarm_without_a_watermark() -> None:
    body = BODY.replace("memory_high_watermark_messages = 20", "")
    _, trace = _run(body)
    assert not [r for r in trace if isinstance(r, PublisherBlocked | PublisherUnblocked)]
