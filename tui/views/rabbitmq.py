"""RabbitMQ drawn as itself (``ModelSpec.view = "tui.views.rabbitmq"``).

A publisher never writes to a queue: it publishes to an **exchange**, which
routes a copy to every queue whose binding matches (a ``fanout`` ignores the
routing key, ``direct`` and ``topic`` match it against each binding key). So the
picture starts with the exchanges — their type, their bindings with the keys,
and where the last message went — then each queue with its type (classic or
quorum), its arguments (dead-letter exchange, TTL, length limit, delivery limit),
the messages ready in it, head first, and under it each consumer's **prefetch
window**: ``basic.qos`` lets a consumer hold at most that many unacked
deliveries, drawn as that many slots, each filled slot with its delivery tag
(``t3 m5``: the channel's third delivery is m5). A chip that came back carries
``↻`` (redelivered) and, on a quorum queue, ``dc2`` (its ``x-delivery-count``);
a dead letter carries its ``x-death`` reason (``☠rejected``). Messages the queue
itself threw away — TTL expired, over ``x-max-length`` — are listed at the
queue. Everything comes from the trace: the records and the settings in its
header.

On a cluster (``[rabbitmq.cluster]``) a panel comes first: one row per node —
up or crashed, the queues it holds and its part in each (a quorum queue's ``★``
leader or a follower, a classic queue's home) and the clients connected to it —
then the links a partition cuts, and one row per queue that matters for
availability: a quorum queue's members, leader, term and how far its log is
committed (and on which members), a classic queue's node, and why a queue
serves nobody right now. The panel is a fold of the trace like everything else
(``ViewState.cluster``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from simulator.lessons.words import word
from tui.fold import ClusterView, Lane, ViewState
from tui.i18n import column, fit
from tui.views.parts import (
    STATE_MARK,
    chip_track,
    compose,
    fits,
    heading,
    legend_lines,
    line,
    setting,
    setting_int,
)
from tui.views.picture import Picture
from tui.widgets.palette import key_style

if TYPE_CHECKING:
    from simulator.scenario import Scenario

__all__ = ["cluster_lines", "exchanges_of", "picture", "queues_of", "topology"]

SLOTS_DRAWN = 10
"""Prefetch windows wider than this draw their empty slots as a count (``□×40``)."""


def exchanges_of(state: ViewState) -> dict[str, str]:
    """Exchange → its type, from the trace header (``exchange.NAME.type``)."""
    out: dict[str, str] = {}
    for key, value in state.settings.items():
        if key.startswith("exchange.") and key.endswith(".type"):
            out[key[len("exchange.") : -len(".type")]] = value
    for name in state.routed:
        out.setdefault(name, "?")
    return out


def queues_of(state: ViewState) -> list[str]:
    """Queues in the order the lesson declares them, then any the trace shows besides."""
    out: list[str] = []
    for key in state.settings:
        if key.startswith("queue.") and key.endswith(".bound_to"):
            out.append(key[len("queue.") : -len(".bound_to")])
    out += [name for name, lane in state.lanes.items() if lane.queue and name not in out]
    return out


def _chip(lane: Lane | None, msg: int, redelivered: bool = False) -> str:
    """``m5``, with ``↻`` (came back to this queue), ``dc2`` (x-delivery-count), ``☠reason``."""
    out = f"m{msg}"
    note = lane.notes.get(msg) if lane is not None else None
    if note is not None:
        if note.returned or redelivered:
            out += "↻"
        if note.delivery_count:
            out += f"dc{note.delivery_count}"
        if note.dup:
            out += "×2"
        if note.dead:
            out += f"☠{note.dead}"
    elif redelivered:
        out += "↻"
    return out


def _exchange_lines(state: ViewState, width: int, lang: str) -> list[Text]:
    exchanges = exchanges_of(state)
    if not exchanges:
        return []
    queues = queues_of(state)
    dlx_of = {q: setting(state, f"queue.{q}.x-dead-letter-exchange") for q in queues}
    rows = [heading(word("exchanges", lang))]
    ew = min(18, max(len(e) for e in exchanges))
    for name, kind in exchanges.items():
        row = line()
        row.append(" ⇉ ", style="blue")
        row.append(column(name, ew), style="bold blue")
        row.append(f" {fit(kind, 6)} →", style="blue")
        bound = [q for q in queues if setting(state, f"queue.{q}.bound_to") == name]
        for q in bound:
            keys = setting(state, f"queue.{q}.binding_keys")
            piece = (" " if q == bound[0] else ", ") + q + (f" [{keys}]" if keys else "")
            if not fits(row, piece, width - 2):
                row.append(" …", style="dim")
                break
            row.append(piece)
        if any(d == name for d in dlx_of.values()):
            row.append(f"  ({word('dead_letters', lang)})", style="dim")
        rows.append(row)
        last = state.routed.get(name)
        if last is not None:
            msg, key, to = last
            went = line()
            went.append(" " * (ew + 4))
            went.append(f"{word('last_routed', lang)} ", style="dim")
            went.append(f"m{msg}", style=key_style(key))
            if key is not None and kind != "fanout":
                went.append(f" key={key}", style="dim")
            went.append(" → " + (", ".join(to) if to else word("unroutable", lang)), style="dim")
            rows.append(went)
    return rows


def _queue_args(state: ViewState, q: str, lang: str) -> str:
    def get(key: str) -> str:
        return setting(state, f"queue.{q}.{key}")

    parts = [get("x-queue-type") or "classic"]
    limit = get("x-delivery-limit")
    if limit and limit != "none":
        parts.append(f"delivery-limit {limit}")
    ttl = get("x-message-ttl")
    if ttl and ttl != "none":
        parts.append(f"ttl {ttl}ms")
    maxlen = get("x-max-length")
    if maxlen and maxlen != "none":
        parts.append(f"max {maxlen} {get('x-overflow') or 'drop-head'}")
    dlx = get("x-dead-letter-exchange")
    if dlx and dlx != "none":
        parts.append(f"DLX→{dlx}")
    return " · ".join(parts)


def _ready_row(state: ViewState, lane: Lane, width: int, lang: str) -> Text:
    row = line()
    row.append(f"   {fit(word('ready', lang), 6)}", style="dim")
    row.append(f"{len(lane.ready):>3} ", style="bold")
    return chip_track(row, [(_chip(lane, msg), key_style(key)) for msg, key in lane.ready], width)


def _window(state: ViewState, lane: Lane, consumer: str, prefetch: int | None, room: int) -> Text:
    """The consumer's unacked deliveries as its prefetch slots: ``[t3 m5][ ]``."""
    held = sorted(
        ((u.tag, msg, u) for msg, u in lane.unacked.items() if u.consumer == consumer),
        key=lambda t: t[0],
    )
    out = Text(no_wrap=True)
    if prefetch:
        out.append(f"{len(held)}/{prefetch} ", style="bold" if len(held) < prefetch else "yellow")
    else:
        out.append(f"{len(held)}/∞ ", style="bold")
    drawn = 0
    for tag, msg, u in held[:SLOTS_DRAWN]:
        chip = _chip(lane, msg, u.redelivered)
        if out.cell_len + len(chip) + len(f"t{tag}") + 3 + 4 > room:
            break
        out.append("[", style="dim")
        out.append(f"t{tag} ", style="dim")
        out.append(chip, style=key_style(u.key))
        out.append("]", style="dim")
        drawn += 1
    if len(held) > drawn:
        out.append(f"+{len(held) - drawn}", style="dim")
    if prefetch:
        empty = max(0, prefetch - len(held))
        if empty and empty <= SLOTS_DRAWN - min(len(held), SLOTS_DRAWN):
            out.append("[ ]" * empty, style="dim")
        elif empty:
            out.append(f"[ ]×{empty}", style="dim")
    return out


