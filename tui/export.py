"""Render the simulation screen headless, one SVG per narration beat (for handouts).

The app runs with Textual's test driver (no terminal needed) at a fixed size
with animations off; for each beat the cursor moves to just after the record
that fires it and the screen is saved as ``beat-NN.svg`` — each file written
whole or not at all (``simulator.files.write_atomically``). A folder this
export had to create is removed again if the export fails, so a failed
handout leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from simulator.errors import InputError
from simulator.files import file_kind, write_atomically
from simulator.scenario import Scenario

__all__ = ["check_svg_folder", "svg_at_beats"]


async def _render(
    scenario: Scenario,
    out_dir: Path,
    lang: str,
    size: tuple[int, int],
    protected: tuple[str | Path, ...],
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
            target = out_dir / f"beat-{i:02d}.svg"
            svg = app.export_screenshot()
            write_atomically(
                target, [svg.encode("utf-8")], protected=protected, what="an SVG screenshot"
            )
            written.append(target)
    return written


def check_svg_folder(out_dir: Path) -> None:
    """Refuse a screenshot folder that exists as anything but a folder (a file, a FIFO)."""
    try:
        mode = os.stat(out_dir).st_mode
    except FileNotFoundError:
        return
    except OSError as err:
        raise InputError(str(out_dir), "", err.strerror or "cannot use as a folder") from None
    kind = file_kind(mode)
    if kind != "a directory":
        raise InputError(str(out_dir), "", f"is {kind or 'a file'}, not a folder for screenshots")


def svg_at_beats(
    scenario: Scenario,
    out_dir: Path,
    lang: str = "en",
    size: tuple[int, int] = (120, 40),
    protected: Iterable[str | Path] = (),
) -> list[Path]:
    """Write one SVG of the main screen per beat that fires; returns the files written.

    ``protected`` files (the scenario being played) are never overwritten.
    Raises ``InputError`` for a folder that cannot hold them and ``OSError`` when
    writing fails; a folder created here is removed again then.
    """
    check_svg_folder(out_dir)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        return asyncio.run(_render(scenario, out_dir, lang, size, tuple(protected)))
    except BaseException:
        if created:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
