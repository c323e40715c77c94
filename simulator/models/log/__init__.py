"""A Kafka-style partitioned log broker (follows Apache Kafka 3.x defaults).

Read the modules in this order: ``partitioner`` (where a record goes),
``partition`` (the append-only log and its offsets), ``producer`` (acks,
retries, idempotence), ``assignors`` and ``group`` (who reads which partition),
``consumer`` (poll, process, commit), ``broker`` (wiring it together).
``settings`` lists what the trace header shows and ``spec`` describes the
model to the registry (``LOG``).
"""

from simulator.models.log.spec import LOG

__all__ = ["LOG"]
