"""Driving the TUI under Pilot from the reliability suite: open, wait, press, ask why.

``exercise`` opens a scenario or a trace in ``EvsimApp`` (animations off, a
fixed size), waits for the simulation screen to fold its run, opens the "why?"
dialog on findings, the fork and settings dialogs, and presses the keys a
curious student would. Pilot re-raises any exception the app raised, so a
crash fails the calling test.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.pilot import Pilot

from simulator.scenario import Scenario
from simulator.trace import Record
from tui.app import EvsimApp
from tui.screens.picker import Lesson
from tui.screens.simulation import SimulationScreen

KEYS = (
    "end", "w", "down", "enter", "home", "shift+right", "w", "escape", "pagedown",
    "slash", "x", "enter", "l", "question_mark", "escape", "g", "5", "enter", "left",
    "right", "o", "escape", "l",
)  # fmt: skip


async def _ready(pilot: Pilot[None]) -> SimulationScreen:
    app = pilot.app
    for _ in range(600):
        await pilot.pause()
        for screen in app.screen_stack:
            if isinstance(screen, SimulationScreen) and not screen.loading_run:
                await app.workers.wait_for_complete()
                await pilot.pause()
                return screen
        await app.workers.wait_for_complete()
    raise AssertionError(f"the simulation screen never became ready (on {app.screen!r})")


async def _exercise(
    app: EvsimApp, why: int, dialogs: bool, lessons: bool, export: bool
) -> EvsimApp:
    async with app.run_test(size=(120, 40)) as pilot:
        if lessons:  # the picker first: titles and names in the list and the preview
            await pilot.pause()
            await pilot.press("down", "up")
        screen = await _ready(pilot)
        if app.screen is not screen:  # a prediction dialog: skip it
            await pilot.press("escape")
        assert screen.run is not None
        for seq in list(screen.run.index.findings)[:why]:
            screen._why(seq)
            await pilot.pause()
            await pilot.press("down", "down", "enter")
            await pilot.pause()
            if app.screen is not screen:
                await pilot.press("escape")
        if dialogs:
            for key in ("f", "s"):
                await pilot.press(key)
                await pilot.pause()
                await pilot.press("down", "escape")
        for key in KEYS:
            await pilot.press(key)
        if export:
            await pilot.press("e")
        await pilot.pause()
    return app


def exercise(
    *,
    scenario: Scenario | None = None,
    records: list[Record] | None = None,
    label: str = "trace.jsonl",
    why: int = 5,
    export_dir: Path | None = None,
) -> EvsimApp:
    """Open ``scenario`` (through the picker) or ``records`` and exercise the TUI."""
    if scenario is not None:
        app = EvsimApp(
            lessons=[Lesson(scenario.name or "lesson", scenario)],
            scenario=scenario,
            export_dir=export_dir,
        )
    else:
        assert records is not None
        app = EvsimApp(lessons=[], trace=(records, label, None), export_dir=export_dir)
    app.animation_level = "none"
    dialogs = scenario is not None
    return asyncio.run(_exercise(app, why, dialogs, scenario is not None, export_dir is not None))
