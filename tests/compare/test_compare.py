"""``evsim compare``: one workload through every broker, or under every delivery semantics."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import scenario_from
from typer.testing import CliRunner

from bench.queues import run_benchmark
from cli import app
from simulator.lessons.compare import compare, max_latency_ms, plan_variants
from simulator.models.registry import models, names
from simulator.trace import Processed, Produced

ROOT = Path(__file__).resolve().parents[2]

WORKLOAD = """
[sqs]
duplicate_probability = 0.0
reorder_probability = 0.0
[[topics]]
name = "orders"
partitions = 2
[[producers]]
name = "shop"
topic = "orders"
[[groups]]
name = "billing"
topic = "orders"
consumers = 2
commit = "after-process"
auto_offset_reset = "earliest"
processing_ms = 15
[[workload.generators]]
producer = "shop"
count = 30
keys = 3
[[faults]]
kind = "crash"
target = "billing-0"
at = "after_process_before_commit"
restart_after_ms = 100
[[faults]]
kind = "crash"
target = "billing-1"
at_ms = 102
restart_after_ms = 100
"""


def test_vary_broker_runs_the_same_workload_on_every_model() -> None:
    variants = compare(scenario_from(WORKLOAD), "broker")
    assert [v.label for v in variants] == names()
    assert [v.baseline for v in variants] == [name == "log" for name in names()]
    for v in variants:
        assert v.summary is not None and v.summary.broker == v.label
        assert v.summary.produced == 30 and v.summary.lost == 0
        assert v.summary.duplicates >= 1  # the crash before the ack/commit/delete
        assert v.max_latency_ms is not None and v.max_latency_ms > 0


def test_vary_semantics_says_where_exactly_once_is_unsupported() -> None:
    for broker in [m.name for m in models() if not m.capabilities.transactions]:
        scenario = scenario_from(f'broker = "{broker}"\n' + WORKLOAD)
        variants = compare(scenario, "semantics")
        labels = [v.label for v in variants]
        assert labels == ["at-most-once", "at-least-once", "exactly-once"]
        exactly = variants[2]
        assert exactly.summary is None and exactly.note.startswith("unsupported")
        at_most, at_least = variants[0].summary, variants[1].summary
        assert at_most is not None and at_least is not None
        assert at_most.lost >= 1 and at_most.duplicates == 0
        assert at_least.lost == 0 and at_least.duplicates >= 1


def test_exactly_once_runs_on_the_log_with_transactions() -> None:
    plans = plan_variants(scenario_from(WORKLOAD), "semantics")
    exactly = plans[2][2]
    assert exactly is not None
    assert {g.commit for g in exactly.groups} == {"transactional"}


def test_bad_vary_value_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="cannot vary"):
        plan_variants(scenario_from(WORKLOAD), "colour")


def test_max_latency_is_from_produced_to_first_processed() -> None:
    def produced(seq: int, at: int, msg: int) -> Produced:
        return Produced(
            seq=seq, at=at, component="p", producer="p", msg=msg, key=None, key_seq=0, topic="t"
        )

    def processed(seq: int, at: int, msg: int) -> Processed:
        return Processed(
            seq=seq,
            at=at,
            component="c",
            group="g",
            consumer="c",
            msg=msg,
            key=None,
            key_seq=0,
            topic="t",
            partition=None,
            offset=None,
        )

    records = [
        produced(0, 0, 1),
        produced(1, 5, 2),
        processed(2, 7, 2),
        processed(3, 9, 1),
        processed(4, 500, 1),
    ]
    assert max_latency_ms(records) == 9  # the duplicate at 500 ms does not count


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "workload.toml"
    path.write_text('title = { en = "t", ko = "t" }\nsummary = { en = "s", ko = "s" }\n' + WORKLOAD)
    return path


def test_cli_compare_prints_one_table_and_exits_zero(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["compare", str(_write(tmp_path)), "--vary", "broker"])
    assert result.exit_code == 0, result.output
    for label in ("log *", *names()[1:], "max latency ms"):
        assert label in result.output


def test_cli_compare_json_is_a_list_of_contract_objects(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["compare", str(_write(tmp_path)), "--vary", "semantics", "--json"]
    )
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert [d["variant"] for d in data] == ["at-most-once", "at-least-once", "exactly-once"]
    for d in data:
        for key in ("scenario", "seed", "trace_digest", "produced", "lost", "duplicates", "ok"):
            assert key in d


def test_cli_compare_bad_vary_is_one_line_and_exit_2(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import cli; cli.main()",
            "compare",
            str(_write(tmp_path)),
            "--vary",
            "colour",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "--vary" in out.stderr
    assert "Traceback" not in out.stderr


def test_benchmark_reports_deliveries_per_second_for_each_queue_model() -> None:
    results = run_benchmark(messages=300)
    assert set(results) == set(names())
    assert all(rate > 0 for rate in results.values())


def test_broker_crash_after_storing_before_answering_duplicates_except_in_fifo() -> None:
    body = """
[sqs]
duplicate_probability = 0.0
reorder_probability = 0.0
[[topics]]
name = "orders"
[[producers]]
name = "shop"
topic = "orders"
request_timeout_ms = 500
[[groups]]
name = "billing"
topic = "orders"
[[workload.messages]]
producer = "shop"
key = "a"
[[faults]]
kind = "crash"
target = "broker"
at = "after_append_before_ack"
restart_after_ms = 100
"""
    results = {v.label: v.summary for v in compare(scenario_from(body), "broker")}
    for broker, duplicates in (("rabbitmq", 1), ("sqs", 1), ("sqs-fifo", 0)):
        summary = results[broker]
        assert summary is not None and summary.lost == 0
        assert summary.duplicates == duplicates, broker
