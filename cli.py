"""The ``evsim`` command: parse, call, print, exit code.

Exit codes everywhere: 0 ok; 1 an expectation or invariant failed; 2 bad input
or usage, reported as one line naming the file and the place in it.
Heavy modules are imported inside the commands so ``evsim --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from rich.console import Console

    from simulator.scenario import Scenario


class OneLineUsageErrors(TyperGroup):
    """Usage errors (a missing argument, a wrong option or value) as one line, exit 2.

    Click's default is a usage block, a blank line and ``Error: …``; a line in
    the project's own shape — ``evsim: error: --seed: …; see 'evsim play
    --help'`` — is easier to read in a terminal and to match in a script.
    """

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except typer.TyperException as err:
            _usage_error(err)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except typer.TyperException as err:
            _usage_error(err)


def _usage_error(err: typer.TyperException) -> NoReturn:
    param = getattr(err, "param", None)
    if isinstance(err, typer.BadParameter) and param is not None and err.message:
        opts = [o for o in getattr(param, "opts", []) if o.startswith("--")]
        where = opts[0] if opts else str(param.name).upper()
        text = f"{where}: {_lower_first(err.message)}"
    else:
        text = _lower_first(err.format_message())
    text = " ".join(text.split()).rstrip(".")
    ctx = getattr(err, "ctx", None)
    command = ctx.command_path if ctx is not None else "evsim"
    typer.echo(f"evsim: error: {text}; see '{command} --help'", err=True)
    raise typer.Exit(getattr(err, "exit_code", 2))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


app = typer.Typer(
    name="evsim",
    cls=OneLineUsageErrors,
    help="A terminal laboratory for event-driven architecture. With no command: the TUI.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class Lang(StrEnum):
    """A lesson language (``simulator.lessons.words.LANGS``)."""

    en = "en"
    ko = "ko"


class HandoutFormat(StrEnum):
    """What ``evsim report`` writes."""

    md = "md"
    html = "html"


class Vary(StrEnum):
    """What ``evsim compare`` varies (``simulator.lessons.compare.VARY``)."""

    broker = "broker"
    semantics = "semantics"


class HandoutComparison(StrEnum):
    """The comparison table in a handout: a ``Vary``, or none at all."""

    broker = "broker"
    semantics = "semantics"
    none = "none"


C = TypeVar("C", bound=StrEnum)


def _one_of(choices: type[C], what: str) -> Callable[[str], C]:
    """Parse an option into ``choices``; anything else is a usage error naming them.

    Typer reads the choices off the enum for ``--help`` and completion; this
    parser only words the refusal the project's way (``unknown language 'xx'
    (use en or ko)``) instead of pydantic's ``Value error, 'xx' is not one of …``.
    """

    def parse(value: str) -> C:
        try:
            return choices(value)
        except ValueError:
            names = [c.value for c in choices]
            known = f"{', '.join(names[:-1])} or {names[-1]}"
            raise typer.BadParameter(f"{what} {value!r} (use {known})") from None

    return parse


LangOption = Annotated[
    Lang,
    typer.Option(
        "--lang", help="Narration language: en or ko.", parser=_one_of(Lang, "unknown language")
    ),
]


def _console() -> Console:
    """Rich console; when piped, wide enough that timeline rows are not cropped."""
    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _fail(message: str) -> NoReturn:
    """Bad input: one line on stderr, exit 2."""
    typer.echo(f"evsim: error: {message}", err=True)
    raise typer.Exit(2)


def _load(name_or_path: str) -> Scenario:
    from simulator.errors import InputError
    from simulator.scenario import resolve_scenario

    try:
        return resolve_scenario(name_or_path)
    except InputError as err:
        _fail(str(err))


_INT64 = (-(2**63), 2**63 - 1)


def _check_seed(seed: int | None) -> None:
    """``--seed`` is held to the scenario field's rule: a 64-bit integer."""
    if seed is not None and not _INT64[0] <= seed <= _INT64[1]:
        _fail("--seed: must be a 64-bit integer (from -2**63 to 2**63-1), like a scenario's seed")


def _check_until(until: int | None, spec: Scenario) -> None:
    """``--until`` is held to the scenario's virtual-time cap, as ``until_ms`` is."""
    from simulator.scenario.validation import cap

    if until is None:
        return
    if until < 0:
        _fail("--until: must not be negative")
    limit = cap(spec, "virtual_ms")
    if until > limit:
        _fail(
            f"--until: {until} ms is past the virtual-time cap of {limit} ms ([limits] virtual_ms)"
        )


def _scenario_file(name_or_path: str, spec: Scenario) -> Path | None:
    """The file a scenario was read from (what an export must never overwrite)."""
    from simulator.scenario import builtin_names, builtin_path

    path = Path(name_or_path)
    if path.is_file():
        return path
    return builtin_path(name_or_path) if name_or_path in builtin_names() else None


NoAnimationOption = Annotated[
    bool,
    typer.Option(
        "--no-animation",
        help="Draw each record's end state at once: no chips moving (for slow terminals).",
    ),
]


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    presenter: Annotated[
        bool, typer.Option("--presenter", help="Open the TUI in presenter mode (high contrast).")
    ] = False,
    no_animation: NoAnimationOption = False,
) -> None:
    """Open the TUI on the lesson picker when no command is given."""
    if ctx.invoked_subcommand is None:
        from tui.app import run_app

        _tui_exit(run_app(presenter=presenter, motion=not no_animation))


def _tui_exit(app: Any) -> None:
    """After the TUI: a crash is one line on stderr (naming its log) and exit status 1."""
    code = getattr(app, "return_code", None)
    if code:
        line = getattr(app, "crash_line", None) or "evsim: the TUI stopped with an error"
        typer.echo(line, err=True)
        raise typer.Exit(code)


