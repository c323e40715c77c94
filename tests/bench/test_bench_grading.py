"""The grading rows: two workers beside one, on the same exercise and the same runs."""

from __future__ import annotations

import itertools

import pytest

import bench.grading
from bench.grading import grading_scaling
from bench.rows import SameWorkError


def test_the_rows_compare_two_workers_with_one_on_the_same_runs() -> None:
    rows = {row.key: row for row in grading_scaling(40, submissions=2, repeats=1)}
    assert sorted(rows) == [
        "exploration.exercise_2",
        "exploration.folder_2",
        "exploration.workers_2",
    ]
    explored = {
        "exploration.workers_2": 40,
        "exploration.exercise_2": 2,
        "exploration.folder_2": 2 * 2,
    }
    for key, row in rows.items():
        assert (row.unit, row.anchor_name) == ("runs/s", "1 worker")
        assert row.target == ">= 1.8x 1 worker" and row.verdict in ("met", "missed")
        assert row.same_work is not None
        assert row.same_work.ours == row.same_work.anchor == row.same_work.expected
        assert row.same_work.expected == explored[key]
        assert row.anchor is not None and row.ratio == round(row.ours / row.anchor, 1)
        assert "on two idle cores" in row.note
        pairs = bench.grading.SHORT_REPEATS if key == "exploration.exercise_2" else 1
        assert row.note.startswith(f"median of {pairs} pairs")


def test_a_row_is_the_pair_of_median_ratio(monkeypatch: pytest.MonkeyPatch) -> None:
    # Three pairs (one worker, then two): ratios 1.5, 2.5 and 1.9 — each row is the 1.9 one.
    sides = itertools.cycle([100.0, 150.0, 100.0, 250.0, 100.0, 190.0])
    monkeypatch.setattr(
        bench.grading, "_runs_per_second", lambda _f, runs, _w: (next(sides), runs, 0.1)
    )
    monkeypatch.setattr(
        bench.grading, "_folder_runs_per_second", lambda _r, runs, _w: (1.0, 2 * runs, 0.1)
    )
    rows = {row.key: row for row in grading_scaling(40, submissions=2, repeats=3)}
    assert (rows["exploration.workers_2"].ours, rows["exploration.workers_2"].anchor) == (
        190.0,
        100.0,
    )


def test_the_one_exercise_row_takes_three_times_the_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    grades: list[int] = []

    def grade(_folder: object, runs: int, _workers: int) -> tuple[float, int, float]:
        grades.append(runs)
        return 100.0, runs, 0.1

    monkeypatch.setattr(bench.grading, "_runs_per_second", grade)
    monkeypatch.setattr(
        bench.grading, "_folder_runs_per_second", lambda _r, runs, _w: (1.0, 2 * runs, 0.1)
    )
    grading_scaling(400, submissions=2, repeats=3)
    assert grades.count(400) == 2 * 3  # the long grade: three pairs
    assert grades.count(20) == 2 * 3 * bench.grading.SHORT_REPEATS  # 200-run grade: nine


def test_sides_that_explored_different_runs_make_no_row(monkeypatch: pytest.MonkeyPatch) -> None:
    explored = iter([(100.0, 6, 0.004), (180.0, 5, 0.004)])
    monkeypatch.setattr(bench.grading, "_runs_per_second", lambda *_: next(explored))
    with pytest.raises(SameWorkError, match="expected 6 cases explored, counted ours 5"):
        grading_scaling(6)


def test_a_folder_whose_sides_explored_different_runs_makes_no_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bench.grading, "_runs_per_second", lambda _f, runs, _w: (1.0, runs, 0.1))
    explored = iter([(100.0, 4, 0.004), (180.0, 3, 0.004)])
    monkeypatch.setattr(bench.grading, "_folder_runs_per_second", lambda *_: next(explored))
    with pytest.raises(SameWorkError, match="expected 4 cases explored, counted ours 3"):
        grading_scaling(40, submissions=2)
