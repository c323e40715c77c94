"""Chips travel between stages: hops, the flight path, and a stepped hop landing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.scenario import Scenario
from simulator.simulation import Simulation
from simulator.trace import Appended, Delivered, DuplicateDetected, Enqueued, Produced
from tui.app import EvsimApp
from tui.stage import STORE, hop
from tui.views import view_for, view_problem
from tui.views.picture import Anchor
from tui.widgets.flow import Flight, FlowView, flight_position

Make = Callable[..., EvsimApp]


def test_a_record_is_a_hop_from_where_it_leaves_to_where_it_lands(lesson: Scenario) -> None:
    records = Simulation(lesson).run().records
    appended = next(r for r in records if isinstance(r, Appended))
    h = hop(appended)
    assert (h.src, h.dst, h.chip) == (
        "checkout",
        f"orders/{appended.partition}",
        f"m{appended.msg}",
    )
    delivered = next(r for r in records if isinstance(r, Delivered))
    assert hop(delivered).dst == delivered.consumer
    dup = next(r for r in records if isinstance(r, DuplicateDetected))
    # A finding is drawn where it happened, on the group, not on the checker.
    assert hop(dup).src == dup.group and hop(dup).mark == "dup"


def test_a_queue_message_travels_from_the_producer_its_cause_names() -> None:
    produced = Produced(
        seq=1, at=0, component="p", producer="p", msg=1, key=None, key_seq=1, topic="t"
    )
    enqueued = Enqueued(
        seq=2, at=1, component="q", cause_seq=1, group="q", msg=1, key=None, copy=False,
        visible_in_ms=0,
    )  # fmt: skip
    assert (hop(enqueued, produced).src, hop(enqueued, produced).dst) == ("p", "q")
    assert hop(enqueued).src == "q"  # without its cause: it appears at the queue


def test_the_chip_travels_beside_the_names_not_over_them() -> None:
    h = hop(Produced(seq=1, at=0, component="p", producer="p", msg=1, key=None, key_seq=1,
                     topic="t"))  # fmt: skip
    down = Flight(h, Anchor(0, 2), Anchor(4, 8))  # out 6 cells, down 4 rows, back 0
    assert flight_position(down, 0.0) == Anchor(0, 2)
    assert flight_position(down, 0.5) == Anchor(0, 7)  # still on its own row, going right
    assert flight_position(down, 0.8) == Anchor(2, 8)  # down the column beside the names
    assert flight_position(down, 1.0) == Anchor(4, 8)
    up = Flight(h, Anchor(4, 8), Anchor(0, 2))  # out 0, up 4 rows, back 6 cells
    assert flight_position(up, 0.2) == Anchor(2, 8)
    assert flight_position(up, 1.0) == Anchor(0, 2)


def test_every_built_in_model_has_a_view_and_an_unknown_one_falls_back() -> None:
    for broker in ("log", "rabbitmq", "sqs", "sqs-fifo"):
        assert view_problem(broker) is None
        assert callable(view_for(broker))
    assert view_problem("no-such-model") is None  # unknown model: the default, no complaint


async def test_a_stepped_hop_travels_and_lands_with_animation_on(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.run is not None and screen.player is not None
        records = screen.run.records
        target = next(i for i, r in enumerate(records) if isinstance(r, Appended) and i > 5)
        screen.seek(target)  # the Appended record is next
        await pilot.pause()
        app.animation_level = "full"
        flow = screen.query_one(FlowView)
        frames: list[float] = []
        flow.watch(flow, "progress", lambda p: frames.append(p), init=False)
        await pilot.press("n")
        assert screen.player.position == target + 1
        assert len(flow.flights) == 1
        flight = flow.flights[0]
        anchors = flow.picture().anchors
        appended = records[target]
        assert isinstance(appended, Appended)
        assert flight.start == anchors["checkout"]
        assert flight.end == anchors[f"orders/{appended.partition}"]
        await pilot.wait_for_animation()
        await pilot.pause()
        # It went through the frames in between (0 < p < 1) and landed.
        assert frames[0] == 0.0 and any(0.0 < p < 1.0 for p in frames)
        assert flow.progress == 1.0
        # Stepping back plays the same hop in reverse.
        await pilot.press("b")
        assert flow.flights and flow.flights[0].start == anchors[f"orders/{appended.partition}"]
        await pilot.wait_for_animation()


async def test_no_chip_moves_with_animation_off_or_motion_off(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=lesson, motion=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        app.animation_level = "full"
        await pilot.press("n", "n", "n")
        assert screen.query_one(FlowView).flights == []
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        await pilot.press("n", "n", "n")  # animation_level "none" (the fixture): no motion
        assert screen.query_one(FlowView).flights == []


def test_the_store_has_a_place_on_the_stage(cqrs_trace: list[Any]) -> None:
    from tui.fold import fold, initial_state
    from tui.views.default import picture

    state = fold(initial_state(), cqrs_trace)
    pic = picture(state, 100, "en")
    assert STORE in pic.anchors and "balances" in pic.anchors
