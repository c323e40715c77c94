"""A lane runs its actions exactly where the heap would have: same times, same order."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import scenario_from
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.kernel import Kernel, Lane
from simulator.simulation import Simulation
from tests.simulator.test_log_semantics import TOPIC, slower_than_max_poll_interval

# A step of a program: at the current time, schedule a plain action `delay` ahead, or one
# through lane `n` (each lane has its own fixed delay); a plain action may, when it runs,
# schedule more through a lane (as a consumer's poll schedules its check).
Step = tuple[str, int, bool]

steps = st.lists(
    st.tuples(
        st.sampled_from(["plain", "lane0", "lane1"]),
        st.integers(0, 40),
        st.booleans(),
    ),
    max_size=60,
)


def _play(program: list[Step], delays: tuple[int, int], use_lanes: bool) -> list[Any]:
    """Run the program; what ran, in order, with the time and the agenda's quiescence."""
    kernel = Kernel()
    ran: list[Any] = []

    def lane_action(lane: int) -> Any:
        def act(arg: int) -> None:
            ran.append((kernel.now_ms, f"lane{lane}", arg, kernel.quiescent))

        return act

    actions = [lane_action(0), lane_action(1)]
    lanes = [
        Lane(kernel, d, act, background=bg)
        for d, act, bg in zip(delays, actions, (True, False), strict=True)
    ]

    def through(lane: int, arg: int) -> None:
        if use_lanes:
            lanes[lane].after(arg)
        else:
            kernel.after(delays[lane], actions[lane], arg, background=lane == 0)

    for i, (kind, delay, nested) in enumerate(program):
        if kind == "plain":

            def plain(_: object, i: int = i, nested: bool = nested) -> None:
                ran.append((kernel.now_ms, "plain", i, kernel.quiescent))
                if nested:
                    through(i % 2, 1000 + i)

            kernel.after(delay, plain)
        else:
            through(int(kind[-1]), i)
        if nested and kind != "plain":
            kernel.step()  # the clock moves between schedules
    while kernel.step():
        pass
    return ran


@settings(max_examples=200, deadline=None)
@given(steps, st.integers(0, 30), st.integers(0, 30))
def test_a_lane_runs_what_the_heap_would_in_the_same_order(
    program: list[Step], d0: int, d1: int
) -> None:
    assert _play(program, (d0, d1), use_lanes=True) == _play(program, (d0, d1), use_lanes=False)


def test_the_agenda_holds_one_action_of_a_lane_however_many_wait() -> None:
    kernel = Kernel()
    ran: list[int] = []
    lane = Lane(kernel, 300_000, ran.append, background=True)
    for n in range(10_000):
        lane.after(n)
        kernel.schedule(kernel.now_ms + 1, lambda _: None)
        kernel.step()
    assert len(lane) == 10_000 and len(kernel._agenda) == 1
    assert kernel.quiescent  # background: nothing keeps the run alive
    while kernel.step():
        # Each call that has run is gone from the lane's arrays before long (moved down).
        assert len(lane._times) - len(lane) <= max(4096, len(lane))
    assert ran == list(range(10_000)) and kernel.now_ms == 10_000 + 300_000 - 1
    assert len(lane) == 0 and len(lane._times) == 0


def test_a_lane_that_is_work_keeps_the_run_alive_until_it_has_run() -> None:
    kernel = Kernel()
    lane = Lane(kernel, 5, lambda _: None)
    lane.after(0)
    assert not kernel.quiescent
    kernel.step()
    assert kernel.quiescent


def test_a_lane_refuses_a_negative_delay() -> None:
    with pytest.raises(ValueError, match="not negative"):
        Lane(Kernel(), -1, lambda _: None)


def test_a_consumer_evicted_for_max_poll_interval_has_the_trace_of_the_heap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The poll-interval checks go through a lane: the run is byte for byte the heap's."""
    text = TOPIC.format(partitions=3) + slower_than_max_poll_interval(count=60)

    def run() -> tuple[str, list[str]]:
        sim = Simulation(scenario_from(text))
        sim.run()
        left = [r.reason for r in sim.trace if type(r).__name__ == "MemberLeft"]
        return sim.trace.digest(), left

    through_lane = run()
    assert "max_poll_interval" in through_lane[1]

    def plain(self: Lane, arg: int) -> None:
        self._kernel.after(self._delay_ms, self._action, arg, background=self._background)

    monkeypatch.setattr(Lane, "after", plain)
    assert run() == through_lane
