"""SVG snapshots of the main screens at a fixed size, animations off.

Update after an intended change with ``pytest tests/tui --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import OptionList

from simulator.scenario import Scenario
from tui.app import EvsimApp
from tui.screens.fork import ForkMenu

SIZE = (120, 40)


class TestPicker:
    def test_picker(self, snap_compare: Any, make_app: Callable[..., EvsimApp]) -> None:
        assert snap_compare(make_app(), terminal_size=SIZE)

    def test_picker_narrow(self, snap_compare: Any, make_app: Callable[..., EvsimApp]) -> None:
        assert snap_compare(make_app(lang="ko"), terminal_size=(80, 24))


class TestSimulation:
    @staticmethod
    def mid_lesson(wait_ready: Any) -> Callable[[Pilot[None]], Any]:
        async def run_before(pilot: Pilot[None]) -> None:
            screen = await wait_ready(pilot)
            crash = screen.run.triggers[1]
            screen.seek(crash + 12)
            await pilot.pause()

        return run_before

    def test_main_screen_en(
        self,
        snap_compare: Any,
        make_app: Callable[..., EvsimApp],
        lesson: Scenario,
        wait_ready: Any,
    ) -> None:
        app = make_app(scenario=lesson)
        assert snap_compare(app, terminal_size=SIZE, run_before=self.mid_lesson(wait_ready))

    def test_main_screen_ko(
        self,
        snap_compare: Any,
        make_app: Callable[..., EvsimApp],
        lesson: Scenario,
        wait_ready: Any,
    ) -> None:
        app = make_app(scenario=lesson, lang="ko")
        assert snap_compare(app, terminal_size=SIZE, run_before=self.mid_lesson(wait_ready))

    def test_main_screen_80x24(
        self,
        snap_compare: Any,
        make_app: Callable[..., EvsimApp],
        lesson: Scenario,
        wait_ready: Any,
    ) -> None:
        app = make_app(scenario=lesson)
        assert snap_compare(app, terminal_size=(80, 24), run_before=self.mid_lesson(wait_ready))


class TestFork:
    def test_fork_comparison(
        self,
        snap_compare: Any,
        make_app: Callable[..., EvsimApp],
        lesson: Scenario,
        wait_ready: Any,
    ) -> None:
        async def run_before(pilot: Pilot[None]) -> None:
            app = pilot.app
            await wait_ready(pilot)
            await pilot.press("g", *"30", "enter", "f")
            menu = app.screen
            assert isinstance(menu, ForkMenu)
            labels = [label for label, _ in menu.choices]
            menu.query_one(OptionList).highlighted = labels.index(
                "crash billing-1 now (stays down)"
            )
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()

        assert snap_compare(make_app(scenario=lesson), terminal_size=SIZE, run_before=run_before)


class TestEventStore:
    def test_store_mid_rebuild(
        self,
        snap_compare: Any,
        make_app: Callable[..., EvsimApp],
        wait_ready: Any,
        cqrs_trace: list[Any],
    ) -> None:
        async def run_before(pilot: Pilot[None]) -> None:
            screen = await wait_ready(pilot)
            screen.seek(8)
            await pilot.pause()

        app = make_app(trace=(cqrs_trace, "bank.jsonl", None))
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


class TestStage:
    """The sequence diagram and a frame of motion: a chip halfway along its hop."""

    @staticmethod
    def sequence_at_the_crash(wait_ready: Any) -> Callable[[Pilot[None]], Any]:
        async def run_before(pilot: Pilot[None]) -> None:
            screen = await wait_ready(pilot)
            crash = screen.run.triggers[1]
            screen.seek(crash + 12)
            await pilot.press("v")
            await pilot.pause()

        return run_before

    def test_sequence_view(
        self,
        snap_compare: Any,
        make_app: Callable[..., EvsimApp],
        lesson: Scenario,
        wait_ready: Any,
    ) -> None:
        app = make_app(scenario=lesson)
        assert snap_compare(
            app, terminal_size=SIZE, run_before=self.sequence_at_the_crash(wait_ready)
        )

    def test_sequence_view_80x24(
        self,
        snap_compare: Any,
        make_app: Callable[..., EvsimApp],
        lesson: Scenario,
        wait_ready: Any,
    ) -> None:
        app = make_app(scenario=lesson)
        assert snap_compare(
            app, terminal_size=(80, 24), run_before=self.sequence_at_the_crash(wait_ready)
        )

    def test_a_moving_frame(
        self,
        snap_compare: Any,
        make_app: Callable[..., EvsimApp],
        lesson: Scenario,
        wait_ready: Any,
    ) -> None:
        from simulator.trace import Delivered
        from tui.widgets.flow import FlowView

        async def run_before(pilot: Pilot[None]) -> None:
            app = pilot.app
            screen = await wait_ready(pilot)
            records = screen.run.records
            target = next(i for i, r in enumerate(records) if isinstance(r, Delivered) and i > 60)
            screen.seek(target)
            await pilot.pause()
            app.animation_level = "full"
            await pilot.press("n")
            flow = screen.query_one(FlowView)
            # Hold the chip halfway (the animator stopped where it is, not at its end).
            await app.animator.stop_animation(flow, "progress", complete=False)
            app.animation_level = "none"
            flow.progress = 0.5
            await pilot.pause()

        assert snap_compare(make_app(scenario=lesson), terminal_size=SIZE, run_before=run_before)


class TestCluster:
    """A RabbitMQ cluster's panel: rabbit-2 is down, the quorum queue has a new leader."""

    def test_cluster_after_a_failover(
        self, snap_compare: Any, make_app: Callable[..., EvsimApp], wait_ready: Any
    ) -> None:
        import msgspec

        from simulator.scenario import builtin_path, load_scenario
        from simulator.simulation import Simulation
        from simulator.trace import QueueAvailable

        # without its question, so the screen opens on the timeline (the trace is the same)
        lesson = msgspec.structs.replace(
            load_scenario(builtin_path("rabbitmq-quorum-node-crash")), predict=[]
        )
        records = Simulation(lesson).run().records
        elected = next(
            i
            for i, r in enumerate(records)
            if isinstance(r, QueueAvailable) and r.group == "orders-quorum" and r.at > 0
        )

        async def run_before(pilot: Pilot[None]) -> None:
            screen = await wait_ready(pilot)
            screen.seek(elected + 1)
            await pilot.pause()

        assert snap_compare(make_app(scenario=lesson), terminal_size=SIZE, run_before=run_before)