_NOTE_STYLE = {
    "acked": "green",
    "requeued": "yellow",
    "rejected": "red",
}


def _consumer_rows(
    state: ViewState, q: str, lane: Lane | None, width: int, lang: str
) -> list[Text]:
    rows: list[Text] = []
    prefetch = setting_int(state, f"queue.{q}.prefetch")
    members = [c for c in state.consumers.values() if c.group == q]
    cw = min(18, max((len(c.name) for c in members), default=8))
    for c in members:
        mark, style = STATE_MARK.get(c.state, ("?", ""))
        row = line()
        row.append(f"   {mark} ", style=style)
        row.append(column(c.name, cw), style="bold")
        row.append(" ")
        if c.state != "running":
            row.append(f"{word(c.state, lang)}", style=style)
        elif lane is not None:
            row.append_text(_window(state, lane, c.name, prefetch, width - row.cell_len - 14))
        note = f" {word('processed', lang)} {c.processed}"
        if c.note is not None:
            what, msg = c.note
            note += f" · {word('note_' + what, lang)} m{msg}"
        if fits(row, note, width):
            row.append(note, style=_NOTE_STYLE.get(c.note[0], "dim") if c.note else "dim")
        rows.append(row)
    return rows


def _drops_row(state: ViewState, q: str, lane: Lane, lang: str) -> list[Text]:
    """What the queue itself threw away lately: TTL expiries, length-limit drops."""
    if not lane.drops:
        return []
    rows: list[Text] = []
    dlx = setting(state, f"queue.{q}.x-dead-letter-exchange")
    to = f" → {dlx}" if dlx and dlx != "none" else f" ({word('dropped', lang)})"
    by_what: dict[str, list[int]] = {}
    for msg, what in lane.drops:
        by_what.setdefault(what, []).append(msg)
    for what, msgs in by_what.items():
        row = line()
        if what == "expired":
            ttl = setting(state, f"queue.{q}.x-message-ttl")
            row.append(f"   ⌛ {word('ttl_expired', lang, ttl=ttl)}: ", style="bold red")
        else:
            limit = setting(state, f"queue.{q}.x-max-length")
            row.append(f"   ⊘ {word('maxlen_dropped', lang, n=limit, how=what)}: ", "bold red")
        row.append(" ".join(f"m{m}" for m in msgs[-6:]), style="red")
        row.append(to, style="dim")
        rows.append(row)
    return rows


