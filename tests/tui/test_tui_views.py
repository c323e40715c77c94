"""Each model drawn as itself: the pictures change as the records say.

Each test runs a built-in lesson, folds its trace up to a record that matters
(a crash's requeue, a double-applied event, a replayed event, a late record)
and reads the picture the model's view draws at the widths of the flow panel
at 120×40 and at 80×24. They assert what a student must be able to see, not
the exact layout (the SVG snapshots hold that).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

import msgspec
import pytest

from simulator.scenario import builtin_path, load_scenario
from simulator.trace import (
    Crashed,
    EventReplayed,
    LateRecordDropped,
    Projected,
    Rebalanced,
    RebuildStarted,
    Record,
    Requeued,
    SagaCompensated,
    VisibilityExpired,
)
from tui.fold import ViewState, fold
from tui.views import view_for
from tui.views.preview import topology_lines

FLOW_WIDTHS = (76, 49)
"""The flow panel's width inside a 120×40 and an 80×24 terminal."""


@cache
def _records(name: str) -> tuple[Record, ...]:
    from tui.runs import simulate

    return tuple(simulate(load_scenario(builtin_path(name))))


def _state(name: str, upto: int) -> ViewState:
    """The view state after the first ``upto`` records of the lesson."""
    return fold(ViewState(), _records(name)[:upto])


def _picture(state: ViewState, width: int, lang: str = "en") -> list[str]:
    return [line.plain for line in view_for(state.broker)(state, width, lang).lines]


def _first(records: Sequence[Record], kind: type[Record], after: int = 0) -> int:
    """Index of the first ``kind`` record at or after ``after``."""
    return next(i for i, r in enumerate(records) if i >= after and isinstance(r, kind))


def _rows(lines: list[str], start: str) -> list[str]:
    return [line for line in lines if line.lstrip(" ▸●✖○◐▣⇉▦").startswith(start)]


# -- RabbitMQ -------------------------------------------------------------------------------


@pytest.mark.parametrize("width", FLOW_WIDTHS)
def test_rabbitmq_draws_the_exchange_its_bindings_and_each_queue(width: int) -> None:
    lines = _picture(_state("rabbitmq-prefetch", 80), width)
    text = "\n".join(lines)
    assert "Exchanges" in text and "Queues" in text
    assert _rows(lines, "orders")[0].split()[2] == "fanout"
    assert "partition" not in text  # not drawn as a Kafka log


def test_prefetch_slots_are_full_at_prefetch_1_and_unbounded_without_a_limit() -> None:
    lines = _picture(_state("rabbitmq-prefetch", 80), 116)
    capped = _rows(lines, "prefetch-1-1 ")
    unlimited = _rows(lines, "unlimited-1 ")
    assert capped and re.search(r" 1/1 \[t\d+ m\d+\]", capped[0])
    assert unlimited and re.search(r" \d+/∞ (\[t\d+ m\d+\]){2,}", unlimited[0])


def test_a_requeued_delivery_is_marked_redelivered_on_its_chip() -> None:
    records = _records("rabbitmq-consumer-crash")
    crash = _first(records, Crashed)
    requeued = _first(records, Requeued, crash)
    msg = records[requeued].msg  # type: ignore[attr-defined]
    before = "\n".join(_picture(_state("rabbitmq-consumer-crash", crash), 116))
    after = "\n".join(_picture(_state("rabbitmq-consumer-crash", requeued + 1), 116))
    assert f"m{msg}↻" not in before
    assert f"m{msg}↻" in after
    assert "shipping-0 crashed" in after


def test_a_message_dead_lettered_from_two_queues_reaches_the_dlx_queue_twice() -> None:
    name = "rabbitmq-ttl-and-length-limits"
    records = _records(name)
    dead = sum(1 for r in records if type(r).__name__ == "DeadLettered")
    state = _state(name, len(records))
    assert len(state.lanes["parking-lot"].ready) == dead
    assert any(f"ready {dead:>3} " in line for line in _picture(state, 116))


