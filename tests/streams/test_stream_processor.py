"""The stream processor inside the log model: outputs, changelog restore, validation."""

from __future__ import annotations

import pytest

from simulator.errors import InputError
from simulator.scenario import Scenario, decode_scenario
from simulator.simulation import Simulation
from simulator.streams.books import stream_metrics
from simulator.trace import (
    Appended,
    LateRecordDropped,
    Processed,
    StateRestored,
    TransactionAborted,
    WindowEmitted,
    WindowUpdated,
)

BASE = """
title = {{ en = "t", ko = "t" }}
summary = {{ en = "s", ko = "s" }}
settle_ms = 1000

[[topics]]
name = "in"

[[topics]]
name = "changelog"
compaction = {compaction}

[[topics]]
name = "results"

[[topics]]
name = "late"

[[producers]]
name = "p"
topic = "in"

[[processors]]
kind = "stream"
name = "count"
size_ms = 2000
changelog_topic = "changelog"
output_topic = "results"
idle_flush_ms = 3000
{processor_extra}

[[groups]]
name = "g"
topic = "in"
processor = "count"
commit = "{commit}"
auto_offset_reset = "earliest"
max_poll_records = 5
processing_ms = 150
session_timeout_ms = 2000
heartbeat_interval_ms = 500

[[workload.generators]]
producer = "p"
count = 60
rate_per_s = 10
keys = 3
key_prefix = "k"
{generator_extra}
{faults}
"""

CRASH = """
[[faults]]
kind = "crash"
target = "g-0"
at = "{point}"
occurrence = {occurrence}
restart_after_ms = 300
"""


def scenario(
    commit: str = "after-process",
    crash: str | None = None,
    occurrence: int = 8,
    processor_extra: str = "",
    generator_extra: str = "",
    compaction: bool = False,
) -> Scenario:
    faults = CRASH.format(point=crash, occurrence=occurrence) if crash else ""
    text = BASE.format(
        commit=commit,
        faults=faults,
        processor_extra=processor_extra,
        generator_extra=generator_extra,
        compaction=str(compaction).lower(),
    )
    return decode_scenario(text.encode(), "test.toml", "test")


def final_results(sim: Simulation) -> dict[tuple[str, int], int]:
    out: dict[tuple[str, int], int] = {}
    for r in sim.trace:
        if isinstance(r, WindowEmitted | WindowUpdated):
            out[(r.key, r.start_ms)] = r.value
    return out


def run(s: Scenario) -> Simulation:
    sim = Simulation(s)
    sim.run()
    return sim


def test_uninterrupted_processor_counts_every_record_once_per_window() -> None:
    sim = run(scenario())
    results = final_results(sim)
    assert sum(results.values()) == 60
    assert sorted({start for _, start in results}) == [0, 2000, 4000]


def test_exactly_once_restore_from_changelog_equals_uninterrupted_state() -> None:
    reference = final_results(run(scenario(commit="transactional")))
    sim = run(scenario(commit="transactional", crash="before_commit_transaction"))
    restored = [r for r in sim.trace if isinstance(r, StateRestored)]
    assert len(restored) == 1 and restored[0].entries > 0
    assert any(isinstance(r, TransactionAborted) for r in sim.trace)
    assert final_results(sim) == reference


def test_restore_from_compacted_changelog_reads_fewer_entries_and_gives_same_state() -> None:
    plain = run(scenario(commit="transactional", crash="before_commit_transaction"))
    compacted = run(
        scenario(commit="transactional", crash="before_commit_transaction", compaction=True)
    )
    assert final_results(compacted) == final_results(plain)


def test_at_least_once_restore_counts_the_replayed_batch_twice() -> None:
    reference = final_results(run(scenario()))
    sim = run(scenario(crash="after_process_before_commit"))
    assert any(isinstance(r, StateRestored) for r in sim.trace)
    assert sum(final_results(sim).values()) > sum(reference.values())


def test_without_changelog_a_crash_loses_the_state() -> None:
    s = scenario(crash="after_process_before_commit")
    procs = [p for p in s.processors]
    import msgspec

    no_log = msgspec.structs.replace(procs[0], changelog_topic=None)
    sim = run(msgspec.structs.replace(s, processors=[no_log]))
    assert not any(isinstance(r, StateRestored) for r in sim.trace)
    assert sum(final_results(sim).values()) < 60


