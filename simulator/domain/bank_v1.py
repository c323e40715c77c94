"""The bank as it was before currencies: schema 1, kept to write old events.

An upcasting lesson needs a log written by yesterday's code. This module is that
code: deposits and withdrawals carry only ``amount_cents`` and the state keeps a
single ``balance_cents``. Its events share their tags with today's bank
(``"account.deposited"`` …) but are stored with schema version 1, so the current
``bank`` domain reads them through its upcasters, and a snapshot taken here
(state schema 1) is discarded by today's bank rather than misread.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from simulator.domain.bank import AccountOpened, OpenAccount
from simulator.domain.decider import Decider, Domain, Rejected

__all__ = [
    "DOMAIN",
    "AccountV1",
    "DepositMoneyV1",
    "MoneyDepositedV1",
    "MoneyWithdrawnV1",
    "WithdrawMoneyV1",
]


class DepositMoneyV1(msgspec.Struct, frozen=True, kw_only=True, tag="account.deposit"):
    account_id: str
    amount_cents: int


class WithdrawMoneyV1(msgspec.Struct, frozen=True, kw_only=True, tag="account.withdraw"):
    account_id: str
    amount_cents: int


BankCommandV1 = OpenAccount | DepositMoneyV1 | WithdrawMoneyV1


class MoneyDepositedV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="account.deposited", gc=False
):
    SCHEMA_VERSION: ClassVar[int] = 1
    account_id: str
    amount_cents: int


class MoneyWithdrawnV1(
    msgspec.Struct, frozen=True, kw_only=True, tag="account.withdrawn", gc=False
):
    SCHEMA_VERSION: ClassVar[int] = 1
    account_id: str
    amount_cents: int


AccountEventV1 = AccountOpened | MoneyDepositedV1 | MoneyWithdrawnV1


class AccountV1(msgspec.Struct, frozen=True, kw_only=True):
    opened: bool = False
    owner: str = ""
    balance_cents: int = 0


def decide(command: BankCommandV1, state: AccountV1) -> list[AccountEventV1] | Rejected:
    match command:
        case OpenAccount(account_id=account_id, owner=owner):
            if state.opened:
                return Rejected(reason=f"account {account_id} is already open")
            return [AccountOpened(account_id=account_id, owner=owner)]
        case DepositMoneyV1(account_id=account_id, amount_cents=amount):
            if not state.opened:
                return Rejected(reason=f"account {account_id} is not open")
            if amount <= 0:
                return Rejected(reason=f"amount must be positive, got {amount} cents")
            return [MoneyDepositedV1(account_id=account_id, amount_cents=amount)]
        case WithdrawMoneyV1(account_id=account_id, amount_cents=amount):
            if not state.opened:
                return Rejected(reason=f"account {account_id} is not open")
            if amount <= 0:
                return Rejected(reason=f"amount must be positive, got {amount} cents")
            if amount > state.balance_cents:
                return Rejected(
                    reason=(
                        f"insufficient funds: balance {state.balance_cents} cents, "
                        f"withdrawal {amount} cents (no overdraft)"
                    )
                )
            return [MoneyWithdrawnV1(account_id=account_id, amount_cents=amount)]


def evolve(state: AccountV1, event: AccountEventV1) -> AccountV1:
    match event:
        case AccountOpened(owner=owner):
            return AccountV1(opened=True, owner=owner, balance_cents=state.balance_cents)
        case MoneyDepositedV1(amount_cents=amount):
            return msgspec.structs.replace(state, balance_cents=state.balance_cents + amount)
        case MoneyWithdrawnV1(amount_cents=amount):
            return msgspec.structs.replace(state, balance_cents=state.balance_cents - amount)


def stream_id(command: BankCommandV1) -> str:
    return f"account-{command.account_id}"


DOMAIN: Domain[BankCommandV1, AccountEventV1, AccountV1] = Domain(
    name="bank-v1",
    summary="bank accounts before currencies (schema 1), to write events for upcasting",
    decider=Decider(initial_state=AccountV1(), decide=decide, evolve=evolve),
    command_types=(OpenAccount, DepositMoneyV1, WithdrawMoneyV1),
    event_types=(AccountOpened, MoneyDepositedV1, MoneyWithdrawnV1),
    state_type=AccountV1,
    state_schema_version=1,
    stream_id=stream_id,
)
