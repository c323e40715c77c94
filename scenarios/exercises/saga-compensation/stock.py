"""Reserve one unit of stock per order, and give it back when the saga is undone.

The orchestrator sends ``stock.do`` for an order; this step reserves a unit
(``ctx.effect("stock", amount=+1)``). When payment fails, or a step does not
answer within the timeout, it sends ``stock.undo``, and the compensation gives
the unit back (``amount=-1``). This naive version does exactly that — once per
message. But messages come at least once: after a crash the stock service reads
a ``do`` or an ``undo`` again, and an undo may come for a step whose outcome
the orchestrator does not know.

Grade it: ``evsim exercise grade`` (from this folder). Then fix it — see README.md.
"""

from evsim import Context, saga_step


def release(saga: str, ctx: Context) -> None:
    ctx.effect("stock", amount=-1)


@saga_step(compensation=release)
def reserve(saga: str, ctx: Context) -> None:
    ctx.effect("stock", amount=+1)
