"""The rabbitmq model's picture (``ModelSpec.view = "tui.views.rabbitmq"``).

On one node it is the default picture. On a cluster (``[rabbitmq.cluster]``) a
panel comes first: one row per node — up or crashed, the queues it holds and
its part in each (a quorum queue's ``★`` leader or a follower, a classic
queue's home) and the clients connected to it — then the links a partition
cuts, and one row per queue that matters for availability: a quorum queue's
members, leader, term and how far its log is committed (and on which
members), a classic queue's node, and why a queue serves nobody right now.
The panel is a fold of the trace like everything else (``ViewState.cluster``).
"""

from __future__ import annotations

from rich.text import Text

from simulator.lessons.words import word
from tui.fold import ClusterView, ViewState
from tui.i18n import column
from tui.stage import STORE
from tui.views import default
from tui.views.picture import Anchor, Picture

__all__ = ["cluster_lines", "picture"]

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


def _queue_line(view: ClusterView, name: str, width: int, lang: str) -> Text:
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
    heading = Text(no_wrap=True, overflow="ellipsis")
    heading.append(word("cluster", lang), style="bold underline")
    heading.append(f"  {word('cluster_note', lang)}", style="dim")
    lines = [heading]
    lines += [_node_line(state, view, node, width, lang) for node in view.nodes]
    for a, b in view.cut:
        cut = Text(no_wrap=True)
        cut.append(f" ⇹ {a} ✂ {b} {word('cut_off', lang)}", style="bold magenta")
        lines.append(cut)
    queues = [*view.quorum, *(n for n in view.homes if n not in view.quorum)]
    lines += [_queue_line(view, name, width, lang) for name in queues]
    return lines


def picture(state: ViewState, width: int, lang: str) -> Picture:
    """The default picture, under the cluster panel when there is a cluster."""
    panel = cluster_lines(state, max(20, width), lang)
    if not panel:
        return default.picture(state, width, lang)
    flow = default.render_flow(state, width, lang).split("\n")
    view = state.cluster
    nodes = view.nodes if view is not None else []
    out = Picture.of([*panel, *flow], [*default.names_of(state), *nodes])
    if state.store is not None:
        out.anchors.setdefault(STORE, Anchor(len(panel), min(width - 1, flow[0].cell_len)))
    return out
