"""The broker models a scenario can name, and what the simulation needs of each.

Every model is built from the same scenario sections — topics that producers
write to, groups that read them with competing consumers — so one workload
runs on any model and the checker judges them all by the same books.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from simulator.messages import Message

if TYPE_CHECKING:
    pass

__all__ = ["BrokerModel", "broker_model"]


class BrokerModel(Protocol):
    """What ``Simulation`` asks of a broker model."""

    def send(self, msg: Message) -> None:
        """The workload hands ``msg`` to its producer."""

    def crash(self, target: str, point: str | None) -> int:
        """Crash component ``target``; return the seq of its ``Crashed`` record."""

    def restart(self, target: str, cause_seq: int | None) -> None:
        """Bring ``target`` back after a crash."""


def broker_model(name: str) -> tuple[str, Any]:
    """(follows, class) of the broker model called ``name``."""
    if name == "log":
        from simulator.models.log import FOLLOWS, LogBroker

        return FOLLOWS, LogBroker
    if name == "rabbitmq":
        from simulator.models.rabbitmq import FOLLOWS as RABBITMQ_FOLLOWS
        from simulator.models.rabbitmq import RabbitBroker

        return RABBITMQ_FOLLOWS, RabbitBroker
    if name in ("sqs", "sqs-fifo"):
        from simulator.models.sqs import FIFO_FOLLOWS, STANDARD_FOLLOWS, SqsBroker

        return (FIFO_FOLLOWS if name == "sqs-fifo" else STANDARD_FOLLOWS), SqsBroker
    raise ValueError(f"unknown broker model {name!r}")
