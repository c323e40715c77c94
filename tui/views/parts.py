"""Pieces every model's picture shares: headings, chips, producers, the end of a run.

A model's view draws its own broker (``tui.views.log``, ``rabbitmq``, ``sqs``);
what sits around it is the same for every model and is drawn here: the event
store and read models first when the trace has them (``tui.views.store``), the
producers, the broker's part, stream processors and sagas
(``tui.views.streams``, ``tui.views.sagas``), the broker's consumers, and
components the view has no picture for. ``compose`` puts them in that order
and finds where each component is drawn, for the chips that move between them.

Every row is laid out in columns (a name padded to its column, then a space,
then the values), never by gluing a label to a value, so a long name cuts
itself short but never runs into the number beside it. Chips carry the marks
of the fold's ``flags``: ``↻2`` a second delivery, ``×2`` processed twice,
``⇅`` overtaken, and a ghost ``░m5`` where a lost message was last seen.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.cells import cell_len
from rich.text import Text

from simulator.lessons.words import word
from tui.fold import ViewState
from tui.i18n import column
from tui.stage import STORE
from tui.views.picture import Anchor, Picture

__all__ = [
    "BrokerPart",
    "chip_marks",
    "compose",
    "heading",
    "legend_lines",
    "names_of",
    "piece_lines",
    "producer_lines",
    "secs",
    "setting",
    "setting_int",
]

BrokerPart = Callable[[ViewState, int, str], tuple[list[Text], list[Text]]]
"""A model's own drawing: (its lanes — partitions, exchanges and queues —, its consumers)."""

STATE_MARK = {
    "running": ("●", "green"),
    "crashed": ("✖", "bold red"),
    "left": ("○", "dim"),
    "restarted": ("◐", "yellow"),
}


def line() -> Text:
    return Text(no_wrap=True, overflow="ellipsis")


def heading(title: str, note: str = "") -> Text:
    out = line()
    out.append(title, style="bold underline")
    if note:
        out.append(f"  {note}", style="dim")
    return out


def secs(ms: int | float) -> str:
    """``850ms``, ``1.25s``, ``42s``, ``5m``: a duration a class reads at a glance."""
    if ms < 1000:
        return f"{ms:.0f}ms"
    if ms < 10_000:
        return f"{ms / 1000:.2f}s"
    if ms < 300_000:
        return f"{ms / 1000:.0f}s"
    return f"{ms / 60_000:.0f}m"


def setting(state: ViewState, key: str, default: str = "") -> str:
    return state.settings.get(key, default)


def setting_int(state: ViewState, key: str) -> int | None:
    """A setting's leading number (``"0 (unlimited)"`` → 0), or None."""
    value = state.settings.get(key, "").strip()
    digits = ""
    for ch in value:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else None


def chip_marks(state: ViewState, msg: int) -> str:
    """The marks a message's chip carries: ``↻n`` redelivered, ``×2`` duplicate, ``⇅`` overtaken."""
    f = state.flags.get(msg)
    if f is None:
        return ""
    out = ""
    if f.deliveries > 1:
        out += f"↻{f.deliveries}"
    if f.dup:
        out += "×2"
    if f.overtook is not None:
        out += "⇅"
    return out


def fits(out: Text, more: str, width: int) -> bool:
    return out.cell_len + cell_len(more) <= width


def chip_track(row: Text, chips: list[tuple[str, str]], width: int) -> Text:
    """Close ``row`` with a queue's track ``▕ chip chip +n ▏`` ending at ``width``: as many
    (text, style) chips as fit, head first, then how many more there are."""
    row.append("▕", style="dim")
    room = width - row.cell_len - 2
    used = 0
    for i, (chip, style) in enumerate(chips):
        left = len(chips) - i
        if used + len(chip) + 1 > room - (len(f"+{left}") if left > 1 else 0):
            row.append(f"+{left}", style="dim")
            used += len(f"+{left}")
            break
        row.append(chip, style=style)
        row.append(" ")
        used += len(chip) + 1
    row.append(" " * max(0, room - used))
    row.append("▏", style="dim")
    return row


def producer_lines(state: ViewState, width: int, lang: str) -> list[Text]:
    """Each producer, and the sends still waiting for their acknowledgement (with their try)."""
    if not state.producers:
        return []
    rows = [heading(word("producers", lang))]
    pw = min(20, max(len(p) for p in state.producers))
    for p in state.producers.values():
        row = line()
        mark, style = ("✖", "bold red") if p.state == "crashed" else ("▸", "cyan")
        row.append(f" {mark} ", style=style)
        row.append(column(p.name, pw), style="bold")
        row.append(f" {word('produced', lang)} {p.produced} · {word('acked', lang)} {p.acked}")
        if p.retries:
            row.append(f" · {word('retries', lang)} {p.retries}", style="dark_orange")
        if p.deduplicated:
            row.append(f" · ⊘{p.deduplicated} {word('dedup_dropped', lang)}", style="magenta")
        if p.failed:
            row.append(f" · {word('failed', lang)} {p.failed}", style="red")
        if p.state == "blocked":  # its connection, by a RabbitMQ memory alarm
            row.append(f" · ⏸ {word('publisher_blocked', lang)}", style="bold yellow")
        rows.append(row)
        if p.in_flight:
            sends = line()
            sends.append(" " * (pw + 4))
            sends.append(f"{word('awaiting_ack', lang)} ", style="dim")
            items = list(p.in_flight.items())
            for i, (msg, send) in enumerate(items):
                chip = f"m{msg}" + (f"↺{send.attempt}" if send.attempt > 1 else "")
                rest = len(items) - i
                if not fits(sends, f"{chip} +{rest}", width):
                    sends.append(f"+{rest}", style="dim")
                    break
                sends.append(chip, style="bold yellow" if send.attempt > 1 else "yellow")
                sends.append(" ")
            retried = [(m, s) for m, s in items if s.attempt > 1 and s.reason]
            if retried:
                msg, send = retried[-1]
                why = f"· m{msg} {word('try', lang)} {send.attempt}: {send.reason}"
                if fits(sends, why, width):
                    sends.append(why, style="dim")
            rows.append(sends)
    return rows


