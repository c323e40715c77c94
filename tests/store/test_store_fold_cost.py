"""Loading an aggregate costs the events appended since the last load, not the whole stream.

The store keeps each stream's folded state (``EventStore._folds``), so the
n-th command on a stream folds one new event instead of n. Counted, not timed:
the number of events ``evolve`` is called with and the number of rows read
grow linearly with the commands — and every ``Loaded`` a cached load returns
equals the one a fresh store (an empty cache) builds from the same log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from simulator.domain.bank import DOMAIN as BANK
from simulator.domain.bank import DepositMoney, OpenAccount
from simulator.domain.decider import Decider, Domain
from simulator.store import (
    EventStore,
    InMemoryEventStore,
    SnapshotPolicy,
    SqliteEventStore,
    handle_command,
)


def _counting(domain: Domain[Any, Any, Any]) -> tuple[Domain[Any, Any, Any], list[int]]:
    calls = [0]

    def evolve(state: Any, event: Any) -> Any:
        calls[0] += 1
        return domain.decider.evolve(state, event)

    decider = Decider(
        decide=domain.decider.decide, evolve=evolve, initial_state=domain.decider.initial_state
    )
    from dataclasses import replace

    return replace(domain, decider=decider), calls


class _CountingReads(InMemoryEventStore):
    def __init__(self) -> None:
        super().__init__()
        self.rows_read = 0

    def read_stream(self, stream_id: str, from_version: int = 0, to_version: int | None = None):  # type: ignore[no-untyped-def]
        rows = super().read_stream(stream_id, from_version, to_version)
        self.rows_read += len(rows)
        return rows


def _run(store: EventStore, domain: Domain[Any, Any, Any], commands: int, every: int = 0) -> None:
    policy = SnapshotPolicy(every_n_events=every)
    handle_command(store, domain, OpenAccount(account_id="A", owner="ana"), recorded_at_ms=0)
    for n in range(commands):
        command = DepositMoney(account_id="A", amount_cents=1 + n % 7)
        result = handle_command(
            store, domain, command, recorded_at_ms=n + 1, snapshot_policy=policy
        )
        assert result.loaded.replayed == result.loaded.version - result.loaded.snapshot_version


@pytest.mark.parametrize("commands", [500, 2_000])
def test_each_command_folds_only_the_new_events(commands: int) -> None:
    domain, calls = _counting(BANK)
    store = _CountingReads()
    _run(store, domain, commands)
    # one evolve per event to fold the new tail, one more per decided event
    assert calls[0] <= 3 * (commands + 1)
    assert store.rows_read <= 2 * (commands + 1)


@pytest.mark.parametrize("every", [0, 1, 7, 100])
def test_a_cached_load_equals_a_fresh_fold_of_the_log(tmp_path: Path, every: int) -> None:
    store = SqliteEventStore(tmp_path / "bank.sqlite3")
    _run(store, BANK, 300, every)
    cached = store.load(BANK, "account-A")
    fresh = SqliteEventStore(tmp_path / "bank.sqlite3")
    assert fresh.load(BANK, "account-A") == cached
    assert cached.replayed == cached.version - cached.snapshot_version
    fresh.close()
    store.close()


def test_a_snapshot_taken_under_another_schema_is_still_discarded_on_every_load(
    tmp_path: Path,
) -> None:
    store = InMemoryEventStore()
    _run(store, BANK, 20)
    store.save_snapshot("account-A", 10, b"{}", schema_version=BANK.state_schema_version + 1)
    first = store.load(BANK, "account-A")
    second = store.load(BANK, "account-A")
    assert first == second and first.discarded_snapshot is not None
    assert first.replayed == first.version


def test_a_lessons_handler_reads_each_stored_row_a_bounded_number_of_times() -> None:
    """Through the simulation: loads and the upcast count (the bank domain upcasts)."""
    from simulator.scenario import decode_scenario
    from simulator.simulation import Simulation

    assert BANK.upcasters
    commands = 1_500
    spec = decode_scenario(
        f"""
title = {{ en = "t", ko = "t" }}
summary = {{ en = "s", ko = "s" }}
[store]
[[handlers]]
name = "bank"
[[commands]]
at_ms = 0
handler = "bank"
domain = "bank"
type = "account.open"
fields = {{ account_id = "A", owner = "ana" }}
[[command_generators]]
handler = "bank"
domain = "bank"
type = "account.deposit"
count = {commands}
start_ms = 10
rate_per_s = 50
fields = {{ account_id = "A", amount_cents = 5 }}
""".encode(),
        "bank.toml",
        "bank",
    )
    sim = Simulation(spec)
    assert sim.cqrs is not None
    store = sim.cqrs.store
    rows = [0]
    read_stream = store.read_stream

    def counting(stream_id: str, from_version: int = 0, to_version: int | None = None):  # type: ignore[no-untyped-def]
        out = read_stream(stream_id, from_version, to_version)
        rows[0] += len(out)
        return out

    store.read_stream = counting  # type: ignore[method-assign]
    sim.run()
    stored = store.head_position()
    assert stored >= commands  # the open, and nearly every deposit
    assert rows[0] <= 4 * stored
