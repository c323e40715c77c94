"""The ``evsim`` command: parse, call, print, exit code.

Exit codes everywhere: 0 ok; 1 an expectation or invariant failed; 2 bad input
or usage, reported as one line naming the file and the place in it.
Heavy modules are imported inside the commands so ``evsim --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from simulator.scenario import Scenario

app = typer.Typer(
    name="evsim",
    help="A terminal laboratory for event-driven architecture. Run with no command to open the TUI.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

Lang = Annotated[str, typer.Option("--lang", help="Narration language: en or ko.")]


def _console() -> Console:
    """Rich console; when piped, wide enough that timeline rows are not cropped."""
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _fail(message: str) -> NoReturn:
    """Bad input: one line on stderr, exit 2."""
    typer.echo(f"evsim: error: {message}", err=True)
    raise typer.Exit(2)


def _check_lang(lang: str) -> str:
    if lang not in ("en", "ko"):
        _fail(f"--lang: unknown language {lang!r} (use en or ko)")
    return lang


def _load(name_or_path: str) -> Scenario:
    from simulator.errors import InputError
    from simulator.scenario import resolve_scenario

    try:
        return resolve_scenario(name_or_path)
    except InputError as err:
        _fail(str(err))


@app.callback(invoke_without_command=True)
def main_callback(ctx: typer.Context) -> None:
    """Open the TUI on the lesson picker when no command is given."""
    if ctx.invoked_subcommand is None:
        from tui.app import run_app

        run_app()


@app.command("list")
def list_scenarios(lang: Lang = "en") -> None:
    """List the built-in lessons."""
    from rich.table import Table

    from simulator.scenario import builtin_names, builtin_path, load_scenario

    _check_lang(lang)
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("name", style="bold")
    table.add_column("broker")
    table.add_column("title")
    for name in builtin_names():
        s = load_scenario(builtin_path(name))
        table.add_row(name, s.broker, s.title.get(lang))
    _console().print(table)


@app.command()
def play(
    scenario: Annotated[str, typer.Argument(help="A built-in lesson name or a scenario file.")],
    seed: Annotated[int | None, typer.Option(help="Seed (default: the scenario's).")] = None,
    until: Annotated[int | None, typer.Option(help="Stop at this virtual time (ms).")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the outcome as one JSON object.")] = False,
    export_trace: Annotated[
        Path | None, typer.Option(help="Write the trace as JSON Lines to this file.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Outcome only, no timeline.")] = False,
    lang: Lang = "en",
) -> None:
    """Play a scenario headless: timeline, outcome, expectations."""
    _check_lang(lang)
    if until is not None and until < 0:
        _fail("--until: must not be negative")
    spec = _load(scenario)
    from simulator.simulation import Simulation
    from simulator.summary import summarize

    sim = Simulation(spec, seed, until_ms=until)
    if json or quiet:
        sim.run()
    else:
        from tui.headless import print_timeline

        print_timeline(_console(), spec, sim, lang)
    summary = summarize(sim)
    if export_trace is not None:
        _export(sim, export_trace)
    if json:
        import msgspec

        sys.stdout.write(msgspec.json.encode(summary).decode() + "\n")
    else:
        from tui.headless import print_summary

        print_summary(_console(), summary, spec, lang)
    raise typer.Exit(0 if summary.ok else 1)


def _export(sim: object, path: Path) -> None:
    from simulator.simulation import Simulation

    assert isinstance(sim, Simulation)
    try:
        with path.open("wb") as out:
            for chunk in sim.trace.jsonl_chunks():
                out.write(chunk)
    except OSError as err:
        _fail(f"{path}: cannot write trace: {err.strerror or err}")


@app.command()
def check(
    scenarios: Annotated[
        list[str] | None, typer.Argument(help="Lessons or files (default: every built-in lesson).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for every run (default: each scenario's).")] = None,
) -> None:
    """Run scenarios and check their expectations; exit 1 if any fails."""
    from simulator.scenario import builtin_names
    from simulator.simulation import Simulation
    from simulator.summary import summarize

    names = scenarios or builtin_names()
    loaded = [(name, _load(name)) for name in names]
    failed = 0
    for name, spec in loaded:
        summary = summarize(Simulation(spec, seed))
        status = "ok  " if summary.ok else "FAIL"
        typer.echo(f"{status} {name}  ({len(summary.expectations)} expectations, seed {summary.seed})")
        for e in summary.expectations:
            if not e.ok:
                typer.echo(f"       ✗ {e.name}  ({e.detail})")
        failed += not summary.ok
    typer.echo(f"{len(loaded) - failed} passed, {failed} failed")
    raise typer.Exit(1 if failed else 0)


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="Scenario files to validate.")]) -> None:
    """Validate scenario files without running them."""
    from simulator.errors import InputError
    from simulator.scenario import load_scenario

    bad = 0
    for f in files:
        try:
            load_scenario(f)
            typer.echo(f"ok {f}")
        except InputError as err:
            typer.echo(f"evsim: error: {err}", err=True)
            bad += 1
    raise typer.Exit(2 if bad else 0)


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors)."""
    import msgspec

    from simulator.scenario import Scenario

    sys.stdout.write(msgspec.json.format(msgspec.json.encode(msgspec.json.schema(Scenario))).decode())
    sys.stdout.write("\n")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
