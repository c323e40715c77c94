"""What the queue brokers (RabbitMQ-style, SQS-style) share.

Both take a message from a publisher that waits for the broker's answer
(``publisher``), and both run consumers that crash, restart and retry the same
way (``consumer``); how a message is delivered and settled stays in each model.
"""