# -- SQS ------------------------------------------------------------------------------------


def _countdown(lines: list[str], msg: int) -> str:
    row = next(line for line in lines if f" m{msg} → " in line and "⏳" in line)
    found = re.search(r"⏳\S* (\d+(?:\.\d+)?)(ms|s)", row)
    assert found is not None, row
    return found[0]


def _ms(countdown: str) -> float:
    found = re.search(r"(\d+(?:\.\d+)?)(ms|s)$", countdown)
    assert found is not None
    return float(found[1]) * (1 if found[2] == "ms" else 1000)


def test_an_in_flight_sqs_message_shows_its_visibility_countdown_going_down() -> None:
    name = "sqs-visibility-timeout"
    lines = _picture(_state(name, 20), 116)
    msg = int(re.search(r" m(\d+) → short-timeout", "\n".join(lines))[1])  # type: ignore[index]
    later = _picture(_state(name, 30), 116)
    assert _ms(_countdown(later, msg)) < _ms(_countdown(lines, msg))
    assert "unacked" not in "\n".join(lines)  # RabbitMQ's word is not SQS's


def test_a_message_received_again_after_its_visibility_expired_counts_rc2() -> None:
    name = "sqs-redrive-dlq"
    records = _records(name)
    expired = _first(records, VisibilityExpired)
    msg = records[expired].msg  # type: ignore[attr-defined]
    redelivered = next(
        i
        for i, r in enumerate(records)
        if i > expired and getattr(r, "msg", None) == msg and type(r).__name__ == "Delivered"
    )
    lines = _picture(_state(name, redelivered + 1), 116)
    assert any(f" m{msg} → " in line and "rc2" in line for line in lines), lines


def test_the_redrive_queue_is_drawn_as_the_dlq_of_its_source() -> None:
    lines = _picture(_state("sqs-redrive-dlq", len(_records("sqs-redrive-dlq"))), 116)
    assert any("payments-dlq DLQ ← charge (maxReceiveCount=3)" in line for line in lines)


# -- the event store and read models --------------------------------------------------------


def _read_model(lines: list[str], projector: str) -> str:
    return next(line for line in lines if re.match(rf" [▦✖] {re.escape(projector)} ", line))


def _under(lines: list[str], projector: str) -> str:
    """The line under a projector's row: its kind, the version reads use, its rebuild."""
    return lines[lines.index(_read_model(lines, projector)) + 1]


def _log_row(lines: list[str]) -> str:
    return next(line for line in lines if line.lstrip().startswith("= "))


@pytest.mark.parametrize("width", FLOW_WIDTHS)
def test_the_naive_projector_shows_the_double_applied_balance(width: int) -> None:
    name = "cqrs-projector-crash"
    lines = _picture(_state(name, len(_records(name))), width)
    naive, idempotent = _read_model(lines, "naive"), _read_model(lines, "idempotent")
    assert "800×2" in naive
    assert "600" in idempotent and "×2" not in idempotent
    assert _log_row(lines).split()[-1] == "600"  # the log, each event once


def test_a_crash_between_applying_and_saving_leaves_the_crash_window_drawn() -> None:
    name = "cqrs-projector-crash"
    records = _records(name)
    crash = _first(records, Crashed)
    naive = _read_model(_picture(_state(name, crash + 1), 116), "naive")
    saved, applied = (int(n) for n in re.findall(r"[✓▲]@(\d+)", naive))
    assert applied > saved
    assert "▓" in naive  # applied, not saved


