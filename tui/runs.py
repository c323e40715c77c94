"""Where a trace comes from: a scenario run by the core, or a JSON Lines file.

Both end up as a ``Run``: the records, the folded index over them and the
narration triggers; a run of a lesson that asks predictions also keeps its
predictions as ``simulator.lessons.predict`` judged them against the run.

A trace file is untrusted input: only a regular file is opened; each line is
decoded with the trace's own decoder and must continue the trace (its ``seq``
next, its ``cause_seq`` pointing back to an earlier record, so every "why?"
chain ends) and hold no control character in its text (it would reach the
terminal as an escape sequence). A bad line stops the load with an error
naming the file and the line, except a last line cut off mid-record (a run
interrupted while exporting), which is dropped with a warning.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from simulator.errors import InputError, control_character
from simulator.files import open_regular
from simulator.lessons.predict import PredictionResult, check_predictions
from simulator.lessons.summary import summarize
from simulator.scenario import Beat, Scenario
from simulator.simulation import Simulation
from simulator.trace import Record, Trace, decode_record
from tui.player import TraceIndex, beat_triggers, build_index

__all__ = [
    "IN_MEMORY_BYTES",
    "Run",
    "check_line",
    "load_trace",
    "prepare",
    "read_through_index",
    "simulate",
    "simulate_lesson",
]

Progress = Callable[[str], None]


@dataclass(slots=True)
class Run:
    """A finished trace, ready to play."""

    label: str
    records: Sequence[Record]
    index: TraceIndex
    scenario: Scenario | None = None
    """The scenario that produced it (None for a trace loaded from a file)."""
    triggers: list[int | None] = field(default_factory=list)
    warning: str | None = None
    judged: list[PredictionResult] = field(default_factory=list)
    """Each prediction judged by the core's run (``simulator.lessons.predict``), no answers yet."""

    @property
    def beats(self) -> Sequence[Beat]:
        return self.scenario.narration if self.scenario is not None else ()

    def predictions(self, answers: Sequence[int | None]) -> list[PredictionResult]:
        """Each prediction judged by the run, with the student's answers (None: skipped)."""
        return [
            msgspec.structs.replace(r, student=answers[i] if i < len(answers) else None)
            for i, r in enumerate(self.judged)
        ]

    def digest(self) -> str:
        return Trace(self.records).digest()


