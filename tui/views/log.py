"""The Kafka-style log drawn as itself (``ModelSpec.view = "tui.views.log"``).

One row per partition: its log start offset, the newest records as chips (the
offset, coloured by message key), the log end offset and the high watermark,
and a coloured ``┃`` where each group's committed offset is — the next record
that group will read. A record a retry appended carries ``↺2``; a record inside
a transaction sits in a bracket ``⟦ ⟧``, struck through once the transaction
aborted (a ``read_committed`` reader skips it, a ``read_uncommitted`` one does
not). When a lesson has only a few partitions each gets a second row under its
chips: the key order of each record (``#3``: the third message of its key —
a retry that landed late shows as a number out of order) or, for an idempotent
producer, its sequence number; a repeat the broker recognised by that number
and dropped is shown under the row (``⊘ m11 #2 a repeat of @2: not appended``).

The groups follow: generation, state, assignor and, after a rebalance, which
partitions changed hands (``orders/1 billing-0 → billing-2``), then each
member's assignment, state and the messages it holds.

On one broker the high watermark follows the log end (one replica is every
in-sync replica), and is drawn apart (``end/HW``) only when a trace says they
differ. A cluster adds what replication decides, read off the fold
(``ViewState.replication``), never off the simulator:

- each partition's replicas in assignment order, marked ``★`` for the leader,
  ``●`` for a follower in the ISR, ``○`` for one out of sync, and ``✖`` on a
  broker that is down; then the leader epoch and the high watermark — the
  offset below which consumers may read;
- each broker on a row of its own, with what it leads and what it follows,
  so narration that focuses on ``broker-2`` lights that row.

The block sits above the consumer groups, below the lanes it explains.
"""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text

from simulator.lessons.words import word
from tui.fold import Lane, LogChip, Replication, ViewState
from tui.i18n import column, fit
from tui.views.parts import (
    STATE_MARK,
    chip_marks,
    compose,
    heading,
    line,
    piece_lines,
    setting,
)
from tui.views.picture import Picture
from tui.widgets.palette import group_style, key_style

if TYPE_CHECKING:
    from simulator.scenario import Scenario

__all__ = ["log_lines", "member_lines", "picture", "replica_lines", "topology"]

MAX_LANES = 48
ANNOTATED_LANES = 4
"""With this many partitions or fewer, each gets a row of key order / sequence numbers."""


def _txn_style(state: ViewState, chip: LogChip) -> str:
    if chip.txn is None:
        return ""
    status = state.txns.get(chip.txn, "open")
    return {"aborted": " strike dim", "open": " underline"}.get(status, "")