def test_a_projector_fed_by_a_consumer_group_has_its_checkpoint_in_that_group() -> None:
    name = "cqrs-dual-write-vs-outbox"
    lines = _picture(_state(name, len(_records(name)) * 3 // 5), 116)
    naive = _read_model(lines, "naive-view")
    assert "▓" not in naive and "✓@" not in naive  # no checkpoint of its own to lag behind
    assert "checkpoint: ◉ view-naive's committed offset" in _under(lines, "naive-view")


def test_a_rebuilds_table_holds_exactly_the_rows_replayed_so_far() -> None:
    name = "es-replay-rebuild"
    records = _records(name)
    start = _first(records, RebuildStarted)
    projector = records[start].projector  # type: ignore[attr-defined]
    state = _state(name, start + 1)
    p = state.store.projectors[projector]  # type: ignore[union-attr]
    assert p.rows == {}  # rebuilt from zero: the table is dropped first
    written: dict[str, str] = {}
    for i in range(start + 1, len(records)):
        r = records[i]
        if isinstance(r, EventReplayed) and r.projector == projector:
            if r.row is not None and r.value is not None:
                written[r.row] = r.value
            state = fold(state, [r])
            assert state.store is not None
            assert state.store.projectors[projector].rows == written
        elif type(r).__name__ == "RebuildFinished":
            break
        else:
            state = fold(state, [r])
    assert written
    line = _read_model(_picture(state, 116), projector)
    for value in written.values():
        assert value in line


def test_a_finished_rebuild_moves_the_checkpoint_to_where_the_replay_stopped() -> None:
    name = "es-replay-rebuild"
    state = _state(name, len(_records(name)))
    assert state.store is not None
    for p in state.store.projectors.values():
        assert p.checkpoint == state.store.head + 1
        assert f"✓@{state.store.head} ▲@{state.store.head}" in _read_model(
            _picture(state, 116), p.name
        )


def test_blue_green_draws_the_new_version_beside_the_one_reads_use() -> None:
    name = "cqrs-projection-bug-blue-green"
    records = _records(name)
    start = _first(records, RebuildStarted)
    replayed = _first(records, EventReplayed, start)
    during = _picture(_state(name, replayed + 1), 116)
    assert any(line.strip().startswith("v2 ") and "being built" in line for line in during)
    assert "reads v1" in _under(during, "balances")
    end = _picture(_state(name, len(records)), 116)
    assert "reads v2" in _under(end, "balances")
    assert any(line.strip().startswith("v1 ") and "retired" in line for line in end)


def test_a_projected_event_writes_its_value_into_the_table() -> None:
    name = "cqrs-projector-crash"
    records = _records(name)
    first = _first(records, Projected)
    r = records[first]
    assert isinstance(r, Projected) and r.value is not None
    state = _state(name, first + 1)
    assert state.store is not None
    p = state.store.projectors[r.projector]
    assert r.row is not None and p.working(r.row) == r.value


# -- stream processors ----------------------------------------------------------------------


def test_a_late_record_lands_in_the_side_output() -> None:
    name = "stream-uber-rides-per-zone"
    records = _records(name)
    late = next(
        i
        for i, r in enumerate(records)
        if isinstance(r, LateRecordDropped) and r.side_output is not None
    )
    r = records[late]
    assert isinstance(r, LateRecordDropped) and r.side_output is not None
    before = "\n".join(_picture(_state(name, late), 116))
    after = "\n".join(_picture(_state(name, late + 1), 116))
    row = f"↘ m{r.msg} late: to the side output {r.side_output}"
    assert row not in before
    assert row in after


@pytest.mark.parametrize("width", FLOW_WIDTHS)
def test_a_stream_processor_draws_its_windows_on_an_event_time_axis(width: int) -> None:
    name = "stream-watermark-tight-vs-loose"
    lines = _picture(_state(name, len(_records(name)) // 2), width)
    assert any(line.lstrip().startswith("event time") for line in lines)
    axis = [line for line in lines if line.lstrip().startswith("zone-0")]
    assert axis and all("[" in line or "•" in line for line in axis)
    assert any("┊" in line for line in axis)  # the watermark line
    assert any("watermark" in line and "┊▲" in line for line in lines)  # and its legend


# -- sagas ----------------------------------------------------------------------------------


def test_a_compensated_saga_is_drawn_with_its_compensation_running_backward() -> None:
    name = "saga-payment-fails"
    records = _records(name)
    done = _first(records, SagaCompensated)
    saga = records[done].saga  # type: ignore[attr-defined]
    lines = _picture(_state(name, done + 1), 116)
    row = next(line for line in lines if line.lstrip(" ↺✖▶✔").startswith(f"{saga} "))
    assert "◀──" in row and "✖" in row


# -- the Kafka log --------------------------------------------------------------------------


def test_a_rebalance_shows_the_generation_moving_on() -> None:
    name = "consumer-rebalance"
    records = _records(name)
    first = _first(records, Rebalanced)
    later = _first(records, Rebalanced, first + 1)
    gen = records[later].generation  # type: ignore[attr-defined]
    lines = _picture(_state(name, later + 1), 116)
    assert any(f"gen {gen}" in line for line in lines)


# -- the lesson picker's preview ------------------------------------------------------------


def test_the_preview_draws_a_rabbitmq_lesson_as_exchange_bindings_and_queues() -> None:
    lesson = load_scenario(builtin_path("rabbitmq-prefetch"))
    text = "\n".join(line.plain for line in topology_lines(lesson, "en"))
    assert "orders" in text and "fanout" in text and "prefetch" in text
    assert "partition" not in text


def test_the_preview_draws_an_sqs_lesson_with_its_dead_letter_queue() -> None:
    text = "\n".join(
        line.plain for line in topology_lines(load_scenario(builtin_path("sqs-redrive-dlq")), "en")
    )
    assert "payments-dlq" in text and "partition" not in text


def test_the_preview_draws_the_store_and_projectors_of_a_cqrs_lesson() -> None:
    text = "\n".join(
        line.plain
        for line in topology_lines(load_scenario(builtin_path("cqrs-projector-crash")), "en")
    )
    assert text.strip()  # never an empty Topology heading
    for projector in ("naive", "idempotent", "atomic"):
        assert f"▦ {projector}" in text


# -- in the running app, at both terminal sizes ---------------------------------------------


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_the_flow_panel_shows_the_double_applied_value_at_the_end(
    make_app: Any, wait_ready: Any, size: tuple[int, int]
) -> None:
    from tui.widgets.flow import FlowView

    lesson = msgspec.structs.replace(
        load_scenario(builtin_path("cqrs-projector-crash")), predict=()
    )
    app = make_app(scenario=lesson)
    async with app.run_test(size=size) as pilot:
        screen = await wait_ready(pilot)
        await pilot.press("end")
        await pilot.pause()
        flow = screen.query_one(FlowView)
        lines = [line.plain for line in flow.picture().lines]
        width = flow.content_region.width
        assert "800×2" in _read_model(lines, "naive")
        row = _read_model(lines, "naive")
        assert row.index("800×2") + len("800×2") <= width  # on screen, not cut off


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_the_flow_panel_shows_rabbitmq_prefetch_slots_as_the_cursor_moves(
    make_app: Any, wait_ready: Any, size: tuple[int, int]
) -> None:
    from tui.widgets.flow import FlowView

    lesson = msgspec.structs.replace(load_scenario(builtin_path("rabbitmq-prefetch")), predict=())
    app = make_app(scenario=lesson)
    async with app.run_test(size=size) as pilot:
        screen = await wait_ready(pilot)
        flow = screen.query_one(FlowView)
        screen.seek(80)
        await pilot.pause()
        held = [line.plain for line in flow.picture().lines]
        assert any(re.search(r"prefetch-1-1 1/1 \[t\d+ m\d+\]", line) for line in held), held
        screen.seek(len(screen.run.records))
        await pilot.pause()
        done = [line.plain for line in flow.picture().lines]
        assert any(re.search(r"prefetch-1-1 0/1 \[ \]", line) for line in done), done