@app.command("list")
def list_scenarios(
    lang: LangOption = Lang.en,
    path: Annotated[
        bool,
        typer.Option("--path", help="In course order, by chapter (scenarios/course/path.toml)."),
    ] = False,
) -> None:
    """List the built-in lessons (with --path: the course, first principles to case studies)."""
    from rich.table import Table

    from simulator.scenario import builtin_names, builtin_path, load_scenario

    if path:
        _list_course(lang)
        return
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("name", style="bold")
    table.add_column("broker")
    table.add_column("title")
    for name in builtin_names():
        s = load_scenario(builtin_path(name))
        table.add_row(name, s.broker, s.title.get(lang))
    _console().print(table)


def _list_course(lang: str) -> None:
    from rich.table import Table

    from simulator.errors import InputError
    from simulator.lessons.course import load_course
    from simulator.lessons.words import word
    from simulator.scenario import builtin_names, builtin_path, load_scenario

    try:
        course = load_course()
    except InputError as err:
        _fail(str(err))
    console = _console()
    for chapter in course.chapters:
        table = Table(
            title=f"{chapter.title.get(lang)}  (docs/guide/{lang}/{chapter.guide})",
            title_justify="left",
            show_edge=False,
            pad_edge=False,
        )
        table.add_column("#", justify="right")
        table.add_column("name", style="bold")
        table.add_column("broker")
        table.add_column("title")
        for step in course.steps():
            if step.chapter.id != chapter.id:
                continue
            try:
                s = load_scenario(builtin_path(step.lesson))
            except InputError as err:
                table.add_row(str(step.number), step.lesson, "", f"cannot load: {err}")
                continue
            marks = " ?" if s.predict else ""
            table.add_row(str(step.number), step.lesson + marks, s.broker, s.title.get(lang))
        if not chapter.lessons:
            table.add_row("", "—", "", word("lesson_coming", lang))
        console.print(table)
        console.print()
    off_path = [name for name in builtin_names() if name not in course.path()]
    if off_path:
        console.print(f"{word('off_path', lang)}: {', '.join(off_path)}")
    console.print(word("asks_prediction", lang))


