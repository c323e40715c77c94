"""The "why?" chain on hostile traces: generated cause cycles, self and forward references.

A trace evsim writes always points back (``cause_seq < seq``); a file edited
by hand may not. Generated rewirings of a real trace's ``cause_seq`` — a
record pointing to itself, forward, past the end, below zero, or round a
cycle of any length — check that ``Trace.cause_walk`` visits each record at
most once and says where it came round; that ``load_trace`` refuses such a
file naming the first line that breaks the rule; and that the TUI's why
dialog, given such records directly, lists each row once and ends a circle
with a "cycle" row. An exception nothing handles stops the TUI with exit
status 1, one line naming a log file, and the traceback in that file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reliability_support import evsim, hypothesis_settings
from textual.widgets import OptionList
from tui_support import exercise

from simulator.errors import InputError
from simulator.scenario import builtin_path, load_scenario
from simulator.simulation import Simulation
from simulator.trace import Record, Trace
from tui.app import EvsimApp
from tui.runs import load_trace
from tui.screens.dialogs import WhyDialog

RECORDS = Simulation(load_scenario(builtin_path("delivery-semantics-crash"))).run().records
N = len(RECORDS)


@st.composite
def rewired(draw: st.DrawFn) -> tuple[list[Record], int]:
    """A copy of the trace with some causes rewired, and a record to ask "why?" about."""
    records = list(RECORDS)
    kinds = st.sampled_from(["self", "forward", "past-end", "negative", "cycle", "back"])
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(kinds)
        seq = draw(st.integers(1, N - 1))
        if kind == "cycle":  # seq → a → b → … → seq
            length = draw(st.integers(1, 6))
            members = [
                seq,
                *draw(st.lists(st.integers(1, N - 1), min_size=length, max_size=length)),
            ]
            for here, there in zip(members, members[1:] + members[:1], strict=True):
                records[here] = msgspec.structs.replace(records[here], cause_seq=there)
            continue
        cause = {
            "self": seq,
            "forward": draw(st.integers(seq, N - 1)),
            "past-end": draw(st.integers(N, 2**62)),
            "negative": draw(st.integers(-(2**62), -1)),
            "back": draw(st.integers(0, seq - 1)),
        }[kind]
        records[seq] = msgspec.structs.replace(records[seq], cause_seq=cause)
    return records, draw(st.integers(0, N - 1))


def _reference_walk(records: list[Record], seq: int) -> tuple[list[int], int | None]:
    seen, chain = {seq}, []
    cause = records[seq].cause_seq
    while cause is not None and 0 <= cause < len(records):
        if cause in seen:
            return chain, cause
        seen.add(cause)
        chain.append(cause)
        cause = records[cause].cause_seq
    return chain, None


@hypothesis_settings(300)
@given(case=rewired())
def test_the_cause_walk_visits_each_record_once_and_names_where_it_loops(
    case: tuple[list[Record], int],
) -> None:
    records, seq = case
    chain, cycle = Trace(records).cause_walk(seq)
    seqs = [r.seq for r in chain]
    assert len(seqs) == len(set(seqs)) and seq not in seqs
    assert (seqs, cycle) == _reference_walk(records, seq)
    if cycle is not None:
        assert cycle == seq or cycle in seqs
    assert Trace(records).causes(seq) == chain


def _bad_line(records: list[Record]) -> int | None:
    for r in records:
        if r.cause_seq is not None and not 0 <= r.cause_seq < r.seq:
            return r.seq + 1
    return None


@hypothesis_settings(150)
@given(case=rewired())
def test_view_refuses_a_cause_that_does_not_point_back_naming_its_line(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[list[Record], int]
) -> None:
    records, _ = case
    path = tmp_path_factory.mktemp("causes") / "hostile.jsonl"
    path.write_bytes(b"".join(Trace(records).jsonl_chunks()))
    bad = _bad_line(records)
    if bad is None:
        assert len(load_trace(path)[0]) == N
        return
    with pytest.raises(InputError) as caught:
        load_trace(path)
    assert caught.value.where == f"line {bad}" and "does not point back" in caught.value.message


async def _why_rows(records: list[Record], seq: int) -> list[str]:
    app = EvsimApp(lessons=[], trace=(records, "hostile.jsonl", None))
    app.animation_level = "none"
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.push_screen(WhyDialog(records, seq, "en"))
        await pilot.pause()
        box = app.screen.query_one("#why-chain", OptionList)
        rows = [str(box.get_option_at_index(i).prompt) for i in range(box.option_count)]
        await pilot.press("down", "down", "enter")
        await pilot.pause()
    return rows


@pytest.mark.long
@hypothesis_settings(25)
@given(case=rewired())
def test_the_why_dialog_lists_a_looping_chain_once_with_a_cycle_row(
    case: tuple[list[Record], int],
) -> None:
    records, seq = case
    rows = asyncio.run(_why_rows(records, seq))
    chain, cycle = _reference_walk(records, seq)
    assert len(rows) == 1 + len(chain) + (cycle is not None)
    assert ("cycle" in rows[-1]) == (cycle is not None)


@pytest.mark.parametrize("shape", ["self", "two-cycle", "all-forward"])
def test_the_tui_survives_the_issues_hostile_traces(shape: str) -> None:
    records = list(RECORDS)
    finding = next(r.seq for r in reversed(records) if type(r).__name__ == "MessageLost")
    if shape == "self":
        records[finding] = msgspec.structs.replace(records[finding], cause_seq=finding)
    elif shape == "two-cycle":
        records[finding] = msgspec.structs.replace(records[finding], cause_seq=finding - 1)
        records[finding - 1] = msgspec.structs.replace(records[finding - 1], cause_seq=finding)
    else:
        records = [
            msgspec.structs.replace(r, cause_seq=min(r.seq + 1, N - 1)) if r.seq else r
            for r in records
        ]
    exercise(records=records, why=10)


def test_a_long_cause_chain_lists_a_bounded_number_of_rows() -> None:
    head, tail = RECORDS[0], RECORDS[-1]
    produced = next(r for r in RECORDS if type(r).__name__ == "Produced")
    lost = next(r for r in RECORDS if type(r).__name__ == "MessageLost")
    chain: list[Record] = [head]
    chain += [
        msgspec.structs.replace(produced, seq=s, at=s, cause_seq=s - 1) for s in range(1, 20_000)
    ]
    chain.append(
        msgspec.structs.replace(lost, seq=len(chain), at=len(chain), cause_seq=len(chain) - 1)
    )
    chain.append(msgspec.structs.replace(tail, seq=len(chain), at=len(chain)))
    rows = asyncio.run(_why_rows(chain, len(chain) - 2))
    assert len(rows) == 1 + 500 + 1 and "more causes" in rows[-1]


CRASH_IN_THE_WHY_DIALOG = """
import tui.screens.dialogs as dialogs
from textual.app import App

