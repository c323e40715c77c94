"""The log view draws a cluster's replicas as the trace has them, and one broker as before."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import pytest

from simulator.scenario.loading import builtin_path, load_scenario
from simulator.simulation import Simulation
from simulator.trace import HighWatermarkAdvanced, IsrShrunk, LeaderElected, Record
from tui.app import EvsimApp
from tui.fold import ViewState, fold, initial_state
from tui.views import view_for
from tui.views.default import picture as default_picture
from tui.views.log import picture
from tui.widgets.flow import FlowView


@cache
def records(lesson: str) -> tuple[Record, ...]:
    return tuple(Simulation(load_scenario(builtin_path(lesson))).run().records)


def state_at(lesson: str, at_ms: int) -> ViewState:
    return fold(initial_state(), [r for r in records(lesson) if r.at <= at_ms])


def lines(state: ViewState, lang: str = "en") -> list[str]:
    return [line.plain for line in picture(state, 120, lang).lines]


def row(state: ViewState, starts: str, lang: str = "en") -> str:
    found = [line for line in lines(state, lang) if line.lstrip(" ●✖").startswith(starts)]
    assert found, f"no row for {starts!r}"
    return found[-1]


def test_the_log_model_is_drawn_by_the_log_view() -> None:
    assert view_for("log") is picture


@pytest.mark.parametrize("lesson", ["partitions-and-offsets", "consumer-rebalance"])
def test_a_one_broker_lesson_is_drawn_exactly_as_the_default_picture(lesson: str) -> None:
    state = state_at(lesson, 10**9)
    assert not state.replication
    ours, default = picture(state, 100, "en"), default_picture(state, 100, "en")
    assert [t.plain for t in ours.lines] == [t.plain for t in default.lines]
    assert ours.anchors == default.anchors


def test_each_partition_row_marks_leader_followers_and_the_high_watermark_of_the_trace() -> None:
    state = state_at("kafka-acks-failover", 100)
    hw = [
        r.high_watermark
        for r in records("kafka-acks-failover")
        if isinstance(r, HighWatermarkAdvanced) and r.topic == "payments-acks-1" and r.at <= 100
    ]
    text = row(state, "payments-acks-1/0")
    assert "★broker-1 ●broker-2 ●broker-3" in text
    assert "epoch 0" in text and text.endswith(f"HW {hw[-1]}")


def test_after_the_failover_the_new_leader_and_the_dead_broker_are_shown() -> None:
    state = state_at("kafka-acks-failover", 12_000)
    seen = [
        r
        for r in records("kafka-acks-failover")
        if isinstance(r, LeaderElected | HighWatermarkAdvanced)
        and r.topic == "payments-acks-1"
        and r.at <= 12_000
    ]
    elected = [r for r in seen if isinstance(r, LeaderElected)]
    text = row(state, "payments-acks-1/0")
    assert "○✖broker-1 ★broker-2 ●broker-3" in text
    assert f"epoch {elected[-1].leader_epoch}" in text
    assert text.endswith(f"HW {seen[-1].high_watermark}")
    assert row(state, "broker-1").startswith(" ✖ broker-1 down leads 0 · follows 2")
    assert row(state, "broker-2").startswith(" ● broker-2 leads 2 ")


def test_followers_out_of_the_isr_are_drawn_out_of_sync() -> None:
    shrunk = next(r for r in records("kafka-min-insync-replicas") if isinstance(r, IsrShrunk))
    before = state_at("kafka-min-insync-replicas", shrunk.at - 1)
    after = state_at("kafka-min-insync-replicas", shrunk.at)
    assert "★broker-1 ●broker-2 ●broker-3" in row(before, "orders-strict/0")
    assert "★broker-1 ○broker-2 ○broker-3" in row(after, "orders-strict/0")


def test_a_partition_with_no_in_sync_replica_left_is_drawn_offline_with_its_isr() -> None:
    state = state_at("kafka-unclean-leader-election", 30_000)
    clean = row(state, "ledger-clean/0")
    assert "offline: no leader · ISR broker-1" in clean and "★" not in clean
    assert "★broker-2" in row(state, "ledger-unclean/0")


def test_the_replicas_block_sits_between_the_lanes_and_the_groups() -> None:
    shown = lines(state_at("kafka-acks-failover", 100))

    def first(starts: str) -> int:
        return next(y for y, line in enumerate(shown) if line.startswith(starts))

    assert first("Broker  ") < first("Replicas  ") < first("Consumer groups")


def test_narration_about_a_broker_lights_its_own_row() -> None:
    state = state_at("kafka-acks-failover", 12_000)
    pic = picture(state, 120, "en")
    y = pic.anchors["broker-2"].y
    assert pic.lines[y].plain.startswith(" ● broker-2")
    assert pic.owners[y] == "broker-2"


def test_the_korean_block_uses_the_glossary_terms() -> None:
    shown = "\n".join(lines(state_at("kafka-acks-failover", 100), "ko"))
    assert "복제본" in shown and "동기화된 복제본" in shown and "하이 워터마크" in shown


async def test_the_app_draws_the_replicas_of_a_cluster_lesson_at_its_end(
    make_app: Callable[..., EvsimApp], wait_ready: Any
) -> None:
    lesson = load_scenario(builtin_path("kafka-unclean-leader-election"))
    app = make_app(scenario=lesson, predict=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_ready(pilot)
        await pilot.press("end")
        await pilot.pause()
        shown = app.screen.query_one(FlowView).picture().text().plain
    assert "Replicas" in shown
    assert "ledger-unclean/0" in shown and "★broker-2" in shown
