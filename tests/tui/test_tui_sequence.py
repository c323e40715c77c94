"""The sequence diagram: columns in travel order, runs elided, cursor synced, why? a key away."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import TabbedContent

from simulator.scenario import Scenario
from simulator.simulation import Simulation
from tui.app import EvsimApp
from tui.player import build_index
from tui.screens.dialogs import WhyDialog
from tui.stage import columns_of
from tui.widgets.sequence import SequenceView, layout_columns, rows_around

Make = Callable[..., EvsimApp]


def test_columns_follow_a_message_from_producer_to_consumer(lesson: Scenario) -> None:
    index = build_index(Simulation(lesson).run().records)
    cols = columns_of(index.first_kind)
    names = [n for n, _ in cols]
    assert names[:4] == ["checkout", "orders/0", "orders/1", "orders/2"]
    assert set(names[4:]) == {"billing-0", "billing-1"} or "billing-0" in names
    assert "checker" not in names and "sim" not in names and "billing" not in names


def test_too_many_columns_share_one_per_group_then_elide() -> None:
    cols: list[Any] = [("p", "producer")] + [(f"t/{i}", "lane") for i in range(3)]
    cols += [(f"g-{i}", "consumer") for i in range(6)]
    group_of = {f"g-{i}": "g" for i in range(6)}
    wide = layout_columns(cols, group_of, 120)
    assert len(wide.names) == 10
    narrow = layout_columns(cols, group_of, 60)
    assert narrow.names == ["p", "t/0", "t/1", "t/2", "g/*"]
    assert narrow.index["g-3"] == narrow.index["g/*"] == narrow.index["g"]
    tiny = layout_columns(cols, group_of, 30)
    assert tiny.names[-1].startswith("+") and len(tiny.names) * 7 <= 30


def test_rows_are_built_around_the_cursor_only_and_merge_identical_runs(lesson: Scenario) -> None:
    records = Simulation(lesson).run().records
    index = build_index(records)
    layout = layout_columns(columns_of(index.first_kind), {}, 120)
    rows, at = rows_around(records, 200, 10, 10, layout)
    assert rows[at].first == rows[at].last == 200
    assert len(rows) == 21
    assert [r.first for r in rows] == sorted(r.first for r in rows)
    # A consumer's PositionReset for each of its partitions is one row with a count.
    start, _ = rows_around(records, 0, 0, 12, layout)
    merged = [r for r in start if r.hop.kind == "PositionReset" and r.count > 1]
    assert merged and all(r.last - r.first + 1 == r.count for r in merged)


async def test_the_sequence_view_follows_the_player_and_opens_why(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        assert screen.player is not None and screen.run is not None
        tabs = screen.query_one(TabbedContent)
        assert tabs.active == "tab-flow"
        await pilot.press("v")
        view = screen.query_one(SequenceView)
        assert tabs.active == "tab-sequence" and app.focused is view
        await pilot.press("n", "n", "n")
        assert view.cursor == screen.player.position - 1
        rows, at = view.visible_rows()
        assert rows[at].first == view.cursor
        # ↑ on the diagram moves the player to the row above.
        before = screen.player.position
        await pilot.press("up")
        assert screen.player.position == rows[at - 1].last + 1 < before
        # A finding's row: enter opens its record and its why chain.
        finding = screen.run.index.findings[0]
        screen.seek(finding + 1)
        await pilot.pause()
        await pilot.press("enter")
        assert isinstance(app.screen, WhyDialog) and app.screen.seq == finding
        await pilot.press("escape")
        await pilot.press("v")
        assert tabs.active == "tab-flow"


async def test_a_million_record_trace_draws_only_the_rows_on_screen(lesson: Scenario) -> None:
    """The rows come from a walk out of the cursor: a long trace costs what a short one does."""
    records = Simulation(lesson).run().records
    long = records * 2000  # seqs repeat; the walk does not care
    index = build_index(records)
    layout = layout_columns(columns_of(index.first_kind), {}, 120)
    rows, at = rows_around(long, len(long) // 2, 20, 15, layout)
    assert len(rows) == 36 and rows[at].first == len(long) // 2


async def test_the_cursor_row_is_tinted_so_its_arrow_keeps_its_colours(
    make_app: Make, lesson: Scenario, wait_ready: Any
) -> None:
    from tui.widgets.sequence import CURSOR

    app = make_app(scenario=lesson)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await wait_ready(pilot)
        screen.seek(30)
        await pilot.press("v")
        view = screen.query_one(SequenceView)
        _rows, at = view.visible_rows()
        strip = view.render_line(at + 1)
        styles = [seg.style for seg in strip if seg.text.strip()]
        assert styles and all(s is not None and not s.reverse for s in styles)
        assert all(s is not None and s.bgcolor == CURSOR.bgcolor for s in styles)
        # The arrow's own colour survives under the tint (it is not one flat colour).
        assert len({s.color for s in styles if s is not None}) > 1
