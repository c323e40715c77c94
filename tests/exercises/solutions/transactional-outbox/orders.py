"""Reference solution: the event goes into the outbox, in the order's own transaction."""

from evsim import Context, Message, handler


@handler
def place(message: Message, ctx: Context) -> None:
    order = message.key or message.ref
    ctx.store.put(f"order:{order}", {"item": message.value, "status": "placed"})
    ctx.store.outbox("order-events", f"order-placed {order}", key=order)