def compose(self):
    raise RuntimeError("boom: a bug in the why dialog")
    yield

dialogs.WhyDialog.compose = compose
_run = App.run
App.run = lambda self, **kw: _run(self, headless=True, **kw)

import tui.screens.simulation as simulation
_ready = simulation.SimulationScreen._ready
def ready(self, run):  # once the run is folded (not after a guessed delay), ask why?
    _ready(self, run)
    self.call_after_refresh(self._why, len(run.records) - 1)
simulation.SimulationScreen._ready = ready
"""


def test_an_unhandled_exception_exits_1_with_one_line_naming_its_log(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_bytes(b"".join(Trace(RECORDS).jsonl_chunks()))
    result = evsim("view", str(trace), bootstrap=CRASH_IN_THE_WHY_DIALOG, cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert lines[0].startswith("evsim: internal error: RuntimeError: boom")
    log = Path(lines[0].rsplit("the traceback is in ", 1)[1].rstrip(")"))
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "boom: a bug in the why dialog" in text
    log.unlink()


def test_under_pilot_a_crash_still_fails_the_test_and_keeps_its_line() -> None:
    app = EvsimApp(lessons=[], trace=(list(RECORDS), "t.jsonl", None))
    app.animation_level = "none"

    async def crash() -> None:
        async with app.run_test() as pilot:
            await pilot.pause()
            app.call_later(lambda: 1 / 0)
            await pilot.pause()

    with pytest.raises(ZeroDivisionError):
        asyncio.run(crash())
    assert app.return_code == 1
    assert app.crash_line is not None and "ZeroDivisionError" in app.crash_line
    Path(app.crash_line.rsplit("the traceback is in ", 1)[1].rstrip(")")).unlink()
