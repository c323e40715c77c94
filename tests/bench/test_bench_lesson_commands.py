"""The lesson-sized command benchmark runs every command through load, decide, append."""

from __future__ import annotations

from pathlib import Path

from bench.run import store_lesson
from bench.store import bench_lesson_commands


def test_lesson_commands_reports_each_backend(tmp_path: Path) -> None:
    figures = bench_lesson_commands(300, directory=tmp_path)
    assert set(figures["results"]) == {"evsim-memory", "evsim-sqlite"}
    for value in figures["results"].values():
        assert value["events"] == 300 and value["seconds"] >= 0


def test_lesson_commands_rows_have_no_made_up_anchor() -> None:
    rows = store_lesson(200)
    assert [r.anchor for r in rows] == [None, None]
    assert all(r.unit == "commands/s" and r.ours > 0 for r in rows)