@app.command()
def play(
    scenario: Annotated[str, typer.Argument(help="A built-in lesson name or a scenario file.")],
    seed: Annotated[int | None, typer.Option(help="Seed (default: the scenario's).")] = None,
    until: Annotated[int | None, typer.Option(help="Stop at this virtual time (ms).")] = None,
    json: Annotated[
        bool, typer.Option("--json", help="Print the outcome as one JSON object.")
    ] = False,
    export_trace: Annotated[
        Path | None,
        typer.Option(
            help="Write the trace as JSON Lines to this file, as the run goes (it appears"
            " whole at the end)."
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Outcome only, no timeline.")
    ] = False,
    lang: LangOption = Lang.en,
    svg_at_beats: Annotated[
        Path | None,
        typer.Option("--svg-at-beats", help="Also save the main TUI screen as SVG at each beat."),
    ] = None,
    predict: Annotated[
        str | None,
        typer.Option(
            "--predict", help="Your answer to the lesson's prediction question: N (or N,M,…)."
        ),
    ] = None,
    reuse_store: Annotated[
        bool,
        typer.Option(
            "--reuse-store",
            help="Empty and reuse the SQLite store an earlier run of this same lesson left"
            " (without it, a file already at [store] path is refused).",
        ),
    ] = False,
) -> None:
    """Play a scenario headless: predictions, timeline, outcome, expectations, answers.

    A run projected to write 500,000 trace records or more keeps the older
    ones in a temporary file (under TMPDIR) while it goes, so its trace need
    not fit in memory; with --export-trace the export file is that file.
    """
    if until is not None and until < 0:
        _fail("--until: must not be negative")
    _check_seed(seed)
    spec = _load(scenario)
    _check_until(until, spec)
    from simulator.errors import InputError, visible
    from simulator.lessons.summary import summarize
    from simulator.simulation import Simulation
    from simulator.spill import SpillFailed

    source = _scenario_file(scenario, spec)
    protected = [p for p in (source,) if p is not None]
    if export_trace is not None:
        _refuse_target(export_trace, protected, "a trace export")
    if svg_at_beats is not None:
        from tui.export import check_svg_folder

        try:
            check_svg_folder(svg_at_beats)
        except InputError as err:
            _fail(str(err))
    store_file = _store_file(spec, reuse_store)
    if store_file is not None:
        protected.append(store_file.path)
        if export_trace is not None:
            _refuse_target(export_trace, protected, "a trace export")

    answers: list[int] = []
    if predict is not None:
        from simulator.lessons.predict import parse_answers

        try:
            answers = parse_answers(predict, spec)
        except ValueError as err:
            _fail(f"--predict: {err}")
    if spec.predict and not json:
        from tui.headless import print_predictions

        print_predictions(_console(), spec, lang, answers)
    with contextlib.ExitStack() as files:  # the trace's file lives until the play is over
        spill, pending = _trace_file(files, spec, export_trace, protected)
        try:  # the scenario's own code may not load, or may break determinism mid-run
            sim = Simulation(spec, seed, until_ms=until, store_file=store_file, spill=spill)
            if store_file is not None:
                typer.echo(f"event store: {store_file.path}", err=True)
            if json or quiet:
                sim.run()
            else:
                from tui.headless import print_timeline

                print_timeline(_console(), spec, sim, lang)
            summary = summarize(sim)
            if pending is not None:
                sim.trace.finish_file()
                _commit_export(pending)
        except InputError as err:  # the store: refused, or failing while the run writes it
            _fail(str(err))
        except SpillFailed as err:  # the trace's file, as the run writes it
            where = "the trace's temporary file" if export_trace is None else str(export_trace)
            _fail(f"{visible(where)}: cannot write trace: {err.reason}")
        _after_play(spec, sim, summary, answers, json, lang, svg_at_beats, protected)
        _say_if_cut(summary.finished, spec)
        raise typer.Exit(0 if summary.ok else 1)


def _trace_file(
    files: contextlib.ExitStack, spec: Scenario, export_trace: Path | None, protected: list[Path]
) -> tuple[Any, Any]:
    """The spill file a play's trace goes to as the run goes, and the export it becomes.

    With ``--export-trace``: the temporary file beside the target, renamed into
    place once the trace is whole (removed if the play fails). Without, for a run
    projected to write ``SPILL_ABOVE_RECORDS`` records or more: an anonymous
    temporary file, gone when the play ends. Otherwise none: the trace stays in memory.
    """
    from simulator.errors import InputError, visible
    from simulator.files import writing_beside
    from simulator.scenario.validation import trace_on_disk
    from simulator.spill import SpillFile

    if export_trace is not None:
        try:
            pending = files.enter_context(
                writing_beside(export_trace, protected=protected, what="a trace export")
            )
        except InputError as err:
            _fail(str(err))
        except OSError as err:
            _fail(f"{visible(str(export_trace))}: cannot write trace: {err.strerror or err}")
        return SpillFile(pending.out), pending
    if not trace_on_disk(spec):
        return None, None
    import tempfile

    try:
        # Closed (and so removed) by the ExitStack when the play ends.
        out = files.enter_context(tempfile.TemporaryFile(prefix="evsim-trace-"))  # noqa: SIM115
    except OSError as err:
        _fail(f"the trace's temporary file: cannot create it: {err.strerror or err}")
    typer.echo("trace: kept on disk as the run goes (a temporary file)", err=True)
    return SpillFile(out), None


def _commit_export(pending: Any) -> None:
    """Put a whole trace export at its target (``--export-trace``)."""
    from simulator.errors import visible

    try:
        pending.commit()
    except OSError as err:
        _fail(f"{visible(str(pending.target))}: cannot write trace: {err.strerror or err}")


def _after_play(
    spec: Scenario,
    sim: Any,
    summary: Any,
    answers: list[int],
    json: bool,
    lang: str,
    svg_at_beats: Path | None,
    protected: list[Path],
) -> None:
    """What ``play`` shows once the run is over: screenshots, outcome, predictions judged."""
    if svg_at_beats is not None:
        _svg_at_beats(spec, svg_at_beats, lang, protected)
    if json:
        import msgspec

        sys.stdout.write(msgspec.json.encode(summary).decode() + "\n")
    else:
        from tui.headless import print_summary

        print_summary(_console(), summary, spec, lang)
        if spec.predict:
            from simulator.lessons.predict import check_predictions
            from tui.headless import print_prediction_results

            results = check_predictions(spec, summary, answers, sim)
            print_prediction_results(_console(), results, lang)


def _store_file(spec: Scenario, reuse: bool) -> Any:
    """Where this ``play`` writes a ``backend = "sqlite"`` store (None: it has none)."""
    from simulator.cqrs.event_log import StoreFile, store_path

    if spec.store is None or spec.store.backend != "sqlite":
        return None
    # Relative to the working folder, as the user will type it back: evsim-runs/<lesson>/…
    return StoreFile(path=store_path(spec.store, spec.name, Path()), reuse=reuse)


def _refuse_target(target: Path, protected: list[Path], what: str) -> None:
    """One line, exit 2, for an output path that must not be written (checked up front)."""
    from simulator.errors import InputError
    from simulator.files import refuse_overwriting

    try:
        refuse_overwriting(target, protected, what)
    except InputError as err:
        _fail(str(err))


def _divergence(spec: Scenario) -> str | None:
    from evsim.grade import divergence

    return divergence(spec)


def _cut_short(finished: str, spec: Scenario) -> str | None:
    """The one line that says a run stopped at its record cap (which fails it), or None."""
    if finished != "max_records":
        return None
    return (
        f"{spec.name}: stopped at max_records ({spec.max_records} records) before the run"
        " finished; every count is partial"
    )


def _say_if_cut(finished: str, spec: Scenario) -> None:
    line = _cut_short(finished, spec)
    if line is not None:
        typer.echo(f"evsim: {line}", err=True)


def _svg_at_beats(spec: Scenario, out_dir: Path, lang: str, protected: list[Path]) -> None:
    from simulator.errors import InputError, visible
    from tui.export import svg_at_beats

    try:
        written = svg_at_beats(spec, out_dir, lang, protected=protected)
    except InputError as err:
        _fail(str(err))
    except OSError as err:
        _fail(f"{visible(str(out_dir))}: cannot write screenshots: {err.strerror or err}")
    typer.echo(f"wrote {len(written)} SVG screenshot(s) to {visible(str(out_dir))}", err=True)


@app.command()
def view(
    trace: Annotated[
        Path,
        typer.Argument(
            help="A trace exported with `play --export-trace`, or a scenario file (.toml)."
        ),
    ],
    presenter: Annotated[bool, typer.Option("--presenter", help="Presenter mode.")] = False,
    lang: LangOption = Lang.en,
    no_animation: NoAnimationOption = False,
) -> None:
    """Play an exported trace (JSON Lines) in the TUI, or run a scenario file in it."""
    from simulator.errors import InputError
    from tui.runs import load_trace, read_through_index

    if trace.suffix == ".toml":  # a scenario (a counterexample the grader wrote …): run it
        from simulator.scenario.validation import refuse_over_memory
        from tui.app import EvsimApp

        spec = _load(str(trace))
        try:  # the TUI holds the whole trace
            refuse_over_memory(spec, str(trace), on_disk=False)
        except InputError as err:
            _fail(str(err))
        EvsimApp(scenario=spec, presenter=presenter, lang=lang, motion=not no_animation).run()
        return

    if read_through_index(trace):  # too big to read whole: its head now, the rest behind
        from tui.app import EvsimApp
        from tui.trace_file import FileIndexer

        try:
            indexer = FileIndexer(trace)
            indexer.head()
        except InputError as err:
            _fail(str(err))
        app = EvsimApp(
            trace_file=(indexer, trace.name),
            presenter=presenter,
            lang=lang,
            motion=not no_animation,
        )
        app.run()
        _tui_exit(app)
        return
    try:
        records, warning = load_trace(trace)
    except InputError as err:
        _fail(str(err))
    except RecursionError:  # JSON nested thousands deep in an unknown field
        _fail(f"{trace}: a line is nested too deeply to be a trace record")
    except UnicodeDecodeError:  # a string holding an encoded surrogate (b"\xed\xa0\x80")
        _fail(f"{trace}: a line holds text that is not valid UTF-8")
    if warning:
        from simulator.errors import visible

        typer.echo(f"evsim: warning: {visible(warning)}", err=True)
    from tui.app import EvsimApp

    app = EvsimApp(
        trace=(records, trace.name, warning),
        presenter=presenter,
        lang=lang,
        motion=not no_animation,
    )
    app.run()
    _tui_exit(app)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "localhost",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    presenter: Annotated[bool, typer.Option("--presenter", help="Presenter mode.")] = False,
) -> None:
    """Serve the TUI in a web browser (needs the `serve` extra: textual-serve)."""
    try:
        from textual_serve.server import Server
    except ImportError:
        _fail("serve needs textual-serve: pip install 'evsim[serve]'")
    import shlex

    _check_listen(host, port)
    command = f"{shlex.quote(sys.executable)} -m cli" + (" --presenter" if presenter else "")
    try:
        Server(command, host=host, port=port, title="evsim").serve()
    except OSError as err:  # lost the port between the check and the bind
        _fail(f"--port: cannot listen on {host}:{port}: {err.strerror or err}")


