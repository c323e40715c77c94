"""Small dialogs: go to a record or time, a line of text, and "why?" for a finding.

"Why?" walks ``cause_seq`` back from a finding (``simulator.trace.cause_walk``) and lists
the chain nearest first; the first crash, retry, rebalance or network fault on
the way is the root the lesson is about, and is marked. A chain that comes back
to a record it has passed (only a hand-edited trace does) ends in a "cycle"
row. Choosing a row moves the cursor there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar, NamedTuple

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from simulator.lessons.describe import describe
from simulator.lessons.words import word
from simulator.trace import Record, cause_walk
from tui.widgets.timeline import fmt_ms

__all__ = [
    "MAX_WHY_ROWS",
    "ROOT_KINDS",
    "GoToDialog",
    "TextDialog",
    "WhyChain",
    "WhyDialog",
    "parse_goto",
    "why_chain",
]

_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*$")


def parse_goto(text: str) -> tuple[str, int] | None:
    """``1234`` or ``#1234`` → a record; ``2.5s`` or ``1500ms`` → a virtual time in ms."""
    text = text.strip().lstrip("#")
    if text.isdigit():
        return ("record", int(text))
    m = _TIME.match(text)
    if m:
        value = float(m[1])
        return ("time", int(value * 1000) if m[2] == "s" else int(value))
    return None


class TextDialog(ModalScreen[str | None]):
    """One line of text; enter accepts, escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, prompt: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.prompt, self.value, self.placeholder = prompt, value, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.prompt))
            yield Input(self.value, placeholder=self.placeholder)

    def on_key(self, event: events.Key) -> None:
        # Keys typed before the input got focus (a fast typist, a paste) still land in it.
        field = self.query_one(Input)
        if not field.has_focus and event.is_printable and event.character:
            self.set_focus(field)
            field.insert_text_at_cursor(event.character)
            event.stop()
        elif not field.has_focus and event.key == "enter":
            self.dismiss(field.value)
            event.stop()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class GoToDialog(TextDialog):
    def __init__(self) -> None:
        super().__init__(
            "Go to a record number or a virtual time", placeholder="1200 · 2.5s · 800ms"
        )


ROOT_KINDS = (
    "Crashed",
    "NetworkPartitioned",
    "NetworkDropped",
    "NetworkDuplicated",
    "ProcessingFailed",
    "VisibilityExpired",
    "Nacked",
    "Requeued",
    "BatchItemFailed",
    "MessageExpired",
    "QueueOverflowed",
    "TransactionAborted",
    "LogTruncated",
    "MemberLeft",
    "ProduceRetried",
    "RetryScheduled",
    "Rebalanced",
)
"""Kinds a "why?" walk reports as the root cause, most telling first: a crash
explains a rebalance, which explains a replay, so the crash is the answer."""


MAX_WHY_ROWS = 500
"""Rows the "why?" dialog lists; a longer chain ends in a row saying how many more."""


class WhyChain(NamedTuple):
    """A finding's causes, nearest first, and what the walk found on the way."""

    chain: list[Record]
    root: int | None
    """The seq of the root-cause record, if the chain has one (``ROOT_KINDS``)."""
    cycle: int | None
    """The seq the chain came back to, on a trace whose causes go round (None: it ended)."""


def why_chain(records: Sequence[Record], seq: int) -> WhyChain:
    """The finding's causes, nearest first, the root-cause record and where it loops, if it does."""
    chain, cycle = cause_walk(records, seq)
    rank = {kind: i for i, kind in enumerate(ROOT_KINDS)}
    roots = [r for r in chain if type(r).__name__ in rank]
    root = min(roots, key=lambda r: rank[type(r).__name__]).seq if roots else None
    return WhyChain(chain, root, cycle)


class WhyDialog(ModalScreen[int | None]):
    """The cause chain of one finding; enter jumps to the chosen record.

    Every string in it comes from the trace — for ``evsim view``, from a file
    anyone may have written — so each reaches Textual as plain ``Text``, never
    as markup, and rows are identified by their place in the list, not by seq
    (a hand-edited trace may list a record twice).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,w", "cancel", "Close"),
    ]

    def __init__(self, records: Sequence[Record], seq: int, lang: str) -> None:
        super().__init__()
        self.records, self.seq, self.lang = records, seq, lang
        self._targets: list[int] = []
        """Row index → the seq that row moves the cursor to."""

    def compose(self) -> ComposeResult:
        finding = self.records[self.seq]
        chain, root, cycle = why_chain(self.records, self.seq)
        with Vertical(classes="dialog wide", id="why"):
            yield Label(
                Text.assemble(
                    (word("why", self.lang), "bold"),
                    f"  #{finding.seq} {type(finding).__name__}: {describe(finding)}",
                )
            )
            if root is not None:
                r = self.records[root]
                yield Label(
                    Text.assemble(
                        (word("root_cause", self.lang), "bold red"),
                        f": #{r.seq} {r.component} {type(r).__name__} {describe(r)}",
                    )
                )
            elif not chain:
                yield Label(Text(word("no_cause", self.lang)), classes="dim")
            options = [self._option(finding, "◆")]
            shown = chain[:MAX_WHY_ROWS]
            options += [self._option(r, "★" if r.seq == root else "↑") for r in shown]
            if len(chain) > len(shown):
                more = word("why_more", self.lang, count=len(chain) - len(shown), seq=shown[-1].seq)
                options.append(Option(Text(more, style="dim"), disabled=True))
            elif cycle is not None:
                self._targets.append(cycle)
                text = Text(f"↻ {word('why_cycle', self.lang, seq=cycle)}", style="bold yellow")
                options.append(Option(text, id=f"row-{len(self._targets) - 1}"))
            yield OptionList(*options, id="why-chain")
            yield Label(Text(word("why_keys", self.lang)), classes="dim")

    def _option(self, r: Record, mark: str) -> Option:
        kind = type(r).__name__
        text = (
            f"{mark} #{r.seq:<6} {fmt_ms(r.at):>9} {r.component[:14]:<14} {kind:<18} {describe(r)}"
        )
        self._targets.append(r.seq)
        return Option(Text(text), id=f"row-{len(self._targets) - 1}")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        row = event.option.id
        self.dismiss(self._targets[int(row[4:])] if row is not None else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
