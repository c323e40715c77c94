"""A row's ratio, target text and verdict come from its figures; same-work counts are checked."""

from __future__ import annotations

import msgspec
import pytest

from bench.render import progress_line, rows_table
from bench.rows import (
    ANCHOR_NOT_INSTALLED,
    BenchRow,
    SameWorkError,
    Target,
    at_least,
    at_most,
    bench_row,
    same_work,
)


def test_a_ratio_keeps_one_decimal_and_is_judged_against_its_target() -> None:
    row = bench_row(
        key="w1.x",
        workload="w",
        unit="deliveries/s",
        ours=150_000.0,
        anchor=111_111.0,
        anchor_name="SimPy",
        targets=(at_least(1.5, "ratio"),),
    )
    assert row.ratio == 1.4
    assert row.target == ">= 1.5x SimPy"
    assert row.verdict == "missed"


def _verdict(ours: float, anchor: float | None, *targets: Target) -> str:
    row = bench_row(key="k", workload="w", unit="u", ours=ours, anchor=anchor, targets=targets)
    return row.verdict


def test_every_target_must_be_met_for_a_met_verdict() -> None:
    both = (at_least(100), at_least(1.5, "ratio"))
    assert _verdict(200, 100, *both) == "met"
    assert _verdict(90, 10, *both) == "missed"  # the ratio is met, our own figure is not
    assert _verdict(200, 150, *both) == "missed"


def test_an_upper_bound_is_met_at_or_below_it() -> None:
    assert _verdict(16, None, at_most(16)) == "met"
    assert _verdict(17, None, at_most(16)) == "missed"


def test_a_ratio_target_without_its_anchor_is_not_judged() -> None:
    row = bench_row(
        key="k",
        workload="w",
        unit="u",
        ours=1.0,
        anchor_name=ANCHOR_NOT_INSTALLED,
        targets=(at_least(1.5, "ratio"),),
    )
    assert row.ratio is None and row.verdict == "no anchor"


def test_a_row_without_targets_says_so() -> None:
    row = bench_row(key="k", workload="w", unit="records/s", ours=1.0)
    assert (row.target, row.verdict) == ("none", "no target")


def test_counts_that_differ_from_the_messages_are_an_error_not_a_row() -> None:
    with pytest.raises(SameWorkError, match=r"anchor 106,600"):
        same_work("W1", "messages delivered", 200_000, 200_000, 106_600)
    with pytest.raises(SameWorkError, match=r"ours 199,999"):
        same_work("W1", "messages delivered", 200_000, 199_999, 200_000)
    with pytest.raises(SameWorkError, match="totals"):
        same_work("W4", "events read", 10, 10, 10, totals_agree=False)


def test_the_json_of_a_row_has_every_column_and_a_boolean_totals_agree() -> None:
    work = same_work("W4", "events read", 10, 10, 10, totals_agree=True)
    row = bench_row(
        key="w4",
        workload="W4",
        unit="events/s",
        ours=600_000,
        anchor=150_000,
        anchor_name="eventsourcing",
        targets=(at_least(500_000),),
        work=work,
    )
    decoded = msgspec.json.decode(msgspec.json.encode([row]))[0]
    assert set(decoded) == set(BenchRow.__struct_fields__)
    assert decoded["same_work"]["totals_agree"] is True
    assert decoded["ratio"] == 4.0 and decoded["verdict"] == "met"


def test_the_table_and_the_progress_line_show_ratio_target_verdict_and_same_work() -> None:
    row = bench_row(
        key="w1",
        workload="W1",
        unit="deliveries/s",
        ours=138_047.4,
        anchor=137_947.9,
        anchor_name="SimPy",
        targets=(at_least(1.5, "ratio"),),
        work=same_work("W1", "messages delivered", 5, 5, 5),
    )
    line = progress_line(row)
    assert "1.0x" in line and ">= 1.5x SimPy: missed" in line and "5 = 5 messages" in line
    table = rows_table([row])
    cells = [str(cell) for column in table.columns for cell in column.cells]
    assert "1.0x" in cells and "missed" in cells and "5 = 5 messages delivered" in cells


def test_a_ratio_that_rounds_to_zero_is_still_printed() -> None:
    row = bench_row(
        key="q", workload="Q", unit="deliveries/s", ours=1.0, anchor=100.0, anchor_name="log"
    )
    assert row.ratio == 0.0
    assert "0.0x" in progress_line(row)
