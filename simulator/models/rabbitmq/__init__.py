"""A RabbitMQ-style broker: exchanges route to queues, consumers compete and ack.

Modules, read in this order: ``exchange`` (routing), ``queue`` (ready
messages, prefetch, delivery tags, requeue, TTL, length limits), ``consumer``
(auto-ack vs manual ack, nack and requeue loops) and ``broker`` (wiring,
publisher confirms and dead-lettering). ``settings`` declares the model's
``[rabbitmq]`` and ``[groups.rabbitmq]`` sections and ``spec`` describes the
model to the registry (``RABBITMQ``).
"""

from simulator.models.rabbitmq.spec import RABBITMQ

__all__ = ["RABBITMQ"]
