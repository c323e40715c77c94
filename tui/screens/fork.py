"""Fork: "what if this consumer crashed here?" — one more fault, the same seed.

At the cursor the menu offers faults that make sense there (crash a consumer,
drop or duplicate its deliveries, cut it off from the broker, make the current
message poison). The branch is the scenario with that fault appended, run by
the deterministic core: everything before the fault's time is identical by
construction, so the comparison shows where the two traces part and how the
outcome differs (lost, duplicates, out of order, digest).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from simulator.lessons.describe import describe
from simulator.scenario import Crash, Fault, NetworkFault, PartitionFault, Poison, Scenario
from simulator.trace import Record
from tui.fold import ViewState
from tui.runs import Run, prepare, simulate_lesson
from tui.views import view_for
from tui.widgets.timeline import fmt_ms

__all__ = ["ForkMenu", "ForkScreen", "divergence", "fork_choices", "outcome"]

WINDOW_MS = 2_000
PARTITION_MS = 10_000


def fork_choices(
    scenario: Scenario, state: ViewState, current: Record | None
) -> list[tuple[str, Fault]]:
    """The faults worth injecting at this point of the run, with a label for each."""
    at = state.at_ms
    choices: list[tuple[str, Fault]] = []
    consumers = [n for g in scenario.groups for n in g.consumer_names()]
    up = [
        n
        for n in consumers
        if state.consumers.get(n) is None or state.consumers[n].state != "crashed"
    ]
    for name in up:
        choices.append((f"crash {name} now (stays down)", Crash(target=name, at_ms=at)))
        choices.append(
            (
                f"crash {name} now, restart after 1 s",
                Crash(target=name, at_ms=at, restart_after_ms=1_000),
            )
        )
    for name in consumers:
        choices.append(
            (
                f"drop every delivery to {name} for 2 s",
                NetworkFault(
                    source="broker",
                    destination=name,
                    drop_probability=1.0,
                    from_ms=at,
                    to_ms=at + WINDOW_MS,
                ),
            )
        )
        choices.append(
            (
                f"duplicate every delivery to {name} for 2 s",
                NetworkFault(
                    source="broker",
                    destination=name,
                    duplicate_probability=1.0,
                    from_ms=at,
                    to_ms=at + WINDOW_MS,
                ),
            )
        )
        choices.append(
            (
                f"partition {name} from the broker for 10 s",
                PartitionFault(between=["broker", name], from_ms=at, to_ms=at + PARTITION_MS),
            )
        )
    for p in scenario.producers:
        choices.append(
            (
                f"drop acks to producer {p.name} for 2 s",
                NetworkFault(
                    source="broker",
                    destination=p.name,
                    drop_probability=1.0,
                    from_ms=at,
                    to_ms=at + WINDOW_MS,
                ),
            )
        )
    msg = getattr(current, "msg", None) if current is not None else None
    if isinstance(msg, int) and msg > 0:
        group = getattr(current, "group", None)
        choices.insert(0, (f"make m{msg} poison (it can never be processed)", Poison(msgs=[msg])))
        if isinstance(group, str) and group in [g.name for g in scenario.groups]:
            choices.insert(
                1, (f"make m{msg} poison for {group} only", Poison(group=group, msgs=[msg]))
            )
    return choices


class ForkMenu(ModalScreen[tuple[str, Fault] | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f", "cancel", "Cancel")]

    def __init__(self, choices: Sequence[tuple[str, Fault]]) -> None:
        super().__init__()
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="fork-menu"):
            yield Label("[b]Fork here[/b] — inject a fault at the cursor and re-run", markup=True)
            yield OptionList(
                *(Option(Text(label), id=str(i)) for i, (label, _) in enumerate(self.choices))
            )
            yield Label("enter: run the branch · escape: cancel", classes="dim")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        assert event.option.id is not None
        self.dismiss(self.choices[int(event.option.id)])

    def action_cancel(self) -> None:
        self.dismiss(None)


OUTCOME_ROWS = (
    ("records", "records"),
    ("processed", "processed"),
    ("lost", "lost"),
    ("duplicates", "duplicates"),
    ("out of order", "out_of_order"),
    ("retries", "retries"),
    ("dead-lettered", "dead_lettered"),
    ("rebalances", "rebalances"),
    ("crashes", "crashes"),
)
_BAD = frozenset({"lost", "duplicates", "out_of_order", "dead_lettered"})


def outcome(run: Run) -> dict[str, int]:
    s = run.index.final
    return {
        "records": len(run.records),
        "processed": s.count("Processed"),
        "lost": s.lost,
        "duplicates": s.duplicates,
        "out_of_order": s.out_of_order,
        "retries": s.retries,
        "dead_lettered": s.count("DeadLettered"),
        "rebalances": s.count("Rebalanced"),
        "crashes": s.count("Crashed"),
    }


def divergence(a: Sequence[Record], b: Sequence[Record]) -> int:
    """Length of the common prefix: the seq of the first record that differs."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _side(run: Run, start: int, split: int, title: str, width: int, lang: str) -> Text:
    """The records around the split (new ones marked), then the run's end state."""
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append(f"{title}\n", style="bold underline")
    for r in run.records[start : start + 10]:
        new = r.seq >= split
        out.append("▶ " if new else "  ", style="bold yellow")
        out.append(f"{r.seq:>5} {r.component[:12]:<12} ", style="" if new else "dim")
        out.append(f"{type(r).__name__[:16]:<16} ", style="bold" if new else "dim")
        out.append(f"{describe(r)}\n", style="" if new else "dim")
    out.append("\nat the end of the run\n", style="bold underline")
    final = run.index.final
    out.append_text(view_for(final.broker)(final, width, lang).text())
    return out


