"""A model registered from outside the core validates, runs, compares and plays from the CLI.

The toy (this package) is registered only inside each test: everything it
needs — its name, its ``[toy]`` and ``[groups.toy]`` sections, its checks, its
header settings — comes from its spec, with no file outside this package
naming it. Unregistered, a scenario that names it is refused with one line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from cli import app
from simulator.errors import InputError
from simulator.lessons.compare import compare
from simulator.lessons.summary import summarize
from simulator.models.registry import model, names, registered, scenario_schema
from simulator.scenario import decode_scenario, resolve_scenario
from simulator.simulation import Simulation
from simulator.trace import Delivered, Processed, ScenarioStarted
from toy_model import TOY

LESSON = """
title = { en = "toy", ko = "장난감" }
summary = { en = "a toy broker", ko = "장난감 브로커" }
broker = "toy"
expect = ["lost == 0", "processed == 40"]

[toy]
handoff_ms = 3

[[topics]]
name = "orders"

[[producers]]
name = "shop"
topic = "orders"

[[groups]]
name = "billing"
topic = "orders"
consumers = 2
processing_ms = 5

[[groups]]
name = "audit"
topic = "orders"
processing_ms = 50
[groups.toy]
order = "lifo"

[[workload.generators]]
producer = "shop"
count = 20
keys = 4
"""


@pytest.fixture
def toy() -> Iterator[None]:
    with registered(TOY):
        yield


def _decode(text: str = LESSON) -> object:
    return decode_scenario(text.encode(), "toy.toml", "toy")


def test_a_registered_model_is_known_by_name(toy: None) -> None:
    assert "toy" in names() and model("toy") is TOY
    assert names()[:-1] == [m for m in names() if m != "toy"]  # after the built-in ones


def test_its_sections_decode_with_their_defaults(toy: None) -> None:
    scenario = _decode()
    assert scenario.toy.handoff_ms == 3  # type: ignore[attr-defined]
    billing, audit = scenario.groups  # type: ignore[attr-defined]
    assert billing.toy.order == "fifo" and audit.toy.order == "lifo"


def test_errors_in_its_sections_name_their_path(toy: None) -> None:
    with pytest.raises(InputError) as err:
        _decode(LESSON.replace("handoff_ms = 3", "handoff_ms = -1"))
    assert err.value.where == "$.toy.handoff_ms"
    with pytest.raises(InputError) as err:
        _decode(LESSON.replace('order = "lifo"', 'order = "random"'))
    assert err.value.where == "$.groups[1].toy.order"
    with pytest.raises(InputError) as err:
        _decode(LESSON.replace('order = "lifo"', 'order = "lifo"\nwho = 1'))
    assert err.value.where == "$.groups[1].toy" and "who" in err.value.message


def test_its_own_checks_run(toy: None) -> None:
    lifo = '[groups.toy]\norder = "lifo"'
    text = LESSON.replace(lifo, "consumers = 2\n" + lifo)
    with pytest.raises(InputError) as err:
        _decode(text)
    assert err.value.where == "$.groups[1].toy.order"
    assert err.value.message == "lifo needs exactly one consumer"


def test_it_plays_end_to_end_through_the_simulation(toy: None) -> None:
    sim = Simulation(_decode())  # type: ignore[arg-type]
    summary = summarize(sim)
    header = sim.trace.records[0]
    assert isinstance(header, ScenarioStarted)
    assert header.broker == "toy" and header.follows == TOY.follows
    assert header.settings["toy.handoff_ms"] == "3"
    assert header.settings["queue.audit.order"] == "lifo"
    assert summary.ok and summary.produced == 20 and summary.lost == 0
    assert summary.groups["billing"].processed == 20 and summary.groups["audit"].processed == 20
    kinds = {type(r) for r in sim.trace}
    assert {Delivered, Processed} <= kinds


def test_a_lifo_queue_hands_out_the_newest_message_first(toy: None) -> None:
    sim = Simulation(_decode())  # type: ignore[arg-type]
    sim.run()
    audit = [r.msg for r in sim.trace if isinstance(r, Processed) and r.group == "audit"]
    assert audit != sorted(audit)  # a stack: later messages overtake waiting ones


def test_a_consumer_crash_gives_its_message_back(toy: None) -> None:
    text = LESSON + '\n[[faults]]\nkind = "crash"\ntarget = "billing-0"\nat_ms = 8\n'
    text += "restart_after_ms = 50\n"
    summary = summarize(Simulation(_decode(text)))  # type: ignore[arg-type]
    assert summary.lost == 0 and summary.groups["billing"].processed >= 20


def test_it_plays_with_evsim_play_json(toy: None, tmp_path: Path) -> None:
    path = tmp_path / "toy.toml"
    path.write_text(LESSON, encoding="utf-8")
    result = CliRunner().invoke(app, ["play", str(path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["ok"] is True and out["produced"] == 20 and out["lost"] == 0


def test_evsim_schema_describes_its_sections(toy: None) -> None:
    schema = scenario_schema()
    scenario = schema["$defs"]["Scenario"]["properties"]
    assert scenario["toy"]["$ref"] == "#/$defs/Toy"
    assert "toy" in scenario["broker"]["enum"]
    assert schema["$defs"]["Group"]["properties"]["toy"]["$ref"] == "#/$defs/ToyGroup"
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0 and "ToyGroup" in result.stdout


def test_compare_runs_a_lesson_written_for_the_built_in_models_on_it_too(toy: None) -> None:
    lesson = resolve_scenario("three-brokers")  # [groups.rabbitmq] and [groups.sqs] inside
    variants = {v.broker: v for v in compare(lesson, "broker")}
    assert list(variants) == names()
    toy_run = variants["toy"].summary
    assert toy_run is not None and toy_run.processed >= 40 and toy_run.lost == 0
    semantics = compare(msgspec.structs.replace(lesson, broker="toy"), "semantics")
    assert semantics[2].note == f"unsupported: {TOY.no_exactly_once}"


def test_transactions_are_refused_with_the_capable_models_named(toy: None) -> None:
    with pytest.raises(InputError) as err:
        _decode(LESSON.replace("consumers = 2", 'consumers = 2\ncommit = "transactional"'))
    assert err.value.where == "$.groups[0].commit"
    assert err.value.message.startswith('transactional needs broker = "log": the toy model')


def test_unregistered_it_is_refused_with_one_line() -> None:
    assert "toy" not in names()
    with pytest.raises(InputError) as err:
        _decode()
    assert err.value.where == "$.broker"
    known = ", ".join(names())
    assert err.value.message == f"unknown broker model 'toy' (known: {known})"
    assert "\n" not in str(err.value)


def test_unregistered_evsim_play_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "toy.toml"
    path.write_text(LESSON, encoding="utf-8")
    result = CliRunner().invoke(app, ["play", str(path), "--json"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "$.broker: unknown broker model 'toy'" in result.output
