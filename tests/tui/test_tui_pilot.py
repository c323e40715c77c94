"""Every binding and screen of the TUI, driven with Textual's Pilot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from textual.widgets import OptionList

from simulator.scenario import Scenario
from simulator.simulation import Simulation
from tui.app import EvsimApp
from tui.screens.dialogs import GoToDialog, TextDialog, WhyDialog
from tui.screens.fork import ForkMenu, ForkScreen
from tui.screens.help import HelpScreen
from tui.screens.picker import PickerScreen
from tui.screens.settings import SettingsDialog
from tui.screens.simulation import SPEEDS, SimulationScreen
from tui.widgets.narration import NarrationPanel
from tui.widgets.timeline import TraceLog

Make = Callable[..., EvsimApp]


async def test_picker_lists_filters_and_opens_a_lesson(make_app: Make, wait_ready: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        assert isinstance(app.screen, PickerScreen)
        lessons = app.screen.query_one("#lessons", OptionList)
        assert lessons.option_count == 2
        await pilot.press("slash", *"crash")
        assert lessons.option_count == 1
        await pilot.press("enter", "enter")
        screen = await wait_ready(pilot)
        assert screen.player is not None and screen.player.position == 1


async def test_picker_shows_the_lesson_in_korean(make_app: Make, lesson: Scenario) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("l")
        assert app.lang == "ko"
        preview = str(app.screen.query_one("#preview").render())
        assert lesson.title.ko in preview


async def test_step_and_back(make_app: Make, lesson: Scenario, wait_ready: Any) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.player is not None
        await pilot.press("n", "right", "n")
        assert screen.player.position == 4
        await pilot.press("b", "left")
        assert screen.player.position == 2
        await pilot.press("home")
        assert screen.player.position == 0
        await pilot.press("left")
        assert screen.player.position == 0
        await pilot.press("end")
        assert screen.player.position == screen.player.total
        await pilot.press("n")
        assert screen.player.position == screen.player.total
        await pilot.press("r")
        assert screen.player.position == 0


async def test_space_plays_and_pauses(make_app: Make, lesson: Scenario, wait_ready: Any) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.player is not None
        for _ in range(len(SPEEDS)):
            await pilot.press("right_square_bracket")
        assert SPEEDS[screen.speed_index] == 1000
        await pilot.press(*["left_square_bracket"] * 3)
        assert SPEEDS[screen.speed_index] == 100
        # Play at 1x: a tick covers at most 0.5 s of the wall clock, so however late a
        # busy machine ticks, the player cannot reach the lesson's end (55 s) before
        # the second space; wait until it has moved, not for a time.
        await pilot.press(*["left_square_bracket"] * (SPEEDS.index(100) - SPEEDS.index(1)))
        assert SPEEDS[screen.speed_index] == 1
        await pilot.press("space")
        assert screen.playing
        for _ in range(2000):
            await pilot.pause(0.01)
            if screen.player.position > 1:
                break
        await pilot.press("space")
        assert not screen.playing
        moved = screen.player.position
        assert moved > 1
        await pilot.pause(0.1)
        assert screen.player.position == moved
        for _ in range(len(SPEEDS) + 2):
            await pilot.press("left_square_bracket")
        assert SPEEDS[screen.speed_index] == 0.25


async def test_shift_arrows_jump_between_faults_and_findings(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.player is not None and screen.run is not None
        marks = screen.run.index.marks
        await pilot.press("shift+right")
        assert screen.player.position == marks[0] + 1
        await pilot.press("shift+right")
        assert screen.player.position == marks[1] + 1
        await pilot.press("shift+left")
        assert screen.player.position == marks[0] + 1


async def test_go_to_a_record_and_a_time(make_app: Make, lesson: Scenario, wait_ready: Any) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.player is not None and screen.run is not None
        await pilot.press("g")
        assert isinstance(app.screen, GoToDialog)
        await pilot.press(*"120", "enter")
        assert screen.player.position == 120
        await pilot.press("g", *"2.5s", "enter")
        at = screen.player.state.at_ms
        assert at <= 2500
        assert screen.run.records[screen.player.position].at > 2500
        await pilot.press("g", *"nonsense", "enter")
        assert screen.player.position > 1


async def test_language_switch_redraws_the_narration(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        panel = screen.query_one(NarrationPanel)
        assert panel.beat == 0
        assert lesson.narration[0].text.en in str(panel.render().renderables[1])  # type: ignore[attr-defined]
        await pilot.press("l")
        assert panel.lang == "ko"
        assert lesson.narration[0].text.ko in str(panel.render().renderables[1])  # type: ignore[attr-defined]


async def test_help_lists_every_binding(make_app: Make, lesson: Scenario, wait_ready: Any) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(str(s.render()) for s in app.screen.query("Static"))
        for binding in SimulationScreen.BINDINGS:
            assert binding.tooltip in text  # type: ignore[union-attr]
        await pilot.press("escape")
        assert isinstance(app.screen, SimulationScreen)


async def test_fork_compares_and_adopts_the_branch(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.player is not None and screen.run is not None
        original = screen.run
        await pilot.press("g", *"30", "enter", "f")
        assert isinstance(app.screen, ForkMenu)
        labels = [c[0] for c in app.screen.choices]
        assert any(label.startswith("crash billing-1") for label in labels)
        index = next(i for i, label in enumerate(labels) if label.startswith("crash billing-1 now"))
        app.screen.query_one(OptionList).highlighted = index
        await pilot.press("enter")
        assert isinstance(app.screen, ForkScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        fork = app.screen
        assert isinstance(fork, ForkScreen) and fork.branch is not None
        assert fork.split is not None and 0 < fork.split < len(original.records)
        assert original.records[fork.split - 1].at <= original.records[29].at
        assert fork.outcomes is not None and fork.outcomes[1]["crashes"] == 2
        await pilot.press("enter")
        screen = await wait_ready(pilot)
        assert screen.run is not None and screen.run is not original
        assert screen.run.label.startswith("branch: crash billing-1")
        assert screen.player is not None and screen.player.position == 30


async def test_poison_fork_is_offered_for_the_current_message(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.run is not None
        produced = next(r.seq for r in screen.run.records if type(r).__name__ == "Produced")
        screen.seek(produced + 1)
        await pilot.press("f")
        assert isinstance(app.screen, ForkMenu)
        assert app.screen.choices[0][0].startswith("make m1 poison")
        await pilot.press("escape")
        assert isinstance(app.screen, SimulationScreen)


async def test_settings_rerun_and_keep_the_virtual_time(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        await pilot.press("g", *"50", "enter", "s")
        assert screen.player is not None
        at_ms = screen.player.state.at_ms
        assert isinstance(app.screen, SettingsDialog)
        await pilot.press("enter")  # billing · commit: after-process → transactional
        await pilot.press("a")
        screen = await wait_ready(pilot)
        assert screen.scenario is not None and screen.scenario.groups[0].commit == "transactional"
        # The same moment of the new run (record 50 there is another event altogether).
        player = screen.player
        assert player is not None and player.state.at_ms <= at_ms
        assert player.position == player.total or player.index.records[player.position].at > at_ms
        # The narration says it was written for the lesson's own settings.
        assert screen.changes() == ["changed_settings"]
        await pilot.pause()
        note = screen.query_one(NarrationPanel).note
        assert note is not None and "the lesson's own settings" in note


async def test_filter_narrows_the_trace_log(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.run is not None
        await pilot.press("slash")
        assert isinstance(app.screen, TextDialog)
        await pilot.press(*"kind:Crashed", "enter")
        log = screen.query_one(TraceLog)
        assert log.matching is not None and log.matching
        assert all(type(screen.run.records[s]).__name__ == "Crashed" for s in log.matching)
        await pilot.press("slash", "ctrl+a", "ctrl+k", "enter")
        assert log.matching is None


async def test_why_walks_back_to_the_root_cause(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.run is not None and screen.player is not None
        await pilot.press("w")
        assert isinstance(app.screen, SimulationScreen)  # nothing to explain yet
        await pilot.press("end", "w")
        assert isinstance(app.screen, WhyDialog)
        text = "\n".join(str(label.render()) for label in app.screen.query("Label"))
        assert "root cause" in text
        await pilot.press("end", "enter")
        assert isinstance(app.screen, SimulationScreen)
        assert screen.player.position < screen.player.total


async def test_why_shows_names_from_the_lesson_as_text_not_markup(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    generators = [
        msgspec.structs.replace(g, key_prefix="[/b][red]") for g in lesson.workload.generators
    ]
    workload = msgspec.structs.replace(lesson.workload, generators=generators)
    app = make_app(scenario=msgspec.structs.replace(lesson, workload=workload))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        await pilot.press("end", "w")
        assert isinstance(app.screen, WhyDialog)
        text = "\n".join(str(label.render()) for label in app.screen.query("Label"))
        assert "[/b][red]" in text
        chain = app.screen.query_one("#why-chain", OptionList)
        assert "[/b][red]" in str(chain.get_option_at_index(0).prompt)


async def test_presenter_pauses_at_every_beat(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=lesson, presenter=True)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.has_class("-presenter") and app.theme == "evsim-presenter"
        assert screen.run is not None and screen.player is not None
        stops = [s + 1 for s in screen.run.triggers if s is not None]
        for _ in range(len(SPEEDS)):
            await pilot.press("right_square_bracket")
        await pilot.press("space")
        for _ in range(2000):  # until it stops by itself at the beat (or 20 s: it never did)
            await pilot.pause(0.01)
            if not screen.playing:
                break
        assert screen.player.position == stops[1]
        await pilot.press("pagedown")
        assert screen.player.position == stops[2]
        await pilot.press("pageup", "pageup")
        assert screen.player.position == stops[0]
        await pilot.press("p")
        assert not screen.has_class("-presenter") and app.theme != "evsim-presenter"


async def test_export_svg_writes_a_file(
    make_app: Make, lesson: Scenario, wait_ready: Any, tmp_path: Path
) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        await pilot.press("e")
        files = list(tmp_path.glob("*.svg"))
        assert len(files) == 1 and "<svg" in files[0].read_text(encoding="utf-8")


async def test_escape_goes_back_to_the_picker(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        await pilot.press("escape")
        assert isinstance(app.screen, PickerScreen)


async def test_a_trace_file_plays_without_fork_or_settings(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    records = Simulation(lesson).run().records
    app = make_app(trace=(records, "lesson.jsonl", None))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.player is not None and screen.player.total == len(records)
        await pilot.press("f", "s")
        assert isinstance(app.screen, SimulationScreen)
        await pilot.press("n", "n")
        assert screen.player.position == 3


async def test_open_file_from_the_picker(make_app: Make, wait_ready: Any) -> None:
    app = make_app()
    path = Path(__file__).parent / "lesson.toml"
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("o")
        assert isinstance(app.screen, TextDialog)
        await pilot.press(*str(path), "enter")
        screen = await wait_ready(pilot)
        assert screen.scenario is not None and screen.scenario.name == "lesson"


async def test_clicking_the_scrubber_seeks(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.player is not None
        await pilot.click("#scrubber", offset=(60, 0))
        total = screen.player.total
        assert abs(screen.player.position - total // 2) <= total // 20