def _check_listen(host: str, port: int) -> None:
    """The port is a TCP port, the host resolves, and nothing else listens there."""
    import socket

    from simulator.errors import visible

    if not 1 <= port <= 65535:
        _fail(f"--port: {port} is not a TCP port (use 1 to 65535)")
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        reason = err.strerror if isinstance(err, socket.gaierror) else str(err)
        _fail(f"--host: cannot resolve {visible(host)!r}: {reason}")
    family, kind, proto, _, address = addresses[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as err:
            _fail(f"--port: cannot listen on {visible(host)}:{port}: {err.strerror or err}")


def _write_trace(trace: object, path: Path, protected: list[Path]) -> None:
    """Write a trace whole or not at all, never over a file in ``protected``."""
    from simulator.errors import InputError, visible
    from simulator.files import write_atomically
    from simulator.trace import Trace

    assert isinstance(trace, Trace)
    try:
        write_atomically(path, trace.jsonl_chunks(), protected=protected, what="a trace export")
    except InputError as err:
        _fail(str(err))
    except OSError as err:
        _fail(f"{visible(str(path))}: cannot write trace: {err.strerror or err}")


@app.command()
def check(
    scenarios: Annotated[
        list[str] | None, typer.Argument(help="Lessons or files (default: every built-in lesson).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed for every run (default: each scenario's).")
    ] = None,
) -> None:
    """Run scenarios and check their expectations; exit 1 if any fails."""
    _check_seed(seed)
    from simulator.lessons.summary import summarize
    from simulator.scenario import builtin_names
    from simulator.simulation import Simulation

    names = scenarios or builtin_names()
    loaded = [(name, _load(name)) for name in names]
    failed = 0
    from simulator.errors import InputError, visible
    from simulator.lessons.predict import check_predictions
    from simulator.spill import SpillFailed
    from simulator.usercode.refs import names_code

    for name, spec in loaded:
        try:
            with contextlib.ExitStack() as files:  # a large run's trace goes to disk
                spill, _ = _trace_file(files, spec, None, [])
                sim = Simulation(spec, seed, spill=spill)
                summary = summarize(sim)
                keys = [r for r in check_predictions(spec, summary, sim=sim) if not r.confirmed]
            # Code of a student's: run it twice, a different trace is state kept between runs.
            differs = _divergence(spec) if names_code(spec) else None
        except InputError as err:
            typer.echo(f"FAIL {name}  ({err})")
            failed += 1
            continue
        except SpillFailed as err:  # the disk the trace goes to is full, or failing
            _fail(f"{visible(name)}: the trace's temporary file: cannot write trace: {err.reason}")
        if differs is not None:
            typer.echo(f"FAIL {name}  (your code is not deterministic: {differs})")
            failed += 1
            continue
        # A prediction's key must be what the run shows, or the lesson teaches a wrong answer
        # (judged above, while a trace on disk is still there to read).
        ok = summary.ok and not keys
        status = "ok  " if ok else "FAIL"
        counted = f"{len(summary.expectations)} expectations"
        if spec.predict:
            counted += f", {len(spec.predict)} predictions"
        typer.echo(f"{status} {name}  ({counted}, seed {summary.seed})")
        cut = _cut_short(summary.finished, spec)
        if cut is not None:
            typer.echo(f"       ✗ {cut}")
        for e in summary.expectations:
            if not e.ok:
                typer.echo(f"       ✗ {e.name}  ({e.detail})")
        for r in keys:
            typer.echo(f"       ✗ predict[{r.number}]: {r.predict.expect}  ({r.detail})")
        failed += not ok
    typer.echo(f"{len(loaded) - failed} passed, {failed} failed")
    raise typer.Exit(1 if failed else 0)


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario files to validate.")],
) -> None:
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
def compare(
    scenario: Annotated[str, typer.Argument(help="A built-in lesson name or a scenario file.")],
    vary: Annotated[
        Vary,
        typer.Option(
            help="What to vary: broker (every registered model) or semantics.",
            parser=_one_of(Vary, "cannot vary"),
        ),
    ] = Vary.broker,
    seed: Annotated[
        int | None, typer.Option(help="Seed for every variant (default: the scenario's).")
    ] = None,
    json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list, one object per variant.")
    ] = False,
) -> None:
    """Run one workload through each variant, same seed, one table.

    Exit 1 when the scenario as written (the row marked *) fails its expectations.
    """
    from simulator.errors import InputError
    from simulator.lessons.compare import compare as run_compare
    from simulator.lessons.compare import variant_dicts

    _check_seed(seed)
    spec = _load(scenario)
    try:
        variants = run_compare(spec, vary, seed)
    except InputError as err:
        _fail(str(err))
    baseline_ok = all(v.summary.ok for v in variants if v.baseline and v.summary is not None)
    if json:
        import msgspec

        sys.stdout.write(msgspec.json.encode(variant_dicts(variants)).decode() + "\n")
        raise typer.Exit(0 if baseline_ok else 1)
    from rich.table import Table

    used_seed = spec.seed if seed is None else seed
    table = Table(
        title=f"{spec.name}: same workload, varying {vary} (seed {used_seed})",
        title_justify="left",
        show_edge=False,
    )
    table.add_column(vary)
    columns = ("produced", "processed", "lost", "duplicates", "out of order", "dead-lettered")
    for column in (*columns, "retries", "max latency ms"):
        table.add_column(column, justify="right")
    notes: list[str] = []
    for v in variants:
        label = f"{v.label} *" if v.baseline else v.label
        s = v.summary
        if s is None:
            table.add_row(label, *(["—"] * 8), style="dim")
        else:
            latency = "—" if v.max_latency_ms is None else str(v.max_latency_ms)
            counts = (s.produced, s.processed, s.lost, s.duplicates, s.out_of_order)
            rest = (s.dead_lettered, s.retries)
            table.add_row(label, *(str(c) for c in (*counts, *rest)), latency)
        if v.note:
            notes.append(f"{v.label}: {v.note}")
    console = _console()
    console.print(table)
    console.print("* the scenario as written", style="dim")
    for note in notes:
        console.print(f"note — {note}")
    raise typer.Exit(0 if baseline_ok else 1)


