"""The default picture, for a model that brings none of its own.

Partitions are drawn as the log view draws them, queues as a row of ready
messages (head first) and the unacked ones with the consumer holding each, and
the consumer groups under them; the event store, stream processors and sagas
come from the shared parts (``tui.views.parts``). Components the view has no
picture for are listed generically, so new record kinds show up without a
change here. ``render_flow`` is the same picture as one text.
"""

from __future__ import annotations

from rich.text import Text

from simulator.lessons.words import word
from tui.fold import Lane, ViewState
from tui.i18n import column, fit
from tui.views.log import log_lines, member_lines
from tui.views.parts import chip_marks, compose, heading, line, names_of
from tui.views.picture import Picture
from tui.widgets.palette import key_style

__all__ = ["chip_marks", "names_of", "picture", "render_flow"]


def _queue_line(state: ViewState, lane: Lane, width: int, name_w: int, lang: str) -> Text:
    """A queue: waiting messages (head first) and the unacked ones, per consumer."""
    row = line()
    row.append(column(lane.name, name_w), style="bold")
    row.append(f" {len(lane.ready):>4}", style="dim")
    row.append("▕", style="dim")
    room = max(8, (width - name_w - 6) * 3 // 5)
    used = 0
    for msg, key in lane.ready:
        chip = f"m{msg}{chip_marks(state, msg)}"
        if used + len(chip) + 1 > room:
            row.append("…", style="dim")
            used += 1
            break
        row.append(chip, style=key_style(key))
        row.append(" ")
        used += len(chip) + 1
    row.append(" " * max(0, room - used))
    row.append("▏", style="dim")
    if lane.unacked:
        row.append(f" {word('unacked', lang)} {len(lane.unacked)}: ", style="yellow")
        for msg, u in lane.unacked.items():
            chip = f"m{msg}{chip_marks(state, msg)}→{u.consumer.rsplit('-', 1)[-1]} "
            if row.cell_len + len(chip) > width:
                row.append("…", style="dim")
                break
            row.append(chip, style=key_style(u.key))
    return row


def _broker(state: ViewState, width: int, lang: str) -> tuple[list[Text], list[Text]]:
    rows = log_lines(state, width, lang)
    queues = [lane for lane in state.lanes.values() if lane.queue]
    if queues:
        name_w = min(24, max(len(lane.name) for lane in queues))
        if not rows:
            rows.append(heading(word("lanes", lang), f"{state.broker} · {state.follows}"))
        head = line()
        head.append(f"{column(word('queue', lang), name_w)} {fit(word('ready', lang), 4)}", "dim")
        head.append(f"  {word('head_tail', lang)}", style="dim")
        rows.append(head)
        rows += [_queue_line(state, lane, width, name_w, lang) for lane in queues]
    return rows, member_lines(state, width, lang)


def picture(state: ViewState, width: int, lang: str) -> Picture:
    return compose(state, width, lang, _broker)


def render_flow(state: ViewState, width: int, lang: str) -> Text:
    """The whole default picture as one text (pure: the same state gives the same picture)."""
    return picture(state, width, lang).text()
