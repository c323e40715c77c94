"""The default picture: producers → broker lanes → consumer groups, at the cursor.

One lane per partition (or per queue, for a broker without partitions). Each
lane shows its newest records as chips — the offset, coloured by the message
key — between the log start and the log end offset, with a coloured bar where
each group's committed offset is (the next record that group will read). Below
are the groups: generation, state, and each member's assignment, state and
in-flight (delivered, not yet processed) messages. An event store comes first
when the trace has one: each stream as a lane of its versions, each projector
with its checkpoint's progress through the global log. Stream processors
(watermark, open windows) and sagas (a tally, and the newest few with their
step) come between the lanes and the groups. Components the view has no picture for are listed
generically, so new record kinds show up without a change here.

Every row is laid out in columns (a name padded to its column, then a space,
then the values), never by gluing a label to a value, so a long name can cut
itself short but never run into the number beside it. Marks from the fold's
``flags`` ride on the chips: ``↻2`` a second delivery, ``×2`` a duplicate,
``⇅`` an order violation, and a ghost ``░m5`` where a lost message was last seen.
Panels that mean nothing for the lesson (no producers, no broker) are left out.
"""

from __future__ import annotations

from itertools import islice

from rich.text import Text

from simulator.lessons.words import word
from tui.fold import Lane, ViewState
from tui.i18n import column, fit
from tui.stage import STORE
from tui.views.picture import Anchor, Picture
from tui.widgets.palette import group_style, key_style

__all__ = ["chip_marks", "picture", "render_flow"]

MAX_LANES = 48

_STATE_MARK = {
    "running": ("●", "green"),
    "crashed": ("✖", "bold red"),
    "left": ("○", "dim"),
    "restarted": ("◐", "yellow"),
}


def _queue_line(state: ViewState, lane: Lane, width: int, name_w: int, lang: str) -> Text:
    """A queue: waiting messages (head first) and the unacked ones, per consumer."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(column(lane.name, name_w), style="bold")
    line.append(f" {len(lane.ready):>4}", style="dim")
    line.append("▕", style="dim")
    room = max(8, (width - name_w - 6) * 3 // 5)
    used = 0
    for msg, key in lane.ready:
        chip = f"m{msg}{chip_marks(state, msg)}"
        if used + len(chip) + 1 > room:
            line.append("…", style="dim")
            used += 1
            break
        line.append(chip, style=key_style(key))
        line.append(" ")
        used += len(chip) + 1
    line.append(" " * max(0, room - used))
    line.append("▏", style="dim")
    if lane.unacked:
        # Every unacked delivery, as many as fit; the count says how many are not shown.
        line.append(f" {word('unacked', lang)} {len(lane.unacked)}: ", style="yellow")
        left = width - line.cell_len
        items = list(lane.unacked.items())
        for i, (msg, (key, consumer)) in enumerate(items):
            chip = f"m{msg}{chip_marks(state, msg)}"
            owner = f"→{consumer.rsplit('-', 1)[-1]} "
            rest = len(items) - i - 1
            if len(chip) + len(owner) + (len(f"+{rest}") if rest else 0) > left:
                line.append(f"+{len(items) - i}", style="dim")
                break
            line.append(chip, style=key_style(key) + " underline")
            line.append(owner, style="dim")
            left -= len(chip) + len(owner)
    return line


def _lane_tail(
    state: ViewState, lane: Lane, groups: list[str], owner: str | None, busy: int, full: bool
) -> Text:
    """What follows a lane's chips: log end offset, owner, lag, in-flight count."""
    tail = Text(no_wrap=True)
    tail.append("▏", style="dim")
    tail.append(f"{lane.log_end:<4}", style="dim")
    lag = next((state.lag(lane, g) for g in groups if g in lane.committed), None)
    if owner and full:
        tail.append(f" → {owner}")
    if lag is not None:
        tail.append(f" lag {lag}", style="bold red" if lag > 20 else "")
    if busy:
        tail.append(f" ⧗{busy}", style="yellow")
    if lane.compacted:
        tail.append(f" ✂{lane.compacted}", style="magenta")
    return tail


def _lane_line(
    state: ViewState, lane: Lane, groups: list[str], name_w: int, room: int, tail: Text
) -> Text:
    """One partition: offsets as chips coloured by key, ┃ where each group has committed."""
    line = Text(no_wrap=True, overflow="ellipsis")
    name = lane.name if len(lane.name) <= name_w else "…" + lane.name[-(name_w - 1) :]
    line.append(column(name, name_w), style="bold")
    line.append(f" {lane.log_start:>4}", style="dim")
    line.append("▕", style="dim")
    marks: dict[int, list[str]] = {}
    for g in groups:
        if g in lane.committed:
            marks.setdefault(lane.committed[g], []).append(g)
    chips: list[tuple[str, str]] = []
    used = 0
    first_shown = lane.log_end
    for offset, msg, key in reversed(lane.recent):
        marks_here = chip_marks(state, msg)
        piece: list[tuple[str, str]] = [(f"{offset}{marks_here}", key_style(key)), (" ", "")]
        for g in marks.get(offset + 1, []):
            piece.insert(1, ("┃", group_style(g, groups)))
        size = sum(len(text) for text, _ in piece)
        if used + size > room - 1:
            break
        chips[0:0] = piece
        used += size
        first_shown = offset
    for g in groups:
        c = lane.committed.get(g)
        if c is not None and (not chips or c <= first_shown):
            chips.insert(0, ("◀" if chips else "┃", group_style(g, groups)))
    for text, style in chips:
        line.append(text, style=style)
    pad = room - sum(len(text) for text, _ in chips)
    if pad > 0:
        line.append(" " * pad)
    line.append_text(tail)
    return line