def queue_lines(state: ViewState, width: int, lang: str) -> list[Text]:
    queues = queues_of(state)
    if not queues:
        return []
    rows = [heading(word("queues", lang), f"{state.broker} · {state.follows}")]
    qw = min(20, max(len(q) for q in queues))
    for q in queues:
        lane = state.lanes.get(q)
        row = line()
        row.append(" ▣ ", style="bold blue")
        row.append(column(q, qw), style="bold")
        row.append(f" {_queue_args(state, q, lang)}", style="dim")
        bound = setting(state, f"queue.{q}.bound_to")
        if bound:
            row.append(f" · ← {bound}", style="dim")
        rows.append(row)
        if lane is not None:
            rows.append(_ready_row(state, lane, width, lang))
            rows += _drops_row(state, q, lane, lang)
        rows += _consumer_rows(state, q, lane, width, lang)
    rows += legend_lines(f"[t3 m5] {word('slot_legend', lang)}", width)
    return rows


_QUEUE_MARK = "⎔"
"""Opens a queue's row here: not one of the row marks a picture reads a name after, so the
queue's own lane keeps its anchor."""


def _node_line(state: ViewState, view: ClusterView, node: str, width: int, lang: str) -> Text:
    down = node in state.crashed
    line = Text(no_wrap=True, overflow="ellipsis")
    mark, style = ("✖", "bold red") if down else ("●", "green")
    line.append(f" {mark} ", style=style)
    name_w = min(16, max(len(n) for n in view.nodes))
    line.append(column(node, name_w), style="bold")
    status = word("crashed", lang) if down else word("node_up", lang)
    line.append(f" {column(status, 8)}", style=style if down else "dim")
    parts: list[Text] = []
    for name, q in view.quorum.items():
        if node not in q.members:
            continue
        part = Text(name)
        if q.leader == node:
            part.append(f" ★ {word('leader', lang)}", style="bold yellow")
        else:
            part.append(f" {word('follower', lang)}", style="dim")
        parts.append(part)
    for name, home in view.homes.items():
        if home == node and name not in view.quorum:
            part = Text(name)
            part.append(f" ({word('classic_queue', lang)})", style="dim")
            if name in view.unavailable:
                part.append(f" ✖ {word('unavailable', lang)}", style="bold red")
            parts.append(part)
    for i, part in enumerate(parts):
        line.append(" · " if i else "  ", style="dim")
        line.append_text(part)
    clients = [c for c, n in view.clients.items() if n == node]
    if clients:
        line.append(f"  {word('clients', lang)} ", style="dim")
        line.append(" ".join(clients), style="cyan")
    line.truncate(width)
    return line


