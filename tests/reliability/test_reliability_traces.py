"""Trace files are untrusted: corrupt, truncated or hostile input is a clear error.

``evsim view FILE`` loads a trace with ``tui.runs.load_trace``, which decodes
each line with ``simulator.trace.decode_record``. Whatever the bytes — cut
short, flipped, huge lines, JSON nested thousands deep, unknown kinds, numbers
past 64 bits, not UTF-8 — the result is the records (perhaps with a warning
about a cut-off last line) or one ``InputError`` naming the file and the line.
``decode_record`` itself only ever raises msgspec's own decode errors.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reliability_support import (
    ROOT,
    Hang,
    hypothesis_settings,
    time_limit,
    write_bytes_artifact,
)

from simulator.errors import InputError
from simulator.scenario import builtin_path, load_scenario
from simulator.simulation import Simulation
from simulator.trace import Record, decode_record
from tui.runs import load_trace

LESSON = load_scenario(builtin_path("delivery-semantics-crash"))
TRACE = b"".join(Simulation(LESSON).run().jsonl_chunks())
LINES = TRACE.split(b"\n")[:-1]

HOSTILE_LINES = [
    b"",
    b" ",
    b"null",
    b"[]",
    b"{}",
    b'{"kind":"Nope","seq":0,"at":0,"component":"x"}',
    b'{"kind":"RunFinished","seq":0,"at":0,"component":"sim","reason":"x","extra":1}',
    b'{"kind":"RunFinished","seq":99999999999999999999999,"at":0,"component":"s","reason":""}',
    b'{"kind":"RunFinished","seq":-1,"at":-5,"component":"s","reason":""}',
    b'{"kind":"RunFinished","seq":0,"at":NaN,"component":"s","reason":""}',
    b'{"kind":"RunFinished","seq":0,"at":1e999,"component":"s","reason":""}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"kind":"RunFinished","seq":0,"at":0,"component":"' + b"x" * 5_000_000 + b'","reason":""}',
    b'"' + b"\\u0000" * 10_000 + b'"',
    b"\xff\xfe\xfd",
    b"\x00" * 1000,
    b'{"kind":"__class__","seq":0}',
    b'{"kind":"Produced","seq":0,"at":0,"component":"p","cause_seq":null,'
    b'"producer":"p","msg":1,"key":{"__reduce__":"os.system"},"key_seq":1,"topic":"t"}',
]


DEEP_OBJECT = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
"""JSON objects nested 50,000 deep: msgspec skips an unknown field's value by recursion."""
SURROGATE = b'{"kind":"RunFinished","seq":0,"at":0,"component":"\xed\xa0\x80","reason":""}'
"""An encoded surrogate: msgspec raises UnicodeDecodeError, not one of its own errors."""


def _load(data: bytes, tmp_path: Path, label: str) -> tuple[int, str | None] | InputError:
    path = tmp_path / "trace.jsonl"
    path.write_bytes(data)
    try:
        with time_limit(20):
            records, warning = load_trace(path)
    except InputError as err:
        ok = err.file == str(path) and "\n" not in str(err)
        ok = ok and (err.where == "" or err.where.startswith("line "))
        assert ok, f"badly formed error {err!r} for {write_bytes_artifact(data, label, '.jsonl')}"
        return err
    except (Exception, Hang) as err:
        saved = write_bytes_artifact(data, label, ".jsonl")
        raise AssertionError(f"load_trace raised {type(err).__name__}: {err} on {saved}") from err
    assert [r.seq for r in records] == list(range(len(records)))
    return len(records), warning


def test_a_whole_trace_loads_without_warning(tmp_path: Path) -> None:
    assert _load(TRACE, tmp_path, "whole") == (len(LINES), None)


def test_each_hostile_line_is_refused_in_any_position(tmp_path: Path) -> None:
    for line in HOSTILE_LINES:
        for at in (0, len(LINES) // 2, len(LINES)):
            lines = [*LINES[:at], line, *LINES[at:]]
            outcome = _load(b"\n".join(lines) + b"\n", tmp_path, "hostile")
            if at == len(LINES) and not line.strip():
                continue  # a blank last line is the file's trailing newline
            assert isinstance(outcome, InputError), (line[:80], at)
            # A well-formed record in the wrong place is refused on the line after it.
            lines_ok = (f"line {at + 1}", f"line {at + 2}")
            assert outcome.where in lines_ok, (outcome, line[:80])


@pytest.mark.parametrize("line", [DEEP_OBJECT, SURROGATE], ids=["deep-object", "surrogate"])
def test_a_line_msgspec_chokes_on_is_an_input_error(line: bytes, tmp_path: Path) -> None:
    outcome = _load(LINES[0] + b"\n" + line + b"\n", tmp_path, "choke")
    assert isinstance(outcome, InputError) and outcome.where == "line 2"


def test_decode_record_gives_a_record_or_a_msgspec_error_on_hostile_lines() -> None:
    for line in [*HOSTILE_LINES, DEEP_OBJECT, SURROGATE]:
        try:
            record = decode_record(line)
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue
        assert isinstance(record, Record), line[:80]  # unknown fields are ignored


@hypothesis_settings(150)
@given(
    cut=st.integers(0, len(TRACE)),
    junk=st.binary(max_size=64),
    mode=st.sampled_from(["truncate", "insert", "overwrite", "drop-line", "swap-lines"]),
)
def test_corrupted_traces_load_or_fail_with_one_error(
    tmp_path_factory: object, cut: int, junk: bytes, mode: str
) -> None:
    data = bytearray(TRACE)
    if mode == "truncate":
        del data[cut:]
    elif mode == "insert":
        data[cut:cut] = junk
    elif mode == "overwrite":
        data[cut : cut + len(junk)] = junk
    else:
        lines = bytes(data).split(b"\n")
        i = cut % max(1, len(lines) - 2)
        if mode == "drop-line":
            del lines[i]
        else:
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
        data = bytearray(b"\n".join(lines))
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        outcome = _load(bytes(data), Path(tmp), f"trace-{mode}")
    if mode == "truncate" and cut > 0 and not isinstance(outcome, InputError):
        count, warning = outcome
        at_line_end = cut == len(TRACE) or TRACE[cut - 1 : cut] == b"\n"
        just_before_newline = TRACE[cut : cut + 1] == b"\n"  # the last record is whole
        assert count == TRACE[:cut].count(b"\n") + just_before_newline
        assert (warning is None) == (at_line_end or just_before_newline)


@hypothesis_settings(200)
@given(line=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_decode_record_on_arbitrary_bytes_raises_only_msgspec_errors(line: bytes) -> None:
    with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
        decode_record(line)


def test_view_on_a_bad_trace_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(LINES[0] + b"\n" + b"[" * 100_000 + b"\n")
    deep = tmp_path / "deep.jsonl"
    deep.write_bytes(LINES[0] + b"\n" + DEEP_OBJECT + b"\n")
    surrogate = tmp_path / "surrogate.jsonl"
    surrogate.write_bytes(LINES[0] + b"\n" + SURROGATE + b"\n")
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    for target in (bad, deep, surrogate, empty, tmp_path / "missing.jsonl", tmp_path):
        result = subprocess.run(
            [sys.executable, "-m", "cli", "view", str(target)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 2, (target, result.stderr)
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
