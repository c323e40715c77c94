"""Where a trace comes from: a scenario run by the core, or a JSON Lines file.

Both end up as a ``Run``: the records, the folded index over them and the
narration triggers. A trace file is untrusted input: each line is decoded with
the trace's own decoder; a bad line stops the load with an error naming the
file and the line, except a last line cut off mid-record (a run interrupted
while exporting), which is dropped with a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from simulator.errors import InputError
from simulator.scenario import Beat, Scenario
from simulator.simulation import Simulation
from simulator.trace import Record, Trace, decode_record
from tui.player import TraceIndex, beat_triggers, build_index

__all__ = ["Run", "load_trace", "prepare", "simulate"]

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

    @property
    def beats(self) -> Sequence[Beat]:
        return self.scenario.narration if self.scenario is not None else ()

    def digest(self) -> str:
        return Trace(self.records).digest()


def simulate(
    scenario: Scenario,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> list[Record]:
    """Run the deterministic core to the end and return its records."""
    sim = Simulation(scenario)
    for i, _ in enumerate(sim):
        if i % 50_000 == 0 and i:
            if progress is not None:
                progress(f"simulating… {i:,} records")
            if cancelled is not None and cancelled():
                break
    return sim.trace.records


def prepare(
    label: str,
    records: Sequence[Record],
    scenario: Scenario | None,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    warning: str | None = None,
) -> Run:
    """Fold ``records`` once (checkpoints, markers) and find the narration triggers."""

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(f"folding… {done:,} / {total:,} records")

    index = build_index(records, progress=report, cancelled=cancelled)
    beats = scenario.narration if scenario is not None else []
    return Run(label, records, index, scenario, beat_triggers(beats, records), warning)


def load_trace(path: str | Path) -> tuple[list[Record], str | None]:
    """Decode a trace file; returns the records and a warning if its end was cut off."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError(str(path), "", "no such file") from None
    except IsADirectoryError:
        raise InputError(str(path), "", "is a directory, not a trace file") from None
    except OSError as err:
        raise InputError(str(path), "", err.strerror or "cannot read file") from None
    lines = data.split(b"\n")
    complete = data.endswith(b"\n")
    if complete:
        lines.pop()
    records: list[Record] = []
    warning: str | None = None
    for number, line in enumerate(lines, 1):
        last = number == len(lines)
        if not line.strip():
            if last:
                continue
            raise InputError(str(path), f"line {number}", "empty line in a trace")
        try:
            record = decode_record(line)
        except (msgspec.DecodeError, msgspec.ValidationError) as err:
            if last and not complete:
                warning = (
                    f"{path}: line {number} is cut off mid-record; "
                    f"playing the {len(records):,} whole records before it"
                )
                break
            raise InputError(str(path), f"line {number}", f"not a trace record: {err}") from None
        if record.seq != len(records):
            raise InputError(
                str(path),
                f"line {number}",
                f"seq {record.seq} out of place (expected {len(records)})",
            )
        records.append(record)
    if not records:
        raise InputError(str(path), "", "no trace records in the file")
    return records, warning
