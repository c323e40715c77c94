"""``evsim live`` and ``evsim broker`` on the command line: one line for every refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from live_broker import SPEED, broker_url_fixture  # noqa: F401
from typer.testing import CliRunner

from cli import app
from tui.runs import load_trace, prepare

runner = CliRunner()


def _one_line_error(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evsim: error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_a_kafka_lesson_is_refused_in_one_line_naming_why() -> None:
    line = _one_line_error(["live", "keyed-ordering"])
    assert "keyed-ordering: cannot run live" in line and "no Kafka broker" in line


def test_a_lesson_whose_faults_a_real_broker_cannot_have_is_refused() -> None:
    assert "network fault" in _one_line_error(["live", "three-brokers"])


def test_no_broker_at_the_address_is_one_line_saying_how_to_start_one() -> None:
    line = _one_line_error(["live", "rabbitmq-prefetch", "--broker", "amqp://127.0.0.1:1"])
    assert "no RabbitMQ on 127.0.0.1:1" in line or "apt-get install rabbitmq-server" in line


def test_a_broker_address_that_is_not_amqp_is_refused() -> None:
    line = _one_line_error(["live", "rabbitmq-prefetch", "--broker", "http://127.0.0.1:5672"])
    assert "is not an amqp:// URL" in line


def test_a_speed_out_of_range_is_refused() -> None:
    assert "--speed" in _one_line_error(["live", "rabbitmq-prefetch", "--speed", "0"])


def test_broker_status_answers_in_one_line() -> None:
    result = runner.invoke(app, ["broker", "status"])
    assert result.exit_code in (0, 1)
    assert "broker" in result.output and "Traceback" not in result.output


def test_an_unknown_broker_action_is_a_usage_error() -> None:
    assert "unknown action 'restart'" in _one_line_error(["broker", "restart"])


@pytest.mark.live
@pytest.mark.xdist_group("live")
def test_live_json_compare_and_a_trace_that_the_viewer_loads(
    broker_url: str, tmp_path: Path
) -> None:
    trace = tmp_path / "live.jsonl"
    args = ["live", "rabbitmq-ttl-and-length-limits", "--broker", broker_url, "--json"]
    args += ["--compare", "--export-trace", str(trace), "--speed", str(SPEED)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["ok"] and out["model"]["ok"]
    assert out["live"]["deterministic"] is False
    assert out["live"]["leftovers"] == []
    assert {d["reason"] for d in out["live"]["dead_letters"]} == {"maxlen", "expired"}
    delivered = {r["aspect"]: r for r in out["compare"] if r["aspect"].endswith("delivered")}
    assert delivered["capped · capped-0 delivered"]["live"] == "m7 m8 m9 m10"
    assert all(r["same"] for r in delivered.values())
    records, warning = load_trace(trace)
    assert warning is None and len(records) == out["trace_records"]
    assert records[0].settings["live.deterministic"].startswith("false")
    run = prepare("live", records, None)
    assert run.index.final.finished == "quiescent"
