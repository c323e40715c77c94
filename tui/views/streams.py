"""Stream processors on an event-time axis: windows as boxes, the watermark as a line.

Each processor gets an axis of *event time* (when things happened), one row per
key: its windows as boxes ``[───)`` — cyan while open, green once emitted,
yellow when a late record updated the result, grey once closed — and each
record as a dot at its event time (``•``; the newest ``◆``). The watermark is
the vertical line ``┊``: the processor's belief that nothing older is still on
its way (the highest event time seen, minus the out-of-orderness bound). A
window whose end the watermark passes is emitted; a record that arrives for a
window already closed is late — ``✗`` when it is dropped, ``↘`` when it goes to
the side output — and is listed under the axis with its event time, window end
and the watermark it lost to. The newest arrivals are listed in arrival order
(``#62 m62 @57.9s``), so an early event that arrives late is visible twice:
left on the axis, right in the order. After a crash the windows' state is gone
(the boxes grey out) until the changelog restores it.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text

from simulator.lessons.words import word
from tui.fold import ViewState, WindowBox, WindowsView
from tui.i18n import column
from tui.views.parts import heading, legend_lines, line, secs, setting
from tui.widgets.palette import key_style

__all__ = ["stream_lines"]

KEYS_SHOWN = 4
BOXES_PER_KEY = 8


def _processor(state: ViewState, group: str) -> str:
    return setting(state, f"group.{group}.processor")


def _range(w: WindowsView, boxes: list[WindowBox]) -> tuple[int, int]:
    times = [a.event_ms for a in w.arrivals]
    times += [b.start_ms for b in boxes]
    times += [b.end_ms for b in boxes if b.end_ms is not None]
    if w.watermark_ms is not None:
        times.append(w.watermark_ms)
    if w.max_event_ms is not None:
        times.append(w.max_event_ms)
    if not times:
        return 0, 1
    lo, hi = min(times), max(times)
    return lo, max(hi, lo + 1)


def _lanes(boxes: list[WindowBox]) -> list[list[WindowBox]]:
    """Boxes packed into as few rows as possible (hopping windows overlap)."""
    rows: list[list[WindowBox]] = []
    for box in sorted(boxes, key=lambda b: b.start_ms):
        for row in rows:
            last = row[-1]
            if last.end_ms is not None and last.end_ms <= box.start_ms:
                row.append(box)
                break
        else:
            rows.append([box])
    return rows


_BOX_STYLE = {"open": "cyan", "emitted": "green", "updated": "bold yellow", "closed": "dim"}


def _axis_rows(state: ViewState, w: WindowsView, width: int, lang: str) -> list[Text]:
    keys: list[str] = []
    for arrival in reversed(w.arrivals):
        if arrival.key not in keys:
            keys.append(arrival.key)
    for b in reversed(list(w.boxes.values())):
        if b.key not in keys:
            keys.append(b.key)
    keys = sorted(keys[:KEYS_SHOWN])
    boxes = [b for b in w.boxes.values() if b.key in keys]
    per_key: dict[str, list[WindowBox]] = {}
    for b in boxes:
        per_key.setdefault(b.key, []).append(b)
    boxes = [b for k in keys for b in per_key.get(k, [])[-BOXES_PER_KEY:]]
    lo, hi = _range(w, boxes)
    label = word("event_time", lang)
    kw = max(cell_len(label), min(12, max((len(k) for k in keys), default=4)))
    axis_w = max(12, width - kw - 4)

    def x(t: int) -> int:
        return max(0, min(axis_w - 1, round((t - lo) * (axis_w - 1) / (hi - lo))))

    wm_x = x(w.watermark_ms) if w.watermark_ms is not None else None
    newest = w.arrivals[-1].msg if w.arrivals else None
    rows: list[Text] = []
    for key in keys:
        for k, lane in enumerate(_lanes(per_key.get(key, [])) or [[]]):
            chars = [" "] * axis_w
            styles = [""] * axis_w
            for b in lane:
                end = b.end_ms if b.end_ms is not None else hi
                a, z = x(b.start_ms), max(x(b.start_ms) + 1, x(end))
                style = "dim" if w.lost_state else _BOX_STYLE.get(b.state, "cyan")
                for i in range(a, min(z, axis_w)):
                    chars[i], styles[i] = "─", style
                chars[a], styles[a] = "[", style
                if z < axis_w:
                    chars[z], styles[z] = ")", style
            if wm_x is not None and chars[wm_x] in (" ", "─"):
                chars[wm_x], styles[wm_x] = "┊", "bold dark_orange"
            if k == 0:
                for _msg, late_key, event_ms, side in w.side:
                    if late_key == key and lo <= event_ms <= hi:
                        i = x(event_ms)
                        chars[i], styles[i] = ("↘", "bold magenta") if side else ("✗", "bold red")
                for a_ in w.arrivals:
                    if a_.key != key:
                        continue
                    i = x(a_.event_ms)
                    glyph, style = {
                        "late": ("✗", "bold red"),
                        "side": ("↘", "bold magenta"),
                        "updated": ("•", "bold yellow"),
                    }.get(a_.fate, ("•", "bold white"))
                    if a_.msg == newest and not a_.fate:
                        glyph = "◆"
                    chars[i], styles[i] = glyph, style
            row = line()
            row.append(" ")
            row.append(column(key if k == 0 else "", kw), style=key_style(key) if k == 0 else "")
            row.append(" ")
            start = 0
            for i in range(1, axis_w + 1):
                if i == axis_w or styles[i] != styles[start]:
                    row.append("".join(chars[start:i]), style=styles[start] or None)
                    start = i
            rows.append(row)
    axis = [" "] * axis_w
    ticks = [lo, (lo + hi) // 2, hi]
    labels = line()
    labels.append(" " + column(label, kw) + " ", style="dim")
    for t in ticks:
        text = secs(t)
        i = min(axis_w - len(text), x(t))
        if wm_x is not None and i - 1 <= wm_x <= i + len(text):
            continue  # the watermark's mark goes there
        for j, ch in enumerate(text):
            if 0 <= i + j < axis_w:
                axis[i + j] = ch
    if wm_x is not None:
        axis[wm_x] = "▲"
    labels.append("".join(axis), style="dim")
    rows.append(labels)
    return rows


def _results_row(w: WindowsView, width: int, lang: str) -> list[Text]:
    done = [b for b in w.boxes.values() if b.state in ("emitted", "updated", "closed")]
    if not done:
        return []
    row = line()
    row.append(f"   {word('results', lang)} ", style="dim")
    for b in done[-6:]:
        end = "∞" if b.end_ms is None else secs(b.end_ms)
        piece = f"{b.key} [{secs(b.start_ms)},{end})={b.value} "
        if row.cell_len + len(piece) > width:
            break
        style = _BOX_STYLE.get(b.state, "green")
        row.append(piece, style=style)
    return [row]


def _late_rows(w: WindowsView, width: int, lang: str) -> list[Text]:
    rows: list[Text] = []
    for msg, key, event_ms, side in w.side[-3:]:
        row = line()
        if side:
            row.append(f"   ↘ m{msg} ", style="bold magenta")
            row.append(word("late_side", lang, topic=side), style="magenta")
        else:
            row.append(f"   ✗ m{msg} ", style="bold red")
            row.append(word("late_dropped_one", lang), style="red")
        row.append(f" · {key} @{secs(event_ms)}", style="dim")
        rows.append(row)
    return rows


def _arrivals_row(w: WindowsView, width: int, lang: str) -> list[Text]:
    if not w.arrivals:
        return []
    row = line()
    row.append(f"   {word('arrival_order', lang)} ", style="dim")
    shown = []
    seen_max = None
    for a in w.arrivals:
        behind = seen_max is not None and a.event_ms < seen_max
        seen_max = a.event_ms if seen_max is None else max(seen_max, a.event_ms)
        shown.append((a, behind))
    pieces: list[tuple[str, str]] = []
    for a, behind in reversed(shown):
        piece = f"#{a.order} @{secs(a.event_ms)}{'⇠' if behind else ''}"
        if row.cell_len + sum(len(p) + 1 for p, _ in pieces) + len(piece) + 2 > width:
            break
        style = "bold red" if a.fate in ("late", "side") else ("yellow" if behind else "")
        pieces.insert(0, (piece, style))
    for piece, style in pieces:
        row.append(piece + " ", style=style or None)
    return [row]


def stream_lines(state: ViewState, width: int, lang: str) -> list[Text]:
    if not state.windows:
        return []
    rows = [heading(word("windows", lang))]
    for w in state.windows.values():
        proc = _processor(state, w.group)

        def get(key: str, proc: str = proc) -> str:
            return setting(state, f"processor.{proc}.{key}")

        row = line()
        row.append(f" ⧉ {w.group}", style="bold")
        kind = get("window")
        if kind:
            size = get("size_ms")
            detail = kind
            if kind == "session":
                detail += f" gap {secs(int(get('gap_ms') or 0))}"
            elif size:
                detail += f" {secs(int(size))}"
                if kind == "hopping" and get("advance_ms"):
                    detail += f"/{secs(int(get('advance_ms')))}"
            row.append(f"  {detail}", style="dim")
        wm = "—" if w.watermark_ms is None else f"{w.watermark_ms / 1000:.3f}s"
        row.append(f" · {word('watermark', lang)} {wm}", style="bold dark_orange")
        bound = get("max_out_of_orderness_ms")
        if bound and get("time") != "processing":
            row.append(f" (max − {secs(int(bound))})", style="dim")
        if get("time") == "processing":
            row.append(f" · {word('processing_time', lang)}", style="yellow")
        rows.append(row)
        if w.lost_state:
            lost = line()
            lost.append(f"   ✖ {word('state_lost', lang)}", style="bold red")
            rows.append(lost)
        elif w.restored_from is not None:
            entries, windows = w.restored_from
            back = line()
            back.append(
                f"   ↺ {word('state_restored', lang, windows=windows, entries=entries)}",
                style="bold magenta",
            )
            rows.append(back)
        rows += _axis_rows(state, w, width, lang)
        rows += _results_row(w, width, lang)
        rows += _late_rows(w, width, lang)
        rows += _arrivals_row(w, width, lang)
    rows += legend_lines(word("stream_legend", lang), width)
    return rows
