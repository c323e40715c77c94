"""Apply each product's price updates in their order, each once.

Every update carries its place in its product's order: ``message.key_seq`` is
1, 2, 3 … per product. This naive handler applies each update the moment it
arrives. With two competing consumers that is not the order they were sent in:
a crashed consumer's unacked updates go back to the queue and reach the other
consumer late, and an update can arrive twice.

Grade it: ``evsim exercise grade`` (from this folder). Then fix it — see README.md.
"""

from evsim import Context, Message, handler


@handler
def handle(message: Message, ctx: Context) -> None:
    ctx.effect("apply", key=message.key, seq=message.key_seq)