def test_changelog_writes_go_to_the_changelog_topic_inside_the_transaction() -> None:
    sim = run(scenario(commit="transactional"))
    logged = [r for r in sim.trace if isinstance(r, Appended) and r.topic == "changelog"]
    last_processed = max(r.at for r in sim.trace if isinstance(r, Processed))
    assert logged and all(r.txn is not None for r in logged if r.at <= last_processed)
    # only the end-of-input flush, outside any poll, writes without a transaction
    assert all(r.at > last_processed for r in logged if r.txn is None)


def test_late_records_go_to_the_side_output_topic() -> None:
    sim = run(
        scenario(
            processor_extra='late = "side-output"\nlate_topic = "late"',
            generator_extra="late_probability = 0.2\nlate_by_ms = 3000",
        )
    )
    late = [r for r in sim.trace if isinstance(r, LateRecordDropped)]
    assert late and all(r.side_output == "late" for r in late)
    written = [r for r in sim.trace if isinstance(r, Appended) and r.topic == "late"]
    assert len(written) == len(late)
    m = stream_metrics(sim.trace)
    assert m["late_side_output"]["g"] == len(late)
    assert sum(final_results(sim).values()) + len(late) == 60


def test_processing_time_windows_never_have_late_records() -> None:
    sim = run(
        scenario(
            processor_extra='time = "processing"',
            generator_extra="late_probability = 0.5\nlate_by_ms = 5000",
        )
    )
    assert not any(isinstance(r, LateRecordDropped) for r in sim.trace)
    assert sum(final_results(sim).values()) == 60


def test_filter_and_sum_aggregate() -> None:
    sim = run(scenario(processor_extra='filter_contains = "v1"\naggregate = "sum"'))
    # values v0..v59: those containing "v1" are v1, v10..v19 → 1 + (10+...+19) = 146
    assert sum(final_results(sim).values()) == 146


def test_same_seed_same_trace_with_a_processor() -> None:
    s = scenario(commit="transactional", crash="before_commit_transaction")
    assert run(s).trace.digest() == run(s).trace.digest()


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ('late = "side-output"', "$.processors[0].late_topic"),
        ('window = "hopping"\nadvance_ms = 5000', "$.processors[0].advance_ms"),
        ('late_topic = "nope"', "$.processors[0].late_topic"),
    ],
)
def test_bad_processor_settings_are_refused_with_their_path(extra: str, where: str) -> None:
    with pytest.raises(InputError) as err:
        scenario(processor_extra=extra)
    assert err.value.where == where


def test_group_naming_an_unknown_processor_is_refused() -> None:
    text = BASE.format(
        commit="after-process",
        faults="",
        processor_extra="",
        generator_extra="",
        compaction="false",
    ).replace('processor = "count"', 'processor = "counter"')
    with pytest.raises(InputError) as err:
        decode_scenario(text.encode(), "test.toml", "test")
    assert err.value.where == "$.groups[0].processor"


@pytest.mark.parametrize(
    "window", ['window = "tumbling"', 'window = "hopping"\nadvance_ms = 1000', 'window = "session"']
)
def test_exactly_once_takeover_by_another_member_restores_only_the_moved_tasks(
    window: str,
) -> None:
    """Two members, three partitions: each partition is a task with its own stream time."""

    def build(crash: bool) -> Scenario:
        faults = CRASH.format(point="before_commit_transaction", occurrence=6) if crash else ""
        text = BASE.format(
            commit="transactional",
            faults=faults,
            processor_extra=window + ("\ngap_ms = 300" if "session" in window else ""),
            generator_extra="event_time_skew_ms = 200",
            compaction="true",
        )
        text = text.replace('name = "in"\n', 'name = "in"\npartitions = 3\n', 1)
        text = text.replace('processor = "count"\n', 'processor = "count"\nconsumers = 2\n')
        return decode_scenario(text.encode(), "test.toml", "test")

    reference = final_results(run(build(crash=False)))
    sim = run(build(crash=True))
    assert any(isinstance(r, StateRestored) for r in sim.trace)
    assert final_results(sim) == reference
