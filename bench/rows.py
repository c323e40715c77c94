"""One row of ``evsim bench``: a figure, its anchor, the targets it must meet, and the verdict.

A row is plain data, so ``--json`` prints exactly what the table shows. The
verdict is computed from the row's targets, never written by hand: a target
bounds either our own figure (``>= 250,000 deliveries/s``) or the ratio to the
anchor measured in the same run (``>= 1.5x SimPy``). A row compared with an
anchor also says what work both sides did, counted after the run
(``SameWork``); when the counts disagree the comparison is meaningless, so
``same_work`` raises ``SameWorkError`` instead of producing a row.

Each row has a stable ``key`` (``w1.processing_1ms``, ``w7.process``) so a
script or a later target can find it without parsing the label.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

__all__ = [
    "ANCHOR_NOT_INSTALLED",
    "BenchRow",
    "SameWork",
    "SameWorkError",
    "Target",
    "Verdict",
    "at_least",
    "at_most",
    "bench_row",
    "same_work",
]

ANCHOR_NOT_INSTALLED: Final = "anchor not installed"

Verdict = Literal["met", "missed", "no anchor", "no target"]
"""``no anchor``: a ratio target that cannot be judged because its anchor is missing."""


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """A bound one figure of a row must meet, and the issue that set it."""

    figure: Literal["ours", "ratio"]
    op: Literal[">=", "<="]
    bound: float
    source: str = ""

    def judge(self, ours: float, ratio: float | None) -> bool | None:
        """True when met, False when missed, None when the figure was not measured."""
        value = ours if self.figure == "ours" else ratio
        if value is None:
            return None
        return value >= self.bound if self.op == ">=" else value <= self.bound

    def describe(self, unit: str, anchor_name: str) -> str:
        if self.figure == "ratio":
            return f"{self.op} {self.bound:g}x {anchor_name}"
        return f"{self.op} {self.bound:,g} {unit}"


def at_least(bound: float, figure: Literal["ours", "ratio"] = "ours", source: str = "") -> Target:
    return Target(figure=figure, op=">=", bound=bound, source=source)


def at_most(bound: float, figure: Literal["ours", "ratio"] = "ours", source: str = "") -> Target:
    return Target(figure=figure, op="<=", bound=bound, source=source)


class SameWork(msgspec.Struct, frozen=True, kw_only=True):
    """What both sides did, counted after the run: a row exists only when they agree."""

    what: str
    """What was counted, e.g. ``messages delivered``."""
    expected: int
    ours: int
    anchor: int | None
    """None when the anchor is not installed."""
    totals_agree: bool | None = None
    """For a projection: the balances both sides computed are the same (None: not compared)."""

    def describe(self) -> str:
        anchor = "" if self.anchor is None else f" = {self.anchor:,}"
        totals = "" if self.totals_agree is None else ", totals agree"
        return f"{self.ours:,}{anchor} {self.what}{totals}"


class SameWorkError(RuntimeError):
    """An anchor row whose two sides did not do the same work: an error, never a row."""


def same_work(
    workload: str,
    what: str,
    expected: int,
    ours: int,
    anchor: int | None,
    *,
    totals_agree: bool | None = None,
) -> SameWork:
    """The counts of both sides, checked: each must equal ``expected``."""
    wrong = [
        f"{side} {count:,}"
        for side, count in (("ours", ours), ("anchor", anchor))
        if count is not None and count != expected
    ]
    if wrong:
        raise SameWorkError(
            f"{workload}: expected {expected:,} {what}, counted {', '.join(wrong)}: "
            "the two sides did not do the same work"
        )
    if totals_agree is False:
        raise SameWorkError(f"{workload}: the totals computed by the two sides differ")
    return SameWork(
        what=what, expected=expected, ours=ours, anchor=anchor, totals_agree=totals_agree
    )


class BenchRow(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    """Stable id of the row, e.g. ``w1.processing_1ms``."""
    workload: str
    unit: str
    ours: float
    anchor: float | None
    anchor_name: str
    """The anchor's name, ``-`` for a row without one, or ``anchor not installed``."""
    ratio: float | None
    """ours / anchor, to one decimal."""
    targets: tuple[Target, ...]
    target: str
    """The targets as text (``none`` for a row that only reports a figure)."""
    verdict: Verdict
    same_work: SameWork | None
    note: str = ""


def bench_row(
    *,
    key: str,
    workload: str,
    unit: str,
    ours: float,
    targets: tuple[Target, ...] = (),
    anchor: float | None = None,
    anchor_name: str = "-",
    work: SameWork | None = None,
    note: str = "",
) -> BenchRow:
    """A row with its ratio and verdict computed from the figures and the targets."""
    exact_ratio = ours / anchor if anchor else None
    judged = [t.judge(ours, exact_ratio) for t in targets]
    verdict: Verdict
    if not targets:
        verdict = "no target"
    elif False in judged:
        verdict = "missed"
    elif None in judged:
        verdict = "no anchor"
    else:
        verdict = "met"
    return BenchRow(
        key=key,
        workload=workload,
        unit=unit,
        ours=ours,
        anchor=anchor,
        anchor_name=anchor_name,
        ratio=None if exact_ratio is None else round(exact_ratio, 1),
        targets=targets,
        target="; ".join(t.describe(unit, anchor_name) for t in targets) or "none",
        verdict=verdict,
        same_work=work,
        note=note,
    )
