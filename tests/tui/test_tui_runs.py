"""Trace files are untrusted: every bad line is a one-line error naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app as cli_app
from simulator.errors import InputError
from simulator.scenario import Scenario
from simulator.simulation import Simulation
from tui.runs import load_trace


@pytest.fixture
def trace_file(lesson: Scenario, tmp_path: Path) -> Path:
    path = tmp_path / "run.jsonl"
    sim = Simulation(lesson)
    sim.run()
    path.write_bytes(b"".join(sim.trace.jsonl_chunks()))
    return path


def test_a_whole_trace_loads(trace_file: Path, lesson: Scenario) -> None:
    records, warning = load_trace(trace_file)
    assert warning is None
    assert records == Simulation(lesson).run().records


def test_a_trace_cut_mid_record_plays_up_to_the_last_whole_record(trace_file: Path) -> None:
    data = trace_file.read_bytes()
    whole = data.count(b"\n")
    trace_file.write_bytes(data[: len(data) - 25])
    records, warning = load_trace(trace_file)
    assert len(records) == whole - 1
    assert warning is not None and f"line {whole}" in warning and str(trace_file) in warning


def test_a_corrupt_line_names_the_file_and_line(trace_file: Path) -> None:
    lines = trace_file.read_bytes().split(b"\n")
    lines[4] = b'{"kind":"Produced","seq":4}'
    trace_file.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError) as err:
        load_trace(trace_file)
    assert err.value.file == str(trace_file) and err.value.where == "line 5"


def test_binary_garbage_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.jsonl"
    path.write_bytes(b"\xff\xfe\x00garbage\n\x00\n")
    with pytest.raises(InputError) as err:
        load_trace(path)
    assert err.value.where == "line 1"


@pytest.mark.parametrize(
    ("content", "where"),
    [(b"", "no trace records"), (b"\n\n", "line 1"), (b"[1,2]\n", "line 1")],
)
def test_cli_view_rejects_bad_files_with_exit_2(tmp_path: Path, content: bytes, where: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    result = CliRunner().invoke(cli_app, ["view", str(path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and where in lines[0]


def test_cli_view_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["view", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_cli_view_opens_the_app_on_a_good_trace(
    trace_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[object] = []
    monkeypatch.setattr("tui.app.EvsimApp.run", lambda self: opened.append(self._start_trace))
    result = CliRunner().invoke(cli_app, ["view", str(trace_file)])
    assert result.exit_code == 0, result.output
    assert len(opened) == 1


def test_cli_without_a_command_opens_the_picker(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, object]] = []
    monkeypatch.setattr("tui.app.run_app", lambda **kw: calls.append(kw))
    assert CliRunner().invoke(cli_app, []).exit_code == 0
    assert CliRunner().invoke(cli_app, ["--presenter"]).exit_code == 0
    assert CliRunner().invoke(cli_app, ["--no-animation"]).exit_code == 0
    assert calls == [
        {"presenter": False, "motion": True},
        {"presenter": True, "motion": True},
        {"presenter": False, "motion": False},
    ]
