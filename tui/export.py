"""Render the simulation screen headless, one SVG per narration beat (for handouts).

The app runs with Textual's test driver (no terminal needed) at a fixed size
with animations off; for each beat the cursor moves to just after the record
that fires it and the screen is saved as ``beat-NN.svg``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from simulator.scenario import Scenario

__all__ = ["svg_at_beats"]


async def _render(
    scenario: Scenario, out_dir: Path, lang: str, size: tuple[int, int]
) -> list[Path]:
    from tui.app import EvsimApp
    from tui.screens.simulation import SimulationScreen

    # No prediction dialog over the handout's pictures.
    app = EvsimApp(scenario=scenario, lessons=[], lang=lang, export_dir=out_dir, predict=False)
    app.animation_level = "none"
    written: list[Path] = []
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        for _ in range(600):
            await pilot.pause(0.05)
            screen = app.screen
            if (
                isinstance(screen, SimulationScreen)
                and screen.run is not None
                and not screen.loading_run
            ):
                break
        assert isinstance(screen, SimulationScreen) and screen.run is not None
        for i, seq in enumerate(screen.run.triggers, 1):
            if seq is None:
                continue
            screen.seek(seq + 1)
            await pilot.pause()
            name = f"beat-{i:02d}.svg"
            app.save_screenshot(filename=name, path=str(out_dir))
            written.append(out_dir / name)
    return written


def svg_at_beats(
    scenario: Scenario, out_dir: Path, lang: str = "en", size: tuple[int, int] = (120, 40)
) -> list[Path]:
    """Write one SVG of the main screen per beat that fires; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_render(scenario, out_dir, lang, size))
