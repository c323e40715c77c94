"""Window assignment, watermarks and lateness of the windowed aggregation operator.

These test ``WindowOperator`` alone — no broker, no clock — so each edge is
stated exactly: an event at a window's end, a record exactly at the allowed
lateness, two sessions one gap apart.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.streams.operator import Change, WindowOperator
from simulator.streams.windows import hopping_windows, tumbling_window


def kinds(changes: list[Change]) -> list[str]:
    return [c.kind for c in changes]


def results(changes: list[Change]) -> dict[tuple[str, int], int]:
    """The latest emitted value per (key, window start)."""
    out: dict[tuple[str, int], int] = {}
    for c in changes:
        if c.kind in ("emitted", "updated") and c.state is not None:
            out[(c.state.key, c.state.start)] = c.state.value
    return out


# -- window boundaries -----------------------------------------------------------------


def test_event_exactly_at_window_end_belongs_to_next_tumbling_window() -> None:
    assert tumbling_window(59_999, 60_000) == (0, 60_000)
    assert tumbling_window(60_000, 60_000) == (60_000, 120_000)
    assert tumbling_window(0, 60_000) == (0, 60_000)


def test_hopping_windows_overlap_and_each_event_counts_in_size_over_advance_windows() -> None:
    assert hopping_windows(65_000, 60_000, 20_000) == [
        (20_000, 80_000),
        (40_000, 100_000),
        (60_000, 120_000),
    ]
    assert hopping_windows(60_000, 60_000, 20_000)[0] == (20_000, 80_000)
    assert hopping_windows(5_000, 60_000, 20_000) == [(0, 60_000)]


def test_hopping_aggregation_counts_one_event_in_every_overlapping_window() -> None:
    op = WindowOperator(window="hopping", size_ms=10, advance_ms=5)
    changes = op.process("k", 7, 1, 1)
    opened = [(c.state.start, c.state.end) for c in changes if c.kind == "opened" and c.state]
    assert opened == [(0, 10), (5, 15)]
    done = op.process("k", 100, 1, 2)
    assert results(done) == {("k", 0): 1, ("k", 5): 1}


def test_tumbling_window_fires_when_watermark_reaches_its_end() -> None:
    op = WindowOperator(size_ms=100, max_out_of_orderness_ms=10)
    assert "emitted" not in kinds(op.process("k", 50, 1, 1))
    assert "emitted" not in kinds(op.process("k", 109, 1, 2))  # watermark 99 < 100
    changes = op.process("k", 110, 1, 3)  # watermark 100 = end
    assert results(changes) == {("k", 0): 1}


# -- watermarks -----------------------------------------------------------------------------


def test_watermark_trails_highest_event_time_and_never_goes_back() -> None:
    op = WindowOperator(size_ms=100, max_out_of_orderness_ms=30)
    marks = []
    for i, t in enumerate([50, 80, 60, 90, 20]):
        for c in op.process("k", t, 1, i + 1):
            if c.kind == "watermark":
                marks.append(c.watermark)
    assert marks == [20, 50, 60]
    assert op.watermark_ms == 60
    assert op.max_event_ms == 90


def test_out_of_order_record_within_bound_is_counted_in_its_window() -> None:
    op = WindowOperator(size_ms=100, max_out_of_orderness_ms=20)
    op.process("k", 110, 1, 1)  # watermark 90
    assert kinds(op.process("k", 95, 1, 2)) == ["opened"]  # window [0,100) still open
    assert results(op.process("k", 125, 1, 3)) == {("k", 0): 1}


# -- lateness ------------------------------------------------------------------------------


def _fired_window(lateness: int) -> WindowOperator:
    op = WindowOperator(size_ms=100, allowed_lateness_ms=lateness)
    op.process("k", 10, 1, 1)
    op.process("k", 100, 1, 2)  # watermark 100: [0,100) fired
    return op


def test_record_one_ms_inside_allowed_lateness_updates_the_fired_window() -> None:
    op = _fired_window(lateness=50)
    op.process("other", 149, 1, 3)  # watermark 149 = end + lateness - 1
    changes = op.process("k", 20, 1, 4)
    assert kinds(changes) == ["updated"]
    assert changes[0].state is not None and changes[0].state.value == 2


def test_record_exactly_at_allowed_lateness_is_late() -> None:
    op = _fired_window(lateness=50)
    closing = op.process("other", 150, 1, 3)  # watermark 150 = end + lateness
    assert "closed" in kinds(closing)
    changes = op.process("k", 20, 1, 4)
    assert kinds(changes) == ["late"]
    assert changes[0].window_end == 100 and changes[0].watermark == 150


def test_without_allowed_lateness_a_record_behind_the_watermark_is_late() -> None:
    op = _fired_window(lateness=0)
    assert kinds(op.process("k", 99, 1, 3)) == ["late"]


# -- sessions ----------------------------------------------------------------------------------


def test_session_windows_merge_when_a_record_bridges_the_gap() -> None:
    op = WindowOperator(window="session", gap_ms=10, max_out_of_orderness_ms=100)
    op.process("k", 0, 1, 1)  # session [0, 10)
    op.process("k", 18, 1, 2)  # separate session [18, 28)
    assert sorted(op.windows) == [("k", 0), ("k", 18)]
    op.process("k", 9, 1, 3)  # [9, 19) touches both: merged into [0, 28)
    assert list(op.windows) == [("k", 0)]
    merged = op.windows[("k", 0)]
    assert (merged.start, merged.end, merged.value) == (0, 28, 3)
    assert op.take_dirty()["k@18"] is None  # the absorbed session is deleted in the changelog


def test_session_events_exactly_one_gap_apart_merge_and_further_apart_do_not() -> None:
    op = WindowOperator(window="session", gap_ms=10, max_out_of_orderness_ms=100)
    op.process("k", 0, 1, 1)
    op.process("k", 10, 1, 2)
    assert list(op.windows) == [("k", 0)]
    op.process("k", 21, 1, 3)
    assert sorted(op.windows) == [("k", 0), ("k", 21)]


def test_session_fires_after_gap_of_inactivity_in_event_time() -> None:
    op = WindowOperator(window="session", gap_ms=10)
    op.process("a", 0, 1, 1)
    op.process("a", 5, 1, 2)
    assert results(op.process("b", 15, 1, 3)) == {("a", 0): 2}


def test_unwindowed_aggregation_emits_every_update() -> None:
    op = WindowOperator(window="none")
    op.process("k", 5, 3, 1)
    changes = op.process("k", 1, 4, 2)
    assert results(changes) == {("k", 0): 7}


def test_flush_fires_every_open_window_at_end_of_input() -> None:
    op = WindowOperator(size_ms=100, max_out_of_orderness_ms=1000)
    op.process("a", 10, 1, 1)
    op.process("b", 250, 1, 2)
    assert results(op.flush()) == {("a", 0): 1, ("b", 200): 1}
    assert op.flush() == []


# -- order independence (property) ---------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.integers(min_value=0, max_value=2_000),
            st.integers(min_value=0, max_value=150),
        ),
        min_size=1,
        max_size=60,
    ),
    window=st.sampled_from(["tumbling", "hopping", "session"]),
)
def test_event_time_results_do_not_depend_on_arrival_order_within_the_bound(
    events: list[tuple[str, int, int]], window: str
) -> None:
    """Arrival delayed by at most the bound ⇒ nothing is late ⇒ same results as in order."""
    bound = 150

    def run(order: list[tuple[str, int, int]]) -> dict[tuple[str, int], int]:
        op = WindowOperator(
            window=window, size_ms=100, advance_ms=50, gap_ms=40, max_out_of_orderness_ms=bound
        )
        changes: list[Change] = []
        for i, (key, t, _) in enumerate(order):
            changes += op.process(key, t, 1, i + 1)
        changes += op.flush()
        assert "late" not in kinds(changes)
        return results(changes)

    in_order = sorted(events, key=lambda e: e[1])
    shuffled = sorted(events, key=lambda e: e[1] + e[2])  # each arrives up to `bound` late
    expected = run(in_order)
    assert run(shuffled) == expected
    if window == "tumbling":
        truth: dict[tuple[str, int], int] = {}
        for key, t, _ in events:
            truth[(key, t - t % 100)] = truth.get((key, t - t % 100), 0) + 1
        assert expected == truth
