"""Placeholder entry for the Textual app (the lesson picker comes with the TUI)."""

from __future__ import annotations


def run_app() -> None:
    from rich.console import Console

    from simulator.scenario import builtin_names

    console = Console()
    console.print("[bold]evsim[/] — lessons available (the TUI opens here):")
    for name in builtin_names():
        console.print(f"  {name}")
    console.print("Play one headless with: evsim play NAME")