def simulate(
    scenario: Scenario,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> list[Record]:
    """Run the deterministic core to the end and return its records."""
    return _run(scenario, progress, cancelled).trace.records


def simulate_lesson(
    scenario: Scenario,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[list[Record], list[PredictionResult]]:
    """``simulate``, plus the lesson's predictions judged by the run (if it asks any)."""
    sim = _run(scenario, progress, cancelled)
    judged: list[PredictionResult] = []
    if scenario.predict and not (cancelled is not None and cancelled()):
        judged = check_predictions(scenario, summarize(sim), sim=sim)
    return sim.trace.records, judged


def _run(
    scenario: Scenario, progress: Progress | None, cancelled: Callable[[], bool] | None
) -> Simulation:
    sim = Simulation(scenario)
    while not sim.finished:
        sim.run_for(50_000)  # the core's fast loop, a slice at a time
        if sim.finished:
            break
        if progress is not None:
            progress(f"simulating… {len(sim.trace):,} records")
        if cancelled is not None and cancelled():
            break
    return sim


def prepare(
    label: str,
    records: Sequence[Record],
    scenario: Scenario | None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    warning: str | None = None,
    judged: list[PredictionResult] | None = None,
) -> Run:
    """Fold ``records`` once (checkpoints, markers) and find the narration triggers."""

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(f"folding… {done:,} / {total:,} records")

    index = build_index(records, progress=report, cancelled=cancelled)
    beats = scenario.narration if scenario is not None else []
    triggers = beat_triggers(beats, records)
    return Run(label, records, index, scenario, triggers, warning, judged or [])


_MAYBE_CONTROL = re.compile(rb"\\u00[01289][0-9a-fA-F]|\\u007[fF]|\x7f|\xc2[\x80-\x9f]")
"""A JSON line that may hold a control character other than tab and newline: JSON
escapes C0 characters (``\\u001b``) and may write DEL and C1 ones as they are.
A cheap scan of the bytes; a hit is then checked on the decoded strings."""


def _control_in(value: object) -> str | None:
    """The first control character (tab and newline aside) in any string in ``value``."""
    if isinstance(value, str):
        return control_character(value)
    if isinstance(value, dict):
        for key, item in value.items():
            bad = _control_in(key) or _control_in(item)
            if bad is not None:
                return bad
    elif isinstance(value, list):
        for item in value:
            bad = _control_in(item)
            if bad is not None:
                return bad
    return None


IN_MEMORY_BYTES = 64 << 20
"""A trace file up to this size is read whole before it plays; a bigger one is played
through its index (``tui.trace_file``) while the rest is read behind the player."""


def read_through_index(path: str | Path) -> bool:
    """Whether ``path`` is a regular file too big to read whole before it plays."""
    try:
        info = os.stat(path)
    except OSError:  # ``load_trace`` says what is wrong with it, in one line
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size > IN_MEMORY_BYTES


MAX_LINE_BYTES = 1 << 20
"""No record is near this long; a longer line is refused rather than read into memory."""


def load_trace(path: str | Path) -> tuple[list[Record], str | None]:
    """Decode a trace file; returns the records and a warning if its end was cut off.

    The file is untrusted: it is read one line at a time with a cap on each
    line's length, so an endless or newline-free file is refused, not read
    into memory.
    """
    # A FIFO, a device or a directory is refused before it is opened (a FIFO would block).
    stream = open_regular(path, "a trace file")
    records: list[Record] = []
    warning: str | None = None
    with stream:
        number = 0
        while True:
            try:
                line = stream.readline(MAX_LINE_BYTES + 1)
            except OSError as err:
                raise InputError(str(path), "", err.strerror or "cannot read file") from None
            if not line:
                break
            number += 1
            complete = line.endswith(b"\n")
            if not complete and len(line) > MAX_LINE_BYTES:
                raise InputError(
                    str(path), f"line {number}", f"longer than {MAX_LINE_BYTES:,} bytes"
                )
            if not line.strip() and not complete:
                continue
            record = check_line(path, number, line, len(records))
            if record is None:  # the last line, cut off mid-record
                warning = (
                    f"{path}: line {number} is cut off mid-record; "
                    f"playing the {len(records):,} whole records before it"
                )
                break
            records.append(record)
    if not records:
        raise InputError(str(path), "", "no trace records in the file")
    return records, warning


def check_line(path: str | Path, number: int, line: bytes, seq: int) -> Record | None:
    """Line ``number`` of a trace file as the record ``seq`` (the one expected next).

    Raises ``InputError`` naming the file and the line for anything that is not
    that record; returns None for a last line (no newline) cut off mid-record.
    """
    complete = line.endswith(b"\n")
    if not line.strip():
        raise InputError(str(path), f"line {number}", "empty line in a trace")
    try:
        record = decode_record(line)
    except (msgspec.DecodeError, msgspec.ValidationError) as err:
        if not complete:
            return None
        raise InputError(str(path), f"line {number}", f"not a trace record: {err}") from None
    if record.seq != seq:
        raise InputError(
            str(path), f"line {number}", f"seq {record.seq} out of place (expected {seq})"
        )
    if _MAYBE_CONTROL.search(line) is not None:
        bad = _control_in(msgspec.to_builtins(record))
        if bad is not None:
            raise InputError(
                str(path),
                f"line {number}",
                f"control character {bad} in a text field (it would reach the"
                " terminal; a trace evsim writes holds none)",
            )
    cause = record.cause_seq
    if cause is not None and not 0 <= cause < record.seq:
        raise InputError(
            str(path),
            f"line {number}",
            f"cause_seq {cause} does not point back to an earlier record"
            f" (seq {record.seq}): a cause comes before what it causes",
        )
    return record