def _lanes(
    state: ViewState, lanes: list[Lane], width: int, groups: list[str], lang: str
) -> list[Text]:
    """Every lane, aligned: one name column, one chip column, one tail column."""
    owners: dict[str, str] = {}
    for c in state.consumers.values():
        for tp in c.owned:
            owners[tp] = c.name if tp not in owners else f"{owners[tp]},{c.name}"
    busy = state.in_flight_by_lane()
    name_w = min(24, max((len(lane.name) for lane in lanes), default=8))
    logs = [lane for lane in lanes if not lane.queue]

    def tails(full: bool) -> dict[str, Text]:
        return {
            lane.name: _lane_tail(
                state, lane, groups, owners.get(lane.name), busy.get(lane.name, 0), full
            )
            for lane in logs
        }

    tail = tails(True)
    tail_w = max((t.cell_len for t in tail.values()), default=0)
    if width - name_w - 6 - tail_w < 24:
        tail = tails(False)
        tail_w = max((t.cell_len for t in tail.values()), default=0)
    room = max(4, width - name_w - 6 - tail_w - 1)
    out = []
    for lane in lanes:
        if lane.queue:
            out.append(_queue_line(state, lane, width, name_w, lang))
        else:
            out.append(_lane_line(state, lane, groups, name_w, room, tail[lane.name]))
    return out


def render_flow(state: ViewState, width: int, lang: str) -> Text:
    """The whole flow picture as text (pure: the same state gives the same picture)."""
    out = Text(no_wrap=True, overflow="ellipsis")
    width = max(20, width)
    if not state.applied:
        out.append("⏵ ", style="bold")
        out.append("space ▶ play · n/→ step · ? help", style="dim")
        return out
    groups = list(state.groups)
    groups += [c.group for c in state.consumers.values() if c.group not in groups]
    groups = list(dict.fromkeys(groups))
    if state.store is not None:
        from tui.widgets.store import store_flow

        out.append_text(store_flow(state.store, state.crashed, width, lang))
        if not (state.producers or state.lanes or groups):
            # An event-sourced lesson with no broker: the store is the whole picture.
            _processors(out, state, lang)
            _others_and_end(out, state, lang)
            return out
    pw = min(24, max((len(p) for p in state.producers), default=8))
    cw = min(24, max((len(c) for c in state.consumers), default=8))
    if state.producers:
        out.append(f"{word('producers', lang)}\n", style="bold underline")
    for p in state.producers.values():
        mark, style = ("✖", "bold red") if p.state == "crashed" else ("▸", "cyan")
        out.append(f" {mark} ", style=style)
        out.append(column(p.name, pw), style="bold")
        out.append(
            f" {word('produced', lang)} {p.produced} · {word('acked', lang)} {p.acked}"
            f" · {word('in_flight', lang)} {len(p.in_flight)}"
        )
        if p.retries:
            out.append(f" · {word('retries', lang)} {p.retries}", style="dark_orange")
        if p.failed:
            out.append(f" · {word('failed', lang)} {p.failed}", style="red")
        if p.state == "blocked":
            out.append(f" · ⏸ {word('publisher_blocked', lang)}", style="bold yellow")
        out.append("\n")
    lanes = list(state.lanes.values())
    if lanes:
        out.append(f"{word('lanes', lang)}", style="bold underline")
        out.append(f"  {state.broker} · {state.follows}\n", style="dim")
    if any(lane.queue for lane in lanes):
        name_w = min(24, max(len(lane.name) for lane in lanes))
        heading = f"{column(word('queue', lang), name_w)} {fit(word('ready', lang), 4)}"
        out.append(f"{heading}  {word('head_tail', lang)}\n", style="dim")
    for line in _lanes(state, lanes[:MAX_LANES], width, groups, lang):
        out.append_text(line)
        out.append("\n")
    _ghosts(out, state, lang)
    if len(lanes) > MAX_LANES:
        out.append(f" … {len(lanes) - MAX_LANES} more lanes\n", style="dim")
    if state.crashed:
        out.append(f" ✖ {', '.join(state.crashed)} {word('crashed', lang)}\n", style="bold red")
    committing = [g for g in groups if any(g in lane.committed for lane in lanes)]
    if committing:
        legend = Text(" ")
        for g in committing:
            legend.append("┃", style=group_style(g, groups))
            legend.append(f" {g} {word('committed', lang)}  ")
        out.append_text(legend)
        out.append("\n")
    # Sagas and stream windows are what their lessons are about: above the members.
    _processors(out, state, lang)
    if groups:
        out.append(f"{word('groups', lang)}\n", style="bold underline")
    for name in groups:
        group = state.groups.get(name)
        out.append(" ")
        out.append(name, style=group_style(name, groups))
        if group is not None:
            gstyle = {"stable": "green", "rebalancing": "bold yellow"}.get(group.state, "yellow")
            out.append(f"  gen {group.generation} · ")
            out.append(word(group.state, lang), style=gstyle)
            if group.assignor:
                out.append(f" · {group.assignor}", style="dim")
        elif name in state.lanes and state.lanes[name].queue:
            out.append("  competing consumers on one queue", style="dim")
        out.append("\n")
        for c in state.consumers.values():
            if c.group != name:
                continue
            mark, style = _STATE_MARK.get(c.state, ("?", ""))
            out.append(f"   {mark} ", style=style)
            out.append(column(c.name, cw), style="bold")
            out.append(f" {fit(word(c.state, lang), 9)}", style=style)
            owned = ",".join(tp.rsplit("/", 1)[-1] if "/" in tp else tp for tp in c.owned)
            if group is not None:
                out.append(f" [{owned or '-'}]")
            out.append(f" {word('processed', lang)} {c.processed}")
            if c.in_flight:
                ids = " ".join(f"m{m}{chip_marks(state, m)}" for m in islice(c.in_flight, 4))
                more = len(c.in_flight) - 4
                out.append(f" · ⧗ {ids}" + (f" +{more}" if more > 0 else ""), style="yellow")
            out.append("\n")
    _others_and_end(out, state, lang)
    return out


