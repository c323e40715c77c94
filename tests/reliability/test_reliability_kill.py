"""Hard kills: ``evsim play --export-trace`` killed at chosen points of its write.

An export is written to ``NAME.evsim-incomplete-PID`` beside the target and
renamed over it once whole (``simulator.files``). So whenever the exporter
dies, the target is either absent or the complete export, byte for byte; what
a kill mid-write leaves is the temporary file, named so a user can tell what
it is, and it is a byte prefix of the export — every complete line decodes,
seqs run 0, 1, 2 … without a gap, at most the last line is cut, and
``load_trace`` plays it up to there with a warning.

The export is written as the run goes (``simulator.spill``: whole chunks of
records leave memory for the file, the rest follows at the end). The kill is
not timed by the wall clock (a busy machine would miss the write window):
each run's own bootstrap code wraps the writer so the process SIGKILLs itself
after writing exactly ``k`` chunks of the trace, for several ``k``, once the
file is whole but not yet renamed, and once right after the rename.

(The SQLite event store's own hard-kill test is ``tests/store/test_store_hard_kill.py``;
``EVSIM_RELIABILITY_SCALE`` raises its cycle count in the dedicated run.)
"""

from __future__ import annotations

import contextlib
import re
import signal
from pathlib import Path

import msgspec
import pytest
from reliability_support import evsim

from simulator.errors import InputError
from simulator.files import INCOMPLETE
from simulator.trace import decode_record
from tui.runs import load_trace

pytestmark = [
    pytest.mark.slow,  # soak, fuzz and kill runs: deselect with -m 'not slow'
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL"),
]

BIG = """
title = { en = "big", ko = "big" }
summary = { en = "a large trace to kill the exporter in", ko = "큰 트레이스" }
[[topics]]
name = "orders"
partitions = 4
[[producers]]
name = "p"
topic = "orders"
[[groups]]
name = "g"
topic = "orders"
consumers = 2
auto_offset_reset = "earliest"
commit = "after-process"
[[workload.generators]]
producer = "p"
count = 25000
keys = 50
rate_per_s = 10000
"""

EXPORT_HOOK = """
import os, signal, sys
from simulator.spill import SpillFile

_write, _finish = SpillFile._write, SpillFile.finish
_written = [0]


def write(self, data):
    if _written[0] == {k}:
        {action}
    _written[0] += 1
    _write(self, data)


def finish(self, tail):
    _finish(self, tail)
    {at_end}


SpillFile._write, SpillFile.finish = write, finish
"""
KILL = "os.kill(os.getpid(), signal.SIGKILL)"


def kill_after(k: int) -> str:
    """Bootstrap: SIGKILL once the writer has written ``k`` chunks (all: before the rename)."""
    return EXPORT_HOOK.format(k=k, action=KILL, at_end=KILL)


def pause_after(k: int) -> str:
    """Bootstrap: print "paused" once ``k`` chunks are written, and wait for a line."""
    wait = 'print("paused", flush=True); sys.stdin.readline()'
    return EXPORT_HOOK.format(k=k, action=wait, at_end="pass")


KILL_AFTER_RENAME = """
import os, signal

_replace = os.replace


def replace(src, dst):
    _replace(src, dst)
    os.kill(os.getpid(), signal.SIGKILL)


os.replace = replace
"""


@pytest.fixture(scope="module")
def full_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    folder = tmp_path_factory.mktemp("kill")
    scenario = folder / "big.toml"
    scenario.write_text(BIG, encoding="utf-8")
    out = folder / "full.jsonl"
    result = evsim("play", str(scenario), "--json", "--export-trace", str(out))
    assert result.returncode == 0, result.stderr
    return scenario, out.read_bytes()


