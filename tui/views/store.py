"""The event store and its read models, drawn as a CQRS lesson talks about them.

The write side: the global log (each position with its stream), each stream
with its versions and its newest snapshot, each command handler's last
decision — the version it loaded and, on a conflict, the version it expected
against the one it found — and the events stored but not yet published (a dual
write's crash window, an outbox's rows).

The read side, one block per projection: each projector as a bar over the
global log with **two** marks — what it has *applied* and what its checkpoint
has *saved* (``▓`` between them is the crash window: applied, not saved) — and
its read model's **values**, one column per row of the table. A row an event
was applied to twice is marked ``×2``; a value that differs from the fold of
the log (every event applied once, the last line of the block) is red. A
rebuild empties the table and refills it one replayed event at a time, from
zero or from its snapshot (the count of events replayed is the cost); blue/green
shows the version being built under the one reads go to, until the switch.
"""

from __future__ import annotations

from rich.text import Text

from simulator.lessons.words import word
from tui.fold import ProjectorView, StoreView, ViewState
from tui.i18n import column
from tui.views.parts import fits, heading, line, piece_lines

__all__ = ["progress_bar", "store_lines"]

STREAMS_SHOWN = 8
TABLE_ROWS_SHOWN = 6


def progress_bar(done: int, total: int, width: int) -> str:
    """``████░░░░`` with ``width`` cells, ``done`` of ``total`` filled."""
    width = max(1, width)
    filled = width if total <= 0 else min(width, done * width // total)
    return "█" * filled + "░" * (width - filled)


def _positions_bar(store: StoreView, p: ProjectorView, width: int) -> Text:
    """Saved ``█``, applied but not saved ``▓``, in an open transaction ``▒``, not yet ``░``."""
    head = max(1, store.head)
    cells = max(4, min(width, head))
    out = Text(no_wrap=True)
    if p.rebuild_version is not None:
        # A rebuild: how far the replay has got through the log (``▒`` still to replay).
        done = p.rebuild_position
        out.append("▕", style="dim")
        for i in range(cells):
            position = (i + 1) * head // cells
            if position < p.rebuild_from:
                out.append("◇", style="magenta")
            elif position <= done:
                out.append("█", style="yellow")
            else:
                out.append("░", style="dim")
        out.append("▏", style="dim")
        return out
    applied = p.applied
    # A projector fed by a consumer group saves no checkpoint of its own: the group's
    # committed offset is its checkpoint, drawn on the partition (not a crash window here).
    saved = p.checkpoint - 1 if p.source == "store" else applied
    pending = max((pos for pos, _ in p.pending_positions), default=0)
    out.append("▕", style="dim")
    for i in range(cells):
        position = (i + 1) * head // cells
        if position <= saved:
            out.append("█", style="green")
        elif position <= applied and p.kind != "atomic":
            out.append("▓", style="bold yellow")
        elif position <= max(applied, pending):
            out.append("▒", style="cyan")
        else:
            out.append("░", style="dim")
    out.append("▏", style="dim")
    return out


def _write_side(state: ViewState, store: StoreView, width: int, lang: str) -> list[Text]:
    rows: list[Text] = []
    if store.log:
        row = line()
        row.append(f" {column(word('global_log', lang), 11)}", style="dim")
        row.append("▕", style="dim")
        pieces = [f"@{pos} {stream.rsplit('-', 1)[-1]}" for pos, stream, _ in store.log]
        shown: list[str] = []
        for piece in reversed(pieces):
            if row.cell_len + sum(len(x) + 1 for x in shown) + len(piece) + 3 > width:
                break
            shown.insert(0, piece)
        if len(shown) < len(pieces):
            row.append("… ", style="dim")
        row.append(" ".join(shown), style="blue")
        row.append("▏", style="dim")
        rows.append(row)
    names = list(store.streams)
    sw = min(18, max((len(n) for n in names), default=8))
    for name in names[:STREAMS_SHOWN]:
        version = store.streams[name]
        row = line()
        row.append(" ▤ ", style="cyan")
        row.append(column(name, sw), style="cyan")
        row.append(f" v{version:<3}", style="bold")
        room = max(4, width - sw - 20)
        first = max(1, version - room // 3 + 1)
        snap = store.snapshots.get(name)
        row.append("▕", style="dim")
        if first > 1:
            row.append("… ", style="dim")
        for v in range(first, version + 1):
            row.append(str(v), style="bold magenta" if v == snap else "blue")
            row.append("◇" if v == snap else " ", style="magenta")
        row.append("▏", style="dim")
        if snap:
            row.append(f" ◇ {word('snapshot', lang)} v{snap}", style="magenta")
        rows.append(row)
    if len(names) > STREAMS_SHOWN:
        more = line()
        more.append(f"   … +{len(names) - STREAMS_SHOWN} {word('streams', lang)}", style="dim")
        rows.append(more)
    hw = min(16, max((len(h) for h in store.handlers), default=8))
    for h in store.handlers.values():
        row = line()
        crashed = h.name in state.crashed
        row.append(" ✖ " if crashed else " ⚙ ", style="bold red" if crashed else "cyan")
        row.append(column(h.name, hw), style="bold")
        if h.stream:
            row.append(f" {h.command} → {h.stream}", style="dim")
            row.append(f" {word('loaded', lang)} v{h.loaded}")
            if h.snapshot_version:
                row.append(f" (◇v{h.snapshot_version} + {h.replayed})", style="magenta")
            elif h.replayed:
                row.append(f" ({h.replayed} {word('events', lang)})", style="dim")
        rows.append(row)
        if h.conflict is not None:
            expected, actual, attempt = h.conflict
            c = line()
            c.append(" " * (hw + 4))
            c.append(
                word("conflict_line", lang, expected=expected, actual=actual, attempt=attempt),
                style="bold dark_orange",
            )
            rows.append(c)
        if h.lost_update is not None:
            c = line()
            c.append(" " * (hw + 4))
            loaded, actual = h.lost_update
            c.append(word("lost_update_line", lang, loaded=loaded, actual=actual), "bold red")
            rows.append(c)
        if h.rejected:
            c = line()
            c.append(" " * (hw + 4))
            c.append(f"{word('rejected', lang)}: {h.rejected}", style="yellow")
            rows.append(c)
        if h.via:
            c = line()
            c.append(" " * (hw + 4))
            label = word("outbox_rows" if h.via == "outbox" else "not_published", lang)
            c.append(f"{h.via} · {label} ", style="dim")
            waiting = [pos for pos in h.unpublished]
            lost = [pos for pos in waiting if pos in store.never_published]
            if waiting:
                c.append(" ".join(f"@{pos}" for pos in waiting[-8:]), style="bold yellow")
            else:
                c.append("—", style="dim")
            if lost:
                c.append(f"  ⚠ {word('never_published', lang)}", style="bold red")
            if h.republished:
                c.append(f"  ×{h.republished + 1} {word('published_again', lang)}", "bold red")
            rows.append(c)
    return rows


def _cell(value: str | None, w: int) -> str:
    return column("∅" if value is None else value, w)


def _table_rows(
    store: StoreView,
    projection: str,
    members: list[ProjectorView],
    crashed: list[str],
    width: int,
    lang: str,
) -> list[Text]:
    rows: list[Text] = []
    table_names: list[str] = []
    for p in members:
        for name in [*p.rows, *p.pending, *(p.building or {})]:
            if name not in table_names:
                table_names.append(name)
    for name in store.log_rows.get(projection, {}):
        if name not in table_names:
            table_names.append(name)
    pw = min(16, max(len(p.name) for p in members) + 3)
    bar_w = 10
    lead = pw + bar_w + 4
    room = max(8, width - lead - 12)
    cw = max(6, min(12, max((len(v) for p in members for v in p.rows.values()), default=4) + 4))
    shown = table_names[: max(1, min(TABLE_ROWS_SHOWN, room // cw))]
    title = line()
    title.append(f"{word('read_model', lang)} · {projection}", style="bold underline")
    title.append(" " * max(1, lead + 12 - title.cell_len))
    for name in shown:
        title.append(column(name, cw), style="bold")
    rows.append(title)
    for p in members:
        rows += _projector_rows(store, p, shown, crashed, pw, bar_w, cw, width, lang)
    log = store.log_rows.get(projection)
    if log is not None or any((p.name, n) in store.expected for p in members for n in shown):
        row = line()
        row.append(column(f"   = {word('log_fold', lang)}", lead + 12), style="italic cyan")
        for name in shown:
            values = [store.log_value(p, name) for p in members if (p.name, name) in store.expected]
            value = values[0] if values else (log or {}).get(name)
            row.append(_cell(value, cw), style="italic cyan")
        rows.append(row)
    return rows


def _projector_rows(
    store: StoreView,
    p: ProjectorView,
    shown: list[str],
    crashed: list[str],
    pw: int,
    bar_w: int,
    cw: int,
    width: int,
    lang: str,
) -> list[Text]:
    rows: list[Text] = []
    row = line()
    down = p.name in crashed
    row.append(" ✖ " if down else " ▦ ", style="bold red" if down else "magenta")
    row.append(column(p.name, pw - 3), style="bold magenta")
    row.append(" ")
    row.append_text(_positions_bar(store, p, bar_w))
    if p.rebuild_version is not None:
        marks = f" ⟲@{p.rebuild_position}/{store.head}"
    else:
        marks = f" ✓@{p.checkpoint - 1} ▲@{p.applied}" if p.source == "store" else f" ▲@{p.applied}"
    row.append(column(marks, 12), style="dim")
    for name in shown:
        value = p.rows.get(name)
        cell = "∅" if value is None else value
        doubled = p.doubled.get(name)
        if doubled:
            cell += "×2"  # an event was applied to this row a second time
        expected = store.log_value(p, name)
        wrong = value is not None and expected is not None and value != expected
        style = "bold white on red" if doubled or wrong else ("bold" if name == p.last_row else "")
        row.append(column(cell, cw - 1), style=style)
        row.append(" ")
    rows.append(row)
    detail = line()
    detail.append(" " * (pw + 1))
    bits: list[tuple[str, str]] = []
    if p.kind:
        bits.append((p.kind, "dim"))
    bits.append((f"{word('reads_version', lang)} v{p.reading}", "dim"))
    if p.source != "store":
        bits.append((word("checkpoint_in_group", lang, group=p.source), "dim"))
    if p.pending:
        txn = " ".join(f"{k}→{v}" for k, v in list(p.pending.items())[:3])
        bits.append((f"{word('open_txn', lang)} {txn}", "cyan"))
    if p.rebuild_version is not None and p.building is None:
        start = (
            word("from_snapshot", lang, position=p.rebuild_from)
            if p.rebuild_from > 1
            else word("from_zero", lang)
        )
        bits.append((f"{word('rebuild', lang)} v{p.rebuild_version} {start}", "bold yellow"))
        bits.append((word("replayed_n", lang, n=p.replayed), "yellow"))
    elif p.rebuilt:
        bits.append((word("rebuilt_n", lang, n=p.rebuilt), "dim"))
    if p.snapshot is not None:
        bits.append((f"◇ {word('snapshot', lang)} @{p.snapshot[0]}", "magenta"))
    if p.skipped:
        bits.append((f"{word('skipped', lang)} {p.skipped}", "yellow"))
    if p.gap:
        bits.append((f"{word('gap', lang)} {p.gap}", "yellow"))
    if p.last_query:
        bits.append(
            (f"{word('query', lang)} {p.last_query}", "bold red" if "stale" in p.last_query else "")
        )
    # The details go on as many rows as the panel needs, under the bar.
    for text, style in bits:
        if detail.cell_len > pw + 1 and not fits(detail, f" · {text}", width):
            rows.append(detail)
            detail = line()
            detail.append(" " * (pw + 1))
        elif detail.cell_len > pw + 1:
            detail.append(" · ", style="dim")
        detail.append(text, style=style)
    rows.append(detail)
    if p.building is not None:
        rows.append(_other_version(p, p.building, p.rebuild_version, shown, pw, bar_w, cw, lang))
    if p.retired is not None:
        version, table = p.retired
        rows.append(_other_version(p, table, version, shown, pw, bar_w, cw, lang, retired=True))
    return rows


def _other_version(
    p: ProjectorView,
    table: dict[str, str],
    version: int | None,
    shown: list[str],
    pw: int,
    bar_w: int,
    cw: int,
    lang: str,
    retired: bool = False,
) -> Text:
    """Blue/green: the version beside the one reads use (being built, or just retired)."""
    row = line()
    style = "dim" if retired else "bold yellow"
    row.append("   ")
    row.append(column(f"v{version}", pw - 3), style=style)
    what = word("retired", lang) if retired else word("building_n", lang, n=p.replayed)
    row.append(" " + column(what, bar_w + 2 + 12), style=style)
    for name in shown:
        value = table.get(name)
        row.append(column("·" if value is None else value, cw - 1), style=style)
        row.append(" ")
    return row


def store_lines(state: ViewState, width: int, lang: str) -> list[Text]:
    store = state.store
    if store is None:
        return []
    rows = [
        heading(
            word("event_store", lang),
            f"{word('head', lang)} @{store.head} · {len(store.streams)} {word('streams', lang)}",
        )
    ]
    rows += _write_side(state, store, width, lang)
    by_projection: dict[str, list[ProjectorView]] = {}
    for p in store.projectors.values():
        by_projection.setdefault(p.projection or p.name, []).append(p)
    for projection, members in by_projection.items():
        rows += _table_rows(store, projection, members, state.crashed, width, lang)
    if store.projectors:
        rows += piece_lines(
            [
                [("█", "green"), (f" {word('saved', lang)}", "dim")],
                [("▓", "bold yellow"), (f" {word('crash_window', lang)}", "dim")],
                [("▒", "cyan"), (f" {word('open_txn', lang)}", "dim")],
                [("░", "dim"), (f" {word('not_yet', lang)}", "dim")],
            ],
            width,
        )
    return rows
