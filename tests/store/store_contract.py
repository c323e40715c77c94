"""The contract every event store backend passes.

Like the Python ``eventsourcing`` library's recorder test cases: one abstract
class states the behaviour, and each backend's test module subclasses it with a
``make_store``. A behaviour added here is checked on every backend at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import pytest

from simulator.domain import Decider, Domain, Rejected, Upcaster, get_domain
from simulator.domain.bank import (
    Account,
    DepositMoney,
    MoneyDeposited,
    MoneyWithdrawn,
    OpenAccount,
    WithdrawMoney,
)
from simulator.domain.bank_v1 import DepositMoneyV1, MoneyDepositedV1
from simulator.store import (
    ANY_VERSION,
    Appended,
    EventStore,
    NewEvent,
    SnapshotPolicy,
    StoreError,
    VersionConflict,
    handle_command,
)

BANK = get_domain("bank")
BANK_V1 = get_domain("bank-v1")


def new_events(*names: str) -> list[NewEvent]:
    return [NewEvent(type="test.noted", schema_version=1, data=name.encode()) for name in names]


def open_account(store: EventStore, account_id: str, at_ms: int = 0) -> None:
    result = handle_command(
        store, BANK, OpenAccount(account_id=account_id, owner="ann"), recorded_at_ms=at_ms
    )
    assert isinstance(result.outcome, Appended)


def deposit(store: EventStore, account_id: str, amount_cents: int, at_ms: int = 0) -> None:
    result = handle_command(
        store,
        BANK,
        DepositMoney(account_id=account_id, amount_cents=amount_cents),
        recorded_at_ms=at_ms,
    )
    assert isinstance(result.outcome, Appended), result.outcome


# -- a three-version event, to prove upcasters compose --------------------------


class Measured(msgspec.Struct, frozen=True, kw_only=True, tag="probe.measured"):
    """v1 ``{"n": 3}`` → v2 renames ``n`` to ``count`` → v3 adds ``unit``."""

    SCHEMA_VERSION: ClassVar[int] = 3
    count: int
    unit: str


class Tally(msgspec.Struct, frozen=True, kw_only=True):
    total: int = 0


def _rename_n(payload: dict[str, Any]) -> dict[str, Any]:
    rest = {key: value for key, value in payload.items() if key != "n"}
    return {**rest, "count": payload["n"]}


def _add_unit(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "unit": "items"}


def _never_decide(command: Measured, state: Tally) -> list[Measured] | Rejected:
    return Rejected(reason="read-only")


PROBE: Domain[Measured, Measured, Tally] = Domain(
    name="probe",
    summary="test domain with a three-version event",
    decider=Decider(
        initial_state=Tally(),
        decide=_never_decide,
        evolve=lambda state, event: Tally(total=state.total + event.count),
    ),
    command_types=(Measured,),
    event_types=(Measured,),
    state_type=Tally,
    state_schema_version=1,
    stream_id=lambda command: "probe",
    upcasters=(
        Upcaster(event_type="probe.measured", from_version=1, upcast=_rename_n),
        Upcaster(event_type="probe.measured", from_version=2, upcast=_add_unit),
    ),
)


class EventStoreContract:
    """Behaviour every ``EventStore`` backend must show."""

    def make_store(self, tmp_path: Path) -> EventStore:
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[EventStore]:
        store = self.make_store(tmp_path)
        yield store
        store.close()

    # -- appending and optimistic concurrency -----------------------------------

    def test_first_append_expects_version_zero_and_takes_positions_from_one(
        self, store: EventStore
    ) -> None:
        result = store.append("s-1", new_events("a", "b"), 0, recorded_at_ms=5)
        assert result == Appended(stream_id="s-1", version=2, first_position=1, last_position=2)
        assert store.stream_version("s-1") == 2
        assert store.head_position() == 2

    def test_versions_are_per_stream_and_positions_global_both_contiguous(
        self, store: EventStore
    ) -> None:
        store.append("s-1", new_events("a"), 0, recorded_at_ms=0)
        store.append("s-2", new_events("b", "c"), 0, recorded_at_ms=0)
        store.append("s-1", new_events("d", "e"), 1, recorded_at_ms=1)
        log = store.read_all()
        assert [e.position for e in log] == [1, 2, 3, 4, 5]
        assert [(e.stream_id, e.version, e.data) for e in log] == [
            ("s-1", 1, b"a"),
            ("s-2", 1, b"b"),
            ("s-2", 2, b"c"),
            ("s-1", 2, b"d"),
            ("s-1", 3, b"e"),
        ]
        assert [e.recorded_at_ms for e in log] == [0, 0, 0, 1, 1]

    def test_stale_expected_version_is_a_conflict_and_writes_nothing(
        self, store: EventStore
    ) -> None:
        store.append("s-1", new_events("a", "b", "c"), 0, recorded_at_ms=0)
        result = store.append("s-1", new_events("x"), 2, recorded_at_ms=1)
        assert result == VersionConflict(stream_id="s-1", expected_version=2, actual_version=3)
        assert store.head_position() == 3
        assert store.stream_version("s-1") == 3

    def test_expected_version_ahead_of_the_stream_is_a_conflict(self, store: EventStore) -> None:
        result = store.append("s-1", new_events("a"), 4, recorded_at_ms=0)
        assert result == VersionConflict(stream_id="s-1", expected_version=4, actual_version=0)
        assert store.read_all() == []

    def test_creating_a_stream_that_exists_is_a_conflict(self, store: EventStore) -> None:
        store.append("s-1", new_events("a"), 0, recorded_at_ms=0)
        result = store.append("s-1", new_events("b"), 0, recorded_at_ms=0)
        assert isinstance(result, VersionConflict)
        assert (result.expected_version, result.actual_version) == (0, 1)

    def test_any_version_appends_wherever_the_stream_is(self, store: EventStore) -> None:
        store.append("s-1", new_events("a", "b"), 0, recorded_at_ms=0)
        result = store.append("s-1", new_events("c"), ANY_VERSION, recorded_at_ms=0)
        assert result == Appended(stream_id="s-1", version=3, first_position=3, last_position=3)

    def test_two_writers_at_the_same_version_one_wins_the_other_conflicts(
        self, store: EventStore
    ) -> None:
        open_account(store, "A")
        deposit(store, "A", 100)
        first = store.load(BANK, "account-A")
        second = store.load(BANK, "account-A")
        codec = store.codec(BANK)
        withdraw = WithdrawMoney(account_id="A", amount_cents=80)
        first_events = BANK.decide(withdraw, first.state)
        second_events = BANK.decide(withdraw, second.state)
        assert isinstance(first_events, list)
        assert isinstance(second_events, list)  # both decisions saw a balance of 100
        win = store.append(
            "account-A", codec.encode_all(first_events), first.version, recorded_at_ms=1
        )
        lose = store.append(
            "account-A", codec.encode_all(second_events), second.version, recorded_at_ms=1
        )
        assert isinstance(win, Appended)
        assert lose == VersionConflict(stream_id="account-A", expected_version=2, actual_version=3)
        # The loser reloads, decides again and is now told the truth.
        reloaded = store.load(BANK, "account-A")
        retry = BANK.decide(WithdrawMoney(account_id="A", amount_cents=80), reloaded.state)
        assert isinstance(retry, Rejected)
        assert "insufficient funds" in retry.reason
        assert store.load(BANK, "account-A").state.balance_cents() == 20

    def test_any_version_lets_a_stale_decision_overdraw_the_account(
        self, store: EventStore
    ) -> None:
        open_account(store, "A")
        deposit(store, "A", 100)
        both = [store.load(BANK, "account-A") for _ in range(2)]
        codec = store.codec(BANK)
        for loaded in both:
            decided = BANK.decide(WithdrawMoney(account_id="A", amount_cents=80), loaded.state)
            assert isinstance(decided, list)
            result = store.append(
                "account-A", codec.encode_all(decided), ANY_VERSION, recorded_at_ms=1
            )
            assert isinstance(result, Appended)
        # Each withdrawal was checked against a balance of 100: the second update was lost.
        assert store.load(BANK, "account-A").state.balance_cents() == -60

    def test_handle_command_with_any_version_appends_and_reports_the_state(
        self, store: EventStore
    ) -> None:
        open_account(store, "A")
        deposit(store, "A", 100)
        result = handle_command(
            store,
            BANK,
            WithdrawMoney(account_id="A", amount_cents=30),
            recorded_at_ms=2,
            ignore_concurrency=True,
        )
        assert isinstance(result.outcome, Appended)
        assert result.state == Account(opened=True, owner="ann", balances_cents={"EUR": 70})

    def test_a_large_batch_is_one_append_with_contiguous_versions(self, store: EventStore) -> None:
        store.append("s-0", new_events("first"), 0, recorded_at_ms=0)
        names = [str(i) for i in range(300)]
        result = store.append("s-1", new_events(*names), 0, recorded_at_ms=0)
        assert result == Appended(stream_id="s-1", version=300, first_position=2, last_position=301)
        assert [e.version for e in store.read_stream("s-1")] == list(range(1, 301))
        assert [e.data for e in store.read_all(2)] == [name.encode() for name in names]

    def test_append_refuses_empty_batches_and_bad_arguments(self, store: EventStore) -> None:
        with pytest.raises(ValueError, match="no events"):
            store.append("s-1", [], 0, recorded_at_ms=0)
        with pytest.raises(ValueError, match="stream_id"):
            store.append("", new_events("a"), 0, recorded_at_ms=0)
        with pytest.raises(ValueError, match="expected_version"):
            store.append("s-1", new_events("a"), -1, recorded_at_ms=0)
        assert store.head_position() == 0

    def test_virtual_time_may_not_go_back_and_the_refused_append_writes_nothing(
        self, store: EventStore
    ) -> None:
        store.append("s-1", new_events("a"), 0, recorded_at_ms=10)
        store.append("s-2", new_events("b"), 0, recorded_at_ms=10)
        with pytest.raises(ValueError, match="never goes back"):
            store.append("s-1", new_events("c"), 1, recorded_at_ms=9)
        assert store.head_position() == 2
        assert store.stream_version("s-1") == 1

    # -- reading ----------------------------------------------------------------

    def test_read_stream_bounds_are_inclusive_versions(self, store: EventStore) -> None:
        store.append("s-1", new_events("a", "b", "c", "d"), 0, recorded_at_ms=0)
        store.append("s-2", new_events("x"), 0, recorded_at_ms=0)
        assert [e.data for e in store.read_stream("s-1")] == [b"a", b"b", b"c", b"d"]
        assert [e.data for e in store.read_stream("s-1", 2)] == [b"b", b"c", b"d"]
        assert [e.data for e in store.read_stream("s-1", 2, 3)] == [b"b", b"c"]
        assert store.read_stream("s-1", 5) == []
        assert store.read_stream("s-1", 1, 0) == []
        assert store.read_stream("nobody") == []

    def test_read_all_in_pages_from_a_checkpoint_sees_every_event_once(
        self, store: EventStore
    ) -> None:
        for i in range(7):
            store.append(f"s-{i % 3}", new_events(str(i), str(i)), ANY_VERSION, recorded_at_ms=i)
        seen: list[int] = []
        checkpoint = 1  # the next position to read, like a Kafka committed offset
        while page := store.read_all(checkpoint, limit=4):
            seen += [e.position for e in page]
            checkpoint = page[-1].position + 1
        assert seen == list(range(1, 15))
        assert store.read_all(15) == []
        assert store.read_all(3, limit=0) == []
        assert [e.position for e in store.read_all(13)] == [13, 14]

    def test_streams_are_listed_in_order_of_their_first_event(self, store: EventStore) -> None:
        assert store.stream_ids() == []
        store.append("zeta", new_events("a"), 0, recorded_at_ms=0)
        store.append("alpha", new_events("b"), 0, recorded_at_ms=0)
        store.append("zeta", new_events("c"), 1, recorded_at_ms=0)
        assert store.stream_ids() == ["zeta", "alpha"]
        assert store.stream_version("nobody") == 0

    def test_returned_lists_are_copies(self, store: EventStore) -> None:
        store.append("s-1", new_events("a"), 0, recorded_at_ms=0)
        store.read_all().clear()
        store.read_stream("s-1").clear()
        assert len(store.read_all()) == 1
        assert len(store.read_stream("s-1")) == 1

    # -- loading aggregates and snapshots ---------------------------------------

    def test_load_without_snapshot_replays_the_whole_stream(self, store: EventStore) -> None:
        open_account(store, "A")
        for amount in (10, 20, 30):
            deposit(store, "A", amount)
        loaded = store.load(BANK, "account-A")
        assert loaded.version == 4
        assert loaded.replayed == 4
        assert loaded.snapshot_version == 0
        assert loaded.discarded_snapshot is None
        assert loaded.state.balance_cents() == 60

    def test_load_of_an_unknown_stream_is_the_initial_state_at_version_zero(
        self, store: EventStore
    ) -> None:
        loaded = store.load(BANK, "account-nobody")
        assert (loaded.state, loaded.version, loaded.replayed) == (Account(), 0, 0)

    def test_load_from_a_snapshot_replays_only_the_tail(self, store: EventStore) -> None:
        open_account(store, "A")
        for amount in range(1, 10):
            deposit(store, "A", amount)
        snapshot = store.take_snapshot(BANK, store.load(BANK, "account-A"))
        assert snapshot.version == 10
        for amount in (100, 200, 300):
            deposit(store, "A", amount)
        loaded = store.load(BANK, "account-A")
        assert (loaded.snapshot_version, loaded.replayed, loaded.version) == (10, 3, 13)
        assert loaded.state.balance_cents() == 45 + 600
        assert loaded.state == BANK.replay(
            store.codec(BANK).decode(e) for e in store.read_stream("account-A")
        )

    def test_snapshot_policy_every_n_events_snapshots_when_a_multiple_is_crossed(
        self, store: EventStore
    ) -> None:
        policy = SnapshotPolicy(every_n_events=3)
        taken = []
        open_account(store, "A")
        for amount in range(1, 8):
            result = handle_command(
                store,
                BANK,
                DepositMoney(account_id="A", amount_cents=amount),
                recorded_at_ms=0,
                snapshot_policy=policy,
            )
            if result.snapshot is not None:
                taken.append(result.snapshot.version)
        assert taken == [3, 6]
        loaded = store.load(BANK, "account-A")
        assert (loaded.snapshot_version, loaded.replayed, loaded.version) == (6, 2, 8)
        assert loaded.state.balance_cents() == 28

    def test_snapshot_beyond_the_stream_is_refused(self, store: EventStore) -> None:
        store.append("s-1", new_events("a"), 0, recorded_at_ms=0)
        with pytest.raises(ValueError, match="stream is at version 1"):
            store.save_snapshot("s-1", 2, b"{}", 1)
        with pytest.raises(ValueError):
            store.save_snapshot("s-1", 0, b"{}", 1)
        assert store.load_snapshot("s-1") is None

    def test_a_new_snapshot_replaces_the_old_one(self, store: EventStore) -> None:
        store.append("s-1", new_events("a", "b"), 0, recorded_at_ms=0)
        store.save_snapshot("s-1", 1, b"one", 1)
        store.save_snapshot("s-1", 2, b"two", 1)
        snapshot = store.load_snapshot("s-1")
        assert snapshot is not None
        assert (snapshot.version, snapshot.state) == (2, b"two")

    def test_snapshot_from_an_older_state_schema_is_discarded_not_trusted(
        self, store: EventStore
    ) -> None:
        # Yesterday's bank (schema 1) wrote the log and a snapshot of its state shape.
        for command in (
            OpenAccount(account_id="A", owner="ann"),
            DepositMoneyV1(account_id="A", amount_cents=70),
            DepositMoneyV1(account_id="A", amount_cents=5),
        ):
            handle_command(store, BANK_V1, command, recorded_at_ms=0)
        old = store.take_snapshot(BANK_V1, store.load(BANK_V1, "account-A"))
        assert old.schema_version == 1
        assert store.load(BANK_V1, "account-A").snapshot_version == 3
        # Today's bank must not read a schema-1 state as if it were schema 2.
        loaded = store.load(BANK, "account-A")
        assert loaded.discarded_snapshot is not None
        assert loaded.discarded_snapshot.version == 3
        assert loaded.discarded_snapshot.schema_version == 1
        assert "state schema 1" in loaded.discarded_snapshot.reason
        assert (loaded.snapshot_version, loaded.replayed, loaded.version) == (0, 3, 3)
        assert loaded.state == Account(opened=True, owner="ann", balances_cents={"EUR": 75})

    def test_snapshot_that_does_not_decode_is_discarded(self, store: EventStore) -> None:
        open_account(store, "A")
        deposit(store, "A", 5)
        store.save_snapshot("account-A", 2, b'{"opened": "very"}', BANK.state_schema_version)
        loaded = store.load(BANK, "account-A")
        assert loaded.discarded_snapshot is not None
        assert "does not decode" in loaded.discarded_snapshot.reason
        assert (loaded.replayed, loaded.state.balance_cents()) == (2, 5)

    # -- upcasting --------------------------------------------------------------

    def test_v1_deposits_are_read_as_v2_in_euros_and_the_log_is_unchanged(
        self, store: EventStore
    ) -> None:
        handle_command(store, BANK_V1, OpenAccount(account_id="A", owner="ann"), recorded_at_ms=0)
        handle_command(
            store, BANK_V1, DepositMoneyV1(account_id="A", amount_cents=70), recorded_at_ms=0
        )
        deposit(store, "A", 30)  # written by today's bank, schema 2
        stored = store.read_stream("account-A")
        assert [(e.type, e.schema_version) for e in stored] == [
            ("account.opened", 1),
            ("account.deposited", 1),
            ("account.deposited", 2),
        ]
        assert b"currency" not in stored[1].data
        codec = store.codec(BANK)
        assert codec.decode(stored[1]) == MoneyDeposited(
            account_id="A", amount_cents=70, currency="EUR"
        )
        assert store.load(BANK, "account-A").state.balances_cents == {"EUR": 100}
        assert store.codec(BANK_V1).decode(stored[1]) == MoneyDepositedV1(
            account_id="A", amount_cents=70
        )

    def test_upcasters_chain_one_version_at_a_time(self, store: EventStore) -> None:
        store.append(
            "probe",
            [
                NewEvent(type="probe.measured", schema_version=1, data=b'{"n": 1}'),
                NewEvent(type="probe.measured", schema_version=2, data=b'{"count": 2}'),
                NewEvent(
                    type="probe.measured",
                    schema_version=3,
                    data=b'{"type": "probe.measured", "count": 3, "unit": "kg"}',
                ),
            ],
            0,
            recorded_at_ms=0,
        )
        codec = store.codec(PROBE)
        assert [codec.decode(e) for e in store.read_stream("probe")] == [
            Measured(count=1, unit="items"),
            Measured(count=2, unit="items"),
            Measured(count=3, unit="kg"),
        ]
        assert store.load(PROBE, "probe").state == Tally(total=6)

    def test_an_event_newer_than_the_domain_knows_is_a_store_error(self, store: EventStore) -> None:
        store.append(
            "account-A",
            [NewEvent(type="account.deposited", schema_version=3, data=b"{}")],
            0,
            recorded_at_ms=0,
        )
        with pytest.raises(StoreError, match="schema version 3 is newer"):
            store.load(BANK, "account-A")

    def test_an_event_of_another_domain_is_a_store_error_naming_where(
        self, store: EventStore
    ) -> None:
        store.append("account-A", new_events("a"), 0, recorded_at_ms=0)
        with pytest.raises(StoreError, match=r"account-A v1 \(position 1\).*unknown event type"):
            store.load(BANK, "account-A")

    def test_an_event_whose_data_does_not_fit_is_a_store_error(self, store: EventStore) -> None:
        store.append(
            "account-A",
            [NewEvent(type="account.deposited", schema_version=2, data=b'{"amount_cents": "x"}')],
            0,
            recorded_at_ms=0,
        )
        with pytest.raises(StoreError, match="data does not fit"):
            store.load(BANK, "account-A")

    # -- temporal queries ------------------------------------------------------

    def _history(self, store: EventStore) -> None:
        """A at t=0 opens; t=10 +5 (A); t=20 B opens; t=20 +7 (A); t=30 -2 (A)."""
        open_account(store, "A", at_ms=0)
        deposit(store, "A", 5, at_ms=10)
        open_account(store, "B", at_ms=20)
        deposit(store, "A", 7, at_ms=20)
        result = handle_command(
            store, BANK, WithdrawMoney(account_id="A", amount_cents=2), recorded_at_ms=30
        )
        assert isinstance(result.outcome, Appended)

    def test_state_as_of_a_global_position(self, store: EventStore) -> None:
        self._history(store)
        balances = [
            store.load_at_position(BANK, "account-A", position).state.balance_cents()
            for position in range(0, 6)
        ]
        assert balances == [0, 0, 5, 5, 12, 10]
        at_three = store.load_at_position(BANK, "account-A", 3)
        assert (at_three.version, at_three.replayed) == (2, 2)
        assert store.load_at_position(BANK, "account-B", 2).version == 0
        assert store.load_at_position(BANK, "account-B", 3).state.opened

    def test_state_as_of_a_recorded_time(self, store: EventStore) -> None:
        self._history(store)
        assert [store.position_at_time(t) for t in (-1, 0, 9, 10, 19, 20, 29, 30, 99)] == [
            0, 1, 1, 2, 2, 4, 4, 5, 5,
        ]  # fmt: skip
        assert store.load_at_time(BANK, "account-A", 19).state.balance_cents() == 5
        assert store.load_at_time(BANK, "account-A", 20).state.balance_cents() == 12
        assert store.load_at_time(BANK, "account-A", -1).version == 0
        assert store.position_at_time(-1) == 0

    def test_temporal_query_uses_a_snapshot_only_when_it_is_not_newer(
        self, store: EventStore
    ) -> None:
        self._history(store)
        store.take_snapshot(BANK, store.load_at_position(BANK, "account-A", 2))  # version 2
        before = store.load_at_position(BANK, "account-A", 1)
        assert (before.snapshot_version, before.replayed, before.version) == (0, 1, 1)
        after = store.load_at_position(BANK, "account-A", 5)
        assert (after.snapshot_version, after.replayed, after.version) == (2, 2, 4)
        assert after.state.balance_cents() == 10

    def test_withdrawn_v2_events_keep_their_currency(self, store: EventStore) -> None:
        open_account(store, "A")
        handle_command(
            store,
            BANK,
            DepositMoney(account_id="A", amount_cents=9, currency="USD"),
            recorded_at_ms=0,
        )
        handle_command(
            store,
            BANK,
            WithdrawMoney(account_id="A", amount_cents=4, currency="USD"),
            recorded_at_ms=0,
        )
        last = store.read_stream("account-A")[-1]
        assert store.codec(BANK).decode(last) == MoneyWithdrawn(
            account_id="A", amount_cents=4, currency="USD"
        )
        assert store.load(BANK, "account-A").state.balances_cents == {"USD": 5}
