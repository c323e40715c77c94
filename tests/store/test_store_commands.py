"""handle_command: the load → decide → append loop, conflicts and the lost update."""

from __future__ import annotations

from collections.abc import Sequence

from simulator.domain import Rejected, get_domain
from simulator.domain.bank import (
    DepositMoney,
    MoneyDeposited,
    MoneyWithdrawn,
    OpenAccount,
    WithdrawMoney,
)
from simulator.store import (
    ANY_VERSION,
    Appended,
    AppendResult,
    ExpectedVersion,
    InMemoryEventStore,
    NewEvent,
    VersionConflict,
    handle_command,
)

BANK = get_domain("bank")


class InterleavedStore(InMemoryEventStore):
    """Lets one other writer's deposit land between a command's load and its append."""

    def __init__(self) -> None:
        super().__init__()
        self.interloper: NewEvent | None = None

    def _append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion,
        recorded_at_ms: int,
    ) -> AppendResult:
        if self.interloper is not None:
            other, self.interloper = self.interloper, None
            super()._append(stream_id, [other], ANY_VERSION, recorded_at_ms)
        return super()._append(stream_id, events, expected_version, recorded_at_ms)


def _store_with_account(balance_cents: int) -> InterleavedStore:
    store = InterleavedStore()
    handle_command(store, BANK, OpenAccount(account_id="A", owner="ann"), recorded_at_ms=0)
    handle_command(
        store, BANK, DepositMoney(account_id="A", amount_cents=balance_cents), recorded_at_ms=0
    )
    return store


def _sneak_in_a_withdrawal(store: InterleavedStore, amount_cents: int) -> None:
    store.interloper = store.codec(BANK).encode(
        MoneyWithdrawn(account_id="A", amount_cents=amount_cents, currency="EUR")
    )


def test_a_writer_in_between_turns_the_append_into_a_conflict_and_nothing_is_written() -> None:
    store = _store_with_account(100)
    _sneak_in_a_withdrawal(store, 80)
    result = handle_command(
        store, BANK, WithdrawMoney(account_id="A", amount_cents=80), recorded_at_ms=1
    )
    assert result.outcome == VersionConflict(
        stream_id="account-A", expected_version=2, actual_version=3
    )
    assert result.state is None
    assert store.load(BANK, "account-A").state.balance_cents() == 20


def test_ignoring_concurrency_loses_the_update_and_reports_the_true_state() -> None:
    store = _store_with_account(100)
    _sneak_in_a_withdrawal(store, 80)
    result = handle_command(
        store,
        BANK,
        WithdrawMoney(account_id="A", amount_cents=80),
        recorded_at_ms=1,
        ignore_concurrency=True,
    )
    assert isinstance(result.outcome, Appended)
    assert result.state is not None
    assert result.state.balance_cents() == -60  # the no-overdraft rule was broken
    assert store.load(BANK, "account-A").state == result.state


def test_a_rejected_command_writes_nothing_and_says_why() -> None:
    store = _store_with_account(10)
    result = handle_command(
        store, BANK, WithdrawMoney(account_id="A", amount_cents=11), recorded_at_ms=1
    )
    assert isinstance(result.outcome, Rejected)
    assert result.events == ()
    assert store.head_position() == 2


def test_an_accepted_command_reports_its_events_state_and_how_it_loaded() -> None:
    store = _store_with_account(10)
    result = handle_command(
        store, BANK, DepositMoney(account_id="A", amount_cents=5), recorded_at_ms=1
    )
    assert result.events == (MoneyDeposited(account_id="A", amount_cents=5, currency="EUR"),)
    assert result.outcome == Appended(
        stream_id="account-A", version=3, first_position=3, last_position=3
    )
    assert (result.loaded.version, result.loaded.replayed) == (2, 2)
    assert result.state is not None
    assert result.state.balance_cents() == 15
