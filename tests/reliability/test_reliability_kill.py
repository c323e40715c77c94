"""Hard kills: ``evsim play --export-trace`` killed while it writes a large trace.

The process is SIGKILLed a random moment after the trace file appears, so most
kills land while the file is being written. What is left must be a byte prefix
of the full export: every complete line decodes with ``decode_record``, seqs
run 0, 1, 2 … without a gap, and at most the last line is cut off — which
``evsim view`` then plays up to, with a warning.

(The SQLite event store's own hard-kill test is ``tests/store/test_store_hard_kill.py``;
``EVSIM_RELIABILITY_SCALE`` raises its cycle count in the dedicated run.)
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest
from reliability_support import ROOT, cases

from simulator.errors import InputError
from simulator.trace import decode_record
from tui.runs import load_trace

pytestmark = pytest.mark.slow  # soak, fuzz and kill runs: deselect with -m 'not slow'

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


def _play(scenario: Path, out: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "play", str(scenario), "--json", "--export-trace", str(out)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.fixture(scope="module")
def full_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    folder = tmp_path_factory.mktemp("kill")
    scenario = folder / "big.toml"
    scenario.write_text(BIG, encoding="utf-8")
    out = folder / "full.jsonl"
    player = _play(scenario, out)
    _, stderr = player.communicate(timeout=300)
    assert player.returncode == 0, stderr.decode()
    return scenario, out.read_bytes()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_export_leaves_whole_lines_and_at_most_one_partial_last_line(
    full_export: tuple[Path, bytes], tmp_path: Path
) -> None:
    scenario, full = full_export
    rng = random.Random(int(os.environ.get("EVSIM_RELIABILITY_SEED", "5")))
    mid_write = 0
    for cycle in range(min(cases(3), 60)):
        out = tmp_path / f"killed-{cycle}.jsonl"
        player = _play(scenario, out)
        deadline = time.monotonic() + 120
        while not (out.exists() and out.stat().st_size > 0) and player.poll() is None:
            assert time.monotonic() < deadline, "the player never started writing"
            time.sleep(0.001)
        time.sleep(rng.uniform(0, 0.05))
        player.send_signal(signal.SIGKILL)
        player.communicate(timeout=60)
        data = out.read_bytes()
        assert full.startswith(data), f"cycle {cycle}: not a prefix of the full export"
        mid_write += 0 < len(data) < len(full)
        lines = data.split(b"\n")
        partial = lines.pop()  # b"" when the file ends in a newline
        for seq, line in enumerate(lines):
            assert decode_record(line).seq == seq
        whole_last = False  # a cut just before the newline leaves a whole record
        # A cut mid-record does not decode, as expected.
        with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
            whole_last = bool(partial) and decode_record(partial).seq == len(lines)
        try:
            records, warning = load_trace(out)
        except InputError as err:
            assert not lines and not whole_last and "no trace records" in err.message, err
            continue
        assert len(records) == len(lines) + whole_last
        assert (warning is not None) == (partial != b"" and not whole_last)
    assert mid_write >= 1, "no kill landed while the trace was being written"
