"""The loader: what only a loaded file can tell, one line each; a fresh module every run."""

from __future__ import annotations

from pathlib import Path

import pytest
from usercode_support import LOG_GROUP, SAGA, STEP, bank, kinds, load, run, write

from evsim.loader import load_book
from simulator.errors import InputError
from simulator.scenario import load_scenario
from simulator.simulation import Simulation

HANDLE = """
from evsim import Context, Message, handler

@handler
def handle(message: Message, ctx: Context) -> None:
    ctx.effect("charge")
"""

DECIDER = """
from evsim import Command, Rejected, decider

def evolve(state):
    return state

@decider(evolve=evolve, initial_state={{}})
def decide(command: Command, state):
    return Rejected("closed")
"""


def test_a_name_rebound_after_its_def_is_refused_when_loaded(tmp_path: Path) -> None:
    scenario = load(tmp_path, LOG_GROUP, HANDLE + "\nhandle = None\n")
    with pytest.raises(InputError) as caught:
        Simulation(scenario)
    assert caught.value.where == "$.groups[0].handler"
    assert caught.value.message == "consumer.py:handle is not a function once the file has run"


def test_a_deciders_evolve_must_take_state_and_event(tmp_path: Path) -> None:
    toml = bank(kind="naive", apply="", handler='decider = "bank.py:decide"')
    scenario = load_scenario(write(tmp_path, toml, DECIDER.format(), file="bank.py"))
    with pytest.raises(InputError) as caught:
        Simulation(scenario)
    assert caught.value.where == "$.handlers[0].decider"
    assert caught.value.message == (
        "bank.py:decide: its evolve evolve does not take (state, event)"
    )


def test_a_saga_steps_compensation_must_take_saga_and_ctx(tmp_path: Path) -> None:
    code = STEP.replace("def release(saga: str, ctx: Context)", "def release(saga: str)")
    scenario = load(tmp_path, SAGA, code, file="stock.py")
    with pytest.raises(InputError) as caught:
        Simulation(scenario)
    assert caught.value.where == "$.processors[1].code"
    assert "its compensation release does not take (saga, ctx)" in caught.value.message


def test_a_null_byte_in_the_file_is_invalid_python_in_one_line(tmp_path: Path) -> None:
    lesson = write(tmp_path, LOG_GROUP, HANDLE)
    (tmp_path / "consumer.py").write_bytes(HANDLE.encode() + b"\x00\n")
    with pytest.raises(InputError) as caught:
        Simulation(load_scenario(lesson))
    assert caught.value.where == "$.groups[0].handler"
    assert caught.value.message.startswith("consumer.py: invalid Python"), caught.value.message
    assert "\n" not in str(caught.value)


def test_a_projector_may_leave_out_ctx(tmp_path: Path) -> None:
    code = """
from evsim import Event, projector

@projector
def apply(read_model, event: Event) -> None:
    account = event["account_id"]
    read_model[account] = read_model.get(account, 0) + event.data.get("amount_cents", 0)
"""
    scenario = load(tmp_path, bank(), code, file="projector.py")
    book = load_book(scenario)
    assert book.function("projector.py:apply", "projector").arity == 2
    records, summary = run(scenario)
    assert summary.ok and not kinds(records, "CodeFailed")


def test_every_run_loads_the_file_afresh_and_an_edit_is_seen(tmp_path: Path) -> None:
    scenario = load(tmp_path, LOG_GROUP, HANDLE)
    first, _ = run(scenario)
    assert {r.name for r in kinds(first, "EffectPerformed")} == {"charge"}  # type: ignore[attr-defined]
    (tmp_path / "consumer.py").write_text(
        HANDLE.replace('"charge"', '"refund"') + "\n# edited\n", encoding="utf-8"
    )
    second, _ = run(scenario)
    assert {r.name for r in kinds(second, "EffectPerformed")} == {"refund"}  # type: ignore[attr-defined]


def test_the_book_records_the_source_digest_of_each_file(tmp_path: Path) -> None:
    import hashlib

    scenario = load(tmp_path, LOG_GROUP, HANDLE)
    source = (tmp_path / "consumer.py").read_bytes()
    assert load_book(scenario).digests() == {"consumer.py": hashlib.sha256(source).hexdigest()}
