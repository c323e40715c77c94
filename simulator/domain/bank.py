"""Bank accounts: the smallest aggregate with a real invariant.

An account is opened, money is deposited and withdrawn, and the one rule is *no
overdraft*: a withdrawal larger than the balance is rejected. That rule is what
makes concurrency visible — two withdrawals decided against the same version
would each pass the check alone, and only the store's expected-version check
stops the second one (ignore it and the balance goes negative: a lost update).

This is schema 2 of the bank: deposits and withdrawals carry a currency and the
balance is kept per currency. Schema 1 (``bank_v1``) knew only an amount; its
stored events are read through the upcasters below, which fill in ``"EUR"`` —
the currency every v1 account implicitly used.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from simulator.domain.decider import Decider, Domain, Rejected
from simulator.domain.upcasting import Payload, Upcaster

__all__ = [
    "DOMAIN",
    "Account",
    "AccountEvent",
    "AccountOpened",
    "BankCommand",
    "DepositMoney",
    "MoneyDeposited",
    "MoneyWithdrawn",
    "OpenAccount",
    "WithdrawMoney",
    "decide",
    "evolve",
]

DEFAULT_CURRENCY = "EUR"
"""The currency schema 1 implied and the upcasters fill in."""


# -- commands -------------------------------------------------------------------


class OpenAccount(msgspec.Struct, frozen=True, kw_only=True, tag="account.open"):
    account_id: str
    owner: str


class DepositMoney(msgspec.Struct, frozen=True, kw_only=True, tag="account.deposit"):
    account_id: str
    amount_cents: int
    currency: str = DEFAULT_CURRENCY


class WithdrawMoney(msgspec.Struct, frozen=True, kw_only=True, tag="account.withdraw"):
    account_id: str
    amount_cents: int
    currency: str = DEFAULT_CURRENCY


BankCommand = OpenAccount | DepositMoney | WithdrawMoney


# -- events ---------------------------------------------------------------------


class AccountOpened(msgspec.Struct, frozen=True, kw_only=True, tag="account.opened", gc=False):
    SCHEMA_VERSION: ClassVar[int] = 1
    account_id: str
    owner: str


class MoneyDeposited(msgspec.Struct, frozen=True, kw_only=True, tag="account.deposited", gc=False):
    SCHEMA_VERSION: ClassVar[int] = 2
    account_id: str
    amount_cents: int
    currency: str


class MoneyWithdrawn(msgspec.Struct, frozen=True, kw_only=True, tag="account.withdrawn", gc=False):
    SCHEMA_VERSION: ClassVar[int] = 2
    account_id: str
    amount_cents: int
    currency: str


AccountEvent = AccountOpened | MoneyDeposited | MoneyWithdrawn


# -- state ----------------------------------------------------------------------


class Account(msgspec.Struct, frozen=True, kw_only=True):
    """What the decisions need: is it open, and how much is in it per currency."""

    opened: bool = False
    owner: str = ""
    balances_cents: dict[str, int] = msgspec.field(default_factory=dict)

    def balance_cents(self, currency: str = DEFAULT_CURRENCY) -> int:
        return self.balances_cents.get(currency, 0)


STATE_SCHEMA_VERSION = 2
"""Schema 1 kept a single ``balance_cents``; a v1 snapshot does not fit ``Account``."""


# -- decide and evolve ----------------------------------------------------------


def _amount_problem(amount_cents: int, currency: str) -> Rejected | None:
    if amount_cents <= 0:
        return Rejected(reason=f"amount must be positive, got {amount_cents} cents")
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        return Rejected(reason=f"currency must be a 3-letter ISO code, got {currency!r}")
    return None


def decide(command: BankCommand, state: Account) -> list[AccountEvent] | Rejected:
    match command:
        case OpenAccount(account_id=account_id, owner=owner):
            if state.opened:
                return Rejected(reason=f"account {account_id} is already open")
            return [AccountOpened(account_id=account_id, owner=owner)]
        case DepositMoney(account_id=account_id, amount_cents=amount, currency=currency):
            if not state.opened:
                return Rejected(reason=f"account {account_id} is not open")
            problem = _amount_problem(amount, currency)
            if problem is not None:
                return problem
            return [MoneyDeposited(account_id=account_id, amount_cents=amount, currency=currency)]
        case WithdrawMoney(account_id=account_id, amount_cents=amount, currency=currency):
            if not state.opened:
                return Rejected(reason=f"account {account_id} is not open")
            problem = _amount_problem(amount, currency)
            if problem is not None:
                return problem
            balance = state.balance_cents(currency)
            if amount > balance:
                return Rejected(
                    reason=(
                        f"insufficient funds: balance {balance} {currency} cents, "
                        f"withdrawal {amount} {currency} cents (no overdraft)"
                    )
                )
            return [MoneyWithdrawn(account_id=account_id, amount_cents=amount, currency=currency)]


def evolve(state: Account, event: AccountEvent) -> Account:
    match event:
        case AccountOpened(owner=owner):
            return Account(opened=True, owner=owner, balances_cents=state.balances_cents)
        case MoneyDeposited(amount_cents=amount, currency=currency):
            balances = dict(state.balances_cents)
            balances[currency] = balances.get(currency, 0) + amount
            return Account(opened=state.opened, owner=state.owner, balances_cents=balances)
        case MoneyWithdrawn(amount_cents=amount, currency=currency):
            balances = dict(state.balances_cents)
            balances[currency] = balances.get(currency, 0) - amount
            return Account(opened=state.opened, owner=state.owner, balances_cents=balances)


def stream_id(command: BankCommand) -> str:
    return f"account-{command.account_id}"


# -- schema 1 → 2 ---------------------------------------------------------------


def add_default_currency(payload: Payload) -> Payload:
    """v1 → v2: a v1 amount was always in euros."""
    return {**payload, "currency": DEFAULT_CURRENCY}


UPCASTERS = (
    Upcaster(event_type="account.deposited", from_version=1, upcast=add_default_currency),
    Upcaster(event_type="account.withdrawn", from_version=1, upcast=add_default_currency),
)


DOMAIN: Domain[BankCommand, AccountEvent, Account] = Domain(
    name="bank",
    summary="bank accounts: open, deposit, withdraw; no overdraft",
    decider=Decider(initial_state=Account(), decide=decide, evolve=evolve),
    command_types=(OpenAccount, DepositMoney, WithdrawMoney),
    event_types=(AccountOpened, MoneyDeposited, MoneyWithdrawn),
    state_type=Account,
    state_schema_version=STATE_SCHEMA_VERSION,
    stream_id=stream_id,
    upcasters=UPCASTERS,
)