def _chips(
    state: ViewState, lane: Lane, groups: list[str], room: int, annotate: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The lane's newest records that fit in ``room`` cells, and the row under them."""
    marks: dict[int, list[str]] = {}
    for g in groups:
        if g in lane.committed:
            marks.setdefault(lane.committed[g], []).append(g)
    pieces: list[tuple[list[tuple[str, str]], list[tuple[str, str]]]] = []
    used = 0
    first_shown = lane.log_end
    recent = lane.recent
    for i in range(len(recent) - 1, -1, -1):
        c = recent[i]
        text = f"{c.offset}{chip_marks(state, c.msg)}"
        if c.attempt > 1:
            text += f"↺{c.attempt}"
        note = ""
        if annotate == "seq" and c.producer_seq is not None:
            note = f"#{c.producer_seq}"
        elif annotate == "key" and c.key_seq is not None:
            note = f"#{c.key_seq}"
        w = max(len(text), len(note))
        top: list[tuple[str, str]] = [(text.ljust(w), key_style(c.key) + _txn_style(state, c))]
        under: list[tuple[str, str]] = [(note.ljust(w), "dim")]
        # A transaction's bracket opens before its first record and closes after its last.
        before = recent[i - 1] if i > 0 else None
        after = recent[i + 1] if i + 1 < len(recent) else None
        if c.txn is not None and (after is None or after.txn != c.txn):
            status = state.txns.get(c.txn, "open")
            style = {"aborted": "bold red", "committed": "green"}.get(status, "yellow")
            top.append(("⟧", style))
            under.append((" ", ""))
        top.append((" ", ""))
        under.append((" ", ""))
        for g in marks.get(c.offset + 1, []):
            top.insert(-1, ("┃", group_style(g, groups)))
            under.insert(-1, (" ", ""))
        if c.txn is not None and (before is None or before.txn != c.txn):
            status = state.txns.get(c.txn, "open")
            style = {"aborted": "bold red", "committed": "green"}.get(status, "yellow")
            top.insert(0, ("⟦", style))
            under.insert(0, (" ", ""))
        size = sum(len(t) for t, _ in top)
        if used + size > room - 1:
            break
        pieces.insert(0, (top, under))
        used += size
        first_shown = c.offset
    chips = [p for top, _ in pieces for p in top]
    notes = [p for _, under in pieces for p in under]
    for g in groups:
        committed = lane.committed.get(g)
        if committed is not None and (not chips or committed <= first_shown):
            chips.insert(0, ("◀" if chips else "┃", group_style(g, groups)))
            notes.insert(0, (" ", ""))
    return chips, notes


def _annotation(lane: Lane) -> str:
    """Which numbers to write under a partition's chips: ``seq``, ``key`` or none.

    Only for a partition one producer writes (two producers' numbers do not compare),
    and only when the numbers say something (they are not all the same).
    """
    chips = lane.recent
    if not chips or len({c.producer for c in chips}) != 1:
        return ""
    if any(c.producer_seq is not None for c in chips):
        return "seq"
    if len({c.key_seq for c in chips}) > 1:
        return "key"
    return ""


def _lag(state: ViewState, lane: Lane, groups: list[str]) -> int | None:
    return next((state.lag(lane, g) for g in groups if g in lane.committed), None)


def log_lines(state: ViewState, width: int, lang: str) -> list[Text]:
    """The partitions: offsets as chips between the log start and the log end."""
    lanes = [lane for lane in state.lanes.values() if not lane.queue]
    if not lanes:
        return []
    groups = _groups(state)
    owners: dict[str, str] = {}
    for c in state.consumers.values():
        for tp in c.owned:
            owners[tp] = c.name if tp not in owners else f"{owners[tp]},{c.name}"
    busy = state.in_flight_by_lane()
    name_w = min(20, max(len(lane.name) for lane in lanes))
    shown = lanes[:MAX_LANES]
    annotated = len(lanes) <= ANNOTATED_LANES
    tail_w = 22 if width >= 70 else 12
    room = max(6, width - name_w - 7 - tail_w)
    rows = [heading(word("lanes", lang), f"{state.broker} · {state.follows}")]
    header = line()
    header.append(column(word("partition", lang), name_w), style="dim")
    header.append(f" {fit(word('log_start', lang), 5)}", style="dim")
    header.append(column(" " + word("records_by_key", lang), room + 1), style="dim")
    header.append(fit(word("end_hw", lang), 9), style="dim")
    header.append(word("reader", lang), style="dim")
    rows.append(header)
    for lane in shown:
        annotate = _annotation(lane) if annotated else ""
        chips, notes = _chips(state, lane, groups, room, annotate)
        row = line()
        name = lane.name if len(lane.name) <= name_w else "…" + lane.name[-(name_w - 1) :]
        row.append(column(name, name_w), style="bold")
        row.append(f" {lane.log_start:>4}", style="dim")
        row.append("▕", style="dim")
        for text, style in chips:
            row.append(text, style=style)
        used = sum(len(t) for t, _ in chips)
        row.append(" " * max(0, room - used))
        row.append("▏", style="dim")
        end = f"{lane.log_end}"
        if lane.high_watermark != lane.log_end:
            end += f"/{lane.high_watermark}"
        row.append(f"{end:<5}", style="bold")
        tail: list[tuple[str, str]] = []
        lag = _lag(state, lane, groups)
        if lag is not None:
            tail.append((f" {word('lag', lang)} {lag}", "bold red" if lag > 20 else ""))
        if busy.get(lane.name):
            tail.append((f" ⧗{busy[lane.name]}", "yellow"))
        if lane.compacted:
            tail.append((f" ✂{lane.compacted}", "magenta"))
        owner = owners.get(lane.name)
        # The owners give way to the lag: five groups on one partition cut their names short.
        room_owner = width - row.cell_len - sum(cell_len(t) for t, _ in tail) - 3
        if owner and width >= 70 and room_owner >= 4:
            if cell_len(owner) > room_owner:
                owner = owner[: room_owner - 1] + "…"
            row.append(f" → {owner}", style="dim")
        for text, style in tail:
            row.append(text, style=style)
        rows.append(row)
        if annotate:
            under = line()
            under.append(column(f"  {word(f'note_{annotate}', lang)}", name_w + 6), style="dim")
            for text, style in notes:
                under.append(text, style=style)
            rows.append(under)
        for msg, offset, pseq in lane.dedup_drops[-2:]:
            drop = line()
            drop.append(" " * (name_w + 6))
            seq = f" #{pseq}" if pseq is not None else ""
            drop.append(f"⊘ m{msg}{seq} ", style="bold magenta")
            drop.append(word("repeat_dropped", lang, offset=offset), style="magenta")
            rows.append(drop)
    if len(lanes) > MAX_LANES:
        more = line()
        more.append(f" … {len(lanes) - MAX_LANES} more lanes", style="dim")
        rows.append(more)
    rows += _legend(state, lanes, groups, width, lang)
    return rows


def _groups(state: ViewState) -> list[str]:
    groups = list(state.groups)
    groups += [c.group for c in state.consumers.values() if c.group not in groups]
    return list(dict.fromkeys(groups))


def _legend(
    state: ViewState, lanes: list[Lane], groups: list[str], width: int, lang: str
) -> list[Text]:
    rows: list[Text] = []
    committing = [g for g in groups if any(g in lane.committed for lane in lanes)]
    if committing:
        rows += piece_lines(
            [
                [("┃", group_style(g, groups)), (f" {g} {word('committed', lang)}", "")]
                for g in committing
            ],
            width,
        )
    if any(c.txn is not None for lane in lanes for c in lane.recent):
        pieces = [[("⟦ ⟧ ", "yellow"), (word("txn_bracket", lang), "dim")]]
        readers = [
            g for g in groups if setting(state, f"group.{g}.isolation.level") == "read_committed"
        ]
        if "aborted" in state.txns.values():
            pieces.append([("0 1", "strike dim"), (" " + word("txn_aborted", lang), "dim")])
            if readers:
                pieces.append([(f"({', '.join(readers)}: read_committed)", "dim")])
        rows += piece_lines(pieces, width)
    return rows


def member_lines(state: ViewState, width: int, lang: str) -> list[Text]:
    """The consumer groups: generation, rebalances, and what each member owns and holds."""
    groups = _groups(state)
    if not groups:
        return []
    rows = [heading(word("groups", lang))]
    cw = min(20, max((len(c) for c in state.consumers), default=8))
    for name in groups:
        group = state.groups.get(name)
        row = line()
        row.append(" ")
        row.append(name, style=group_style(name, groups))
        if group is not None:
            gstyle = {"stable": "green", "rebalancing": "bold yellow"}.get(group.state, "yellow")
            row.append(f"  gen {group.generation} · ")
            row.append(word(group.state, lang), style=gstyle)
            if group.assignor:
                row.append(f" · {group.assignor}", style="dim")
            if group.state == "rebalancing" and group.revoked:
                row.append(f" · {word('revoked', lang)} ", style="yellow")
                row.append(" ".join(group.revoked[:6]), style="yellow")
        rows.append(row)
        if group is not None and group.moves and group.state == "stable":
            moved = line()
            moved.append(f"   ⇄ gen {group.generation}: ", style="bold yellow")
            for i, (tp, src, dst) in enumerate(group.moves):
                piece = f"{tp} {src or '—'} → {dst or '—'}"
                if moved.cell_len + len(piece) + 6 > width:
                    moved.append(f"+{len(group.moves) - i}", style="dim")
                    break
                moved.append(piece, style="yellow")
                moved.append("  ")
            rows.append(moved)
        for c in state.consumers.values():
            if c.group != name:
                continue
            mark, style = STATE_MARK.get(c.state, ("?", ""))
            row = line()
            row.append(f"   {mark} ", style=style)
            row.append(column(c.name, cw), style="bold")
            row.append(f" {fit(word(c.state, lang), 9)}", style=style)
            owned = ",".join(tp.rsplit("/", 1)[-1] if "/" in tp else tp for tp in c.owned)
            if group is not None:
                row.append(f" [{owned or '-'}]")
            row.append(f" {word('processed', lang)} {c.processed}")
            if c.in_flight:
                ids = " ".join(f"m{m}{chip_marks(state, m)}" for m in islice(c.in_flight, 4))
                more = len(c.in_flight) - 4
                row.append(f" · ⧗ {ids}" + (f" +{more}" if more > 0 else ""), style="yellow")
            rows.append(row)
    return rows


MAX_PARTITIONS = 12
"""Partitions drawn with their replicas; the rest are counted."""


def _mark(rep: Replication, broker: str, down: list[str]) -> tuple[str, str]:
    if broker == rep.leader:
        mark, style = "★", "bold green"
    elif broker in rep.isr:
        mark, style = "●", "green"
    else:
        mark, style = "○", "yellow"
    if broker in down:
        return mark + "✖", "bold red"
    return mark, style


def replica_lines(state: ViewState, lang: str) -> list[Text]:
    """The replicas block: one row per partition, then one per broker (none with one broker)."""
    if not state.replication:
        return []
    down = state.crashed
    lines: list[Text] = []
    head = Text(no_wrap=True, overflow="ellipsis")
    head.append(word("replicas", lang), style="bold underline")
    head.append(f"  {word('replica_legend', lang)}", style="dim")
    lines.append(head)
    parts = list(state.replication.items())
    name_w = min(24, max(len(name) for name, _ in parts))
    for name, rep in parts[:MAX_PARTITIONS]:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(" ")
        line.append(column(name, name_w), style="bold")
        for broker in rep.replicas:
            mark, style = _mark(rep, broker, down)
            line.append(f" {mark}{broker}", style=style)
        line.append("  ")
        if rep.leader is None:
            line.append(word("partition_offline", lang), style="bold red")
            line.append(f" · {word('isr', lang)} {','.join(rep.isr) or '-'}")
        else:
            line.append(word("leader_epoch", lang, n=rep.epoch), style="dim")
        line.append(f" · {word('high_watermark_at', lang, n=rep.high_watermark)}")
        lines.append(line)
    if len(parts) > MAX_PARTITIONS:
        lines.append(Text(f" … {len(parts) - MAX_PARTITIONS} more partitions", style="dim"))
    brokers = _brokers(state)
    broker_w = max(len(b) for b in brokers)
    for broker in sorted(brokers, key=_broker_order):
        leads = [name for name, rep in parts if rep.leader == broker]
        follows = [name for name, rep in parts if broker in rep.replicas and rep.leader != broker]
        line = Text(no_wrap=True, overflow="ellipsis")
        if broker in down:
            line.append(" ✖ ", style="bold red")
        else:
            line.append(" ● ", style="green")
        line.append(column(broker, broker_w), style="bold")
        if broker in down:
            line.append(f" {word('broker_down', lang)}", style="bold red")
        line.append(f" {word('replica_leads', lang)} {len(leads)}")
        if leads:
            line.append(f" ({', '.join(leads)})", style="dim")
        line.append(f" · {word('replica_follows', lang)} {len(follows)}")
        lines.append(line)
    return lines


def _broker_order(name: str) -> tuple[int, str]:
    """``broker-2`` before ``broker-10``."""
    tail = name.rsplit("-", 1)[-1]
    return (int(tail), name) if tail.isdigit() else (0, name)


def _brokers(state: ViewState) -> list[str]:
    found: list[str] = []
    for rep in state.replication.values():
        found += [b for b in rep.replicas if b not in found]
    return found


def _broker(state: ViewState, width: int, lang: str) -> tuple[list[Text], list[Text]]:
    """The lanes; then, above the groups, a cluster's replicas block (none on one broker)."""
    members = replica_lines(state, lang) + member_lines(state, width, lang)
    return log_lines(state, width, lang), members


def picture(state: ViewState, width: int, lang: str) -> Picture:
    return compose(state, width, lang, _broker)


def topology(s: Scenario, settings: dict[str, str], lang: str) -> list[Text]:
    """The lesson before it runs: producers → topics and their partitions → groups."""
    rows: list[Text] = []
    for p in s.producers:
        idem = word("idempotent" if p.idempotent else "not_idempotent", lang)
        row = line()
        row.append(f" ▸ {p.name}", style="cyan")
        row.append(f" → {p.topic}  (acks={p.acks}, {idem})")
        rows.append(row)
    for tp in s.topics:
        row = line()
        row.append(f" ▤ {tp.name}", style="bold")
        row.append(f"  {word('n_partitions', lang, n=tp.partitions)}  ")
        row.append("▕" + "▮" * min(tp.partitions, 24) + "▏", style="blue")
        rows.append(row)
    for g in s.groups:
        row = line()
        row.append(f" ◉ {g.name}", style="magenta")
        row.append(
            f" ← {g.topic}  {word('n_consumers', lang, n=len(g.consumer_names()))}, "
            f"{word('commit', lang)} {g.commit}"
        )
        if g.processor:
            row.append(f" · ⧉ {g.processor}", style="dim")
        rows.append(row)
    return rows
