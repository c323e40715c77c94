"""Publishing stored events (dual write, outbox), queries with lag, and rebuilds."""

from __future__ import annotations

import pytest
from conftest import scenario_from

from simulator.lessons.summary import summarize
from simulator.models.registry import model, names
from simulator.simulation import Simulation
from simulator.trace import (
    Acked,
    EventPublished,
    EventUnpublished,
    Produced,
    Projected,
    ReadModelMismatched,
    ReadModelQueried,
    ReadModelSwitched,
    RebuildFinished,
    RebuildProgressed,
    RebuildStarted,
)

PUBLISHING = """
settle_ms = 600

[store]
producer = "pub"
relay_interval_ms = 20

[[topics]]
name = "events"

[[producers]]
name = "pub"
topic = "events"
{producer_extra}

[[groups]]
name = "g-naive"
topic = "events"
commit = "after-process"
auto_offset_reset = "earliest"

[[groups]]
name = "g-idem"
topic = "events"
commit = "after-process"
auto_offset_reset = "earliest"

[[handlers]]
name = "h"
decide_ms = 2
publish = "{publish}"

[[projectors]]
name = "naive"
projection = "balances"
source = "group"
group = "g-naive"

[[projectors]]
name = "idem"
projection = "balances"
kind = "idempotent"
source = "group"
group = "g-idem"

[[commands]]
handler = "h"
domain = "bank"
type = "account.open"
fields = {{ account_id = "A", owner = "ana" }}

[[command_generators]]
handler = "h"
domain = "bank"
type = "account.deposit"
count = 4
start_ms = 10
rate_per_s = 100
fields = {{ account_id = "A", amount_cents = "10" }}
{faults}
"""


def _publishing(publish: str, faults: str = "", producer_extra: str = "") -> Simulation:
    toml = PUBLISHING.format(publish=publish, faults=faults, producer_extra=producer_extra)
    sim = Simulation(scenario_from(toml))
    sim.run()
    return sim


def _crash(target: str, point: str, occurrence: int = 2, restart_after_ms: int = 30) -> str:
    return f"""
[[faults]]
kind = "crash"
target = "{target}"
at = "{point}"
occurrence = {occurrence}
restart_after_ms = {restart_after_ms}
"""


def test_dual_write_loses_the_event_when_the_writer_dies_between_append_and_publish() -> None:
    sim = _publishing("dual-write", _crash("h", "after_append_before_publish"))
    (unpublished,) = [r for r in sim.trace if isinstance(r, EventUnpublished)]
    assert unpublished.position == 2
    for name in ("naive", "idem"):
        (finding,) = [
            r for r in sim.trace if isinstance(r, ReadModelMismatched) and r.projector == name
        ]
        assert finding.cause_seq == unpublished.seq and "dual write" in finding.reason


def test_outbox_relay_publishes_at_least_once_so_only_idempotent_views_stay_right() -> None:
    sim = _publishing("outbox", _crash("outbox-relay", "after_publish_before_mark"))
    assert not any(isinstance(r, EventUnpublished) for r in sim.trace)
    again = [r for r in sim.trace if isinstance(r, EventPublished) and r.attempt == 2]
    assert len(again) == 1
    mismatched = {r.projector for r in sim.trace if isinstance(r, ReadModelMismatched)}
    assert mismatched == {"naive"}


def test_without_faults_both_ways_deliver_every_event_once() -> None:
    for publish in ("dual-write", "outbox"):
        sim = _publishing(publish)
        summary = summarize(sim)
        assert summary.produced == 5 and summary.lost == 0 and summary.duplicates == 0
        assert not any(isinstance(r, ReadModelMismatched) for r in sim.trace)


def test_published_events_go_through_the_log_producer_so_broker_faults_apply() -> None:
    faults = """
[[faults]]
kind = "network"
source = "pub"
destination = "broker"
drop_probability = 1.0
from_ms = 0
to_ms = 40
"""
    sim = _publishing("outbox", faults, "request_timeout_ms = 50")
    produced = [r for r in sim.trace if isinstance(r, Produced)]
    assert len(produced) == 5
    assert any(type(r).__name__ == "NetworkDropped" for r in sim.trace)
    assert len({r.msg for r in sim.trace if isinstance(r, Acked)}) == 5  # retried, then acked
    assert not any(isinstance(r, ReadModelMismatched) for r in sim.trace)


QUERIES = """
settle_ms = 300

[store]

[[handlers]]
name = "api"
decide_ms = 5

[[projectors]]
name = "view"
projection = "{projection}"
kind = "atomic"
poll_ms = 100

[[commands]]
handler = "api"
domain = "bank"
type = "account.open"
fields = {{ account_id = "A", owner = "ana" }}

[[commands]]
at_ms = 150
id = "dep"
handler = "api"
domain = "bank"
type = "account.deposit"
fields = {{ account_id = "A", amount_cents = 25 }}

[[commands]]
at_ms = 160
handler = "api"
domain = "bank"
type = "account.withdraw"
fields = {{ account_id = "A", amount_cents = 5 }}
"""


def _queries(extra: str, projection: str = "balances") -> Simulation:
    sim = Simulation(scenario_from(QUERIES.format(projection=projection) + extra))
    sim.run()
    return sim


