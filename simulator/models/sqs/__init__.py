"""An SQS-style queue service: standard and FIFO queues, SNS-style fan-out, a Lambda trigger.

Modules, read in this order: ``queue`` (visibility timeout, receipt handles,
receive counts, redrive, FIFO message groups and deduplication), ``consumer``
(receive–process–delete, and the Lambda-style event source mapping) and
``broker`` (topics, the API over the network, DLQ redrive). ``settings``
declares the ``[sqs]`` and ``[groups.sqs]`` sections and ``spec`` describes
the standard and the FIFO model to the registry (``SQS``, ``SQS_FIFO``).
"""

from simulator.models.sqs.spec import SQS, SQS_FIFO

__all__ = ["SQS", "SQS_FIFO"]
