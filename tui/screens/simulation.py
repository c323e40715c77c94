"""The simulation screen: a player over one run's trace.

The run (the core's trace, or a file's) is folded in a worker thread; until it
is ready the screen shows progress and ignores the player keys. After that
every key moves a cursor over the trace and the widgets redraw the folded state
at the cursor (``Player.seek`` — a checkpoint plus at most a few hundred
records). Changing a setting or forking re-runs the deterministic core with an
edited copy of the frozen scenario (``msgspec.structs.replace``) and keeps the
cursor where it was.

A lesson that asks predictions asks them first (``PredictDialog``), keeps the
answers, and shows the verdict when the cursor first reaches the end (or on
``o``). The right-hand column is a vertical stack: the event-store panel slots
in between the narration and the metrics, shown only when the trace has event
store or projector records.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import msgspec
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, OptionList, TabbedContent, TabPane, Tabs
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from simulator.errors import InputError
from simulator.lessons.words import word
from simulator.scenario import Fault, Scenario, validate
from simulator.trace import Record
from tui.fold import ViewState
from tui.i18n import relabel
from tui.player import BeatTriggers, Player
from tui.runs import Run, prepare, simulate_lesson
from tui.stage import columns_of, hop
from tui.widgets.flow import FlowView
from tui.widgets.metrics import MetricsPanel
from tui.widgets.narration import NarrationPanel, current_beat
from tui.widgets.sequence import SequenceView
from tui.widgets.store import StorePanel
from tui.widgets.timeline import Scrubber, TraceLog, matches
from tui.widgets.timers import TimersPanel

if TYPE_CHECKING:
    from tui.app import EvsimApp
    from tui.trace_file import FileIndexer

__all__ = ["SPEEDS", "SimulationScreen"]

SPEEDS = (0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
"""Playback speeds: × virtual time (1 = one simulated second per second), or records/s."""
DEFAULT_SPEED = 1
SPEED_MODES = ("time", "records")
"""``time``: speed is a multiple of virtual time, so a burst of bookkeeping records at one
instant passes in a blink and a 30 s timeout takes 30 s at 1×; ``records``: records/s."""
STEP_MOTION_S = 0.45
"""How long a chip takes to travel one hop when stepping with n / b."""
PLAY_MOTION_S = 0.35
SYNC_FILTER_LIMIT = 100_000
"""Longer traces are filtered in a worker thread so the UI never blocks."""
TICK_S = 1 / 30


_FINDING_SHORT = {"DuplicateDetected": "dup", "OrderViolated": "order", "MessageLost": "lost"}


def lesson_of_trace(records: Sequence[Record]) -> tuple[Scenario | None, str | None]:
    """The shipped lesson a trace file's header names (for its title, narration and
    course page), or None and the name when evsim does not ship it."""
    from simulator.scenario import builtin_names, builtin_path, load_scenario
    from simulator.trace import ScenarioStarted

    header = records[0] if records else None
    if not isinstance(header, ScenarioStarted):
        return None, "?"
    if header.scenario not in builtin_names():
        return None, header.scenario
    try:
        return load_scenario(builtin_path(header.scenario)), None
    except InputError:
        return None, header.scenario


def filter_seqs(records: Sequence[Record], text: str) -> list[int]:
    return [r.seq for r in records if matches(r, text)]


def finding_label(r: Record) -> Text:
    """One line per finding: what, which message and key, which group."""
    kind = type(r).__name__
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append(f"#{r.seq:<6} ", style="dim")
    out.append(f"{_FINDING_SHORT.get(kind, kind):<6} ", style="bold red")
    msg = getattr(r, "msg", None)
    key = getattr(r, "key", None)
    group = getattr(r, "group", None)
    if msg is not None:
        out.append(f"m{msg} ")
    if key is not None:
        out.append(f"{key} ", style="cyan")
    if group is not None:
        out.append(f"{group}", style="dim")
    return out


class SimulationScreen(Screen[None]):
    """Watch events flow, step through them, rewind, fork, change settings."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "space",
            "toggle_play",
            "Play/pause",
            tooltip="Play / pause (presenter mode stops at every narration beat)",
        ),
        Binding("right,n", "step", "Step", tooltip="Step forward one record (its chip moves)"),
        Binding("left,b", "back", "Back", tooltip="Step back one record (its chip moves back)"),
        Binding(
            "v",
            "toggle_view",
            "Flow/Sequence",
            tooltip="Switch the main view: the flow, or the sequence diagram",
        ),
        Binding(
            "m",
            "speed_mode",
            "Speed mode",
            show=False,
            tooltip="Speed in virtual time (× real time) or in records per second",
        ),
        Binding(
            "d",
            "discard",
            "Discard changes",
            show=False,
            tooltip="Discard an adopted branch and changed settings: the lesson as written",
        ),
        Binding(
            "shift+right",
            "next_mark",
            "Next fault",
            show=False,
            tooltip="Jump to the next fault or finding",
        ),
        Binding(
            "shift+left",
            "previous_mark",
            "Prev fault",
            show=False,
            tooltip="Jump to the previous fault or finding",
        ),
        Binding(
            "left_square_bracket",
            "slower",
            "Slower",
            show=False,
            tooltip="Play slower (down to 0.25×)",
        ),
        Binding(
            "right_square_bracket",
            "faster",
            "Faster",
            show=False,
            tooltip="Play faster (up to 1000×; end jumps to the end)",
        ),
        Binding("home", "home", "Start", show=False, tooltip="Go to the start (record 0)"),
        Binding("end", "end", "End", show=False, tooltip="Jump to the end of the run"),
        Binding("r", "restart", "Restart", show=False, tooltip="Restart from the beginning"),
        Binding(
            "g",
            "goto",
            "Go to",
            show=False,
            tooltip="Go to a record number or a virtual time (2.5s, 800ms)",
        ),
        Binding(
            "pagedown,full_stop",
            "next_beat",
            "Next beat",
            show=False,
            tooltip="Next narration beat",
        ),
        Binding(
            "pageup,comma",
            "previous_beat",
            "Prev beat",
            show=False,
            tooltip="Previous narration beat",
        ),
        Binding(
            "f",
            "fork",
            "Fork",
            tooltip="Fork: inject a fault at the cursor, compare original and branch",
        ),
        Binding(
            "s",
            "settings",
            "Settings",
            tooltip="Settings: this lesson's model's knobs, the store's and projectors'; re-run",
        ),
        Binding(
            "slash",
            "filter",
            "Filter log",
            show=False,
            tooltip="Filter the trace log by component or kind",
        ),
        Binding(
            "w",
            "why",
            "Why?",
            show=False,
            tooltip="Why? Walk the selected finding's causes back to the root",
        ),
        Binding(
            "p",
            "presenter",
            "Presenter",
            show=False,
            tooltip="Presenter mode: calm, high contrast, pauses at beats",
        ),
        Binding("i", "learn", "Learn", tooltip="Learn: the concept page of this lesson's chapter"),
        Binding(
            "o",
            "outcome",
            "Predictions",
            show=False,
            tooltip="Predictions: your answers against the run's outcome (asks them if unanswered)",
        ),
        Binding("e", "export_svg", "SVG", show=False, tooltip="Export the screen as an SVG file"),
        Binding("escape", "close", "Lessons", show=False, tooltip="Back to the lesson picker"),
    ]

    def __init__(
        self,
        scenario: Scenario | None,
        *,
        records: list[Record] | None = None,
        label: str = "",
        warning: str | None = None,
        indexer: FileIndexer | None = None,
    ) -> None:
        super().__init__()
        self.scenario = scenario
        self._given_records = records
        self._indexer = indexer
        """A trace file too big to hold: read through its index, the rest in the background."""
        self._columns_known = 0
        """Components the sequence view has columns for (a file's grow as it is read)."""
        self.from_file = records is not None or indexer is not None
        """Played from a trace file: its lesson (if known) narrates, nothing re-runs."""
        self._label = label or (scenario.name if scenario is not None else "trace")
        self._warning = warning
        self.run: Run | None = None
        self.loading_run = True
        self.player: Player | None = None
        self.run_error: str | None = None
        """Why the run cannot be shown (the scenario's own code stopped it), if it cannot."""
        self.playing = False
        self.speed_index = SPEEDS.index(DEFAULT_SPEED)
        self.speed_mode = "time"
        self._clock_ms = 0.0
        """Play in virtual time: the simulated instant the player has reached."""
        self._budget = 0.0
        self._last_tick = 0.0
        self._filter = ""
        self._findings_shown = -1
        self._keep_position: int | None = None
        self._keep_time: int | None = None
        self.original: Scenario | None = scenario
        """The lesson as written: settings and branches are compared against it."""
        self._lesson_note: str | None = None
        self._focus_key: tuple[int | None, int] | None = None
        self.answers: list[int | None] | None = None
        """The student's predictions (None: not asked yet; None inside: skipped)."""
        self._outcome_shown = False

    @property
    def evsim(self) -> EvsimApp:
        from tui.app import EvsimApp

        assert isinstance(self.app, EvsimApp)
        return self.app

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            with TabbedContent(id="stage"):
                with TabPane("Flow", id="tab-flow"), VerticalScroll(id="flow-box"):
                    yield FlowView(id="flow")
                with TabPane("Sequence", id="tab-sequence"):
                    yield SequenceView(id="sequence")
            with Vertical(id="side"):
                with VerticalScroll(id="narration-box"):
                    yield NarrationPanel(id="narration")
                with Vertical(id="timers-box"):
                    yield TimersPanel(id="timers")
                with VerticalScroll(id="store-box"):
                    yield StorePanel(id="store")
                with Vertical(id="metrics-box"):
                    yield MetricsPanel(id="metrics")
        yield Scrubber(id="scrubber")
        with Horizontal(id="bottom"):
            yield TraceLog(id="log")
            yield OptionList(id="findings")
        yield Label("", id="loading")
        yield Footer()

    def on_mount(self) -> None:
        relabel(self, str(getattr(self.app, "lang", "en")))
        # The tab bar never takes the arrow keys: ← and → step the player (v switches tabs).
        for tabs in self.query(Tabs):
            tabs.can_focus = False
        if isinstance(self.focused, Tabs):
            self.set_focus(None)
        self._titles()
        if self.evsim.presenter:
            self.add_class("-presenter")
        self._timer = self.set_interval(TICK_S, self._tick, pause=True)
        self.watch(self.app, "lang", self._lang_changed, init=False)
        if self._indexer is not None:
            self._load_file(self._indexer)
        else:
            self._load(self.scenario, self._given_records, self._warning)
        if self.scenario is not None and self.scenario.predict and self.evsim.predict:
            self.ask_predictions()

    def _titles(self) -> None:
        lang = self.evsim.lang
        self.query_one("#narration-box").border_title = word("narration", lang)
        self.query_one("#metrics-box").border_title = word("metrics", lang)
        self.query_one("#timers-box").border_title = word("timers", lang)
        tabs = self.query_one(TabbedContent)
        tabs.get_tab("tab-flow").label = f"{word('flow', lang)} (v)"
        tabs.get_tab("tab-sequence").label = f"{word('sequence', lang)} (v)"
        self.query_one("#store-box").border_title = word("store", lang)
        self.query_one("#findings").border_title = word("findings", lang)
        log_title = word("log", lang)
        if self._filter:
            log_title += f" — filter: {self._filter}"
        self.query_one("#log").border_title = log_title
        title = self.scenario.title.get(lang) if self.scenario is not None else self._label
        self.sub_title = title
        self.query_one("#stage").border_title = Text(title)

    def _lang_changed(self, _lang: str) -> None:
        self._titles()
        self._findings_shown = -1
        self._note_changes()

    # -- loading a run (in a worker) ------------------------------------------------------

    def _load(
        self, scenario: Scenario | None, records: list[Record] | None, warning: str | None = None
    ) -> None:
        self.loading_run = True
        self.run_error = None
        lang = self.evsim.lang
        self.query_one("#loading", Label).update(
            word("loading_sim", lang) if records is None else word("loading_trace", lang)
        )
        self.query_one("#loading").display = True
        # Draw the loading state first: the fold holds the interpreter for seconds on a
        # long trace, and the screen should say what is happening before it starts.
        self.call_after_refresh(self._prepare, scenario, records, warning)

    # A description of its own: Textual would otherwise repr() the arguments for one,
    # a whole trace among them (most of a second on a million records, before the first frame).
    @work(thread=True, exclusive=True, group="run", description="run the lesson and fold it")
    def _prepare(
        self, scenario: Scenario | None, records: list[Record] | None, warning: str | None
    ) -> None:
        worker = get_current_worker()

        def progress(text: str) -> None:
            self.app.call_from_thread(self._progress, text)

        judged = None
        if records is None:
            assert scenario is not None
            try:
                records, judged = simulate_lesson(scenario, progress, lambda: worker.is_cancelled)
            except InputError as err:  # the scenario's own code broke determinism, or hangs
                if not worker.is_cancelled:
                    self.app.call_from_thread(self._failed, str(err))
                return
        elif scenario is None:
            scenario, unknown = lesson_of_trace(records)
            if unknown is not None:
                note = word("unknown_trace", self.evsim.lang, name=unknown)
                warning = f"{warning}\n{note}" if warning else note
        run = prepare(
            self._label, records, scenario, progress, lambda: worker.is_cancelled, warning, judged
        )
        if not worker.is_cancelled:
            self.app.call_from_thread(self._ready, run)

    def _load_file(self, indexer: FileIndexer) -> None:
        self.loading_run = True
        self.query_one("#loading", Label).update(word("loading_trace", self.evsim.lang))
        self.query_one("#loading").display = True
        self.call_after_refresh(self._index_file, indexer)

    @work(thread=True, exclusive=True, group="run", description="read the trace file")
    def _index_file(self, indexer: FileIndexer) -> None:
        """Play the file's head at once; read, check and fold the rest behind the player."""
        worker = get_current_worker()
        records = indexer.records
        scenario, unknown = lesson_of_trace(records)
        warning = self._warning
        if unknown is not None:
            note = word("unknown_trace", self.evsim.lang, name=unknown)
            warning = f"{warning}\n{note}" if warning else note
        beats = BeatTriggers(scenario.narration if scenario is not None else ())
        beats.feed(records)
        run = Run(self._label, records, indexer.index, scenario, beats.triggers, warning)
        self.app.call_from_thread(self._ready, run)
        # The first frame is drawn before the fold takes its share of the interpreter.
        painted = threading.Event()
        self.app.call_from_thread(self.call_after_refresh, painted.set)
        while not painted.wait(0.05):
            if worker.is_cancelled:
                return

        def progress() -> None:
            self.app.call_from_thread(self._indexed)

        indexer.run(
            progress,
            lambda: worker.is_cancelled,
            on_chunk=beats.feed if beats.waiting else None,
        )
        if not worker.is_cancelled:
            self.app.call_from_thread(self._indexed)

    def _indexed(self) -> None:
        """More of the file is read: the scrubber's length and marks; at the end, the rest."""
        indexer, run = self._indexer, self.run
        if indexer is None or run is None or run.index is not indexer.index:
            return
        if indexer.done or len(run.index.first_kind) != self._columns_known:
            # New components came up in what was read: the sequence view's columns follow.
            self._columns_known = len(run.index.first_kind)
            group_of = {name: c.group for name, c in run.index.final.consumers.items()}
            self.query_one(SequenceView).set_run(
                run.records, columns_of(run.index.first_kind), group_of
            )
        if not indexer.done:
            self.refresh_view()
            return
        self.query_one(Scrubber).set_marks(run.index.faults, run.index.findings)
        self.refresh_view()
        problem = indexer.error or indexer.warning
        if problem is not None:
            self.notify(str(problem), severity="error" if indexer.error else "warning",
                        timeout=12, markup=False)  # fmt: skip

    def _indexing(self, lang: str) -> str:
        """``reading the file 43%`` while a trace file is still being read (or where a bad
        line stopped it), else nothing."""
        indexer = self._indexer
        if indexer is None:
            return ""
        if indexer.error is not None:  # the notification fades; the scrubber keeps saying it
            return word("bad_line_stop", lang, line=len(indexer.records) + 1)
        if indexer.done:
            return ""
        return word("reading_file", lang, percent=int(indexer.fraction * 100))

    def _progress(self, text: str) -> None:
        self.query_one("#loading", Label).update(text)

    def _failed(self, error: str) -> None:
        """The run cannot be shown (a student's code stopped it): say why, in one line."""
        self.run_error = error
        self.query_one("#loading", Label).update(
            Text(word("run_failed", self.evsim.lang, error=error))
        )
        self.notify(error, severity="error", timeout=12, markup=False)

    def _ready(self, run: Run) -> None:
        self.run = run
        self.scenario = run.scenario
        player = Player(run.index)
        self.player = player
        self.loading_run = False
        self.query_one("#loading").display = False
        self.query_one(Scrubber).set_marks(run.index.faults, run.index.findings)
        final = run.index.final
        group_of = {name: c.group for name, c in final.consumers.items()}
        self.query_one(SequenceView).set_run(
            run.records, columns_of(run.index.first_kind), group_of
        )
        if self._filter:
            self._apply_filter(self._filter)
        keep, keep_time = self._keep_position, self._keep_time
        self._keep_position = self._keep_time = None
        if keep_time is not None:
            # A re-run with other settings: the same *moment*, not the same record number
            # (record 50 of the new run may be a different event altogether).
            player.seek_time(keep_time)
        else:
            player.seek(keep if keep is not None else min(1, player.total))
        self._findings_shown = -1
        self._titles()
        if run.warning:
            self.notify(run.warning, severity="warning", timeout=8, markup=False)
        self.refresh_view()

    # -- drawing ------------------------------------------------------------------------

    def _focus(self, beat: int | None) -> frozenset[str]:
        """What the current beat talks about: its ``focus``, or its record's components."""
        run = self.run
        if run is None or beat is None:
            return frozenset()
        b = run.beats[beat]
        if b.focus:
            return frozenset(b.focus)
        seq = run.triggers[beat]
        if seq is None:
            return frozenset()
        r = run.records[seq]
        h = hop(r)
        names = {h.src, h.dst}
        group = getattr(r, "group", None)
        if isinstance(group, str) and r.component == "checker":
            names.add(group)
        return frozenset(n for n in names if n not in ("sim", "checker"))

    def refresh_view(self, moved_from: int | None = None, duration: float = 0.0) -> None:
        """Redraw at the cursor; ``moved_from``: the records since then travel as chips."""
        player = self.player
        run = self.run
        if not isinstance(player, Player) or run is None:
            return
        lang = self.evsim.lang
        state = player.state
        position = player.position
        flow = self.query_one(FlowView)
        beat = current_beat(run.triggers, position)
        flow.set_focus_names(self._focus(beat))
        animate = (
            moved_from is not None
            and duration > 0
            and self.evsim.motion
            and self.app.animation_level != "none"
            and abs(position - moved_from) <= 8
        )
        if not self._flow_shown():
            flow.stale = True  # drawn when its tab comes back (``action_toggle_view``)
        elif animate and moved_from is not None:
            lo, hi = sorted((moved_from, position))
            records = run.records
            hops = []
            for r in records[lo:hi]:
                cause = records[r.cause_seq] if r.cause_seq is not None else None
                hops.append(hop(r, cause))
            flow.move(state, hops, lang, duration, back=position < moved_from)
        else:
            flow.show(state, lang)
        self.query_one(NarrationPanel).show(run.beats, beat, lang, self._lesson_note)
        samples = run.index.samples[: position // run.index.sample_every]
        metrics_box = self.query_one("#metrics-box")
        brokerless = not (state.producers or state.lanes or state.consumers)
        metrics_box.set_class(brokerless and state.store is not None, "-pointless")
        self.query_one(MetricsPanel).show(state, samples[-80:], lang)
        store_box = self.query_one("#store-box")
        if store_box.display != (state.store is not None):
            store_box.display = state.store is not None
        if state.store is not None:
            self.query_one(StorePanel).show(state, lang)
        current = player.current
        timers_box = self.query_one("#timers-box")
        has_timers = bool(state.timers) or state.fired is not None
        if timers_box.display != has_timers:
            timers_box.display = has_timers
        if has_timers:
            kind = type(current).__name__ if current is not None else ""
            self.query_one(TimersPanel).show(state, lang, kind, position - 1)
        self.query_one(SequenceView).show(position, list(state.timers.values()), state.fired, lang)
        self.query_one(Scrubber).show(
            position, player.total, state.at_ms, self._status(state, lang), lang
        )
        self.query_one(TraceLog).show(run.records, position)
        self._update_findings(position)
        at_end = position >= player.total and not self._outcome_shown
        if at_end and run.judged and self.evsim.predict:
            self._outcome_shown = True
            self.call_after_refresh(self.show_outcome)

    def _status(self, state: ViewState, lang: str) -> str:
        mode = word("playing", lang) if self.playing else word("paused", lang)
        icon = "▶" if self.playing else "⏸"
        speed = SPEEDS[self.speed_index]
        pace = (
            word("speed_time", lang, speed=f"{speed:g}")
            if self.speed_mode == "time"
            else word("speed_records", lang, speed=f"{speed:g}")
        )
        status = (
            f"{icon} {mode} · {pace} · {word('lost', lang)} {state.lost}"
            f" · {word('dup', lang)} {state.duplicates} · {word('ooo', lang)} {state.out_of_order}"
        )
        if self.evsim.presenter:
            status += " · " + word("presenter_hint", lang)
        reading = self._indexing(lang)
        if reading:  # first: a narrow terminal cuts the end of the line
            status = f"{reading} · {status}"
        return status

    def _update_findings(self, position: int) -> None:
        from bisect import bisect_left

        assert self.run is not None
        findings = self.run.index.findings
        upto = bisect_left(findings, position)
        if upto == self._findings_shown:
            return
        self._findings_shown = upto
        box = self.query_one("#findings", OptionList)
        lang = self.evsim.lang
        box.border_title = f"{word('findings', lang)} {upto}/{len(findings)}"
        box.clear_options()
        records = self.run.records
        shown = findings[max(0, upto - 50) : upto]
        if not shown:
            box.add_option(Option(word("no_findings", lang), disabled=True))
            return
        box.add_options(Option(finding_label(records[seq]), id=str(seq)) for seq in reversed(shown))

    # -- playing ---------------------------------------------------------------------------

    def _ready_player(self) -> Player | None:
        return None if self.loading_run else self.player

    def seek(self, position: int) -> None:
        """Move the cursor (and redraw). Public so tests and the beat exporter can use it."""
        player = self._ready_player()
        if isinstance(player, Player):
            player.seek(position)
            self.refresh_view()

    def _set_playing(self, playing: bool) -> None:
        self.playing = playing
        if playing:
            self._budget = 0.0
            self._last_tick = time.monotonic()
            player = self._ready_player()
            self._clock_ms = float(player.state.at_ms) if isinstance(player, Player) else 0.0
            self._timer.resume()
        else:
            self._timer.pause()
        self.refresh_view()

    def _next_beat_stop(self, position: int) -> int | None:
        if self.run is None:
            return None
        stops = [seq + 1 for seq in self.run.triggers if seq is not None and seq + 1 > position]
        return min(stops) if stops else None

    def _target(self, player: Player, elapsed: float) -> int:
        """Where playing for ``elapsed`` wall seconds takes the cursor, at the current speed."""
        speed = SPEEDS[self.speed_index]
        if self.speed_mode == "records":
            self._budget += speed * elapsed
            steps = int(self._budget)
            self._budget -= steps
            return player.position + steps
        self._clock_ms += speed * elapsed * 1000
        records = player.index.records
        lo, hi = player.position, len(records)
        # Gallop out from the cursor first: a frame moves a few records, and on a trace read
        # from its file every record looked at may be a chunk to decode.
        step = 1
        while lo + step < hi and records[lo + step - 1].at <= self._clock_ms:
            lo, step = lo + step, step * 2
        hi = min(hi, lo + step)
        while lo < hi:  # the first record later than the clock
            mid = (lo + hi) // 2
            if records[mid].at <= self._clock_ms:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _tick(self) -> None:
        player = self._ready_player()
        if not isinstance(player, Player) or not self.playing:
            return
        now = time.monotonic()
        elapsed = min(0.5, now - self._last_tick)
        self._last_tick = now
        target = self._target(player, elapsed)
        if target <= player.position:
            return
        stop = self._next_beat_stop(player.position) if self.evsim.presenter else None
        if stop is not None and target >= stop:
            target = stop
            self.playing = False
            self._timer.pause()
        if target >= player.total:
            target = player.total
            self.playing = False
            self._timer.pause()
        before = player.position
        player.seek(target)
        self.refresh_view(before, PLAY_MOTION_S)

    def action_toggle_play(self) -> None:
        player = self._ready_player()
        if not isinstance(player, Player):
            return
        if not self.playing and player.position >= player.total:
            player.seek(0)
        self._set_playing(not self.playing)

    def _move(self, position: int | None, motion: float = 0.0) -> None:
        if position is None:
            return
        if self.playing:
            self.playing = False
            self._timer.pause()
        player = self._ready_player()
        if isinstance(player, Player):
            before = player.position
            self._say_if_unread(position)
            player.seek(position)
            self.refresh_view(before, motion)

    def _say_if_unread(self, position: int) -> None:
        """A seek past what has been read of a trace file stops there, and says so."""
        indexer = self._indexer
        if indexer is None or indexer.done or position <= len(indexer.records):
            return
        self.notify(
            word(
                "not_read_yet",
                self.evsim.lang,
                target=position,
                read=len(indexer.records),
                total=indexer.estimated_total(),
                percent=int(indexer.fraction * 100),
            ),
            timeout=4,
        )

    def _pos(self) -> int:
        player = self._ready_player()
        return player.position if isinstance(player, Player) else 0

    def action_step(self) -> None:
        self._move(self._pos() + 1, STEP_MOTION_S)

    def action_back(self) -> None:
        self._move(self._pos() - 1, STEP_MOTION_S)

    def action_next_mark(self) -> None:
        player = self._ready_player()
        if isinstance(player, Player):
            self._move(player.next_marker())

    def action_previous_mark(self) -> None:
        player = self._ready_player()
        if isinstance(player, Player):
            self._move(player.previous_marker())

    def action_speed_mode(self) -> None:
        self.speed_mode = "records" if self.speed_mode == "time" else "time"
        self._set_playing(self.playing)

    def _flow_shown(self) -> bool:
        return self.query_one(TabbedContent).active != "tab-sequence"

    def action_toggle_view(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = "tab-sequence" if tabs.active == "tab-flow" else "tab-flow"
        if tabs.active == "tab-sequence":
            self.query_one(SequenceView).focus()

    @on(TabbedContent.TabActivated)
    def _tab_shown(self) -> None:
        """Back on the flow (by key or by a click on its tab): draw where the player is."""
        flow = self.query_one(FlowView)
        player = self._ready_player()
        if self._flow_shown() and flow.stale and isinstance(player, Player):
            flow.show(player.state, self.evsim.lang)

    @on(SequenceView.Selected)
    def _sequence_selected(self, event: SequenceView.Selected) -> None:
        if event.why:
            self._why(event.seq)
        else:
            self._move(event.seq + 1)

    def action_slower(self) -> None:
        self.speed_index = max(0, self.speed_index - 1)
        self.refresh_view()

    def action_faster(self) -> None:
        self.speed_index = min(len(SPEEDS) - 1, self.speed_index + 1)
        self.refresh_view()

    def action_home(self) -> None:
        self._move(0)

    def action_end(self) -> None:
        player = self._ready_player()
        if isinstance(player, Player):
            indexer = self._indexer
            reading = indexer is not None and not indexer.done
            self._move(indexer.estimated_total() if reading and indexer else player.total)

    def action_restart(self) -> None:
        self._move(0)
        self.notify("restarted from record 0", timeout=2)

    def action_next_beat(self) -> None:
        if self._ready_player() is None:
            return
        self._move(self._next_beat_stop(self._pos()))

    def action_previous_beat(self) -> None:
        if self._ready_player() is None or self.run is None:
            return
        here = self._pos()
        stops = sorted({seq + 1 for seq in self.run.triggers if seq is not None and seq + 1 < here})
        self._move(stops[-1] if stops else 0)

    @on(Scrubber.Seek)
    def _scrubbed(self, event: Scrubber.Seek) -> None:
        self._move(event.position)

    # -- dialogs ----------------------------------------------------------------------------

    def action_goto(self) -> None:
        from tui.screens.dialogs import GoToDialog, parse_goto

        if self._ready_player() is None:
            return

        def done(text: str | None) -> None:
            player = self._ready_player()
            if not text or not isinstance(player, Player):
                return
            target = parse_goto(text)
            if target is None:
                self.notify(
                    f"cannot read {text!r}: write a record number or a time like 2.5s",
                    severity="error",
                )
                return
            kind, value = target
            if self.playing:
                self._set_playing(False)
            if kind == "record":
                self._say_if_unread(value)
                player.seek(value)
            else:
                player.seek_time(value)
            self.refresh_view()

        self.app.push_screen(GoToDialog(), done)

    def action_filter(self) -> None:
        from tui.screens.dialogs import TextDialog

        def done(text: str | None) -> None:
            if text is None:
                return
            self._apply_filter(text.strip())
            self._titles()

        self.app.push_screen(
            TextDialog(
                "Filter the trace log by component or kind (empty: show all)",
                self._filter,
                placeholder="billing-0 Delivered · kind:Crashed · comp:orders/0",
            ),
            done,
        )

    def _apply_filter(self, text: str) -> None:
        self._filter = text
        log = self.query_one(TraceLog)
        if not text or self.run is None:
            log.set_filter(None)
        elif len(self.run.records) < SYNC_FILTER_LIMIT:
            log.set_filter(filter_seqs(self.run.records, text))
        else:
            self.notify(f"filtering {len(self.run.records):,} records…", timeout=2)
            self._filter_in_background(self.run.records, text)

    @work(thread=True, exclusive=True, group="filter", description="filter the trace log")
    def _filter_in_background(self, records: Sequence[Record], text: str) -> None:
        seqs = filter_seqs(records, text)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.query_one(TraceLog).set_filter, seqs)

    @on(OptionList.OptionSelected, "#findings")
    def _finding_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self._why(int(event.option.id))

    def action_why(self) -> None:
        from bisect import bisect_left

        if self.run is None or self._ready_player() is None:
            return
        box = self.query_one("#findings", OptionList)
        option = box.highlighted_option if box.highlighted is not None else None
        if option is not None and option.id is not None:
            self._why(int(option.id))
            return
        findings = self.run.index.findings
        upto = bisect_left(findings, self._pos())
        if upto:
            self._why(findings[upto - 1])
        else:
            self.notify("no finding before the cursor yet", timeout=3)

    def _why(self, seq: int) -> None:
        from tui.screens.dialogs import WhyDialog

        if self.run is None:
            return

        def done(target: int | None) -> None:
            if target is not None:
                self._move(target + 1)

        self.app.push_screen(WhyDialog(self.run.records, seq, self.evsim.lang), done)

    def action_fork(self) -> None:
        from tui.screens.fork import ForkMenu, fork_choices

        player = self._ready_player()
        if not isinstance(player, Player) or self.run is None:
            return
        if self.scenario is None or self.from_file:
            self.notify("a trace loaded from a file has no scenario to re-run", severity="warning")
            return
        choices = fork_choices(self.scenario, player.state, player.current)

        def chosen(choice: tuple[str, Fault] | None) -> None:
            if choice is not None:
                self._fork(choice[0], choice[1])

        self.app.push_screen(ForkMenu(choices), chosen)

    def _fork(self, label: str, fault: Fault) -> None:
        from tui.screens.fork import ForkScreen

        assert self.scenario is not None and self.run is not None
        branch = msgspec.structs.replace(self.scenario, faults=[*self.scenario.faults, fault])
        try:
            validate(branch, "fork")
        except InputError as err:
            self.notify(str(err), severity="error", markup=False)
            return

        def adopt(run: Run | None) -> None:
            if run is not None:
                self._adopt(run)

        self.app.push_screen(ForkScreen(self.run, branch, label, self._pos()), adopt)

    def _adopt(self, run: Run) -> None:
        """Play a branch (or a re-run) in place of the current run, keeping the cursor."""
        self._keep_position = self._pos()
        self._set_playing(False)
        self._label = run.label
        self._keep_position = min(self._keep_position, len(run.records))
        self._ready(run)
        self._note_changes()
        self.notify(f"now playing: {run.label}", timeout=4, markup=False)

    def changes(self) -> list[str]:
        """How the run differs from the lesson as written (``changed_settings``, ...)."""
        now, original = self.scenario, self.original
        if now is None or original is None or now == original:
            return []
        out = []
        if now.faults != original.faults:
            out.append("adopted_branch")
        if msgspec.structs.replace(now, faults=original.faults) != original:
            out.append("changed_settings")
        return out

    def _note_changes(self) -> None:
        lang = self.evsim.lang
        what = " + ".join(word(key, lang) for key in self.changes())
        self._lesson_note = word("changed_note", lang, what=what) if what else None
        self.refresh_view()

    def action_settings(self) -> None:
        from tui.screens.settings import SettingsDialog

        if self.scenario is None or self.from_file or self._ready_player() is None:
            if self.scenario is None or self.from_file:
                self.notify(
                    "a trace loaded from a file has no settings to change", severity="warning"
                )
            return

        def done(result: tuple[Scenario, bool] | None) -> None:
            if result is None:
                return
            changed, motion = result
            if motion != self.evsim.motion:
                self.evsim.motion = motion
                self.notify("motion on" if motion else "motion off", timeout=2)
            if changed == self.scenario:
                return
            self._rerun(changed)
            self.notify("settings changed: re-running the simulation", timeout=3)

        self.app.push_screen(
            SettingsDialog(self.scenario, motion=self.evsim.motion, lesson=self.original), done
        )

    def _rerun(self, changed: Scenario) -> None:
        """Run ``changed`` and come back to the same virtual time (an adopted fault stays)."""
        player = self._ready_player()
        self._keep_time = player.state.at_ms if isinstance(player, Player) else None
        self._set_playing(False)
        self.scenario = changed
        self._load(changed, None)
        self.call_later(self._note_changes)

    def action_discard(self) -> None:
        lang = self.evsim.lang
        if not self.changes() or self.original is None:
            self.notify(word("nothing_to_discard", lang), timeout=2)
            return
        self._label = self.original.name
        self._rerun(self.original)
        self.notify(word("discarded", lang), timeout=3)

    # -- learn, predict ----------------------------------------------------------------------

    def action_learn(self) -> None:
        name = self.scenario.name if self.scenario is not None else ""
        self.evsim.open_learn(name)

    def ask_predictions(self) -> None:
        """Ask the lesson's questions; the answers are kept for the verdict at the end."""
        from tui.screens.predict import PredictDialog

        if self.scenario is None or not self.scenario.predict:
            return
        if self.playing:
            self._set_playing(False)

        def answered(answers: list[int | None] | None) -> None:
            self.answers = answers or []

        self.app.push_screen(PredictDialog(self.scenario.predict, self.evsim.lang), answered)

    def show_outcome(self) -> None:
        """Each prediction against the run, with the student's answers."""
        from tui.screens.predict import OutcomeDialog

        if self.run is None or self.app.screen is not self:
            return
        results = self.run.predictions(self.answers or [])
        if results:
            self.app.push_screen(OutcomeDialog(results, self.evsim.lang))

    def action_outcome(self) -> None:
        if self.scenario is None or not self.scenario.predict:
            self.notify("this lesson asks no prediction question", timeout=3)
        elif self.answers is None:
            self.ask_predictions()
        elif self.run is None or not self.run.judged:
            self.notify("the run is not ready yet", timeout=3)
        else:
            self._outcome_shown = True
            self.show_outcome()

    def action_presenter(self) -> None:
        self.evsim.set_presenter(not self.evsim.presenter)

    def presenter_changed(self, on_: bool) -> None:
        self.set_class(on_, "-presenter")
        self.refresh_view()

    def action_export_svg(self) -> None:
        name = self.scenario.name if self.scenario is not None else "trace"
        path = self.evsim.export_svg(f"evsim-{name or 'run'}-{self._pos()}.svg")
        if path is not None:
            self.notify(f"saved {path}", timeout=4, markup=False)

    def action_close(self) -> None:
        changes = self.changes()
        if not changes:
            self._leave()
            return
        from tui.screens.confirm import ConfirmDialog

        lang = self.evsim.lang
        what = " + ".join(word(key, lang) for key in changes)

        def answered(leave: bool | None) -> None:
            if leave:
                self._leave()

        self.app.push_screen(
            ConfirmDialog(
                word("leave_question", lang, what=what), word("leave", lang), word("stay", lang)
            ),
            answered,
        )

    def _leave(self) -> None:
        self.workers.cancel_group(self, "run")
        self._timer.pause()
        self.dismiss(None)
