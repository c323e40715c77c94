"""How ``evsim bench`` shows its rows: a progress line per row, then one table.

Every row shows the same columns — our figure, the anchor's, the ratio (one
decimal), the target, the verdict and the work both sides were counted doing —
so a missed target or a missing anchor is as visible as a met one.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from bench.rows import BenchRow

__all__ = ["figure", "notes", "progress_line", "rows_table"]

VERDICT_STYLES = {"met": "green", "missed": "bold red", "no anchor": "yellow", "no target": "dim"}


def figure(value: float, unit: str) -> str:
    """A figure with a precision that suits its unit (no false digits)."""
    if unit == "ms":
        digits = 2 if value < 10 else 1 if value < 100 else 0
        return f"{value:,.{digits}f} ms"
    number = f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.2f}"
    return f"{number} {unit}".rstrip()


def _ratio(row: BenchRow) -> str:
    return "" if row.ratio is None else f"{row.ratio:.1f}x"


def _anchor(row: BenchRow) -> str:
    if row.anchor is None:
        return row.anchor_name
    return f"{figure(row.anchor, row.unit)} ({row.anchor_name})"


def progress_line(row: BenchRow) -> str:
    """One line per row, printed as soon as it is measured."""
    parts = [f"{row.workload}: {figure(row.ours, row.unit)}"]
    if row.anchor is not None or row.anchor_name not in ("-", ""):
        parts.append(
            f"anchor {_anchor(row)}" + (f", {_ratio(row)}" if row.ratio is not None else "")
        )
    parts.append(f"target {row.target}: {row.verdict}" if row.targets else row.verdict)
    if row.same_work is not None:
        parts.append(f"same work: {row.same_work.describe()}")
    return " · ".join(parts)


def rows_table(rows: list[BenchRow]) -> Table:
    """The rows as one table; a row with a note is marked with its number in ``notes``."""
    table = Table(show_edge=False)
    for column in ("workload", "ours", "anchor", "ratio", "target", "verdict", "same work"):
        table.add_column(column, justify="right" if column in ("ours", "ratio") else "left")
    numbered = 0
    for row in rows:
        workload = Text(row.workload)
        if row.note:
            numbered += 1
            workload.append(f" [{numbered}]", style="dim")
        table.add_row(
            workload,
            Text(figure(row.ours, row.unit)),
            Text(_anchor(row)),
            Text(_ratio(row)),
            Text(row.target),
            Text(row.verdict, style=VERDICT_STYLES[row.verdict]),
            Text("" if row.same_work is None else row.same_work.describe()),
        )
    return table


def notes(rows: list[BenchRow]) -> list[str]:
    """The rows' notes, numbered as ``rows_table`` marks them."""
    with_notes = [row for row in rows if row.note]
    return [f"[{n}] {row.note}" for n, row in enumerate(with_notes, start=1)]
