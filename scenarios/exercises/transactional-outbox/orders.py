"""Save each order, and publish that it was placed — but only if it was saved.

This naive handler does both, one after the other: it writes the order into the
service's store and publishes an ``order-placed`` event with ``ctx.publish``.
The store write commits when the handler returns; the publish happens at once.
So when the commit fails (the database refuses it), the event is already out:
the shipping service prepares a parcel for an order that does not exist.

Grade it: ``evsim exercise grade`` (from this folder). Then fix it — see README.md.
"""

from evsim import Context, Message, handler


@handler
def place(message: Message, ctx: Context) -> None:
    order = message.key or message.ref
    ctx.store.put(f"order:{order}", {"item": message.value, "status": "placed"})
    ctx.publish("order-events", f"order-placed {order}", key=order)