class BrokerAction(StrEnum):
    """What ``evsim broker`` does with the local RabbitMQ (``.ci/broker``)."""

    start = "start"
    stop = "stop"
    status = "status"


@app.command()
def live(
    scenario: Annotated[str, typer.Argument(help="A RabbitMQ lesson (name or file).")],
    broker: Annotated[
        str, typer.Option("--broker", help="The real broker's AMQP URL.")
    ] = "amqp://127.0.0.1:5672",
    seed: Annotated[int | None, typer.Option(help="Seed (default: the scenario's).")] = None,
    speed: Annotated[
        float,
        typer.Option(help="Virtual ms per wall-clock ms: 1 plays the lesson in real time."),
    ] = 1.0,
    json: Annotated[
        bool, typer.Option("--json", help="Print the outcome as one JSON object.")
    ] = False,
    export_trace: Annotated[
        Path | None, typer.Option(help="Write the live trace as JSON Lines (for `evsim view`).")
    ] = None,
    compare_model: Annotated[
        bool, typer.Option("--compare", help="Also run the model and show both outcomes.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Give up when the run has not settled after this many s.")
    ] = 120.0,
    lang: LangOption = Lang.en,
) -> None:
    """Run a lesson on a real RabbitMQ: real processes, real SIGKILLs, a judged live trace."""
    _check_seed(seed)
    spec = _load(scenario)
    source = _scenario_file(scenario, spec)
    protected = [p for p in (source,) if p is not None]
    if export_trace is not None:  # refused before the broker is touched
        _refuse_target(export_trace, protected, "a trace export")
    try:
        import pika  # noqa: F401
    except ImportError:
        _fail("live mode needs pika: pip install 'evsim[live]'")
    from live.run import LiveError, LiveOptions, run_live

    def progress(what: str) -> None:
        if not json:
            typer.echo(f"evsim live: {what}", err=True)

    try:
        result = run_live(spec, LiveOptions(broker, seed, speed, timeout), progress)
    except LiveError as err:
        _fail(str(err))
    summary = result.assembled.summary
    if export_trace is not None:
        _export_records(result.records, export_trace, protected)
    rows = None
    model_summary = None
    if compare_model:
        from live.outcome import compare_outcomes, outcome_of
        from simulator.lessons.summary import summarize
        from simulator.simulation import Simulation

        sim = Simulation(spec, seed)
        model_summary = summarize(sim)
        rows = compare_outcomes(
            outcome_of(sim.trace, model_summary), outcome_of(result.records, summary)
        )
    if json:
        import msgspec

        out = msgspec.to_builtins(summary)
        out["live"] = {
            "deterministic": False,
            "broker": result.broker,
            "broker_version": result.broker_version,
            "speed": speed,
            "names": result.prefix,
            "dead_letters": [{"msg": msg, **death.as_dict()} for msg, death in result.deaths],
            "firehose": result.firehose,
            "management": result.management,
            "leftovers": result.leftovers,
        }
        if rows is not None and model_summary is not None:
            out["model"] = msgspec.to_builtins(model_summary)
            out["compare"] = [
                {"aspect": r.aspect, "model": r.model, "live": r.live, "same": r.same} for r in rows
            ]
        sys.stdout.write(msgspec.json.encode(out).decode() + "\n")
        raise typer.Exit(0 if summary.ok else 1)
    from live.show import compare_table, print_live_header
    from tui.headless import print_summary

    console = _console()
    print_live_header(console, result)
    print_summary(console, summary, spec, lang)
    if rows is not None:
        console.print()
        console.print(
            compare_table(
                f"{spec.name}: the model and the real broker", rows, result.broker_version
            )
        )
    raise typer.Exit(0 if summary.ok else 1)


