"""A live run on the terminal: what ran where, the outcome, and the model beside it.

Plain rich output for ``evsim live``. Every name that came from the lesson or
the broker reaches rich as ``Text``, never as markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from live.outcome import Difference

if TYPE_CHECKING:
    from rich.console import Console

    from live.run import LiveResult

__all__ = ["compare_table", "print_live_header"]


def print_live_header(console: Console, result: LiveResult) -> None:
    """One line saying what this was: a live run, on which broker, not deterministic."""
    summary = result.assembled.summary
    console.print(
        Text(
            f"live run of {summary.scenario} on RabbitMQ {result.broker_version} at"
            f" {result.broker} — wall-clock time, not deterministic",
            style="bold",
        )
    )
    taps = "dead-letter taps (x-death)"
    taps += ", firehose" if result.firehose else ", no firehose (rabbitmqctl trace_on is off)"
    taps += ", management API" if result.management is not None else ", no management API"
    console.print(Text(f"broker-side records read from: {taps}", style="dim"))
    for queue, counts in (result.management or {}).items():
        shown = "  ".join(f"{k} {v}" for k, v in counts.items())
        console.print(Text(f"  {queue} (management API): {shown}", style="dim"))
    if result.leftovers:
        console.print(Text(f"left on the broker: {', '.join(result.leftovers)}", style="bold red"))


def compare_table(title: str, rows: list[Difference], version: str) -> Table:
    """The model's and the broker's outcome, one aspect per row; differences marked ≠."""
    table = Table(title=Text(title), title_justify="left", show_edge=False)
    table.add_column("")
    table.add_column("model (evsim)", overflow="fold")
    table.add_column(f"live (RabbitMQ {version})", overflow="fold")
    table.add_column("")
    for r in rows:
        mark = Text("=", style="green") if r.same else Text("≠", style="bold yellow")
        table.add_row(Text(r.aspect), Text(r.model), Text(r.live), mark)
    return table
