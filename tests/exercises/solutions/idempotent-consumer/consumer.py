"""Reference solution: a dedup table in the group's store, written in the call's transaction."""

from evsim import Context, Message, handler


@handler
def handle(message: Message, ctx: Context) -> None:
    charged = f"charged:{message.id}"
    if charged in ctx.store:
        ctx.log(f"{message.ref} again: charged already, skipped")
        return
    ctx.effect("charge", key=message.key)
    ctx.store.put(charged, True)
