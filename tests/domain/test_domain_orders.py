"""Shop orders: a state machine — ship only when paid and reserved, cancel until shipped."""

from __future__ import annotations

from simulator.domain import Rejected, orders
from simulator.domain.orders import (
    CancelOrder,
    Order,
    OrderCancelled,
    OrderLine,
    OrderPlaced,
    OrderShipped,
    PaymentRefunded,
    PayOrder,
    PlaceOrder,
    ReserveStock,
    ShipOrder,
    StockReleased,
)

LINES = (
    OrderLine(sku="book", quantity=2, unit_price_cents=1500),
    OrderLine(sku="pen", quantity=1, unit_price_cents=200),
)


def accept(state: Order, *commands: orders.OrderCommand) -> Order:
    for command in commands:
        events = orders.decide(command, state)
        assert isinstance(events, list), events
        state = orders.DOMAIN.replay(events, state)
    return state


def placed() -> Order:
    return accept(Order(), PlaceOrder(order_id="o1", customer_id="c1", lines=LINES))


def test_placing_computes_the_total_and_a_second_place_is_rejected() -> None:
    events = orders.decide(PlaceOrder(order_id="o1", customer_id="c1", lines=LINES), Order())
    assert events == [OrderPlaced(order_id="o1", customer_id="c1", lines=LINES, total_cents=3200)]
    again = orders.decide(PlaceOrder(order_id="o1", customer_id="c1", lines=LINES), placed())
    assert again == Rejected(reason="order o1 was already placed")


def test_an_order_needs_lines_with_positive_quantity_and_price() -> None:
    for lines in (
        (),
        (OrderLine(sku="x", quantity=0, unit_price_cents=1),),
        (OrderLine(sku="x", quantity=1, unit_price_cents=0),),
    ):
        result = orders.decide(PlaceOrder(order_id="o1", customer_id="c", lines=lines), Order())
        assert isinstance(result, Rejected)


def test_nothing_happens_to_an_order_that_was_never_placed() -> None:
    for command in (
        ReserveStock(order_id="o1"),
        PayOrder(order_id="o1", amount_cents=1),
        ShipOrder(order_id="o1"),
        CancelOrder(order_id="o1", reason="x"),
    ):
        assert orders.decide(command, Order()) == Rejected(reason="order o1 has not been placed")


def test_payment_must_match_the_total_and_happens_once() -> None:
    wrong = orders.decide(PayOrder(order_id="o1", amount_cents=100), placed())
    assert isinstance(wrong, Rejected)
    assert "does not match the total 3200" in wrong.reason
    paid = accept(placed(), PayOrder(order_id="o1", amount_cents=3200))
    assert orders.decide(PayOrder(order_id="o1", amount_cents=3200), paid) == Rejected(
        reason="order o1 is already paid"
    )


def test_shipping_needs_payment_and_stock_and_says_what_is_missing() -> None:
    assert orders.decide(ShipOrder(order_id="o1"), placed()) == Rejected(
        reason="cannot ship order o1: not paid, stock not reserved"
    )
    reserved = accept(placed(), ReserveStock(order_id="o1"))
    assert orders.decide(ShipOrder(order_id="o1"), reserved) == Rejected(
        reason="cannot ship order o1: not paid"
    )


def test_payment_and_reservation_may_come_in_either_order() -> None:
    pay = PayOrder(order_id="o1", amount_cents=3200)
    reserve = ReserveStock(order_id="o1")
    for first, second in ((pay, reserve), (reserve, pay)):
        ready = accept(placed(), first, second)
        assert orders.decide(ShipOrder(order_id="o1"), ready) == [OrderShipped(order_id="o1")]


def test_cancelling_a_paid_reserved_order_releases_stock_and_refunds() -> None:
    ready = accept(
        placed(), PayOrder(order_id="o1", amount_cents=3200), ReserveStock(order_id="o1")
    )
    events = orders.decide(CancelOrder(order_id="o1", reason="changed mind"), ready)
    assert events == [
        OrderCancelled(order_id="o1", reason="changed mind"),
        StockReleased(order_id="o1"),
        PaymentRefunded(order_id="o1", amount_cents=3200),
    ]
    assert orders.DOMAIN.replay(events, ready) == Order(
        status="cancelled", total_cents=3200, paid_cents=0, stock_reserved=False
    )


def test_final_states_take_no_more_commands() -> None:
    shipped = accept(
        placed(),
        PayOrder(order_id="o1", amount_cents=3200),
        ReserveStock(order_id="o1"),
        ShipOrder(order_id="o1"),
    )
    assert orders.decide(CancelOrder(order_id="o1", reason="late"), shipped) == Rejected(
        reason="order o1 is already shipped"
    )
    cancelled = accept(placed(), CancelOrder(order_id="o1", reason="x"))
    assert orders.decide(ReserveStock(order_id="o1"), cancelled) == Rejected(
        reason="order o1 is already cancelled"
    )


def test_stock_is_reserved_once() -> None:
    reserved = accept(placed(), ReserveStock(order_id="o1"))
    result = orders.decide(ReserveStock(order_id="o1"), reserved)
    assert result == Rejected(reason="stock for order o1 is already reserved")
