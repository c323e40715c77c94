"""Driving the TUI under Pilot from the reliability suite: open, wait, press, ask why.

``exercise`` opens a scenario or a trace in ``EvsimApp`` (animations off, a
fixed size), waits for the simulation screen to fold its run, opens the "why?"
dialog on findings, the fork and settings dialogs, and presses the keys a
curious student would: the sequence view (stepping it and asking why? from a
row), a few hops with motion on (the chips travel), the timers panel as the
cursor moves, and — for a lesson — a changed setting, re-run, the confirm
dialog on leaving, and discarding the change. Pilot re-raises any exception
the app raised, so a crash fails the calling test.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import TabbedContent

from simulator.scenario import Scenario
from simulator.trace import Record
from tui.app import EvsimApp
from tui.screens.confirm import ConfirmDialog
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
        await _sequence_and_motion(pilot, screen)
        if export:
            await pilot.press("e")
            await pilot.pause()
        if dialogs:
            screen = await _change_and_leave(pilot, screen)
        for key in KEYS:  # last: an escape among them may leave a trace's screen for the picker
            await pilot.press(key)
        await pilot.pause()
    return app


async def _back_to(pilot: Pilot[None], screen: SimulationScreen) -> bool:
    """Close dialogs until ``screen`` is on top; False if it has left the stack."""
    for _ in range(5):
        if pilot.app.screen is screen:
            return True
        if screen not in pilot.app.screen_stack:
            return False
        await pilot.press("escape")
    return pilot.app.screen is screen


async def _sequence_and_motion(pilot: Pilot[None], screen: SimulationScreen) -> None:
    """The sequence diagram (steps, a row's why?), then hops drawn with motion on."""
    app = pilot.app
    tabs = screen.query_one(TabbedContent)
    await pilot.press("home", "v")
    assert tabs.active == "tab-sequence"
    await pilot.press("n", "n", "n", "n", "up", "enter")
    await pilot.pause()
    assert await _back_to(pilot, screen), "escape did not close the why? dialog"
    await pilot.press("end")
    assert await _back_to(pilot, screen), "escape did not close the outcome at the end"
    await pilot.press("up", "up", "v")
    assert tabs.active == "tab-flow"
    app.animation_level = "full"
    await pilot.press("home")
    for key in ("n", "n", "n", "b"):
        await pilot.press(key)
        await pilot.wait_for_animation()
    app.animation_level = "none"


async def _change_and_leave(pilot: Pilot[None], screen: SimulationScreen) -> SimulationScreen:
    """Change the first knob, re-run, try to leave (the confirm dialog), stay, discard."""
    app = pilot.app
    await pilot.press("s", "enter", "a")
    screen = await _ready(pilot)
    if not screen.changes():  # a lesson whose first knob has one value
        return screen
    await pilot.press("escape")
    assert isinstance(app.screen, ConfirmDialog)
    await pilot.press("n")
    await pilot.press("d")
    return await _ready(pilot)


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
