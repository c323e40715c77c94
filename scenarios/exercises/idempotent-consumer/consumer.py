"""Charge each payment exactly once.

Payments reach the billing group at least once: after a crash the group reads
again from its last committed offset, and when the shop does not hear back from
the broker it sends the payment again. This naive handler charges every
delivery it gets, so a payment delivered twice is charged twice.

Grade it: ``evsim exercise grade`` (from this folder). Then fix it — see README.md.
"""

from evsim import Context, Message, handler


@handler
def handle(message: Message, ctx: Context) -> None:
    ctx.effect("charge", key=message.key)
