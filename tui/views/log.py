"""The log model's picture (``ModelSpec.view = "tui.views.log"``).

One broker: the default picture. A cluster adds what replication decides,
read off the fold (``ViewState.replication``), never off the simulator:

- each partition's replicas in assignment order, marked ``★`` for the leader,
  ``●`` for a follower in the ISR, ``○`` for one out of sync, and ``✖`` on a
  broker that is down; then the leader epoch and the high watermark — the
  offset below which consumers may read;
- each broker on a row of its own, with what it leads and what it follows,
  so narration that focuses on ``broker-2`` lights that row.

The block sits above the consumer groups, below the lanes it explains.
"""

from __future__ import annotations

from rich.text import Text

from simulator.lessons.words import word
from tui.fold import Replication, ViewState
from tui.i18n import column
from tui.views.default import names_of, render_flow
from tui.views.default import picture as default_picture
from tui.views.picture import Picture

__all__ = ["picture", "replica_lines"]

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


def picture(state: ViewState, width: int, lang: str) -> Picture:
    """The default picture, with the replicas block above the consumer groups."""
    block = replica_lines(state, lang)
    if not block:
        return default_picture(state, width, lang)
    lines = list(render_flow(state, width, lang).split("\n"))
    groups_at = next(
        (y for y, line in enumerate(lines) if line.plain == word("groups", lang)), len(lines)
    )
    lines[groups_at:groups_at] = block
    names = names_of(state)
    names += [b for b in _brokers(state) if b not in names]
    return Picture.of(lines, names)


def _brokers(state: ViewState) -> list[str]:
    found: list[str] = []
    for rep in state.replication.values():
        found += [b for b in rep.replicas if b not in found]
    return found