def _cluster_queue_line(view: ClusterView, name: str, width: int, lang: str) -> Text:
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f" {_QUEUE_MARK} ", style="dim")
    line.append(name, style="bold")
    q = view.quorum.get(name)
    if q is None:
        line.append(f"  {word('classic_queue', lang)}", style="dim")
        line.append(f" · {word('on_node', lang, node=view.homes.get(name, '?'))}")
    else:
        line.append(f"  {word('quorum_queue', lang)}", style="dim")
        if q.leader is not None:
            line.append(f" · ★ {word('leader', lang)} {q.leader}", style="bold yellow")
        else:
            line.append(f" · {word('no_leader', lang)}", style="bold red")
        line.append(f" · {word('term', lang)} {q.term}")
        if q.committed:
            members = " ".join(q.replicas)
            line.append(
                f" · {word('committed_on', lang, index=q.committed, members=members)}",
                style="dim",
            )
    reason = view.unavailable.get(name)
    if reason is not None:
        line.append(f" · {word('unavailable', lang)}: ", style="bold red")
        line.append(reason, style="red")  # a trace field: plain text, never markup
    line.truncate(width)
    return line


def cluster_lines(state: ViewState, width: int, lang: str) -> list[Text]:
    """The cluster panel's lines (none on one node)."""
    view = state.cluster
    if view is None or not state.applied:
        return []
    head = Text(no_wrap=True, overflow="ellipsis")
    head.append(word("cluster", lang), style="bold underline")
    head.append(f"  {word('cluster_note', lang)}", style="dim")
    lines = [head]
    lines += [_node_line(state, view, node, width, lang) for node in view.nodes]
    for a, b in view.cut:
        cut = Text(no_wrap=True)
        cut.append(f" ⇹ {a} ✂ {b} {word('cut_off', lang)}", style="bold magenta")
        lines.append(cut)
    queues = [*view.quorum, *(n for n in view.homes if n not in view.quorum)]
    lines += [_cluster_queue_line(view, name, width, lang) for name in queues]
    return lines


def _broker(state: ViewState, width: int, lang: str) -> tuple[list[Text], list[Text]]:
    return _exchange_lines(state, width, lang) + queue_lines(state, width, lang), []


def picture(state: ViewState, width: int, lang: str) -> Picture:
    """The exchanges and queues, under a cluster's panel when there is a cluster."""
    panel = cluster_lines(state, max(20, width), lang)
    nodes = state.cluster.nodes if state.cluster is not None and panel else []
    return compose(state, width, lang, _broker, top=panel, names=list(nodes))


def topology(s: Scenario, settings: dict[str, str], lang: str) -> list[Text]:
    """The lesson before it runs: publishers → exchanges → bindings → queues → consumers."""
    state = ViewState(settings=settings)
    rows: list[Text] = []
    for p in s.producers:
        row = line()
        row.append(f" ▸ {p.name}", style="cyan")
        kind = exchanges_of(state).get(p.topic, "fanout")
        confirms = setting(state, f"publisher.{p.name}.confirms") == "true"
        row.append(f" → ⇉ {p.topic} ({kind})", style="blue")
        row.append(f"  {word('confirms' if confirms else 'no_confirms', lang)}", style="dim")
        rows.append(row)
    rows += _exchange_lines(state, 80, lang)[1:]
    for q in queues_of(state):
        row = line()
        row.append(" ▣ ", style="bold blue")
        row.append(q, style="bold")
        row.append(f" {_queue_args(state, q, lang)}", style="dim")
        prefetch = setting(state, f"queue.{q}.prefetch")
        if prefetch:
            row.append(f" · prefetch {prefetch}", style="dim")
        consumers = setting_int(state, f"queue.{q}.consumers") or 0
        row.append(f" · {word('n_consumers', lang, n=consumers)}")
        rows.append(row)
    return rows
