"""SVG handouts at every beat, and the web server command."""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from cli import app as cli_app

LESSON = Path(__file__).parent / "lesson.toml"


def test_play_svg_at_beats_writes_one_screenshot_per_beat(tmp_path: Path) -> None:
    out = tmp_path / "beats"
    result = CliRunner().invoke(
        cli_app, ["play", str(LESSON), "--quiet", "--svg-at-beats", str(out)]
    )
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["beat-01.svg", "beat-02.svg", "beat-03.svg"]
    crash = (out / "beat-02.svg").read_text(encoding="utf-8")
    assert "<svg" in crash and "crashed" in crash


def test_svg_at_beats_skips_the_prediction_questions(tmp_path: Path) -> None:
    """A lesson that asks predictions still renders every beat, with no dialog over it."""
    from simulator.scenario import Predict, Text, load_scenario
    from tui.export import svg_at_beats

    yes_no = [Text(en="Yes", ko="예"), Text(en="No", ko="아니요")]
    question = Predict(
        question=Text(en="Twice?", ko="두 번?"),
        choices=yes_no,
        answer=1,
        expect="duplicates > 0",
        explanation=Text(en="Replayed.", ko="재생."),
    )
    lesson = msgspec.structs.replace(load_scenario(LESSON), predict=[question])
    files = svg_at_beats(lesson, tmp_path)
    assert len(files) == 3
    assert "Twice?" not in files[-1].read_text(encoding="utf-8")


def test_serve_runs_this_app_through_textual_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("textual_serve", reason="textual-serve is an optional extra (.[serve])")
    started: list[tuple[str, str, int]] = []

    class FakeServer:
        def __init__(self, command: str, host: str, port: int, title: str) -> None:
            started.append((command, host, port))

        def serve(self) -> None:
            pass

    monkeypatch.setattr("textual_serve.server.Server", FakeServer)
    result = CliRunner().invoke(cli_app, ["serve", "--port", "8123", "--presenter"])
    assert result.exit_code == 0, result.output
    command, host, port = started[0]
    assert command.startswith(sys.executable) and command.endswith("-m cli --presenter")
    assert (host, port) == ("localhost", 8123)
