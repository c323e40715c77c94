"""What the queue brokers (RabbitMQ-style, SQS-style) share.

Both take a message from a publisher that waits for the broker's answer
(``publisher``), both crash, restart and find components by name the same
way (``broker``), and both run consumers whose crashes, retries and handler
outcomes are recorded alike (``consumer``). How a message is delivered and
settled stays in each model.
"""
