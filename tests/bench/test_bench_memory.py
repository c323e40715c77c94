"""W7 is measured in fresh processes and reports the whole process as well as the trace."""

from __future__ import annotations

from bench.memory import (
    measure_in_fresh_process,
    measure_spilled_in_fresh_process,
    w7_memory,
    w7_spilled,
)


def test_memory_figures_come_from_a_run_of_the_w1_workload() -> None:
    figures = measure_in_fresh_process(300)
    assert figures.records > 5 * 300  # five records per message, plus the run's own
    assert figures.heap_bytes > figures.trace_bytes > 0
    assert figures.process_bytes >= 0


def test_w7_rows_name_the_whole_process_and_the_trace_alone_with_their_targets() -> None:
    rows = {row.key: row for row in w7_memory(300)}
    assert set(rows) == {"w7.process", "w7.trace"}
    assert "peak RSS" in rows["w7.process"].workload
    assert "tracemalloc" in rows["w7.trace"].workload
    for row in rows.values():
        assert row.unit == "bytes/record" and row.target == "<= 150 bytes/record"
        assert row.verdict in ("met", "missed")


def test_the_spilled_figures_come_from_the_w1_run_with_its_digest() -> None:
    from bench.broker_flow import w1_simulation

    figures = measure_spilled_in_fresh_process(300)
    assert figures.processed == 300 and figures.records > 5 * 300
    assert figures.digest == w1_simulation(300, 0).run().digest()
    assert figures.file_bytes > 100 * figures.records  # the whole export, a line a record
    assert figures.cpu_seconds > 0 and figures.process_bytes >= 0


def test_w7_spilled_row_holds_the_run_to_fifty_million_records_in_two_gib() -> None:
    (row,) = w7_spilled(300)
    assert row.key == "w7.spilled" and row.unit == "bytes/record"
    assert "spilled to disk" in row.workload
    assert row.target == "<= 42.9 bytes/record"
    assert row.verdict in ("met", "missed")
