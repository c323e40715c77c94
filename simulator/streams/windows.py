"""Which windows an event time falls into: tumbling, hopping and session windows.

A window is a half-open interval ``[start, end)`` of event time, as in Kafka
Streams and Flink: an event exactly at ``end`` belongs to the *next* window.
Tumbling windows tile time without overlap (``start = t - t % size``); hopping
windows of ``size`` start every ``advance`` and overlap, so one event counts in
``size / advance`` of them; session windows have no fixed bounds — a key's
events closer together than ``gap`` merge into one session (see ``operator``).
Windows are aligned to the epoch (0 ms), as both systems align them.
"""

from __future__ import annotations

__all__ = ["hopping_windows", "session_bounds", "tumbling_window"]


def tumbling_window(t_ms: int, size_ms: int) -> tuple[int, int]:
    """The one tumbling window ``[start, end)`` holding event time ``t_ms``."""
    start = t_ms - t_ms % size_ms
    return start, start + size_ms


def hopping_windows(t_ms: int, size_ms: int, advance_ms: int) -> list[tuple[int, int]]:
    """Every hopping window holding ``t_ms``, oldest first (windows start at 0 or later)."""
    last_start = t_ms - t_ms % advance_ms
    out: list[tuple[int, int]] = []
    start = last_start
    while start > t_ms - size_ms and start >= 0:
        out.append((start, start + size_ms))
        start -= advance_ms
    out.reverse()
    return out


def session_bounds(t_ms: int, gap_ms: int) -> tuple[int, int]:
    """A new session for a lone event: it stays open until ``gap`` after the event."""
    return t_ms, t_ms + gap_ms
