"""Amazon SQS drawn as itself (``ModelSpec.view = "tui.views.sqs"``, standard and FIFO).

An SQS queue never hands a message to one consumer for good: receiving it only
**hides** it for the visibility timeout. So each queue shows its messages in
three places — *visible* (receivable now), *delayed* (``DelaySeconds`` not over
yet) and *in flight* (received, hidden) — and every in-flight message has its
visibility countdown and its receive count (``rc2``: received twice). Only a
``DeleteMessage`` with the newest receipt handle removes a message; a consumer
whose handle went stale (the message came back and someone else received it)
is shown failing to delete. Past ``maxReceiveCount`` receives the redrive policy
moves a message to the dead-letter queue, drawn as a queue of its own.

A FIFO queue keeps order per message group: each group is a lane, locked (🔒)
while a batch of it is in flight, and a send whose deduplication id was seen
within five minutes is accepted but dropped (``⊘ m8 = m3``). A Lambda trigger
polls a batch and reports each item (``[m1✓ m2✗]``); a consumer with several
workers shows how many are busy. An SNS-style topic fans out to its queues.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from simulator.lessons.words import word
from tui.fold import Lane, Timer, ViewState
from tui.i18n import column, fit
from tui.views.parts import (
    STATE_MARK,
    chip_track,
    compose,
    fits,
    heading,
    legend_lines,
    line,
    secs,
    setting,
    setting_int,
)
from tui.views.picture import Picture
from tui.widgets.palette import key_style

if TYPE_CHECKING:
    from simulator.scenario import Scenario

__all__ = ["picture", "queues_of", "topology", "visibility_left"]

FIFO_GROUPS_SHOWN = 6


def queues_of(state: ViewState) -> list[str]:
    out: list[str] = []
    for key in state.settings:
        if key.startswith("queue.") and key.endswith(".VisibilityTimeout_ms"):
            out.append(key[len("queue.") : -len(".VisibilityTimeout_ms")])
    out += [name for name, lane in state.lanes.items() if lane.queue and name not in out]
    return out


def _topics(state: ViewState) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in state.settings.items():
        if key.startswith("topic.") and key.count(".") == 1:
            out[key[len("topic.") :]] = value
    return out


def visibility_left(state: ViewState, queue: str, msg: int) -> Timer | None:
    """The running visibility timeout of ``msg`` in ``queue``, if it is in flight."""
    label = f"m{msg}"
    for t in state.timers.values():
        if t.kind == "visibility" and t.owner == queue and t.label.split(" ", 1)[0] == label:
            return t
    return None


def _chip(state: ViewState, lane: Lane, msg: int) -> str:
    out = f"m{msg}"
    note = lane.notes.get(msg)
    if note is not None and note.dup:
        out += "×2"
    rc = lane.receives.get(msg)
    if rc and rc > 1:
        out += f" rc{rc}"
    if note is not None and note.dead:
        out += f" ☠{note.dead}"
    return out


def _topic_lines(state: ViewState, width: int, lang: str) -> list[Text]:
    topics = _topics(state)
    if not topics:
        return []
    rows = [heading(word("topics_sns", lang))]
    tw = min(18, max(len(t) for t in topics))
    for name, what in topics.items():
        row = line()
        row.append(" ⇉ ", style="blue")
        row.append(column(name, tw), style="bold blue")
        row.append(f" {what}", style="dim")
        rows.append(row)
    return rows


def _queue_note(state: ViewState, q: str, lang: str) -> str:
    def get(key: str) -> str:
        return setting(state, f"queue.{q}.{key}")

    parts: list[str] = []
    vis = setting_int(state, f"queue.{q}.VisibilityTimeout_ms")
    if vis is not None:
        parts.append(f"{word('visibility', lang)} {secs(vis)}")
    batch = get("MaxNumberOfMessages")
    if batch:
        parts.append(f"{word('batch_of', lang)} {batch}")
    delay = setting_int(state, f"queue.{q}.DelaySeconds")
    if delay:
        parts.append(f"DelaySeconds {delay}")
    redrive = get("RedrivePolicy")
    if redrive and redrive != "none":
        parts.append(redrive)
    if get("extend_visibility") == "true":
        parts.append(word("extends_visibility", lang))
    trigger = get("trigger")
    if trigger.startswith("lambda"):
        parts.append(trigger)
    return " · ".join(parts)


def _redrive_source(state: ViewState, q: str) -> tuple[str, str] | None:
    """(source queue, ``maxReceiveCount=3``) when ``q`` is another queue's DLQ."""
    for key, value in state.settings.items():
        if key.endswith(".RedrivePolicy") and value.endswith(f"→ {q}"):
            source = key[len("queue.") : -len(".RedrivePolicy")]
            return source, value.split(" ", 1)[0]
    return None