def _chunks(full: bytes) -> int:
    lines = full.count(b"\n")
    return -(-lines // 8192)  # simulator.spill.CHUNK: 8,192 records a chunk


def _check_partial(path: Path, full: bytes) -> bool:
    """A leftover temporary file: a prefix of the export that ``load_trace`` can play."""
    data = path.read_bytes()
    assert full.startswith(data), f"{path.name}: not a prefix of the full export"
    lines = data.split(b"\n")
    partial = lines.pop()  # b"" when the file ends in a newline
    for seq, line in enumerate(lines):
        assert decode_record(line).seq == seq
    whole_last = False  # a cut just before the newline leaves a whole record
    with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
        whole_last = bool(partial) and decode_record(partial).seq == len(lines)
    try:
        records, warning = load_trace(path)
    except InputError as err:
        assert not lines and not whole_last and "no trace records" in err.message, err
        return False
    assert len(records) == len(lines) + whole_last
    assert (warning is not None) == (partial != b"" and not whole_last)
    return 0 < len(data) < len(full)


@pytest.mark.parametrize("kill", ["chunks-0", "chunks-1", "chunks-half", "chunks-all", "renamed"])
def test_a_killed_export_leaves_the_whole_trace_or_none_and_a_named_partial(
    full_export: tuple[Path, bytes], tmp_path: Path, kill: str
) -> None:
    scenario, full = full_export
    count = _chunks(full)
    assert count >= 4, "the trace must span several chunks for the kills to fall inside it"
    k = {"chunks-0": 0, "chunks-1": 1, "chunks-half": count // 2, "chunks-all": count}.get(kill)
    bootstrap = KILL_AFTER_RENAME if k is None else kill_after(k)
    target = tmp_path / "trace.jsonl"
    result = evsim(
        "play", str(scenario), "--json", "--export-trace", str(target), bootstrap=bootstrap
    )
    assert result.returncode == -signal.SIGKILL, (result.returncode, result.stderr[-2000:])
    if kill == "renamed":
        assert target.read_bytes() == full
    else:
        assert not target.exists(), "a killed export left something at the target"
    leftovers = [p for p in tmp_path.iterdir() if p != target]
    pattern = re.compile(re.escape(target.name + INCOMPLETE) + r"\d+(-\d+)?")
    assert all(pattern.fullmatch(p.name) for p in leftovers), leftovers
    assert len(leftovers) == (0 if kill == "renamed" else 1)
    partial = [_check_partial(p, full) for p in leftovers]
    if kill in ("chunks-1", "chunks-half"):
        assert partial == [True], "the kill fell outside the write"
    if kill == "chunks-all":
        assert leftovers[0].read_bytes() == full  # written, not yet renamed


def test_concurrent_exports_to_one_file_never_interleave(
    full_export: tuple[Path, bytes], tmp_path: Path
) -> None:
    """One exporter writes a chunk, then waits while a second writes a whole other trace."""
    import hashlib
    import json
    import os
    import subprocess
    import sys

    from reliability_support import ROOT

    scenario, full = full_export
    target = tmp_path / "shared.jsonl"
    pause = pause_after(1) + '\nimport cli\nsys.argv = ["evsim", *sys.argv[1:]]\ncli.main()\n'
    first = subprocess.Popen(
        [
            sys.executable,
            "-c",
            pause,
            "play",
            str(scenario),
            "--quiet",
            "--export-trace",
            str(target),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert first.stdin is not None and first.stdout is not None
    try:
        assert first.stdout.readline().strip() == "paused"
        # Another seed: a different trace, so an interleaving cannot hide in equal bytes.
        second = evsim(
            "play", str(scenario), "--json", "--seed", "2", "--export-trace", str(target)
        )
        assert second.returncode == 0, second.stderr
        digest = json.loads(second.stdout)["trace_digest"]
        assert hashlib.sha256(target.read_bytes()).hexdigest() == digest  # the second, whole
        first.stdin.write("go\n")
        first.stdin.flush()
        _, stderr = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, stderr
    assert target.read_bytes() == full  # the first export, whole: it replaced the second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared.jsonl"]
