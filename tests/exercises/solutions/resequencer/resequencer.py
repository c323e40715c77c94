"""Reference solution: the next number expected per key, and early updates held in the store."""

from evsim import Context, Message, handler


@handler
def handle(message: Message, ctx: Context) -> None:
    key = message.key or ""
    expected = ctx.store.get(f"next:{key}", 1)
    held = f"held:{key}:{message.key_seq}"
    if message.key_seq < expected or held in ctx.store:
        return  # a repeat: applied, or held, already
    if message.key_seq > expected:
        ctx.store.put(held, message.ref)  # early: wait for the ones before it
        return
    ctx.effect("apply", key=key, seq=message.key_seq, ref=message.ref)
    expected += 1
    while (ref := ctx.store.get(f"held:{key}:{expected}")) is not None:
        ctx.effect("apply", key=key, seq=expected, ref=ref)
        ctx.store.delete(f"held:{key}:{expected}")
        expected += 1
    ctx.store.put(f"next:{key}", expected)
