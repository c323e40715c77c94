"""The grading row: two worker processes beside one, on the same exercise and the same runs."""

from __future__ import annotations

import pytest

import bench.grading
from bench.grading import grading_scaling
from bench.rows import SameWorkError


def test_the_row_compares_two_workers_with_one_on_the_same_runs() -> None:
    (row,) = grading_scaling(6)
    assert (row.key, row.unit, row.anchor_name) == ("exploration.workers_2", "runs/s", "1 worker")
    assert row.target == ">= 1.8x 1 worker" and row.verdict in ("met", "missed")
    assert row.same_work is not None
    assert row.same_work.ours == row.same_work.anchor == row.same_work.expected == 6
    assert row.anchor is not None and row.ratio == round(row.ours / row.anchor, 1)


def test_sides_that_explored_different_runs_make_no_row(monkeypatch: pytest.MonkeyPatch) -> None:
    explored = iter([(100.0, 6, 0.004), (180.0, 5, 0.004)])
    monkeypatch.setattr(bench.grading, "_runs_per_second", lambda *_: next(explored))
    with pytest.raises(SameWorkError, match="expected 6 cases explored, counted ours 5"):
        grading_scaling(6)
