"""Bank accounts: no overdraft, balances per currency, and the schema-1 bank."""

from __future__ import annotations

import pytest

from simulator.domain import Rejected, bank, bank_v1
from simulator.domain.bank import (
    Account,
    AccountOpened,
    DepositMoney,
    MoneyDeposited,
    MoneyWithdrawn,
    OpenAccount,
    WithdrawMoney,
)


def accept(state: Account, command: bank.BankCommand) -> Account:
    events = bank.decide(command, state)
    assert isinstance(events, list), events
    for event in events:
        state = bank.evolve(state, event)
    return state


def opened(balance_cents: int = 0) -> Account:
    state = accept(Account(), OpenAccount(account_id="A", owner="ann"))
    if balance_cents:
        state = accept(state, DepositMoney(account_id="A", amount_cents=balance_cents))
    return state


def test_opening_records_the_owner_and_a_second_open_is_rejected() -> None:
    events = bank.decide(OpenAccount(account_id="A", owner="ann"), Account())
    assert events == [AccountOpened(account_id="A", owner="ann")]
    again = bank.decide(OpenAccount(account_id="A", owner="bob"), opened())
    assert again == Rejected(reason="account A is already open")


def test_money_moves_only_in_an_open_account() -> None:
    for command in (
        DepositMoney(account_id="A", amount_cents=5),
        WithdrawMoney(account_id="A", amount_cents=5),
    ):
        assert bank.decide(command, Account()) == Rejected(reason="account A is not open")


@pytest.mark.parametrize("amount_cents", [0, -5])
def test_amounts_must_be_positive(amount_cents: int) -> None:
    for command in (
        DepositMoney(account_id="A", amount_cents=amount_cents),
        WithdrawMoney(account_id="A", amount_cents=amount_cents),
    ):
        result = bank.decide(command, opened(100))
        assert isinstance(result, Rejected)
        assert "must be positive" in result.reason


@pytest.mark.parametrize("currency", ["eur", "EURO", "E1R", ""])
def test_currency_must_be_an_iso_code(currency: str) -> None:
    result = bank.decide(DepositMoney(account_id="A", amount_cents=5, currency=currency), opened())
    assert isinstance(result, Rejected)
    assert "3-letter" in result.reason


def test_withdrawing_more_than_the_balance_is_rejected_no_overdraft() -> None:
    result = bank.decide(WithdrawMoney(account_id="A", amount_cents=101), opened(100))
    assert result == Rejected(
        reason="insufficient funds: balance 100 EUR cents, withdrawal 101 EUR cents (no overdraft)"
    )


def test_withdrawing_the_whole_balance_leaves_zero() -> None:
    events = bank.decide(WithdrawMoney(account_id="A", amount_cents=100), opened(100))
    assert events == [MoneyWithdrawn(account_id="A", amount_cents=100, currency="EUR")]
    assert accept(opened(100), WithdrawMoney(account_id="A", amount_cents=100)).balance_cents() == 0


def test_balances_are_kept_per_currency() -> None:
    state = accept(opened(), DepositMoney(account_id="A", amount_cents=50, currency="USD"))
    assert state.balances_cents == {"USD": 50}
    result = bank.decide(WithdrawMoney(account_id="A", amount_cents=10), state)
    assert isinstance(result, Rejected)  # dollars do not fund a euro withdrawal
    state = accept(state, WithdrawMoney(account_id="A", amount_cents=10, currency="USD"))
    assert state.balance_cents("USD") == 40


def test_evolve_returns_a_new_state_and_leaves_the_old_one_alone() -> None:
    before = opened(10)
    after = bank.evolve(before, MoneyDeposited(account_id="A", amount_cents=5, currency="EUR"))
    assert (before.balance_cents(), after.balance_cents()) == (10, 15)


def test_commands_address_the_account_stream() -> None:
    assert bank.stream_id(DepositMoney(account_id="A7", amount_cents=1)) == "account-A7"


def test_the_upcaster_fills_in_euros_without_touching_its_input() -> None:
    v1 = {"type": "account.deposited", "account_id": "A", "amount_cents": 3}
    assert bank.add_default_currency(v1) == {**v1, "currency": "EUR"}
    assert "currency" not in v1


def test_the_schema_1_bank_keeps_one_balance_under_the_same_tags() -> None:
    state = bank_v1.AccountV1()
    for command in (
        OpenAccount(account_id="A", owner="ann"),
        bank_v1.DepositMoneyV1(account_id="A", amount_cents=30),
        bank_v1.WithdrawMoneyV1(account_id="A", amount_cents=10),
    ):
        events = bank_v1.decide(command, state)
        assert isinstance(events, list)
        state = bank_v1.DOMAIN.replay(events, state)
    assert state.balance_cents == 20
    overdraw = bank_v1.decide(bank_v1.WithdrawMoneyV1(account_id="A", amount_cents=21), state)
    assert isinstance(overdraw, Rejected)
    assert bank_v1.MoneyDepositedV1.__struct_config__.tag == MoneyDeposited.__struct_config__.tag
    assert (bank_v1.MoneyDepositedV1.SCHEMA_VERSION, MoneyDeposited.SCHEMA_VERSION) == (1, 2)
