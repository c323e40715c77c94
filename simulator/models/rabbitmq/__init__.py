"""A RabbitMQ-style broker: exchanges route to queues, consumers compete and ack.

Modules, read in this order: ``exchange`` (routing), ``queue`` (ready
messages, prefetch, delivery tags, requeue, TTL, length limits), ``consumer``
(auto-ack vs manual ack, nack and requeue loops) and ``broker`` (wiring,
publisher confirms and dead-lettering).
"""

from simulator.models.rabbitmq.broker import FOLLOWS, RabbitBroker

__all__ = ["FOLLOWS", "RabbitBroker"]
