"""The broker models: one package per real system, and what they share.

``log`` is a Kafka-style partitioned log, ``rabbitmq`` RabbitMQ-style queues,
``sqs`` SQS-style standard and FIFO queues. ``handling`` records what a
consumer's handler does with a message, the same on every model, and
``queues`` holds what the two queue brokers share (publishing with confirms,
the consumer's bookkeeping). Every model is built on the Runtime port
(``simulator.runtime``) and never sees the ``Simulation``.
"""
