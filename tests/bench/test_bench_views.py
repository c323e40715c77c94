"""W6 and W8 rows: latency rows with targets, startup timed in fresh processes."""

from __future__ import annotations

import sys

import pytest

from bench.views import _ESCAPES, _first_frame_ms_fresh, w6_trace_file, w6_views


def test_w6_rows_carry_their_targets() -> None:
    rows = {row.key: row for row in w6_views(300, probes=5, fresh_views=1)}
    player = {
        "w6.player.first_frame",
        "w6.player.first_frame_fresh",
        "w6.player.flow_frame",
        "w6.player.sequence_frame",
    }
    assert set(rows) == {"w6.fold", "w6.seek", "w6.step_back", "w6.frame"} | player
    assert rows["w6.seek"].target == rows["w6.step_back"].target == "<= 50 ms"
    assert rows["w6.frame"].target == "<= 16 ms"
    assert rows["w6.player.first_frame"].target == "<= 1,500 ms"
    assert rows["w6.player.first_frame_fresh"].target == "<= 1,500 ms"
    assert "evsim view" in rows["w6.player.first_frame_fresh"].workload
    assert rows["w6.player.flow_frame"].target == rows["w6.player.sequence_frame"].target
    assert rows["w6.player.flow_frame"].target == "<= 16 ms"
    assert all(rows[key].targets[0].source == "issue 15" for key in player)
    assert all(rows[key].verdict in ("met", "missed") for key in player)
    assert rows["w6.fold"].verdict == "no target"
    assert all(row.ours >= 0 for row in rows.values())


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_w6_file_rows_read_a_trace_file_through_its_index_with_targets() -> None:
    rows = {row.key: row for row in w6_trace_file(300, probes=5, fresh_views=1)}
    assert set(rows) == {
        "w6.file.first_frame",
        "w6.file.seek",
        "w6.file.step_back",
        "w6.file.index_bytes",
        "w6.file.index_time",
    }
    assert rows["w6.file.first_frame"].target == "<= 1,500 ms"
    assert rows["w6.file.seek"].target == rows["w6.file.step_back"].target == "<= 50 ms"
    assert rows["w6.file.index_bytes"].target == "<= 50 B/record"
    keyed = ("w6.file.first_frame", "w6.file.seek", "w6.file.step_back", "w6.file.index_bytes")
    assert all(rows[key].targets[0].source == "issue 19" for key in keyed)
    assert all(rows[key].verdict in ("met", "missed") for key in keyed)
    assert rows["w6.file.index_time"].verdict == "no target"
    assert "evsim view" in rows["w6.file.first_frame"].workload


def test_screen_text_is_found_between_terminal_escapes() -> None:
    screen = (
        b"\x1b[?1049h\x1b]22;default\x07\x1b[1;9H\x1b[38;5;253mevsim \xe2\x80\x94 Lessons\x1b[0m"
    )
    assert _ESCAPES.sub(b"", screen) == "evsim — Lessons".encode()


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_first_frame_is_timed_by_starting_evsim_on_a_terminal() -> None:
    assert _first_frame_ms_fresh() > 0