def _chips_row(
    state: ViewState, lane: Lane, label: str, msgs: list[tuple[int, str | None]], width: int,
    extra: dict[int, str] | None = None,
) -> Text:  # fmt: skip
    row = line()
    row.append(f"   {fit(label, 9)}", style="dim")
    row.append(f"{len(msgs):>3} ", style="bold")
    more = extra or {}
    chips = [(_chip(state, lane, msg) + more.get(msg, ""), key_style(key)) for msg, key in msgs]
    return chip_track(row, chips, width)


def _fifo_rows(
    state: ViewState, lane: Lane, visible: list[tuple[int, str | None]], width: int, lang: str
) -> list[Text]:
    groups: dict[str, list[tuple[int, str | None]]] = {}
    for msg, key in visible:
        groups.setdefault(key or "", []).append((msg, key))
    held: dict[str, list[tuple[int, str]]] = {}
    for msg, u in lane.unacked.items():
        held.setdefault(u.key or "", []).append((msg, u.consumer))
        groups.setdefault(u.key or "", [])
    rows: list[Text] = []
    gw = min(14, max((len(g) for g in groups), default=6))
    for g, msgs in list(groups.items())[:FIFO_GROUPS_SHOWN]:
        row = line()
        row.append(f"   {word('msg_group', lang)} ", style="dim")
        row.append(column(g, gw), style=key_style(g) if g else "bold")
        lock = held.get(g)
        if lock:
            row.append(" 🔒", style="bold yellow")
            row.append(
                " " + " ".join(f"m{m}→{c.rsplit('-', 1)[-1]}" for m, c in lock[:3]),
                style="yellow",
            )
        else:
            row.append("   ")
        row.append(" ▕", style="dim")
        for msg, key in msgs:
            chip = _chip(state, lane, msg)
            if not fits(row, chip + " ▏", width):
                row.append("…", style="dim")
                break
            row.append(chip, style=key_style(key))
            row.append(" ")
        row.append("▏", style="dim")
        rows.append(row)
    if len(groups) > FIFO_GROUPS_SHOWN:
        more = line()
        more.append(f"   … +{len(groups) - FIFO_GROUPS_SHOWN} {word('msg_groups', lang)}", "dim")
        rows.append(more)
    return rows


def _in_flight_rows(state: ViewState, q: str, lane: Lane, width: int, lang: str) -> list[Text]:
    rows: list[Text] = []
    items = list(lane.unacked.items())
    for i, (msg, u) in enumerate(items[:6]):
        row = line()
        row.append(f"   {fit(word('in_flight_sqs', lang) if i == 0 else '', 12)} ", style="dim")
        row.append(_chip(state, lane, msg).split(" ")[0], style=key_style(u.key))
        row.append(f" → {u.consumer}", style="dim")
        t = visibility_left(state, q, msg)
        if t is not None:
            left = max(0, t.due_ms - state.at_ms)
            bar_w = 8
            filled = round(t.left(state.at_ms) * bar_w)
            row.append(" ⏳", style="dark_orange")
            row.append("█" * filled, style="red" if t.left(state.at_ms) < 0.25 else "yellow")
            row.append("░" * (bar_w - filled), style="dim")
            row.append(f" {secs(left)}", style="bold")
        rc = lane.receives.get(msg)
        if rc is not None:
            row.append(f"  rc{rc}", style="bold red" if rc > 1 else "dim")
        rows.append(row)
    if len(items) > 6:
        more = line()
        more.append(f"   {'':13}+{len(items) - 6}", style="dim")
        rows.append(more)
    return rows


_NOTE = {
    "deleted": ("✓", "green"),
    "stale": ("✗", "bold red"),
    "extended": ("⏳", "dark_orange"),
    "refused": ("✗", "red"),
}


