"""A counterexample the grader wrote plays in the TUI like any lesson, finding included."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from cli import app as cli_app
from evsim.grade import grade
from simulator.scenario import load_scenario
from tui.app import EvsimApp


async def test_a_counterexample_plays_with_its_finding_marked(
    make_app: Callable[..., EvsimApp], wait_ready: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "ex"
    result = CliRunner().invoke(cli_app, ["exercise", "start", "idempotent-consumer", str(folder)])
    assert result.exit_code == 0, result.output
    g = grade(folder, runs=10, workers=1)
    assert g.counterexample is not None and g.counterexample.file is not None
    scenario = load_scenario(g.counterexample.file)
    app = make_app(scenario=scenario)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        player = screen.player
        assert player is not None
        kinds = [type(r).__name__ for r in player.index.records]
        assert "EffectPerformed" in kinds and "PropertyViolated" in kinds
        assert kinds.index("PropertyViolated") in player.index.findings  # n / N jump to it


async def test_code_that_stops_its_run_is_a_message_on_the_screen_not_a_crash(
    make_app: Callable[..., EvsimApp], tmp_path: Path
) -> None:
    folder = tmp_path / "ex"
    result = CliRunner().invoke(cli_app, ["exercise", "start", "idempotent-consumer", str(folder)])
    assert result.exit_code == 0, result.output
    (folder / "consumer.py").write_text(
        "import time\nfrom evsim import handler\n\n@handler\ndef handle(message, ctx):\n"
        "    ctx.log(f'[bold]{time.time()}')\n",
        encoding="utf-8",
    )
    app = make_app(scenario=load_scenario(folder / "lesson.toml"))
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            await pilot.pause()
            await app.workers.wait_for_complete()
            screen = app.screen
            if getattr(screen, "run_error", None) is not None:
                break
        error = getattr(screen, "run_error", None)
        assert error is not None, "the screen never said why the run stopped"
        assert error.startswith("consumer.py: line 6: your code is not deterministic")
        assert screen.player is None  # type: ignore[attr-defined]
        loading = screen.query_one("#loading")
        assert "This run cannot be shown: consumer.py: line 6" in str(loading.render())
