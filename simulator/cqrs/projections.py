"""Projections: how a read model is folded from events, one pure function per view.

A read model is a table — row key to value — built by applying events in log
order. A projection is that apply step: ``apply(table, event)`` changes at most
one row and names it. Because a projection is a fold, a fresh fold of the
whole log is the reference every read model is judged against; a projector
that double-applies or skips an event ends up with a different table. A
projection with ``reference`` set is a deliberately *buggy* version of that
reference (the projection-bug lesson), so the checker judges it by the fixed
code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from simulator.domain import bank, orders, rides

if TYPE_CHECKING:
    from simulator.store import StoredEvent

__all__ = [
    "PROJECTIONS",
    "Projection",
    "ProjectionCode",
    "Table",
    "fold",
    "reference_of",
    "table_digest",
]

Table = dict[str, int | str]
"""A read model: row key → value (a balance in cents, ``"x,y"``, a status …)."""

Apply = Callable[[Table, Any], str | None]
"""Apply one decoded event to the table in place; return the row it changed (None: none)."""


class ProjectionCode(Protocol):
    """A projector's own ``apply`` (``simulator.usercode.projection``), behind a ``Projection``."""

    def read(self, stored: StoredEvent, decoded: Any) -> Any:
        """What ``apply`` is handed for ``stored``: the event with its stream, version, position."""
        ...

    def use(self, store: dict[str, Any], cause: int | None) -> None:
        """The projector's own table and the cause for the next ``apply``."""
        ...

    def fresh(self) -> Projection:
        """The same code on a fresh, silent table: for folding the whole log once."""
        ...


@dataclass(frozen=True)
class Projection:
    name: str
    domain: str
    summary: str
    apply: Apply
    row_of: Callable[[Any], str | None]
    """The row an event addresses (for per-row idempotency), without applying it."""
    reference: str | None = None
    """A buggy projection names the correct one the checker compares it with."""
    code: ProjectionCode | None = None
    """User code: the projector's own apply (its read model is judged by ``reference``)."""


def _add(table: Table, row: str, delta: int) -> str:
    current = table.get(row, 0)
    assert isinstance(current, int)
    table[row] = current + delta
    return row


def _balances(table: Table, event: Any) -> str | None:
    match event:
        case bank.AccountOpened(account_id=a):
            return _add(table, a, 0)
        case bank.MoneyDeposited(account_id=a, amount_cents=n):
            return _add(table, a, n)
        case bank.MoneyWithdrawn(account_id=a, amount_cents=n):
            return _add(table, a, -n)
    return None


def _balances_sign_bug(table: Table, event: Any) -> str | None:
    """Version 1 of the balance view, with the bug: withdrawals are *added*."""
    match event:
        case bank.AccountOpened(account_id=a):
            return _add(table, a, 0)
        case (
            bank.MoneyDeposited(account_id=a, amount_cents=n)
            | bank.MoneyWithdrawn(account_id=a, amount_cents=n)
        ):
            return _add(table, a, n)
    return None


def _account_row(event: Any) -> str | None:
    return getattr(event, "account_id", None)


def _driver_locations(table: Table, event: Any) -> str | None:
    if isinstance(event, rides.DriverLocationUpdated):
        table[event.driver_id] = f"{event.x_m},{event.y_m}"
        return event.driver_id
    return None


def _driver_row(event: Any) -> str | None:
    return event.driver_id if isinstance(event, rides.DriverLocationUpdated) else None


_ORDER_STATUS: dict[type[Any], str] = {
    orders.OrderPlaced: "placed",
    orders.StockReserved: "reserved",
    orders.PaymentReceived: "paid",
    orders.OrderShipped: "shipped",
    orders.OrderCancelled: "cancelled",
}


def _order_status(table: Table, event: Any) -> str | None:
    status = _ORDER_STATUS.get(type(event))
    if status is None:
        return None
    table[event.order_id] = status
    return str(event.order_id)


def _order_row(event: Any) -> str | None:
    return str(event.order_id) if type(event) in _ORDER_STATUS else None


PROJECTIONS: dict[str, Projection] = {
    p.name: p
    for p in (
        Projection("balances", "bank", "balance per account, in cents", _balances, _account_row),
        Projection(
            "balances-sign-bug",
            "bank",
            "balance per account with a bug: withdrawals are added",
            _balances_sign_bug,
            _account_row,
            reference="balances",
        ),
        Projection(
            "driver-locations",
            "rides",
            "last known location per driver, as x,y metres",
            _driver_locations,
            _driver_row,
        ),
        Projection("order-status", "orders", "latest status per order", _order_status, _order_row),
    )
}


def reference_of(projection: Projection) -> Projection:
    """The projection a read model built with ``projection`` is judged by (itself, unless buggy)."""
    return PROJECTIONS[projection.reference or projection.name]


def fold(projection: Projection, events: Iterable[Any]) -> Table:
    """The read model a correct projector builds: every event applied once, in log order."""
    table: Table = {}
    apply = projection.apply
    for event in events:
        apply(table, event)
    return table


def table_digest(tables: dict[str, Table]) -> str:
    """SHA-256 of the tables with rows in sorted order: equal tables, equal digests."""
    ordered = {name: sorted(t.items()) for name, t in sorted(tables.items())}
    return hashlib.sha256(msgspec.json.encode(ordered)).hexdigest()
