"""W7 is measured in fresh processes and reports the whole process as well as the trace."""

from __future__ import annotations

from bench.memory import measure_in_fresh_process, w7_memory


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
