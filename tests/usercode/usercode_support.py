"""Shared pieces of the user-code tests: a scenario and its code file, written side by side."""

from __future__ import annotations

import textwrap
from pathlib import Path

from simulator.lessons.summary import RunSummary, summarize
from simulator.scenario import Scenario, load_scenario
from simulator.simulation import Simulation
from simulator.trace import Record

HEADER = 'title = { en = "t", ko = "t" }\nsummary = { en = "s", ko = "s" }\n'

LOG_GROUP = """
settle_ms = 500
[[topics]]
name = "payments"
partitions = 2
[[producers]]
name = "shop"
topic = "payments"
[[groups]]
name = "billing"
topic = "payments"
consumers = 2
commit = "after-process"
auto_offset_reset = "earliest"
processing_ms = 2
session_timeout_ms = 300
heartbeat_interval_ms = 100
handler = "consumer.py:handle"
[[workload.generators]]
producer = "shop"
count = 8
keys = 2
rate_per_s = 200
"""
"""A log scenario whose one group runs ``consumer.py:handle``."""


def write(tmp_path: Path, toml: str, code: str, file: str = "consumer.py") -> Path:
    """Write ``lesson.toml`` and the code file into ``tmp_path``; the lesson's path."""
    (tmp_path / file).write_text(textwrap.dedent(code), encoding="utf-8")
    lesson = tmp_path / "lesson.toml"
    lesson.write_text(HEADER + textwrap.dedent(toml), encoding="utf-8")
    return lesson


def load(tmp_path: Path, toml: str, code: str, file: str = "consumer.py") -> Scenario:
    return load_scenario(write(tmp_path, toml, code, file))


def run(scenario: Scenario) -> tuple[list[Record], RunSummary]:
    sim = Simulation(scenario)
    summary = summarize(sim)
    return sim.trace.records, summary


def kinds(records: list[Record], kind: str) -> list[Record]:
    return [r for r in records if type(r).__name__ == kind]
