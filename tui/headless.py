"""The headless player: a dense fixed-column timeline and an outcome table.

One row per trace record — sequence number, virtual time, component, kind and
what happened — in the style of a simulator log: easy to scan, easy to grep,
identical for the same scenario and seed. Narration beats appear inline where
they trigger, in the chosen language. Every string from the scenario or the
trace is printed as ``Text`` (never parsed as markup), and a row's invisible
characters are shown as escapes (``simulator.errors.visible``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from simulator.errors import visible
from simulator.lessons.describe import describe, kind_of
from simulator.lessons.predict import PredictionResult
from simulator.lessons.summary import RunSummary
from simulator.lessons.words import word
from simulator.scenario import Scenario
from simulator.trace import Record
from tui.player import beat_fires

__all__ = [
    "KIND_STYLES",
    "print_prediction_results",
    "print_predictions",
    "print_summary",
    "print_timeline",
]

KIND_STYLES: dict[str, str] = {
    "Produced": "cyan",
    "Appended": "blue",
    "Acked": "dim cyan",
    "SentUnacknowledged": "dim yellow",
    "Delivered": "green",
    "Processed": "bold green",
    "Committed": "magenta",
    "Crashed": "bold red",
    "Restarted": "yellow",
    "Rebalanced": "bold yellow",
    "MemberLeft": "yellow",
    "MemberJoined": "yellow",
    "PositionReset": "yellow",
    "DuplicateDetected": "bold white on red",
    "OrderViolated": "bold white on dark_orange3",
    "MessageLost": "bold white on red",
    "MessageDropped": "bold white on red",
    "DeadLettered": "red",
    "ProcessingFailed": "red",
    "RetryScheduled": "dark_orange",
    "ProduceRetried": "dark_orange",
    "NetworkDropped": "red",
    "TransactionAborted": "red",
    "TransactionCommitted": "bold magenta",
    "CommitFailed": "red",
    # queue brokers (RabbitMQ-style, SQS-style)
    "Routed": "blue",
    "Enqueued": "blue",
    "DeliveryAcked": "magenta",
    "MessageDeleted": "magenta",
    "Nacked": "dark_orange",
    "Requeued": "dark_orange",
    "VisibilityExpired": "dark_orange",
    "VisibilityChanged": "yellow",
    "VisibilityChangeFailed": "red",
    "DeleteFailed": "red",
    "MessageExpired": "red",
    "QueueOverflowed": "red",
    "DedupDropped": "yellow",
    "Redriven": "yellow",
    "LambdaInvoked": "cyan",
    "BatchItemFailed": "red",
    # stream processing and sagas
    "WatermarkAdvanced": "dim yellow",
    "WindowOpened": "cyan",
    "WindowEmitted": "bold green",
    "WindowUpdated": "bold yellow",
    "WindowClosed": "dim",
    "LateRecordDropped": "red",
    "StateRestored": "bold magenta",
    "SagaStarted": "cyan",
    "SagaStepCompleted": "green",
    "SagaStepFailed": "red",
    "SagaCompensated": "dark_orange",
    "SagaTimedOut": "bold red",
    "SagaCompleted": "bold green",
    "SagaDuplicateIgnored": "yellow",
    # event store and CQRS
    "AggregateLoaded": "cyan",
    "EventStored": "blue",
    "VersionConflicted": "dark_orange",
    "CommandRejected": "yellow",
    "UpdateLost": "bold white on red",
    "SnapshotTaken": "magenta",
    "SnapshotDiscarded": "yellow",
    "UpcastApplied": "yellow",
    "EventPublished": "cyan",
    "EventUnpublished": "bold white on red",
    "Projected": "bold green",
    "ProjectionSkipped": "yellow",
    "CheckpointSaved": "magenta",
    "ReadModelSnapshotted": "magenta",
    "GapWaited": "yellow",
    "GapSkipped": "red",
    "ReadModelQueried": "bold cyan",
    "RebuildStarted": "bold magenta",
    "RebuildProgressed": "dim magenta",
    "RebuildFinished": "bold magenta",
    "ReadModelSwitched": "bold yellow",
    "ReadModelMismatched": "bold white on red",
}


def _fmt_ms(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return f"{seconds:>5}.{millis:03d}s"


def print_timeline(
    console: Console, scenario: Scenario, records: Iterable[Record], lang: str = "en"
) -> None:
    """Print one row per record, with narration beats inline."""
    pending = list(scenario.narration)
    header = Text(f"{'seq':>7} {'time':>10}  {'component':<18} {'kind':<20} what", style="bold")
    console.print(header)
    for r in records:
        for beat in [b for b in pending if beat_fires(b, r)]:
            pending.remove(beat)
            console.print(Text(f"  ▶ {beat.text.get(lang)}", style="bold italic"))
            if beat.notice is not None:
                console.print(Text(f"    {beat.notice.get(lang)}", style="italic dim"))
        kind = kind_of(r)
        row = Text(f"{r.seq:>7} {_fmt_ms(r.at)}  {visible(r.component)[:18]:<18} ")
        row.append(f"{kind:<20}", style=KIND_STYLES.get(kind, ""))
        row.append(f" {visible(describe(r))}")
        console.print(row, overflow="ellipsis", no_wrap=True, crop=True)


def print_summary(
    console: Console, summary: RunSummary, scenario: Scenario, lang: str = "en"
) -> None:
    """The outcome table, per group, and each expectation with its verdict."""
    title = Text(scenario.title.get(lang), style="table.title")
    table = Table(title=title, title_justify="left", show_edge=False)
    groups = summary.groups.values()
    # Beside lost, only when a run has them: the silent loss of fire-and-forget sends,
    # and what a run cut short still had on its way.
    dropped = any(g.dropped_unacknowledged for g in groups)
    in_flight = any(g.in_flight for g in groups)
    table.add_column("")
    for column in ("delivered", "processed", "lost"):
        table.add_column(column, justify="right")
    if dropped:
        table.add_column("dropped unacked", justify="right")
    if in_flight:
        table.add_column("in flight", justify="right")
    for column in ("duplicates", "out of order", "dead-lettered"):
        table.add_column(column, justify="right")
    for name, g in summary.groups.items():
        cells = [Text(name), Text(str(g.delivered)), Text(str(g.processed)), _flag(g.lost)]
        if dropped:
            cells.append(_flag(g.dropped_unacknowledged))
        if in_flight:
            cells.append(Text(str(g.in_flight)))
        cells += [_flag(g.duplicates), _flag(g.out_of_order), Text(str(g.dead_lettered))]
        table.add_row(*cells)
    console.print(table)
    if summary.finished != "quiescent":
        console.print(
            Text(f"run cut short ({summary.finished}): counts are as of the cut", style="yellow")
        )
    console.print(
        f"produced {summary.produced}  acked {summary.acked}  retries {summary.retries}  "
        f"rebalances {summary.rebalances}  virtual {summary.virtual_ms} ms  "
        f"records {summary.trace_records}  digest {summary.trace_digest[:16]}…"
    )
    if summary.events_stored or summary.read_model_digest is not None:
        digest = summary.read_model_digest
        shown = f"{digest[:16]}…" if digest is not None else "-"
        console.print(f"events stored {summary.events_stored}  read model digest {shown}")
    for e in summary.expectations:
        mark = Text("✓ ", style="bold green") if e.ok else Text("✗ ", style="bold red")
        console.print(mark + Text(f"{e.name}  ({e.detail})"))


def _flag(n: int) -> Text:
    return Text(str(n), style="bold red" if n else "")


# -- predict, then run ------------------------------------------------------------


def print_predictions(
    console: Console, scenario: Scenario, lang: str = "en", answers: list[int] | None = None
) -> None:
    """Before the timeline: each question and its numbered choices."""
    if not scenario.predict:
        return
    console.print(Text(f"? {word('predict', lang)}", style="bold yellow"))
    for i, p in enumerate(scenario.predict, 1):
        question = f"  {word('question', lang)} {i}. {p.question.get(lang)}"
        console.print(Text(question, style="bold"))
        for j, choice in enumerate(p.choices, 1):
            console.print(Text(f"    {j}) {choice.get(lang)}"))
        if answers and i <= len(answers):
            console.print(
                Text(f"    → {word('your_answer', lang)}: {answers[i - 1]}", style="cyan")
            )
    if not answers:
        console.print(Text(f"  {word('predict_how', lang)}", style="dim"))
    console.print()


def print_prediction_results(
    console: Console, results: Sequence[PredictionResult], lang: str = "en"
) -> None:
    """After the outcome: the right answer, whether the run confirms it, and why."""
    for r in results:
        p = r.predict
        head = Text(f"? {word('question', lang)} {r.number}. ", style="bold yellow")
        head.append(p.question.get(lang))
        console.print(head)
        line = Text(f"  {word('answer', lang)}: {p.answer}) {p.choices[p.answer - 1].get(lang)}")
        line.append("  ")
        if r.confirmed:
            line.append(f"✓ {word('confirmed', lang)} ({r.detail})", style="green")
        else:
            line.append(f"✗ {word('unconfirmed', lang)} ({r.detail})", style="bold red")
        console.print(line)
        if r.student is not None:
            verdict = word("right", lang) if r.student_right else word("wrong", lang)
            style = "bold green" if r.student_right else "bold dark_orange"
            console.print(
                Text(f"  {word('your_answer', lang)}: {r.student} — {verdict}", style=style)
            )
        console.print(Text(f"  {p.explanation.get(lang)}", style="italic"))