_SAGA_MARK = {
    "running": ("▶", "cyan"),
    "failed": ("✖", "bold red"),
    "compensating": ("↺", "yellow"),
    "timed out": ("⌛", "bold red"),
    "compensated": ("↺", "yellow"),
    "completed": ("✔", "green"),
}
SAGAS_SHOWN = 6


def _processors(out: Text, state: ViewState, lang: str) -> None:
    """Stream processors (watermark, windows) and sagas (the newest few, and a tally)."""
    if state.windows:
        out.append(f"{word('windows', lang)}\n", style="bold underline")
        for w in state.windows.values():
            out.append(f" ⧉ {column(w.group, 16)}", style="bold")
            wm = "—" if w.watermark_ms is None else f"{w.watermark_ms / 1000:.3f}s"
            out.append(f" {word('watermark', lang)} {wm} · {word('open', lang)} {len(w.open)}")
            out.append(f" · {word('emitted', lang)} {w.emitted}")
            if w.late:
                out.append(f" · {word('late', lang)} {w.late}", style="bold red")
            if w.restored:
                out.append(f" · {word('restored', lang)} {w.restored}", style="yellow")
            out.append("\n")
    if state.sagas:
        tally: dict[str, int] = {}
        for v in state.sagas.values():
            tally[v.status] = tally.get(v.status, 0) + 1
        out.append(f"{word('sagas', lang)}", style="bold underline")
        out.append("  " + " · ".join(f"{k} {n}" for k, n in tally.items()) + "\n", style="dim")
        for v in list(state.sagas.values())[-SAGAS_SHOWN:]:
            mark, style = _SAGA_MARK.get(v.status, ("■", "bold"))
            out.append(f" {mark} ", style=style)
            out.append(column(v.saga, 12), style="bold")
            out.append(f" {v.status}", style=style)
            if v.step:
                out.append(f" · {v.step}", style="dim")
            out.append(f" · {v.steps} {word('steps', lang)}\n", style="dim")


def _ghosts(out: Text, state: ViewState, lang: str) -> None:
    """Lost messages stay on the picture as ghost chips where they were last seen."""
    ghosts = [(msg, f.lost_at) for msg, f in state.flags.items() if f.lost_at is not None]
    if not ghosts:
        return
    out.append(f" {word('lost', lang)} ", style="bold red")
    for msg, where in ghosts[-6:]:
        out.append(f"░m{msg}", style="dim strike")
        out.append(f"@{where} ", style="dim")
    out.append("\n")


def _others_and_end(out: Text, state: ViewState, lang: str) -> None:
    if state.others:
        out.append(f"{word('others', lang)}\n", style="bold underline")
        for name, kind in state.others.items():
            out.append(f" ◇ {column(name, 16)} {kind}\n")
    if state.finished:
        out.append(f"■ {word('finished', lang)} ({state.finished})", style="bold")
    out.rstrip()


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


def names_of(state: ViewState) -> list[str]:
    """Every component the picture may show, for its anchors."""
    names = [*state.producers, *state.lanes, *state.consumers, *state.groups]
    if state.store is not None:
        names += [*state.store.projectors, *state.store.streams]
    names += [*state.windows, *state.sagas, *state.others]
    return names


def picture(state: ViewState, width: int, lang: str) -> Picture:
    """``render_flow`` as lines, with where each component is drawn."""
    lines = render_flow(state, width, lang).split("\n")
    out = Picture.of(list(lines), names_of(state))
    if state.store is not None and lines:
        out.anchors.setdefault(STORE, Anchor(0, min(width - 1, lines[0].cell_len)))
    return out