def _export_records(records: object, path: Path, protected: list[Path]) -> None:
    from simulator.trace import Trace

    assert isinstance(records, list)
    _write_trace(Trace(records), path, protected)


@app.command()
def broker(
    action: Annotated[
        BrokerAction,
        typer.Argument(
            help="start, stop or status of a local RabbitMQ on 127.0.0.1:5672 (.ci/broker).",
            parser=_one_of(BrokerAction, "unknown action"),
        ),
    ],
) -> None:
    """Start, stop or ask about the local RabbitMQ that live mode and the tests use."""
    import subprocess

    from live.broker import INSTALL_HINT, RABBITMQ_SERVER, listening

    script = Path(__file__).resolve().parent / ".ci" / "broker"
    if not script.exists():
        _fail("evsim broker needs a source checkout (.ci/broker); or run RabbitMQ yourself")
    if action is BrokerAction.start and not Path(RABBITMQ_SERVER).exists():
        _fail(INSTALL_HINT)
    # Captured and echoed, so the answer reaches whatever stdout the command has.
    done = subprocess.run([str(script), action.value], check=False, capture_output=True, text=True)
    if done.stdout:
        typer.echo(done.stdout, nl=False)
    if done.stderr:
        typer.echo(done.stderr, nl=False, err=True)
    if action is BrokerAction.status and done.returncode and listening("127.0.0.1", 5672):
        typer.echo("a broker this checkout did not start listens on 127.0.0.1:5672")
        raise typer.Exit(0)
    raise typer.Exit(done.returncode)


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (for editors), every model's sections included."""
    import msgspec

    from simulator.models.registry import scenario_schema

    sys.stdout.write(msgspec.json.format(msgspec.json.encode(scenario_schema())).decode())
    sys.stdout.write("\n")


@app.command()
def bench(
    quick: Annotated[
        bool, typer.Option("--quick", help="A tenth of the size, for a smoke run.")
    ] = False,
    json: Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")] = False,
) -> None:
    """Run the benchmarks and print our figures beside their anchors, targets and verdicts.

    Exit 1 when an anchor did not do the same work as ours (no row is made of it).
    """
    import msgspec

    from bench.render import notes, progress_line, rows_table
    from bench.run import BenchRow, SameWorkError, run_all
    from bench.views import w6_trace_file, w6_views, w8_startup

    def views(messages: int) -> list[BenchRow]:
        # The trace file: W1 at five times the size (1M messages, 5M records, ~1 GiB).
        return w6_views(messages) + w6_trace_file(messages * 5) + w8_startup()

    rows: list[BenchRow] = []
    try:
        for row in run_all(quick=quick, views=views):
            rows.append(row)
            if not json:  # as each row is measured: a long run shows progress, a failure keeps it
                typer.echo(f"  {progress_line(row)}", err=True)
    except SameWorkError as err:
        typer.echo(f"evsim: bench: {err}", err=True)
        raise typer.Exit(1) from None
    if json:
        sys.stdout.write(msgspec.json.encode(rows).decode() + "\n")
        return
    console = _console()
    console.print(rows_table(rows))
    for line in notes(rows):
        console.print(line, style="dim", markup=False)


@app.command()
def report(
    scenario: Annotated[str, typer.Argument(help="A built-in lesson name or a scenario file.")],
    lang: LangOption = Lang.en,
    fmt: Annotated[
        HandoutFormat,
        typer.Option(
            "--format",
            help="md (Markdown) or html.",
            parser=_one_of(HandoutFormat, "unknown format"),
        ),
    ] = HandoutFormat.md,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the handout here (default: stdout).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default: the scenario's).")] = None,
    compare_vary: Annotated[
        HandoutComparison | None,
        typer.Option(
            "--compare",
            help="Add a comparison table: broker or semantics (default: broker for lessons"
            " tagged 'compare'; 'none' to leave it out).",
            parser=_one_of(HandoutComparison, "cannot vary"),
        ),
    ] = None,
    svg: Annotated[
        bool,
        typer.Option(
            "--svg", help="Save one SVG of the TUI per narration beat next to --out, and show them."
        ),
    ] = False,
) -> None:
    """Write a handout: narration, setup, outcome, findings with their causes, answers."""
    if svg and out is None:
        _fail("--svg: needs --out (the SVG files are saved next to the handout)")
    from simulator.errors import InputError, visible
    from simulator.lessons.compare import compare as run_compare
    from simulator.lessons.course import load_course
    from simulator.lessons.predict import check_predictions
    from simulator.lessons.report import build_handout, render_html, render_markdown
    from simulator.lessons.summary import summarize
    from simulator.models.registry import model
    from simulator.simulation import Simulation

    _check_seed(seed)
    spec = _load(scenario)
    source = _scenario_file(scenario, spec)
    protected = [p for p in (source,) if p is not None]
    folder = out.with_name(f"{out.stem}-svg") if svg and out is not None else None
    if out is not None:
        _refuse_target(out, protected, "a handout")
    if folder is not None:
        from tui.export import check_svg_folder

        try:
            check_svg_folder(folder)
        except InputError as err:
            _fail(str(err))
    vary: str | None = compare_vary
    if vary is None and "compare" in spec.tags:
        vary = Vary.broker
    if vary == HandoutComparison.none:
        vary = None
    sim = Simulation(spec, seed)
    summary = summarize(sim)
    try:
        course = load_course()
    except InputError:
        course = None  # a handout for a lesson outside the shipped course still works
    comparison = None
    if vary is not None:
        try:
            comparison = (vary, run_compare(spec, vary, seed))
        except InputError as err:
            _fail(str(err))
    snapshots: list[str | None] | None = None
    svgs: list[str | None] | None = None
    made_folder = folder is not None and not folder.exists()
    if folder is not None:
        from tui.export import svg_at_beats

        try:
            written = svg_at_beats(spec, folder, lang, protected=protected)
        except InputError as err:
            _fail(str(err))
        except OSError as err:
            _fail(f"{visible(str(folder))}: cannot write screenshots: {err.strerror or err}")
        by_name = {p.name: p for p in written}
        snapshots, svgs = [], []
        for i in range(len(spec.narration)):
            path = by_name.get(f"beat-{i + 1:02d}.svg")
            snapshots.append(None if path is None else f"{folder.name}/{path.name}")
            svgs.append(None if path is None else path.read_text(encoding="utf-8"))
    handout = build_handout(
        spec,
        summary,
        sim.trace,
        lang=lang,
        follows=model(spec.broker).follows_in(spec),
        course=course,
        predictions=check_predictions(spec, summary, sim=sim),
        compare=comparison,
        snapshots=snapshots,
        svgs=svgs if fmt is HandoutFormat.html else None,
    )
    text = render_html(handout) if fmt is HandoutFormat.html else render_markdown(handout)
    if out is None:
        sys.stdout.write(text)
    else:
        from simulator.files import write_atomically

        try:
            write_atomically(out, [text.encode("utf-8")], protected=protected, what="a handout")
        except (InputError, OSError) as err:
            if made_folder and folder is not None:  # the handout failed: no pictures without it
                import shutil

                shutil.rmtree(folder, ignore_errors=True)
            if isinstance(err, InputError):
                _fail(str(err))
            _fail(f"{visible(str(out))}: cannot write handout: {err.strerror or err}")
        typer.echo(f"wrote {visible(str(out))}", err=True)
    raise typer.Exit(0 if summary.ok else 1)


