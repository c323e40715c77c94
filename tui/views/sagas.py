"""Sagas as state machines: one row per instance, one column per step.

A saga is a chain of local transactions, each with a compensating action. Each
instance is a row through the lesson's steps (``saga.steps`` in the trace
header): ``✔`` done, ``⧗`` the step it waits for — with the step timeout
running down beside it —, ``✖`` failed, ``⌛`` timed out, ``↺`` undone by its
compensation, ``·`` not reached. Forward progress is drawn ``──▶`` between
steps, compensation ``◀──``: undoing runs backwards, from the failed step to
the first. A step a service did twice (not idempotent) is marked ``×2``; a
duplicate an idempotent handler ignored, ``≡``. A tally of every instance by
status heads the block (only the newest instances get a row).
"""

from __future__ import annotations

import ast

from rich.text import Text

from simulator.lessons.words import word
from tui.fold import SagaView, ViewState
from tui.i18n import column
from tui.views.parts import heading, line, secs

__all__ = ["saga_lines", "steps_of"]

SAGAS_SHOWN = 6

_STATUS_MARK = {
    "running": ("▶", "cyan"),
    "failed": ("✖", "bold red"),
    "compensating": ("↺", "yellow"),
    "timed out": ("⌛", "bold red"),
    "compensated": ("↺", "yellow"),
    "timed-out": ("⌛", "yellow"),
    "completed": ("✔", "green"),
}


def steps_of(state: ViewState) -> list[str]:
    """The saga's steps, in order, from the trace header (``saga.steps``)."""
    text = state.settings.get("saga.steps", "")
    try:
        steps = ast.literal_eval(text) if text else []
    except (ValueError, SyntaxError):
        return []
    return [str(s) for s in steps] if isinstance(steps, list) else []


def _cell(state: ViewState, v: SagaView, step: str, waiting: bool) -> tuple[str, str]:
    if step in v.compensated:
        return "↺", "yellow"
    if step == v.failed:
        return ("⌛", "bold red") if v.status in ("timed out", "timed-out") else ("✖", "bold red")
    if step in v.done:
        return ("✔×2", "bold white on red") if step in v.repeats else ("✔", "green")
    if waiting:
        t = state.timers.get(f"saga:{v.saga}:step")
        if t is not None:
            return f"⧗{secs(max(0, t.due_ms - state.at_ms))}", "bold cyan"
        return "⧗", "bold cyan"
    return "·", "dim"


def _row(state: ViewState, v: SagaView, steps: list[str], sw: int, cw: int) -> Text:
    mark, style = _STATUS_MARK.get(v.status, ("■", "bold"))
    row = line()
    row.append(f" {mark} ", style=style)
    row.append(column(v.saga, sw) + " ", style="bold")
    busy = v.status == "running"
    waiting_for = next((s for s in steps if s not in v.done), None) if busy else None
    backwards = bool(v.compensated) or v.status in ("compensating", "compensated", "timed-out")
    for i, step in enumerate(steps):
        text, st = _cell(state, v, step, step == waiting_for)
        row.append(column(text, cw - 4), style=st)
        if i + 1 < len(steps):
            nxt = steps[i + 1]
            if backwards and step in v.compensated and (nxt in v.compensated or nxt == v.failed):
                row.append("◀── ", style="bold yellow")
            elif step in v.done and (nxt in v.done or nxt == waiting_for or nxt == v.failed):
                row.append("──▶ ", style="green")
            else:
                row.append("    ")
    if v.ignored:
        row.append(f" ≡{v.ignored}", style="yellow")
    return row


def saga_lines(state: ViewState, width: int, lang: str) -> list[Text]:
    if not state.sagas:
        return []
    tally = " · ".join(
        f"{word('saga_' + k.replace(' ', '_').replace('-', '_'), lang)} {n}"
        for k, n in state.saga_tally.items()
    )
    mode = next(iter(state.sagas.values())).mode
    rows = [heading(f"{word('sagas', lang)}" + (f" ({mode})" if mode else ""), tally)]
    steps = steps_of(state)
    if not steps:
        seen: list[str] = []
        for v in state.sagas.values():
            for s in [*v.done, v.failed, *v.compensated]:
                if s and s not in seen:
                    seen.append(s)
        steps = seen
    sw = min(12, max(len(s) for s in state.sagas))
    cw = max(8, min(14, (width - sw - 4) // max(1, len(steps))))
    head = line()
    head.append(" " * (sw + 4))
    for step in steps:
        head.append(column(step, cw), style="bold dim")
    rows.append(head)
    for v in list(state.sagas.values())[-SAGAS_SHOWN:]:
        rows.append(_row(state, v, steps, sw, cw))
    return rows
