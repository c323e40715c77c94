"""Timers: computed by the fold from the records and the trace header's settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.scenario import resolve_scenario
from simulator.simulation import Simulation
from simulator.trace import Crashed, Delivered, MemberLeft, VisibilityExpired
from tui.app import EvsimApp
from tui.fold import fold, initial_state
from tui.widgets.timers import TimersPanel

Make = Callable[..., EvsimApp]


def _upto(records: list[Any], seq: int) -> Any:
    return fold(initial_state(), records[: seq + 1])


def test_an_sqs_delivery_starts_a_visibility_timer_that_fires_when_it_expires() -> None:
    records = Simulation(resolve_scenario("sqs-visibility-timeout")).run().records
    expired = next(r for r in records if isinstance(r, VisibilityExpired))
    delivery = max(
        (r for r in records[: expired.seq] if isinstance(r, Delivered) and r.msg == expired.msg
         and r.group == expired.group),
        key=lambda r: r.seq,
    )  # fmt: skip
    state = _upto(records, delivery.seq)
    timer = next(t for t in state.timers.values() if t.kind == "visibility" and
                 t.owner == expired.group and t.label.startswith(f"m{expired.msg} "))  # fmt: skip
    assert timer.due_ms == delivery.at + 1000  # VisibilityTimeout_ms in the header
    half = _upto(records, max(r.seq for r in records if r.at <= delivery.at + 500))
    assert (
        0.0
        < half.timers[next(iter(k for k in half.timers if k.endswith(timer.label)))].left(
            half.at_ms
        )
        < 1.0
    )
    fired = _upto(records, expired.seq)
    assert fired.fired is not None and fired.fired.kind == "visibility"
    assert all(not k.endswith(timer.label) for k in fired.timers)


def test_a_crashed_kafka_member_runs_its_session_timeout_until_it_is_removed() -> None:
    records = Simulation(resolve_scenario("consumer-rebalance")).run().records
    crash = next((r for r in records if isinstance(r, Crashed)), None)
    assert crash is not None
    state = _upto(records, crash.seq)
    session = state.timers.get(f"session:{crash.component}:session")
    assert session is not None and session.start_ms == crash.at
    left = next(
        (r for r in records[crash.seq:] if isinstance(r, MemberLeft)
         and r.consumer == crash.component), None
    )  # fmt: skip
    if left is not None and left.reason == "session_timeout":
        after = _upto(records, left.seq)
        assert after.fired is not None and after.fired.kind == "session"


def test_the_timers_are_few_whatever_the_trace_length() -> None:
    records = Simulation(resolve_scenario("sqs-fifo-dedup")).run().records
    state = fold(initial_state(), records)
    assert len(state.timers) <= 64 and len(state.flags) <= 64


async def test_the_timers_panel_shows_a_running_timer(make_app: Make, wait_ready: Any) -> None:
    app = make_app(scenario=resolve_scenario("sqs-visibility-timeout"), predict=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.run is not None
        first = next(r for r in screen.run.records if isinstance(r, Delivered))
        screen.seek(first.seq + 1)
        await pilot.pause()
        panel = screen.query_one(TimersPanel)
        assert screen.query_one("#timers-box").display
        assert "visibility" in panel.render().plain
