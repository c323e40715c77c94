"""Every exit code of the command line: 0 ok, 1 an expectation failed, 2 bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from hashlib import sha256
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

runner = CliRunner()

GOOD = """
title = { en = "t", ko = "t" }
summary = { en = "s", ko = "s" }
expect = ["lost == 0", "processed == 5"]
[[topics]]
name = "orders"
[[producers]]
name = "p"
topic = "orders"
[[groups]]
name = "g"
topic = "orders"
auto_offset_reset = "earliest"
[[workload.generators]]
producer = "p"
count = 5
keys = 2
"""


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.toml"
    path.write_text(GOOD, encoding="utf-8")
    return path


def test_play_json_prints_the_contract_object(good: Path) -> None:
    result = runner.invoke(app, ["play", str(good), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in (
        "scenario",
        "seed",
        "virtual_ms",
        "trace_records",
        "trace_digest",
        "produced",
        "delivered",
        "processed",
        "lost",
        "duplicates",
        "out_of_order",
        "retries",
        "dead_lettered",
        "rebalances",
        "events_stored",
        "read_model_digest",
        "expectations",
        "ok",
    ):
        assert key in data, key
    assert data["ok"] is True and data["processed"] == 5
    assert all(set(e) == {"name", "ok", "detail"} for e in data["expectations"])


def test_digest_is_the_sha256_of_the_exported_trace(good: Path, tmp_path: Path) -> None:
    out = tmp_path / "trace.jsonl"
    result = runner.invoke(app, ["play", str(good), "--json", "--export-trace", str(out)])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["trace_digest"] == sha256(out.read_bytes()).hexdigest()


def test_seed_option_changes_the_seed_but_not_determinism(good: Path) -> None:
    a = json.loads(runner.invoke(app, ["play", str(good), "--json", "--seed", "7"]).stdout)
    b = json.loads(runner.invoke(app, ["play", str(good), "--json", "--seed", "7"]).stdout)
    assert a["seed"] == 7 and a["trace_digest"] == b["trace_digest"]


def test_failed_expectation_exits_1(good: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('"processed == 5"', '"processed == 6"'), encoding="utf-8")
    result = runner.invoke(app, ["play", str(bad), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["ok"] is False
    assert runner.invoke(app, ["check", str(bad)]).exit_code == 1


@pytest.mark.parametrize(
    ("mutation", "fragment"),
    [
        (("[[topics]]", "[[topics]\n"), "line"),
        (
            ('name = "orders"\n[[producers]]', 'name = "orders"\npartitions = "3"\n[[producers]]'),
            "$.topics[0].partitions",
        ),
        (('topic = "orders"\n[[groups]]', 'topic = "ordrs"\n[[groups]]'), "$.producers[0].topic"),
        (("count = 5", "count = 5\nspeed = 3"), "$.workload.generators[0]"),
        (('"lost == 0"', '"lots == 0"'), "$.expect[0]"),
        (("count = 5", "count = -5"), "$.workload.generators[0].count"),
    ],
)
def test_bad_scenarios_exit_2_with_one_line_naming_file_and_path(
    tmp_path: Path, mutation: tuple[str, str], fragment: str
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(GOOD.replace(*mutation, 1), encoding="utf-8")
    for args in (["play", str(path)], ["validate", str(path)], ["check", str(path)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, result.stderr
        assert "broken.toml" in lines[0] and fragment in lines[0]
        assert "Traceback" not in result.output


def test_non_utf8_scenario_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(b"title = \xff\xfe")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "binary.toml" in result.stderr


def test_unknown_scenario_name_exits_2() -> None:
    result = runner.invoke(app, ["play", "no-such-lesson"])
    assert result.exit_code == 2
    assert "no-such-lesson" in result.stderr


def test_unknown_language_exits_2(good: Path) -> None:
    assert runner.invoke(app, ["play", str(good), "--lang", "fr"]).exit_code == 2


def test_usage_error_exits_2() -> None:
    assert runner.invoke(app, ["play"]).exit_code == 2
    assert runner.invoke(app, ["no-such-command"]).exit_code == 2


USAGE_ERRORS = [
    (["play", "{good}", "--lang", "xx"], "--lang: unknown language 'xx' (use en or ko)"),
    (["report", "{good}", "--format", "pdf"], "--format: unknown format 'pdf' (use md or html)"),
    (["play"], "missing argument 'scenario'"),
    (["play", "{good}", "--seed", "many"], "--seed: input should be a valid integer"),
    (["compare", "{good}", "--vary", "colour"], "--vary: cannot vary 'colour'"),
    (["play", "{good}", "--no-such-option"], "no such option: --no-such-option"),
    (["no-such-command"], "no such command 'no-such-command'"),
]


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS, ids=[a[0] for a, _ in USAGE_ERRORS])
def test_usage_errors_are_one_line_with_a_help_hint_and_exit_2(
    good: Path, args: list[str], message: str
) -> None:
    argv = [a.format(good=good) for a in args]
    command = "evsim" if argv[0] == "no-such-command" else f"evsim {argv[0]}"
    for exit_code, stdout, stderr in (_in_process(argv), _console_script(argv)):
        assert exit_code == 2, stderr
        assert stdout == ""
        assert stderr.count("\n") == 1 and stderr.endswith("\n"), stderr
        assert stderr.startswith(f"evsim: error: {message}"), stderr
        assert stderr.rstrip().endswith(f"; see '{command} --help'"), stderr
        assert "Usage:" not in stderr and "Traceback" not in stderr and "╭" not in stderr


def _in_process(argv: list[str]) -> tuple[int, str, str]:
    result = runner.invoke(app, argv)
    return result.exit_code, result.stdout, result.stderr


def _console_script(argv: list[str]) -> tuple[int, str, str]:
    out = subprocess.run(
        [sys.executable, "-c", "import cli; cli.main()", *argv],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return out.returncode, out.stdout, out.stderr


def test_a_valid_choice_reaches_the_command_as_its_enum(good: Path) -> None:
    result = runner.invoke(app, ["report", str(good), "--format", "html", "--lang", "ko"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<!DOCTYPE html>") and '<html lang="ko">' in result.stdout


def test_the_choice_enums_match_the_core() -> None:
    from cli import HandoutComparison, Lang, Vary
    from simulator.lessons.compare import VARY
    from simulator.lessons.words import LANGS

    assert tuple(Lang) == LANGS
    assert tuple(Vary) == VARY
    assert tuple(HandoutComparison) == (*VARY, "none")


def test_schema_is_json_schema_of_the_scenario() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "$defs" in schema and "Scenario" in schema["$defs"]


def test_list_names_every_built_in_lesson() -> None:
    from simulator.scenario import builtin_names

    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0
    for name in builtin_names():
        assert name in result.stdout


def test_play_prints_a_timeline_and_outcome(good: Path) -> None:
    result = runner.invoke(app, ["play", str(good)])
    assert result.exit_code == 0
    assert "Processed" in result.stdout and "lost == 0" in result.stdout


def test_console_script_help_runs_in_a_fresh_process() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import cli; cli.main()", "--help"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.returncode == 0 and "play" in out.stdout
