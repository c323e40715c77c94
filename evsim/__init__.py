"""evsim for your own code: the API a handler, projector, decider or saga step is written in.

A scenario names your function (``handler = "my_consumer.py:handle"``) and
evsim runs it inside the simulation, under the same brokers and faults as
everything else::

    from evsim import Context, Message, handler

    @handler
    def handle(message: Message, ctx: Context) -> None:
        if ctx.store.get(f"seen:{message.id}"):
            return  # a redelivery: charged already
        ctx.effect("charge", key=message.key)
        ctx.store.put(f"seen:{message.id}", True)

Mark each function with its role (``handler``, ``projector``, ``decider``,
``command_handler``, ``saga_step``); take time from ``ctx.now_ms`` and
randomness from ``ctx.rng``, keep state in ``ctx.store`` — never in module
variables, the machine's clock or the global ``random``. ``docs/exercises.md``
walks through it; ``evsim exercise list`` shows exercises that grade your code.
"""

from simulator.usercode.api import (
    Command,
    Context,
    Event,
    Loaded,
    Message,
    Rejected,
    UsageError,
    VersionConflict,
    command_handler,
    decider,
    handler,
    projector,
    saga_step,
)
from simulator.usercode.store import Store

__all__ = [
    "Command",
    "Context",
    "Event",
    "Loaded",
    "Message",
    "Rejected",
    "Store",
    "UsageError",
    "VersionConflict",
    "command_handler",
    "decider",
    "handler",
    "projector",
    "saga_step",
]