MAX_LESSON_NAME = 64
"""A lesson name is a file stem and a label: short, and in the characters below."""


def _lesson_name_problem(stem: str) -> str | None:
    """Why ``stem`` cannot be a new lesson's name, or None.

    The name becomes a file name and is written into the template's TOML, so it
    is letters and digits (any script), ``-`` and ``_``, not starting with ``-``
    or ``.``: nothing a shell, a terminal or TOML would read as something else.
    """
    if not stem:
        return "a lesson name must not be empty"
    if len(stem) > MAX_LESSON_NAME:
        return f"a lesson name is at most {MAX_LESSON_NAME} characters (this one has {len(stem)})"
    bad = [ch for ch in stem if not (ch.isalnum() or ch in "-_")]
    if bad:
        shown = ascii(bad[0])
        return f"a lesson name is letters, digits, '-' and '_' (not {shown}), such as my-lesson"
    if stem[0] == "-":
        return "a lesson name must not start with '-'"
    return None


@app.command()
def new(
    name: Annotated[str, typer.Argument(help="The new lesson's name (file NAME.toml is created).")],
    template: Annotated[
        str, typer.Option("--template", help="A broker model's name: its template lesson.")
    ] = "log",
) -> None:
    """Start a new lesson from a template, in the current directory (never over a file)."""
    import os

    from simulator.errors import visible
    from simulator.lessons.templates import render_template, template_kinds

    kinds = template_kinds()
    if template not in kinds:
        _fail(f"--template: unknown template {template!r} (use {', '.join(kinds)})")
    stem = name[: -len(".toml")] if name.endswith(".toml") else name
    problem = _lesson_name_problem(stem)
    if problem is not None:
        _fail(f"{visible(name)}: {problem}")
    target = Path(f"{stem}.toml")
    if os.path.lexists(target):  # a file, or a symlink (even one pointing nowhere)
        _fail(f"{target}: already exists (new never overwrites; choose another name)")
    text = render_template(template, stem).encode("utf-8")
    try:
        # O_EXCL: created here and now, or refused — never through a symlink, never over
        # a file that appeared since the check.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        _fail(f"{target}: already exists (new never overwrites; choose another name)")
    except OSError as err:
        _fail(f"{target}: cannot write: {err.strerror or err}")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text)
    except OSError as err:
        target.unlink(missing_ok=True)
        _fail(f"{target}: cannot write: {err.strerror or err}")
    typer.echo(f"wrote {target} (template {template})")
    typer.echo(f"next: evsim validate {target} && evsim play {target}")


# -- exercises ------------------------------------------------------------------------------

