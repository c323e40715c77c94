"""`evsim bench` end to end at a thousandth of the size: every row's shape, and the CLI's output."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

import bench.run
from bench.rows import BenchRow, SameWorkError, at_least, bench_row
from bench.run import run_all
from cli import app

needs_anchors = pytest.mark.skipif(
    importlib.util.find_spec("simpy") is None or importlib.util.find_spec("eventsourcing") is None,
    reason="the anchors are an optional extra (pip install .[bench])",
)


@pytest.mark.long
@needs_anchors
def test_a_tiny_run_gives_every_row_a_target_a_verdict_and_its_same_work_count() -> None:
    rows = list(run_all(divide_by=1000))
    keys = [row.key for row in rows]
    assert len(keys) == len(set(keys))
    assert {
        "w1.processing_1ms",
        "w1.processing_0ms",
        "w1.scaling",
        "w7.process",
        "w7.trace",
        "w7.spilled",
        "queues.rabbitmq",
        "w2.append.memory",
        "w2.append.sqlite",
        "w3.rehydrate.sqlite",
        "w4.projection.sqlite",
        "exploration.workers_2",
    } <= set(keys)
    for row in rows:
        assert row.verdict in ("met", "missed", "no target")
        assert (row.target == "none") == (not row.targets)
        if row.anchor is not None:
            assert row.same_work is not None, row.key
            assert row.same_work.ours == row.same_work.anchor == row.same_work.expected
            assert row.ratio == round(row.ours / row.anchor, 1)
    projection = next(row for row in rows if row.key == "w4.projection.sqlite")
    assert projection.same_work is not None and projection.same_work.totals_agree is True


def _canned_rows(quick: bool = False, views: object = None, **_: object) -> Iterator[BenchRow]:
    yield bench_row(
        key="w1.processing_1ms",
        workload="W1 broker flow",
        unit="deliveries/s",
        ours=138_047.0,
        anchor=137_947.0,
        anchor_name="SimPy",
        targets=(at_least(1.5, "ratio"),),
    )


def test_bench_json_prints_each_row_with_ratio_target_and_verdict(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bench.run, "run_all", _canned_rows)
    out = CliRunner().invoke(app, ["bench", "--json"])
    assert out.exit_code == 0, out.output
    (row,) = json.loads(out.stdout)
    assert (row["ratio"], row["target"], row["verdict"]) == (1.0, ">= 1.5x SimPy", "missed")


def test_bench_table_shows_the_verdict_column(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench.run, "run_all", _canned_rows)
    out = CliRunner().invoke(app, ["bench", "--quick"])
    assert out.exit_code == 0, out.output
    assert "verdict" in out.stdout and "missed" in out.stdout and "1.0x" in out.stdout


def test_an_anchor_that_did_other_work_fails_the_bench_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def lossy(quick: bool = False, views: object = None, **_: object) -> Iterator[BenchRow]:
        yield from _canned_rows()
        raise SameWorkError("W1: expected 200,000 messages delivered, counted anchor 106,600")

    monkeypatch.setattr(bench.run, "run_all", lossy)
    out = CliRunner().invoke(app, ["bench", "--json"])
    assert out.exit_code == 1
    assert out.stderr.strip() == (
        "evsim: bench: W1: expected 200,000 messages delivered, counted anchor 106,600"
    )
