"""Stream processing in the style of Kafka Streams and Apache Flink.

``windows`` says which windows an event time belongs to, ``operator`` keeps
keyed windowed aggregates with watermarks and allowed lateness, ``changelog``
encodes the state store as records of a changelog topic, ``processor`` runs the
operator inside a Kafka-style consumer group, and ``plugin`` is how a group
names a processor. ``books`` counts results for expectations; ``bench``
measures throughput.
"""
