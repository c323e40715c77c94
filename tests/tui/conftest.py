"""Shared fixtures for the TUI tests: a small fixed lesson and app factories.

The lesson lives next to the tests (not in ``scenarios/``) so snapshots do not
change when lessons are added or edited. Animations are off in every app.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from simulator.scenario import Scenario, load_scenario
from simulator.trace import (
    CheckpointSaved,
    EventStored,
    Projected,
    ReadModelSwitched,
    RebuildFinished,
    RebuildProgressed,
    RebuildStarted,
    Record,
    RunFinished,
    ScenarioStarted,
)
from tui.app import EvsimApp
from tui.screens.picker import Lesson
from tui.screens.simulation import SimulationScreen

HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests here with asyncio (no async plugin needed for Pilot)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


@pytest.fixture(scope="session")
def lesson() -> Scenario:
    return load_scenario(HERE / "lesson.toml")


@pytest.fixture
def lessons(lesson: Scenario) -> list[Lesson]:
    return [
        Lesson("crash-replay", lesson),
        Lesson("broken", None, "broken.toml: $.topics[0].partitions: Expected `int`, got `str`"),
    ]


@pytest.fixture
def make_app(lessons: list[Lesson], tmp_path: Path) -> Callable[..., EvsimApp]:
    def make(**kwargs: object) -> EvsimApp:
        kwargs.setdefault("lessons", lessons)
        kwargs.setdefault("export_dir", tmp_path)
        app = EvsimApp(**kwargs)  # type: ignore[arg-type]
        app.animation_level = "none"
        return app

    return make


async def _wait_ready(pilot: Pilot[None]) -> SimulationScreen:
    """Wait until the simulation screen has folded its run."""
    app = pilot.app
    for _ in range(400):
        await pilot.pause()
        screen = app.screen
        if isinstance(screen, SimulationScreen) and not screen.loading_run:
            await app.workers.wait_for_complete()
            await pilot.pause()
            return screen
        await app.workers.wait_for_complete()
    raise AssertionError(f"simulation screen never became ready (on {app.screen!r})")


@pytest.fixture
def wait_ready() -> Callable[[Pilot[None]], object]:
    """``await wait_ready(pilot)``: the simulation screen, once its run is folded."""
    return _wait_ready


@pytest.fixture(scope="session")
def cqrs_trace() -> list[Record]:
    """A hand-built event-store trace: three events, a projector, a blue/green rebuild."""
    rows: list[dict[str, Any]] = [
        {"kind": ScenarioStarted, "component": "sim", "scenario": "bank", "title": "Bank",
         "seed": 1, "broker": "log", "follows": "", "settings": {}},
    ]  # fmt: skip
    for position, (stream, version) in enumerate([("A1", 1), ("B2", 1), ("A1", 2)], 1):
        rows.append(
            {"kind": EventStored, "component": "teller", "handler": "teller", "command": "c",
             "stream": stream, "version": version, "position": position,
             "type": "account.deposited", "visible_at_ms": 0}
        )  # fmt: skip
    rows += [
        {"kind": Projected, "component": "balances", "projector": "balances", "position": 1,
         "stream": "A1", "version": 1, "type": "account.deposited", "row": "A1", "value": "10"},
        {"kind": CheckpointSaved, "component": "balances", "projector": "balances",
         "position": 2, "atomic": True},
        {"kind": RebuildStarted, "component": "balances", "projector": "balances",
         "mode": "blue-green", "version": 2, "projection": "balances", "head": 3},
        {"kind": RebuildProgressed, "component": "balances", "projector": "balances",
         "version": 2, "position": 2, "head": 3},
        {"kind": RebuildFinished, "component": "balances", "projector": "balances",
         "version": 2, "events": 3, "took_ms": 30},
        {"kind": ReadModelSwitched, "component": "balances", "projector": "balances",
         "from_version": 1, "to_version": 2},
        {"kind": RunFinished, "component": "sim", "reason": "quiescent"},
    ]  # fmt: skip
    return [
        row.pop("kind")(seq=seq, at=seq * 10, **row)
        for seq, row in enumerate(rows)  # type: ignore[misc]
    ]
