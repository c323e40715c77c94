"""Shop orders: an aggregate that is a state machine.

An order is placed, then paid and its stock reserved — in either order, as in
Amazon's checkout where payment authorisation and inventory reservation run in
parallel — and only an order that is both paid and reserved may ship. It may be
cancelled until it ships; cancelling also releases reserved stock and refunds a
payment, so one command can cause several events. Every rule lives in
``decide``; ``evolve`` only records what happened and never says no.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import msgspec

from simulator.domain.decider import Decider, Domain, Rejected

__all__ = [
    "DOMAIN",
    "CancelOrder",
    "Order",
    "OrderCancelled",
    "OrderCommand",
    "OrderEvent",
    "OrderLine",
    "OrderPlaced",
    "OrderShipped",
    "PayOrder",
    "PaymentReceived",
    "PaymentRefunded",
    "PlaceOrder",
    "ReserveStock",
    "ShipOrder",
    "StockReleased",
    "StockReserved",
    "decide",
    "evolve",
]


class OrderLine(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    sku: str
    quantity: int
    unit_price_cents: int


# -- commands -------------------------------------------------------------------


class PlaceOrder(msgspec.Struct, frozen=True, kw_only=True, tag="order.place"):
    order_id: str
    customer_id: str
    lines: tuple[OrderLine, ...]


class ReserveStock(msgspec.Struct, frozen=True, kw_only=True, tag="order.reserve_stock"):
    order_id: str


class PayOrder(msgspec.Struct, frozen=True, kw_only=True, tag="order.pay"):
    order_id: str
    amount_cents: int


class ShipOrder(msgspec.Struct, frozen=True, kw_only=True, tag="order.ship"):
    order_id: str


class CancelOrder(msgspec.Struct, frozen=True, kw_only=True, tag="order.cancel"):
    order_id: str
    reason: str


OrderCommand = PlaceOrder | ReserveStock | PayOrder | ShipOrder | CancelOrder


# -- events ---------------------------------------------------------------------


class OrderPlaced(msgspec.Struct, frozen=True, kw_only=True, tag="order.placed"):
    SCHEMA_VERSION: ClassVar[int] = 1
    order_id: str
    customer_id: str
    lines: tuple[OrderLine, ...]
    total_cents: int


class StockReserved(msgspec.Struct, frozen=True, kw_only=True, tag="order.stock_reserved"):
    SCHEMA_VERSION: ClassVar[int] = 1
    order_id: str


class PaymentReceived(msgspec.Struct, frozen=True, kw_only=True, tag="order.paid"):
    SCHEMA_VERSION: ClassVar[int] = 1
    order_id: str
    amount_cents: int


class OrderShipped(msgspec.Struct, frozen=True, kw_only=True, tag="order.shipped"):
    SCHEMA_VERSION: ClassVar[int] = 1
    order_id: str


class OrderCancelled(msgspec.Struct, frozen=True, kw_only=True, tag="order.cancelled"):
    SCHEMA_VERSION: ClassVar[int] = 1
    order_id: str
    reason: str


class StockReleased(msgspec.Struct, frozen=True, kw_only=True, tag="order.stock_released"):
    SCHEMA_VERSION: ClassVar[int] = 1
    order_id: str


class PaymentRefunded(msgspec.Struct, frozen=True, kw_only=True, tag="order.refunded"):
    SCHEMA_VERSION: ClassVar[int] = 1
    order_id: str
    amount_cents: int


OrderEvent = (
    OrderPlaced
    | StockReserved
    | PaymentReceived
    | OrderShipped
    | OrderCancelled
    | StockReleased
    | PaymentRefunded
)


# -- state ----------------------------------------------------------------------

OrderStatus = Literal["new", "placed", "shipped", "cancelled"]


class Order(msgspec.Struct, frozen=True, kw_only=True):
    status: OrderStatus = "new"
    """``new`` before it is placed; ``shipped`` and ``cancelled`` are final."""
    total_cents: int = 0
    paid_cents: int = 0
    stock_reserved: bool = False


STATE_SCHEMA_VERSION = 1


# -- decide and evolve ----------------------------------------------------------


def _not_open(order_id: str, state: Order) -> Rejected | None:
    """Only a placed order that has not shipped or been cancelled takes commands."""
    if state.status == "new":
        return Rejected(reason=f"order {order_id} has not been placed")
    if state.status != "placed":
        return Rejected(reason=f"order {order_id} is already {state.status}")
    return None


def decide(command: OrderCommand, state: Order) -> list[OrderEvent] | Rejected:
    match command:
        case PlaceOrder(order_id=order_id, customer_id=customer_id, lines=lines):
            if state.status != "new":
                return Rejected(reason=f"order {order_id} was already placed")
            if not lines:
                return Rejected(reason="an order needs at least one line")
            for line in lines:
                if line.quantity <= 0 or line.unit_price_cents <= 0:
                    return Rejected(reason=f"line {line.sku}: quantity and price must be positive")
            total = sum(line.quantity * line.unit_price_cents for line in lines)
            return [
                OrderPlaced(
                    order_id=order_id, customer_id=customer_id, lines=lines, total_cents=total
                )
            ]
        case ReserveStock(order_id=order_id):
            problem = _not_open(order_id, state)
            if problem is not None:
                return problem
            if state.stock_reserved:
                return Rejected(reason=f"stock for order {order_id} is already reserved")
            return [StockReserved(order_id=order_id)]
        case PayOrder(order_id=order_id, amount_cents=amount):
            problem = _not_open(order_id, state)
            if problem is not None:
                return problem
            if state.paid_cents:
                return Rejected(reason=f"order {order_id} is already paid")
            if amount != state.total_cents:
                return Rejected(
                    reason=f"payment of {amount} cents does not match the total "
                    f"{state.total_cents} cents"
                )
            return [PaymentReceived(order_id=order_id, amount_cents=amount)]
        case ShipOrder(order_id=order_id):
            problem = _not_open(order_id, state)
            if problem is not None:
                return problem
            missing = []
            if not state.paid_cents:
                missing.append("not paid")
            if not state.stock_reserved:
                missing.append("stock not reserved")
            if missing:
                return Rejected(reason=f"cannot ship order {order_id}: {', '.join(missing)}")
            return [OrderShipped(order_id=order_id)]
        case CancelOrder(order_id=order_id, reason=reason):
            problem = _not_open(order_id, state)
            if problem is not None:
                return problem
            events: list[OrderEvent] = [OrderCancelled(order_id=order_id, reason=reason)]
            if state.stock_reserved:
                events.append(StockReleased(order_id=order_id))
            if state.paid_cents:
                events.append(PaymentRefunded(order_id=order_id, amount_cents=state.paid_cents))
            return events


def evolve(state: Order, event: OrderEvent) -> Order:
    replace = msgspec.structs.replace
    match event:
        case OrderPlaced(total_cents=total):
            return replace(state, status="placed", total_cents=total)
        case StockReserved():
            return replace(state, stock_reserved=True)
        case PaymentReceived(amount_cents=amount):
            return replace(state, paid_cents=amount)
        case OrderShipped():
            return replace(state, status="shipped")
        case OrderCancelled():
            return replace(state, status="cancelled")
        case StockReleased():
            return replace(state, stock_reserved=False)
        case PaymentRefunded():
            return replace(state, paid_cents=0)


def stream_id(command: OrderCommand) -> str:
    return f"order-{command.order_id}"


DOMAIN: Domain[OrderCommand, OrderEvent, Order] = Domain(
    name="orders",
    summary="shop orders: place, pay, reserve stock, ship, cancel (a state machine)",
    decider=Decider(initial_state=Order(), decide=decide, evolve=evolve),
    command_types=(PlaceOrder, ReserveStock, PayOrder, ShipOrder, CancelOrder),
    event_types=(
        OrderPlaced,
        StockReserved,
        PaymentReceived,
        OrderShipped,
        OrderCancelled,
        StockReleased,
        PaymentRefunded,
    ),
    state_type=Order,
    state_schema_version=STATE_SCHEMA_VERSION,
    stream_id=stream_id,
)
