"""Mashing keys and resizing down to 40×12 never raises, in the flow and the sequence view."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from simulator.scenario import Scenario
from tui.app import EvsimApp

pytestmark = pytest.mark.slow  # soak, fuzz and kill runs: deselect with -m 'not slow'

KEYS = [
    "space", "n", "right", "b", "left", "shift+right", "shift+left", "left_square_bracket",
    "right_square_bracket", "home", "end", "r", "g", "l", "question_mark", "f", "s", "slash",
    "w", "p", "pagedown", "pageup", "escape", "enter", "up", "down", "tab", "a", "1", "2",
    "full_stop", "comma", "i", "o", "v", "m", "d", "y", "n", "end", "v", "up", "down", "enter",
]  # fmt: skip
SIZES = [(120, 40), (80, 24), (40, 12), (60, 20), (200, 50), (41, 13)]


@pytest.mark.long
async def test_random_keys_and_resizes_never_raise(
    make_app: Callable[..., EvsimApp], lesson: Scenario, wait_ready: Any
) -> None:
    rng = random.Random(2024)
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        for i in range(250):
            if i % 25 == 0:
                await pilot.resize_terminal(*rng.choice(SIZES))
            await pilot.press(rng.choice(KEYS))
            if i % 50 == 0:
                await app.workers.wait_for_complete()
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert app.return_code in (None, 0)


async def test_the_picker_survives_a_tiny_terminal(make_app: Callable[..., EvsimApp]) -> None:
    app = make_app()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.press("down", "up", "l", "slash", "x", "escape", "question_mark", "escape")
        await pilot.resize_terminal(20, 8)
        await pilot.pause()