def legend_lines(text: str, width: int) -> list[Text]:
    """A legend (``a · b · c``) on as many dim rows as it needs: never cut off mid-way."""
    rows: list[Text] = []
    current = ""
    for piece in text.split(" · "):
        candidate = f"{current} · {piece}" if current else f" {piece}"
        if current and cell_len(candidate) > width:
            rows.append(Text(current, style="dim", no_wrap=True, overflow="ellipsis"))
            current = f" {piece}"
        else:
            current = candidate
    if current:
        rows.append(Text(current, style="dim", no_wrap=True, overflow="ellipsis"))
    return rows


Piece = list[tuple[str, str]]
"""Styled text that stays on one row: ``[("┃", "red"), (" billing committed", "")]``."""


def piece_lines(pieces: list[Piece], width: int, indent: str = " ") -> list[Text]:
    """Pieces side by side, two spaces apart, on as many rows as they need."""
    rows: list[Text] = []
    row = line()
    for piece in pieces:
        size = sum(cell_len(text) for text, _ in piece)
        if row.cell_len and row.cell_len + 2 + size > width:
            rows.append(row)
            row = line()
        row.append(indent if not row.cell_len else "  ")
        for text, style in piece:
            row.append(text, style=style or None)
    if row.cell_len:
        rows.append(row)
    return rows


def ghost_line(state: ViewState, width: int, lang: str) -> list[Text]:
    """Lost messages stay on the picture as ghost chips where they were last seen
    (the newest that fit; ``+n`` says how many more)."""
    ghosts = [(msg, f.lost_at) for msg, f in state.flags.items() if f.lost_at is not None]
    if not ghosts:
        return []
    out = line()
    out.append(f" {word('lost', lang)} ", style="bold red")
    shown: list[tuple[int, str]] = []
    used = out.cell_len
    for msg, where in reversed(ghosts[-6:]):
        size = cell_len(f"░m{msg}@{where} ")
        if used + size + 4 > width:
            break
        shown.insert(0, (msg, where))
        used += size
    if len(shown) < len(ghosts):
        out.append(f"+{len(ghosts) - len(shown)} ", style="dim")
    for msg, where in shown:
        out.append(f"░m{msg}", style="dim strike")
        out.append(f"@{where} ", style="dim")
    return [out]


def tail_lines(state: ViewState, lang: str) -> list[Text]:
    """Components no view draws (shown by kind), and the end of the run."""
    rows: list[Text] = []
    if state.crashed:
        row = line()
        row.append(f" ✖ {', '.join(state.crashed)} {word('crashed', lang)}", style="bold red")
        rows.append(row)
    if state.others:
        rows.append(heading(word("others", lang)))
        for name, kind in state.others.items():
            row = line()
            row.append(f" ◇ {column(name, 16)} {kind}")
            rows.append(row)
    if state.finished:
        row = line()
        row.append(f"■ {word('finished', lang)} ({state.finished})", style="bold")
        rows.append(row)
    return rows


def names_of(state: ViewState) -> list[str]:
    """Every component the picture may show, for its anchors."""
    names = [*state.producers, *state.lanes, *state.consumers, *state.groups, *state.routed]
    if state.store is not None:
        names += [*state.store.projectors, *state.store.streams, *state.store.handlers]
    names += [*state.windows, *state.sagas, *state.others]
    for rep in state.replication.values():  # a Kafka cluster's brokers
        names += [b for b in rep.replicas if b not in names]
    return names


def compose(
    state: ViewState,
    width: int,
    lang: str,
    broker: BrokerPart,
    top: list[Text] | None = None,
    names: list[str] | None = None,
) -> Picture:
    """The whole picture: store, producers, the model's lanes, processors, its consumers.

    ``top``: a panel drawn above all of it (a RabbitMQ cluster's nodes); ``names``: more
    components it shows, for their anchors (the nodes)."""
    from tui.views.sagas import saga_lines
    from tui.views.store import store_lines
    from tui.views.streams import stream_lines

    width = max(20, width)
    if not state.applied:
        hint = line()
        hint.append("⏵ ", style="bold")
        hint.append("space ▶ play · n/→ step · ? help", style="dim")
        return Picture([hint])
    lines: list[Text] = list(top or [])
    store_at = len(lines)
    if state.store is not None:
        lines += store_lines(state, width, lang)
    lanes, members = broker(state, width, lang)
    lines += producer_lines(state, width, lang)
    lines += lanes
    lines += ghost_line(state, width, lang)
    lines += stream_lines(state, width, lang)
    lines += saga_lines(state, width, lang)
    lines += members
    lines += tail_lines(state, lang)
    while lines and not lines[-1].plain.strip():
        lines.pop()
    out = Picture.of(lines, [*names_of(state), *(names or [])])
    if state.store is not None and len(lines) > store_at:
        first = lines[store_at]
        out.anchors.setdefault(STORE, Anchor(store_at, min(width - 1, first.cell_len)))
    return out