def _consumer_rows(state: ViewState, q: str, width: int, lang: str) -> list[Text]:
    rows: list[Text] = []
    members = [c for c in state.consumers.values() if c.group == q]
    cw = min(18, max((len(c.name) for c in members), default=8))
    workers = setting_int(state, f"queue.{q}.concurrency") or 1
    lam = setting(state, f"queue.{q}.trigger").startswith("lambda")
    for c in members:
        mark, style = STATE_MARK.get(c.state, ("?", ""))
        row = line()
        row.append(f"   {'λ' if lam and c.state == 'running' else mark} ", style=style)
        row.append(column(c.name, cw), style="bold")
        unit = word("invocations" if lam else "workers", lang)
        row.append(f" {workers} {unit}", style="dim")
        if c.state != "running":
            row.append(f" {word(c.state, lang)}", style=style)
        held = [m for m, where in c.in_flight.items() if where == q]
        if held:
            row.append(" ⧗ ", style="yellow")
            lane = state.lanes.get(q)
            for i, m in enumerate(held[:4]):
                mine = lane is not None and m in lane.unacked and lane.unacked[m].consumer == c.name
                # Still working on a message the queue made visible again: its handle is stale.
                chip = ("" if i == 0 else " ") + f"m{m}" + ("" if mine else "⚠")
                row.append(chip, style="yellow" if mine else "bold red")
        row.append(f" · {word('processed', lang)} {c.processed}", style="dim")
        if c.batch:
            row.append(" · batch ", style="dim")
            for msg, status in c.batch:
                glyph, st = {"ok": ("✓", "green"), "failed": ("✗", "bold red")}.get(
                    status, ("…", "yellow")
                )
                piece = f"m{msg}{glyph} "
                if not fits(row, piece, width):
                    row.append("…", style="dim")
                    break
                row.append(piece, style=st)
        elif c.note is not None:
            what, msg = c.note
            glyph, st = _NOTE.get(what, ("·", "dim"))
            note = f" · {glyph} {word('sqs_' + what, lang)} m{msg}"
            if fits(row, note, width):
                row.append(note, style=st)
        rows.append(row)
    return rows


def queue_lines(state: ViewState, width: int, lang: str) -> list[Text]:
    queues = queues_of(state)
    if not queues:
        return []
    fifo = state.settings.get("queue.type") == "FIFO"
    kind = "FIFO" if fifo else "standard"
    rows = [heading(word("queues", lang), f"{state.broker} · {state.follows} · {kind}")]
    qw = min(20, max(len(q) for q in queues))
    for q in queues:
        lane = state.lanes.get(q)
        row = line()
        row.append(" ▣ ", style="bold blue")
        row.append(column(q, qw), style="bold")
        source = _redrive_source(state, q)
        if source is not None:
            row.append(f" DLQ ← {source[0]} ({source[1]})", style="dim")
        else:
            row.append(f" {_queue_note(state, q, lang)}", style="dim")
        if fifo and setting(state, f"queue.{q}.ContentBasedDeduplication") == "true":
            row.append(f" · {word('dedup_by_content', lang)}", style="dim")
        rows.append(row)
        if lane is None:
            rows += _consumer_rows(state, q, width, lang)
            continue
        now = state.at_ms
        delayed = [(m, k) for m, k in lane.ready if lane.hidden_until.get(m, 0) > now]
        visible = [(m, k) for m, k in lane.ready if lane.hidden_until.get(m, 0) <= now]
        if fifo and source is None:
            rows += _fifo_rows(state, lane, visible, width, lang)
        else:
            rows.append(_chips_row(state, lane, word("visible", lang), visible, width))
        if delayed:
            waits = {m: f" {secs(lane.hidden_until[m] - now)}" for m, _ in delayed}
            rows.append(_chips_row(state, lane, word("delayed", lang), delayed, width, waits))
        rows += _in_flight_rows(state, q, lane, width, lang)
        for msg, first, _ in lane.dedup_drops[-2:]:
            drop = line()
            drop.append(f"   ⊘ m{msg} ", style="bold magenta")
            drop.append(word("dedup_repeat", lang, first=first), style="magenta")
            rows.append(drop)
        rows += _consumer_rows(state, q, width, lang)
    rows += legend_lines(word("sqs_legend", lang), width)
    if fifo:
        rows += legend_lines(word("fifo_legend", lang), width)
    return rows


def _broker(state: ViewState, width: int, lang: str) -> tuple[list[Text], list[Text]]:
    return _topic_lines(state, width, lang) + queue_lines(state, width, lang), []


def picture(state: ViewState, width: int, lang: str) -> Picture:
    return compose(state, width, lang, _broker)


def topology(s: Scenario, settings: dict[str, str], lang: str) -> list[Text]:
    """The lesson before it runs: producers → topics (fan-out) → queues, DLQs → consumers."""
    state = ViewState(settings=settings)
    rows: list[Text] = []
    for p in s.producers:
        row = line()
        row.append(f" ▸ {p.name}", style="cyan")
        row.append(f" → ⇉ {p.topic}", style="blue")
        rows.append(row)
    rows += _topic_lines(state, 80, lang)[1:]
    fifo = settings.get("queue.type") == "FIFO"
    for q in queues_of(state):
        row = line()
        row.append(" ▣ ", style="bold blue")
        row.append(q, style="bold")
        row.append(" FIFO" if fifo else "", style="bold yellow")
        row.append(f" {_queue_note(state, q, lang)}", style="dim")
        consumers = setting_int(state, f"queue.{q}.consumers") or 0
        row.append(f" · {word('n_consumers', lang, n=consumers)}")
        rows.append(row)
    return rows