def test_a_query_right_after_a_command_is_stale_and_waiting_for_its_position_is_not() -> None:
    sim = _queries(
        """
[[queries]]
at_ms = 158
projector = "view"
key = "A"

[[queries]]
at_ms = 158
projector = "view"
key = "A"
after_command = "dep"
"""
    )
    first, second = [r for r in sim.trace if isinstance(r, ReadModelQueried)]
    assert (first.value, first.lag_positions, first.stale, first.waited_ms) == ("0", 1, True, 0)
    assert second.value == "20" and not second.stale and second.waited_ms > 0  # at least its write


def test_the_event_log_answers_as_of_any_time() -> None:
    sim = _queries(
        """
[[queries]]
at_ms = 250
domain = "bank"
stream = "account-A"
key = "A"
as_of_ms = 157
"""
    )
    (answer,) = [r for r in sim.trace if isinstance(r, ReadModelQueried)]
    assert answer.source == "event-log" and answer.value == "25" and answer.as_of_ms == 157


def test_replay_rebuild_shows_progress_and_reaches_the_fold() -> None:
    sim = _queries(
        """
[[rebuilds]]
at_ms = 400
projector = "view"
step_events = 1
step_ms = 10
"""
    )
    kinds = [type(r) for r in sim.trace]
    assert RebuildStarted in kinds and RebuildFinished in kinds
    assert sum(1 for k in kinds if k is RebuildProgressed) == 3
    (done,) = [r for r in sim.trace if isinstance(r, RebuildFinished)]
    assert done.events == 3 and done.took_ms == 30
    assert not any(isinstance(r, ReadModelMismatched) for r in sim.trace)


def test_blue_green_fixes_a_buggy_projection_and_switches_reads() -> None:
    buggy = _queries("", projection="balances-sign-bug")
    (finding,) = [r for r in buggy.trace if isinstance(r, ReadModelMismatched)]
    assert (finding.actual, finding.expected) == ("30", "20")
    assert "projection code" in finding.reason
    fixed = _queries(
        """
[[rebuilds]]
at_ms = 400
projector = "view"
mode = "blue-green"
projection = "balances"

[[queries]]
at_ms = 405
projector = "view"
key = "A"
""",
        projection="balances-sign-bug",
    )
    during = next(r for r in fixed.trace if isinstance(r, ReadModelQueried))
    assert during.value == "30"  # still v1 while v2 is built beside it
    (switched,) = [r for r in fixed.trace if isinstance(r, ReadModelSwitched)]
    assert (switched.from_version, switched.to_version) == (1, 2)
    assert not any(isinstance(r, ReadModelMismatched) for r in fixed.trace)


def test_idempotent_view_flags_the_version_gap_a_lost_publish_leaves() -> None:
    sim = _publishing("dual-write", _crash("h", "after_append_before_publish", 2, 5))
    flagged = [r for r in sim.trace if isinstance(r, Projected) and r.gap_after is not None]
    assert [(r.projector, r.version, r.gap_after) for r in flagged] == [("idem", 3, 1)]


def test_a_rebuild_from_a_read_model_snapshot_replays_only_the_tail() -> None:
    toml = QUERIES.format(projection="balances").replace(
        "poll_ms = 100", "poll_ms = 100\nbatch = 1\nsnapshot_every = 2"
    )
    rebuild = """
[[rebuilds]]
at_ms = 400
projector = "view"
step_events = 1
step_ms = 10
start = "{start}"
"""
    costs = {}
    for start in ("zero", "snapshot"):
        sim = Simulation(scenario_from(toml + rebuild.format(start=start)))
        sim.run()
        (started,) = [r for r in sim.trace if isinstance(r, RebuildStarted)]
        (done,) = [r for r in sim.trace if isinstance(r, RebuildFinished)]
        assert not any(isinstance(r, ReadModelMismatched) for r in sim.trace)
        costs[start] = (started.from_position, done.events)
    assert costs["zero"] == (1, 3)
    assert costs["snapshot"][0] > 1 and costs["snapshot"][1] < 3


def test_a_projector_that_crashes_mid_rebuild_resumes_it_after_the_restart() -> None:
    sim = _queries(
        """
[[rebuilds]]
at_ms = 400
projector = "view"
step_events = 1
step_ms = 10

[[faults]]
kind = "crash"
target = "view"
at_ms = 415
restart_after_ms = 50
"""
    )
    kinds = [type(r).__name__ for r in sim.trace]
    assert kinds.index("Crashed") < kinds.index("RebuildFinished")
    (done,) = [r for r in sim.trace if isinstance(r, RebuildFinished)]
    assert done.events == 3 and done.took_ms > 50
    assert not any(isinstance(r, ReadModelMismatched) for r in sim.trace)


@pytest.mark.parametrize("broker", names())
def test_the_outbox_publishes_through_every_broker_model(broker: str) -> None:
    import msgspec

    from simulator.lessons.summary import summarize
    from simulator.scenario import resolve_scenario
    from simulator.simulation import Simulation

    lesson = resolve_scenario("cqrs-dual-write-vs-outbox")
    summary = summarize(Simulation(msgspec.structs.replace(lesson, broker=broker)))
    assert summary.events_stored == 8
    assert summary.lost == 0
    if model(broker).capabilities.dedup_window_ms:
        # FIFO deduplication (5 minutes, by message id) absorbs the relay's republish.
        assert summary.duplicates == 0
    else:
        assert summary.duplicates >= 1  # the outbox publishes at least once
