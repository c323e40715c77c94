"""The [store]/[[handlers]]/[[commands]]/[[projectors]] sections: validation and backends."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import scenario_from

from simulator.cqrs.event_log import StoreFile
from simulator.errors import InputError
from simulator.lessons.summary import summarize
from simulator.simulation import Simulation

BASE = """
settle_ms = 100
{top}

[store]
{store}

[[handlers]]
name = "h"

[[projectors]]
name = "p"
projection = "balances"

[[commands]]
handler = "h"
domain = "bank"
type = "account.open"
fields = {{ account_id = "A", owner = "ana" }}
{extra}
"""


def _toml(top: str = "", store: str = "", extra: str = "") -> str:
    return BASE.format(top=top, store=store, extra=extra)


@pytest.mark.parametrize(
    ("top", "store", "extra", "where", "words"),
    [
        (
            "",
            "",
            '[[commands]]\nhandler = "nobody"\ndomain = "bank"\ntype = "account.open"',
            "$.commands[1].handler",
            "unknown handler",
        ),
        (
            "",
            "",
            '[[commands]]\nhandler = "h"\ndomain = "casino"\ntype = "x"',
            "$.commands[1].domain",
            "unknown domain",
        ),
        (
            "",
            "",
            '[[commands]]\nhandler = "h"\ndomain = "bank"\ntype = "account.steal"',
            "$.commands[1].type",
            "no command",
        ),
        (
            "",
            "",
            '[[commands]]\nhandler = "h"\ndomain = "bank"\ntype = "account.deposit"\n'
            'fields = { account_id = "A", amount_cents = "lots" }',
            "$.commands[1].fields",
            "does not fit",
        ),
        (
            "",
            "",
            '[[projectors]]\nname = "q"\nprojection = "nope"',
            "$.projectors[1].projection",
            "unknown projection",
        ),
        ("", 'backend = "sqlite"', "", "$.store.path", "needs a path"),
        ("", 'publish = "outbox"', "", "$.store.producer", "unknown producer"),
        (
            'expect = ["version_conflicts[ghost] == 0"]',
            "",
            "",
            "$.expect[0]",
            "unknown handler or projector",
        ),
        ("", "", '[[queries]]\nkey = "A"', "$.queries[0]", "names a projector"),
        (
            "",
            "",
            '[[rebuilds]]\nprojector = "ghost"\nat_ms = 1',
            "$.rebuilds[0].projector",
            "unknown projector",
        ),
        (
            "",
            "",
            '[[faults]]\nkind = "crash"\ntarget = "ghost"\nat_ms = 1',
            "$.faults[0].target",
            "unknown component",
        ),
    ],
)
def test_bad_sections_are_refused_with_their_path(
    top: str, store: str, extra: str, where: str, words: str
) -> None:
    with pytest.raises(InputError) as caught:
        scenario_from(_toml(top, store, extra))
    assert caught.value.where == where
    assert words in str(caught.value)


def test_commands_without_a_store_are_refused() -> None:
    with pytest.raises(InputError) as caught:
        scenario_from('[[handlers]]\nname = "h"\n')
    assert caught.value.where == "$.store"


def test_crashes_can_target_handlers_projectors_and_the_relay() -> None:
    scenario_from(
        _toml(
            extra='[[faults]]\nkind = "crash"\ntarget = "p"\nat = "after_project_before_checkpoint"'
        )
    )


def test_new_metrics_read_in_expectations() -> None:
    s = scenario_from(
        _toml(
            top='expect = ["events_stored == 1", "projected[p] == 1", '
            '"read_model_mismatches == 0", "version_conflicts == 0"]'
        )
    )
    summary = summarize(Simulation(s))
    assert summary.ok, summary.expectations
    assert summary.events_stored == 1 and summary.read_model_digest is not None


def test_scenarios_without_a_store_keep_the_placeholders() -> None:
    s = scenario_from(
        '[[topics]]\nname = "t"\n[[producers]]\nname = "p"\ntopic = "t"\n'
        '[[workload.messages]]\nproducer = "p"\n'
    )
    summary = summarize(Simulation(s))
    assert summary.events_stored == 0 and summary.read_model_digest is None


def test_the_sqlite_backend_writes_a_file_a_student_can_open(tmp_path: Path) -> None:
    path = tmp_path / "bank.sqlite3"
    toml = _toml(store=f'backend = "sqlite"\npath = "{path}"')
    first = summarize(Simulation(scenario_from(toml), store_file=StoreFile(path=path)))
    # An evsim store of this same lesson is emptied and reused when the run asks for it.
    reuse = StoreFile(path=path, reuse=True)
    second = summarize(Simulation(scenario_from(toml), store_file=reuse))
    memory = summarize(Simulation(scenario_from(_toml())))
    assert first.trace_digest == second.trace_digest
    assert first.read_model_digest == memory.read_model_digest
    assert first.events_stored == memory.events_stored == 1
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT position, stream_id, version, type FROM events").fetchall()
    assert rows == [(1, "account-A", 1, "account.opened")]


def test_the_sqlite_backend_refuses_a_file_that_is_not_an_evsim_store(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("my notes")
    with pytest.raises(InputError) as caught:
        scenario_from(_toml(store=f'backend = "sqlite"\npath = "{path}"'))
    assert caught.value.where == "$.store.path" and "not an evsim event store" in str(caught.value)
    assert path.read_text() == "my notes"
