"""The stream benchmark runs and reports throughput figures."""

from __future__ import annotations

from bench.streams import bench_streams


def test_bench_streams_reports_records_per_second() -> None:
    result = bench_streams(500)
    assert result["records"] == 500
    assert result["operator_records_per_s"] > 0
    assert result["simulation_records_per_s"] > 0
    assert result["trace_records"] > 500
