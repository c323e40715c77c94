"""The store benchmarks run end to end at a tiny scale and report plain figures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from bench import store as bench_store
from bench.store import (
    ANCHOR_NOT_INSTALLED,
    bench_append,
    bench_projection,
    bench_rehydrate,
)

needs_anchor = pytest.mark.skipif(
    importlib.util.find_spec("eventsourcing") is None,
    reason="the eventsourcing anchor is an optional extra (pip install .[bench])",
)


@needs_anchor
def test_append_reports_every_backend_the_floor_and_the_ratios(tmp_path: Path) -> None:
    figures = bench_append(300, streams=7, directory=tmp_path)
    results = figures["results"]
    assert set(results) == {
        "evsim-memory",
        "evsim-sqlite",
        "evsim-sqlite-group",
        "sqlite-floor",
        "eventsourcing-popo",
        "eventsourcing-sqlite",
        "eventsourcing-sqlite-tuned",
    }
    assert all(r["events"] == 300 and r["events_per_s"] > 0 for r in results.values())
    assert set(figures["ratios"]) == {
        "memory",
        "sqlite",
        "sqlite_same_settings",
        "sqlite_group_same_settings",
    }
    assert all(isinstance(ratio, float) for ratio in figures["ratios"].values())
    # A second run in the same directory starts from empty files.
    assert bench_append(300, streams=7, directory=tmp_path)["results"]["evsim-sqlite"]


@needs_anchor
def test_rehydrate_replays_every_stored_event_once_on_every_backend(tmp_path: Path) -> None:
    figures = bench_rehydrate(300, streams=7, directory=tmp_path)
    assert {r["events"] for r in figures["results"].values()} == {307}  # 300 deposits + 7 opens


def test_projection_rebuild_totals_agree_with_the_anchor(tmp_path: Path) -> None:
    figures = bench_projection(300, streams=7, page_size=40, directory=tmp_path)
    assert figures["totals_agree"] is True
    assert figures["results"]["evsim-sqlite"]["events"] == 307


def test_without_the_library_the_anchor_says_so_and_invents_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_store, "_anchor_installed", lambda: False)
    figures = bench_append(100, streams=3, directory=tmp_path)
    assert figures["results"]["eventsourcing-popo"] == ANCHOR_NOT_INSTALLED
    assert figures["ratios"] == {
        "memory": None,
        "sqlite": None,
        "sqlite_same_settings": None,
        "sqlite_group_same_settings": None,
    }
    assert figures["results"]["evsim-memory"]["events"] == 100


@needs_anchor
def test_every_figure_has_its_cpu_time_and_the_like_for_like_rows_a_cpu_ratio(
    tmp_path: Path,
) -> None:
    figures = bench_append(300, streams=7, directory=tmp_path)
    assert all(r["cpu_events_per_s"] > 0 for r in figures["results"].values())
    assert set(figures["cpu_ratios"]) == {"sqlite_same_settings", "sqlite_group_same_settings"}
    assert all(isinstance(ratio, float) for ratio in figures["cpu_ratios"].values())
