"""The core stays pure: no UI library, and the same seed gives the same trace anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_core_imports_no_ui_library() -> None:
    code = (
        "import sys, simulator.simulation, simulator.lessons.summary, simulator.lessons.describe;"
        "import simulator.scenario, simulator.checker;"
        "bad = [m for m in ('textual', 'rich', 'typer') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def _digest(hash_seed: str, scenario: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    code = (
        "import sys, json;"
        "from simulator.scenario import resolve_scenario;"
        "from simulator.simulation import Simulation;"
        "from simulator.lessons.summary import summarize;"
        f"print(json.dumps(summarize(Simulation(resolve_scenario({scenario!r}))).trace_digest))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return str(json.loads(out.stdout))


def test_same_seed_same_digest_across_processes_with_different_hash_seeds(tmp_path: Path) -> None:
    scenario = tmp_path / "crash.toml"
    scenario.write_text(
        """
title = { en = "t", ko = "t" }
summary = { en = "s", ko = "s" }
[[topics]]
name = "orders"
partitions = 3
[[producers]]
name = "checkout"
topic = "orders"
[[groups]]
name = "billing"
topic = "orders"
consumers = 2
commit = "after-process"
auto_offset_reset = "earliest"
[[workload.generators]]
producer = "checkout"
count = 200
keys = 7
key_choice = "random"
[[faults]]
kind = "crash"
target = "billing-0"
at = "after_process_before_commit"
restart_after_ms = 500
[[faults]]
kind = "network"
source = "broker"
destination = "checkout"
drop_probability = 0.1
""",
        encoding="utf-8",
    )
    digests = {_digest(seed, str(scenario)) for seed in ("0", "1", "12345")}
    assert len(digests) == 1