class ForkScreen(Screen[Run | None]):
    """Original and branch side by side; enter plays the branch."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "adopt", "Play the branch"),
        Binding("escape", "cancel", "Back"),
    ]

    def __init__(self, original: Run, branch: Scenario, label: str, position: int) -> None:
        super().__init__()
        self.original, self.branch_scenario, self.label, self.position = (
            original,
            branch,
            label,
            position,
        )
        self.branch: Run | None = None
        self.split: int | None = None
        """Length of the common prefix of the two traces, once the branch has run."""
        self.outcomes: tuple[dict[str, int], dict[str, int]] | None = None

    def compose(self) -> ComposeResult:
        at = self.original.records[self.position - 1].at if self.position else 0
        yield Label(
            Text.assemble(
                ("Fork", "bold"), f" at record {self.position:,} (t={fmt_ms(at)}): {self.label}"
            ),
            id="fork-title",
        )
        yield Static("running the branch…", id="fork-outcome")
        with Horizontal(id="fork-sides"):
            with VerticalScroll(classes="fork-side"):
                yield Static("", id="fork-original")
            with VerticalScroll(classes="fork-side"):
                yield Static("", id="fork-branch")
        yield Footer()

    def on_mount(self) -> None:
        self._run_branch()

    @work(thread=True, exclusive=True)
    def _run_branch(self) -> None:
        worker = get_current_worker()
        records, judged = simulate_lesson(
            self.branch_scenario, cancelled=lambda: worker.is_cancelled
        )
        run = prepare(
            f"branch: {self.label}",
            records,
            self.branch_scenario,
            cancelled=lambda: worker.is_cancelled,
            judged=judged,
        )
        split = divergence(self.original.records, run.records)
        digests = (self.original.digest(), run.digest())
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, run, split, digests)

    def _show(self, run: Run, split: int, digests: tuple[str, str]) -> None:
        self.branch = run
        self.split = split
        before, after = outcome(self.original), outcome(run)
        self.outcomes = (before, after)
        table = Table(show_edge=False, expand=False, title_justify="left")
        table.add_column("")
        table.add_column("original", justify="right")
        table.add_column("branch", justify="right")
        table.add_column("difference", justify="right")
        for label, key in OUTCOME_ROWS:
            a, b = before[key], after[key]
            diff = b - a
            style = ""
            if diff and key in _BAD:
                style = "bold red" if diff > 0 else "bold green"
            table.add_row(
                label, f"{a:,}", f"{b:,}", Text(f"{diff:+,}" if diff else "=", style=style)
            )
        same = digests[0] == digests[1]
        table.add_row(
            "digest",
            digests[0][:12],
            digests[1][:12],
            Text("same" if same else "differs", style="bold"),
        )
        prefix = Text(
            f"\nCommon prefix: {split:,} records identical"
            + (f"; first difference at #{split}" if not same else " — the fault changed nothing"),
            style="bold",
        )
        from rich.console import Group

        self.query_one("#fork-outcome", Static).update(Group(table, prefix))
        start = max(0, split - 2)
        lang = getattr(self.app, "lang", "en")
        width = max(30, self.size.width // 2 - 8)
        self.query_one("#fork-original", Static).update(
            _side(self.original, start, split, "original", width, lang)
        )
        self.query_one("#fork-branch", Static).update(
            _side(run, start, split, f"branch: {self.label}", width, lang)
        )

    def action_adopt(self) -> None:
        if self.branch is not None:
            self.dismiss(self.branch)

    def action_cancel(self) -> None:
        self.workers.cancel_all()
        self.dismiss(None)
