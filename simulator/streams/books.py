"""Stream-processing outcomes counted from the trace, for ``expect`` lines.

Each metric is kept per processor group and for the whole run (key ``None``):
``windows_emitted`` and ``window_updates`` count results and late updates;
``window_total`` and ``window_max`` are the sum and the largest of each
window's *final* result (its last emission or update) — the numbers a
dashboard would end up showing; ``window_lag_ms`` is the longest wait between
a window's end and its first result; ``late_dropped`` / ``late_side_output``
count records that came too late; ``state_restored`` and ``restored_entries``
count restores from a changelog and what they read.
"""

from __future__ import annotations

from collections.abc import Iterable

from simulator.trace import (
    LateRecordDropped,
    Record,
    StateRestored,
    WindowEmitted,
    WindowUpdated,
)

__all__ = ["stream_metrics"]

Metrics = dict[str, dict[str | None, int]]


def _add(m: Metrics, metric: str, group: str, amount: int) -> None:
    per = m.setdefault(metric, {})
    per[group] = per.get(group, 0) + amount
    per[None] = per.get(None, 0) + amount


def _max(m: Metrics, metric: str, group: str, value: int) -> None:
    per = m.setdefault(metric, {})
    per[group] = max(per.get(group, value), value)
    per[None] = max(per.get(None, value), value)


def stream_metrics(records: Iterable[Record]) -> Metrics:
    """metric → {group (None: all) → value}."""
    m: Metrics = {}
    final: dict[tuple[str, str, int], int] = {}
    for r in records:
        if isinstance(r, WindowEmitted):
            _add(m, "windows_emitted", r.group, 1)
            final[(r.group, r.key, r.start_ms)] = r.value
            lag = m.setdefault("window_lag_ms", {})
            if r.end_ms is not None and r.group not in lag:
                lag[r.group] = r.at - r.end_ms
                lag[None] = max(lag.get(None, 0), r.at - r.end_ms)
        elif isinstance(r, WindowUpdated):
            _add(m, "window_updates", r.group, 1)
            final[(r.group, r.key, r.start_ms)] = r.value
        elif isinstance(r, LateRecordDropped):
            _add(m, "late_side_output" if r.side_output else "late_dropped", r.group, 1)
        elif isinstance(r, StateRestored):
            _add(m, "state_restored", r.group, 1)
            _add(m, "restored_entries", r.group, r.entries)
    for (group, _, _), value in final.items():
        _add(m, "window_total", group, value)
        _max(m, "window_max", group, value)
    return m
