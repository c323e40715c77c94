"""The command side: load, decide, append with an expected version; snapshots; upcasting."""

from __future__ import annotations

from conftest import scenario_from

from simulator.domain import get_domain
from simulator.lessons.summary import summarize
from simulator.simulation import Simulation
from simulator.trace import (
    AggregateLoaded,
    CommandRejected,
    EventStored,
    SnapshotDiscarded,
    UpcastApplied,
    UpdateLost,
    VersionConflicted,
)

RACE = """
settle_ms = 100

[store]

[[handlers]]
name = "h"
decide_ms = 20
concurrency = "{concurrency}"

[[commands]]
handler = "h"
domain = "bank"
type = "account.open"
fields = {{ account_id = "A", owner = "ana" }}

[[commands]]
at_ms = 30
handler = "h"
domain = "bank"
type = "account.deposit"
fields = {{ account_id = "A", amount_cents = 100 }}

[[commands]]
at_ms = 100
handler = "h"
domain = "bank"
type = "account.withdraw"
fields = {{ account_id = "A", amount_cents = 80 }}

[[commands]]
at_ms = 105
handler = "h"
domain = "bank"
type = "account.withdraw"
fields = {{ account_id = "A", amount_cents = 80 }}
"""


def _run(toml: str) -> Simulation:
    sim = Simulation(scenario_from(toml))
    sim.run()
    return sim


def _of(sim: Simulation, cls: type) -> list:  # type: ignore[type-arg]
    return [r for r in sim.trace if isinstance(r, cls)]


def test_two_loads_of_one_version_conflict_and_the_retry_is_rejected() -> None:
    sim = _run(RACE.format(concurrency="expected-version"))
    loads = [r for r in _of(sim, AggregateLoaded) if r.command in ("c3", "c4")]
    assert [r.version for r in loads[:2]] == [2, 2]  # both decided on version 2
    (conflict,) = _of(sim, VersionConflicted)
    assert (conflict.command, conflict.expected, conflict.actual) == ("c4", 2, 3)
    assert conflict.retry_in_ms == 0
    (rejected,) = _of(sim, CommandRejected)
    assert rejected.command == "c4" and "insufficient funds" in rejected.reason
    assert not _of(sim, UpdateLost)
    assert sim.cqrs is not None
    state = sim.cqrs.store.load(get_domain("bank"), "account-A").state
    assert state.balance_cents() == 20


def test_ignoring_the_expected_version_loses_an_update_and_overdraws() -> None:
    sim = _run(RACE.format(concurrency="ignore"))
    assert not _of(sim, VersionConflicted)
    (lost,) = _of(sim, UpdateLost)
    assert (lost.command, lost.loaded_version, lost.actual_version) == ("c4", 2, 3)
    assert sim.cqrs is not None
    state = sim.cqrs.store.load(get_domain("bank"), "account-A").state
    assert state.balance_cents() == -60


def test_conflict_retries_stop_when_the_policy_is_exhausted() -> None:
    toml = RACE.format(concurrency="expected-version").replace(
        "decide_ms = 20\n", 'decide_ms = 20\nretry = { policy = "none" }\n'
    )
    sim = _run(toml)
    (conflict,) = _of(sim, VersionConflicted)
    assert conflict.retry_in_ms is None
    assert not _of(sim, CommandRejected)


SNAPSHOTS = """
settle_ms = 100
expect = ["events_replayed[h] == 100", "snapshots_taken[h] == 2"]

[store]

[[handlers]]
name = "h"
decide_ms = 1
snapshot_every = 10

[[command_generators]]
handler = "h"
domain = "bank"
type = "account.open"
count = 1
fields = { account_id = "A", owner = "ana" }

[[command_generators]]
handler = "h"
domain = "bank"
type = "account.deposit"
count = 24
start_ms = 10
fields = { account_id = "A", amount_cents = "{i}1" }
"""


def test_snapshots_bound_the_replay_to_the_tail() -> None:
    sim = Simulation(scenario_from(SNAPSHOTS))
    summary = summarize(sim)
    assert summary.ok, summary.expectations
    loads = _of(sim, AggregateLoaded)
    assert max(r.replayed for r in loads) == 9
    assert loads[-1].snapshot_version == 20 and loads[-1].replayed == 4
    assert summary.events_stored == 25


def test_old_schema_events_are_upcast_and_old_snapshots_discarded() -> None:
    sim = _run(
        """
        settle_ms = 100

        [store]

        [[handlers]]
        name = "old"
        snapshot_every = 1

        [[handlers]]
        name = "new"

        [[commands]]
        handler = "old"
        domain = "bank-v1"
        type = "account.open"
        fields = { account_id = "A", owner = "ana" }

        [[commands]]
        at_ms = 20
        handler = "old"
        domain = "bank-v1"
        type = "account.deposit"
        fields = { account_id = "A", amount_cents = 70 }

        [[commands]]
        at_ms = 50
        handler = "new"
        domain = "bank"
        type = "account.withdraw"
        fields = { account_id = "A", amount_cents = 30, currency = "EUR" }
        """
    )
    (discarded,) = _of(sim, SnapshotDiscarded)
    assert discarded.handler == "new" and "schema 1" in discarded.reason
    (upcast,) = _of(sim, UpcastApplied)
    assert upcast.events == 1 and upcast.types == ["account.deposited v1→v2"]
    stored = _of(sim, EventStored)
    assert [e.type for e in stored][-1] == "account.withdrawn"
    assert not _of(sim, CommandRejected)  # the upcast balance (70 EUR) covers the 30
