"""An SQS-style queue service: standard and FIFO queues, SNS-style fan-out, a Lambda trigger.

Modules, read in this order: ``queue`` (visibility timeout, receipt handles,
receive counts, redrive, FIFO message groups and deduplication), ``consumer``
(receive–process–delete, and the Lambda-style event source mapping) and
``broker`` (topics, the API over the network, DLQ redrive).
"""

from simulator.models.sqs.broker import FIFO_FOLLOWS, STANDARD_FOLLOWS, SqsBroker

__all__ = ["FIFO_FOLLOWS", "STANDARD_FOLLOWS", "SqsBroker"]
