"""The broker models: one package per real system, what they share, and their registry.

``log`` is a Kafka-style partitioned log, ``rabbitmq`` RabbitMQ-style queues,
``sqs`` SQS-style standard and FIFO queues. ``handling`` records what a
consumer's handler does with a message, the same on every model, and
``queues`` holds what the two queue brokers share (publishing with confirms,
crash and restart by name, the consumer's life). Every model is built on the
Runtime port (``simulator.runtime``) and never sees the ``Simulation``; each
package exports one ``ModelSpec`` (``spec``), and ``registry`` lists them.
"""
