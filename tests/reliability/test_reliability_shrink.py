"""Failing cases as files: ``simulator.lessons.shrink`` writes a Scenario back as TOML.

``load(write(s)) == s`` for every shipped lesson and for randomly built and
mutated scenarios; a written reproducer replays the very same trace with
``evsim play``; ``shrink`` keeps only what a failure needs.
"""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reliability_support import SHIPPED, SHIPPED_DATA, hypothesis_settings
from test_reliability_invariants import case_strategy
from typer.testing import CliRunner

from cli import app
from simulator.errors import InputError
from simulator.lessons.shrink import scenario_to_toml, shrink, toml_dumps, write_reproducer
from simulator.scenario import Crash, builtin_path, decode_scenario, load_scenario
from simulator.simulation import Simulation


def roundtrip(scenario: msgspec.Struct) -> object:
    return decode_scenario(scenario_to_toml(scenario).encode(), "rt.toml", "other-name")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_shipped_lesson_round_trips(name: str) -> None:
    scenario = load_scenario(builtin_path(name))
    assert roundtrip(scenario) == scenario


@hypothesis_settings(40)
@given(case=case_strategy())
def test_generated_scenarios_round_trip(case: object) -> None:
    scenario = case.scenario()  # type: ignore[attr-defined]
    assert roundtrip(scenario) == scenario


@hypothesis_settings(60)
@given(
    text=st.text(max_size=40),
    key=st.text(min_size=1, max_size=10).filter(lambda k: not 0xD800 <= ord(k[0]) <= 0xDFFF),
    number=st.integers(-(2**63), 2**63 - 1),
    real=st.floats(allow_nan=False),
)
def test_toml_dumps_round_trips_strings_keys_and_numbers(
    text: str, key: str, number: int, real: float
) -> None:
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text + key):
        return  # lone surrogates cannot be written as TOML at all (ValueError)
    data = {"s": text, "t": {key: number, "f": real, "list": [text, number]}, "a": [{key: text}]}
    assert tomllib.loads(toml_dumps(data)) == data


@hypothesis_settings(60)
@given(name=st.sampled_from(sorted(SHIPPED)), seed=st.integers(0, 2**40), drop=st.integers(0, 50))
def test_modified_lessons_round_trip(name: str, seed: int, drop: int) -> None:
    raw = copy.deepcopy(SHIPPED_DATA[name])
    raw["seed"] = seed
    if raw.get("narration"):
        del raw["narration"][drop % len(raw["narration"])]
    try:
        scenario = decode_scenario(toml_dumps(raw).encode(), "m.toml", "m")
    except InputError:
        return
    assert roundtrip(scenario) == scenario


def test_a_reproducer_replays_the_same_trace_with_evsim_play(tmp_path: Path) -> None:
    scenario = load_scenario(builtin_path("delivery-semantics-crash"))
    scenario = msgspec.structs.replace(scenario, seed=4242)
    path = write_reproducer(scenario, tmp_path, "replay", 4242, "a test of the reproducer")
    assert path.read_text(encoding="utf-8").startswith("# Found by the evsim reliability suite.")
    result = CliRunner().invoke(app, ["play", str(path), "--seed", "4242", "--json"])
    assert result.exit_code in (0, 1), result.output
    assert json.loads(result.stdout)["trace_digest"] == Simulation(scenario).run().digest()


def test_shrink_keeps_only_what_the_failure_needs() -> None:
    scenario = load_scenario(builtin_path("delivery-semantics-crash"))
    assert len(scenario.faults) >= 1

    def has_a_crash_and_a_message(s: object) -> bool:
        faults = s.faults  # type: ignore[attr-defined]
        workload = s.workload  # type: ignore[attr-defined]
        total = len(workload.messages) + sum(g.count for g in workload.generators)
        return any(isinstance(f, Crash) for f in faults) and total >= 1

    small = shrink(scenario, has_a_crash_and_a_message)
    assert has_a_crash_and_a_message(small)
    assert len(small.faults) == 1 and not small.narration and not small.expect
    total = len(small.workload.messages) + sum(g.count for g in small.workload.generators)
    assert total == 1
    assert roundtrip(small) == small