exercise_app = typer.Typer(
    name="exercise",
    cls=OneLineUsageErrors,
    help="Exercises: write the handler yourself, and evsim grades it under faults.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.add_typer(exercise_app, name="exercise")


@exercise_app.command("list")
def exercise_list(lang: LangOption = Lang.en) -> None:
    """List the exercises (evsim exercise start NAME copies one into a folder)."""
    from rich.table import Table
    from rich.text import Text

    from simulator.errors import InputError
    from simulator.lessons.exercises import exercise_names, load_exercise

    table = Table(show_edge=False, pad_edge=False)
    table.add_column("name", style="bold")
    table.add_column("your code")
    table.add_column("title")
    for name in exercise_names():
        try:
            ex = load_exercise(name)
        except InputError as err:
            table.add_row(name, "", Text(f"cannot load: {err}"))
            continue
        table.add_row(name, ex.spec.starter, Text(ex.spec.title.get(lang)))
    _console().print(table)


@exercise_app.command("start")
def exercise_start(
    name: Annotated[str, typer.Argument(help="The exercise (see `evsim exercise list`).")],
    directory: Annotated[
        Path | None, typer.Argument(help="Where to put it (default: a new folder NAME).")
    ] = None,
    lang: LangOption = Lang.en,
) -> None:
    """Copy an exercise (lesson, starter code, task) into a folder; never overwrites a file."""
    import shutil

    from simulator.errors import InputError
    from simulator.lessons.exercises import load_exercise

    try:
        ex = load_exercise(name)
    except InputError as err:
        _fail(str(err))
    target = directory if directory is not None else Path(name)
    if target.exists() and not target.is_dir():
        _fail(f"{target}: exists and is not a folder")
    existing = [f for f in ex.files() if (target / f).exists()]
    if existing:
        _fail(
            f"{target / existing[0]}: already exists (start never overwrites: pick another folder)"
        )
    try:
        target.mkdir(parents=True, exist_ok=True)
        for f in ex.files():
            shutil.copyfile(ex.directory / f, target / f)
    except OSError as err:
        _fail(f"{target}: cannot write: {err.strerror or err}")
    task = ex.spec.task.ko if lang == Lang.ko else ex.spec.task.en
    typer.echo(f"wrote {target}/: {', '.join(ex.files())}")
    typer.echo(f"the task: {target / task}; your code: {target / ex.spec.starter}")
    typer.echo("next:")
    typer.echo(f"  cd {target}")
    typer.echo("  evsim play lesson.toml       # the lesson, with your code in it")
    typer.echo("  evsim exercise grade         # your code under many seeds and faults")


@exercise_app.command("grade")
def exercise_grade(
    path: Annotated[
        Path,
        typer.Argument(help="A folder from `exercise start`, or a folder of such folders."),
    ] = Path("."),
    json: Annotated[
        bool, typer.Option("--json", help="Print the grades as JSON (one object, or a list).")
    ] = False,
    table: Annotated[
        bool, typer.Option("--table", help="One table row per submission (the default for many).")
    ] = False,
    runs: Annotated[
        int | None, typer.Option(help="Cases to explore (default: the exercise's).", min=1)
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Processes that explore: this one and N-1 helpers, started once for"
            " the whole folder (default: one per core; 1: this process alone).",
            min=1,
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="The seed the exploration derives from.")] = None,
    executor: Annotated[
        str,
        typer.Option(
            help="Where the cases run: `local` (processes here, --workers) or dask://HOST:PORT"
            " (a Dask scheduler; docs/exercises.md).",
        ),
    ] = "local",
) -> None:
    """Explore your code under random faults; write the first failure as counterexample.toml.

    Exit 0 when every submission passes, 1 when one fails (or its code cannot run),
    2 when PATH is neither a submission nor a folder of them.
    """
    import contextlib

    import msgspec

    from evsim.cluster import scheduler_address
    from evsim.grade import default_workers, grade_folder, submissions_in
    from evsim.pool import CasePool
    from simulator.errors import InputError

    try:
        scheduler_address(executor)
        folders = submissions_in(path)
    except InputError as err:
        _fail(str(err))
    many = len(folders) > 1 or table
    workers = workers or default_workers()
    progress_bar = None
    on_progress = None
    if not json and sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        progress_bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        tasks: dict[str, Any] = {}

        def on_progress(name: str, done: int, total: int) -> None:
            assert progress_bar is not None
            if name not in tasks:
                tasks[name] = progress_bar.add_task(f"exploring {name}", total=total)
            progress_bar.update(tasks[name], completed=done)

    # The helpers start before the progress bar's thread does, so they can be forked.
    pool = CasePool(workers) if executor == "local" and workers > 1 else None
    try:
        with pool or contextlib.nullcontext():
            if progress_bar is not None:
                with progress_bar:
                    grades = grade_folder(
                        path,
                        runs=runs,
                        workers=workers,
                        seed=seed,
                        progress=on_progress,
                        executor=pool or executor,
                    )
            else:
                grades = grade_folder(
                    path, runs=runs, workers=workers, seed=seed, executor=pool or executor
                )
    except InputError as err:
        _fail(str(err))
    failed = any(g.verdict != "pass" for g in grades)
    if json:
        out = msgspec.to_builtins(grades if many else grades[0])
        sys.stdout.write(msgspec.json.encode(out).decode() + "\n")
        raise typer.Exit(1 if failed else 0)
    console = _console()
    if many:
        _grade_table(console, grades)
    else:
        _grade_lines(console, grades[0])
    raise typer.Exit(1 if failed else 0)


def _grade_lines(console: Console, g: Any) -> None:
    from rich.text import Text

    head = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}[g.verdict]
    style = {"pass": "bold green", "fail": "bold red", "error": "bold red"}[g.verdict]
    line = Text(f"{head} ", style=style)
    line.append(f"{g.exercise} ({g.code}): ")
    line.append(g.detail)
    console.print(line)
    ce = g.counterexample
    if ce is not None:
        for failure in ce.failures[:3]:
            console.print(Text(f"  ✗ {failure}"))
        console.print(
            Text(
                f"  shrunk to {ce.faults} fault(s) and {ce.messages} message(s)"
                f" (from {ce.faults_before} and {ce.messages_before}, {ce.shrink_runs} runs)"
            )
        )
        if ce.file is not None:
            console.print(Text(f"  wrote {ce.file}"))
            console.print(Text(f"  replay it: evsim play {ce.file}"))
            console.print(Text(f"  in the TUI: evsim view {ce.file}"))
    console.print(
        Text(
            f"  {g.runs} of {g.runs_requested} runs, {g.workers} worker(s)"
            + ("" if g.executor == "local" else f" on {g.executor}")
            + f", {g.seconds:.1f} s"
        ),
        style="dim",
    )


def _grade_table(console: Console, grades: list[Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    t = Table(show_edge=False, pad_edge=False)
    for column in ("submission", "exercise", "verdict", "runs", "counterexample", "detail"):
        t.add_column(column, justify="right" if column == "runs" else "left")
    for g in grades:
        ce = g.counterexample
        size = f"{ce.faults} fault(s), {ce.messages} msg" if ce is not None else ""
        t.add_row(
            Text(Path(g.submission).name),
            Text(g.exercise),
            Text(g.verdict, style="green" if g.verdict == "pass" else "red"),
            str(g.runs),
            Text(size),
            Text(g.detail),
        )
    console.print(t)


def main() -> None:
    """Console-script entry point."""
    try:
        app(prog_name="evsim")  # also under `python -m cli`, so messages name the command
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
