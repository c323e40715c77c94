"""How fast the windowed aggregation runs, alone and inside a whole simulation.

``bench_streams(records)`` measures two things with ``time.perf_counter`` (the
only wall clock in the core, and it never touches a trace): the bare
``WindowOperator`` counting ``records`` out-of-order events per key in tumbling
windows, and a full simulation in which a producer writes ``records`` records
and a stream-processor group aggregates them with a changelog — broker, consumer
loop, trace records and all.
"""

from __future__ import annotations

import time

from simulator.scenario import decode_scenario
from simulator.simulation import Simulation
from simulator.streams.operator import WindowOperator

__all__ = ["bench_streams"]

_SCENARIO = """
title = {{ en = "bench", ko = "bench" }}
summary = {{ en = "bench", ko = "bench" }}
settle_ms = 1000

[[topics]]
name = "in"
partitions = 4

[[topics]]
name = "changelog"
partitions = 4

[[producers]]
name = "p"
topic = "in"

[[processors]]
kind = "stream"
name = "count"
size_ms = 1000
max_out_of_orderness_ms = 200
changelog_topic = "changelog"
idle_flush_ms = 1000

[[groups]]
name = "g"
topic = "in"
processor = "count"
commit = "after-process"
auto_offset_reset = "earliest"
processing_ms = 0

[[workload.generators]]
producer = "p"
count = {records}
rate_per_s = 10000
keys = 50
key_choice = "random"
event_time_skew_ms = 150
"""


def _operator_rate(records: int) -> float:
    op = WindowOperator(size_ms=1_000, max_out_of_orderness_ms=200)
    keys = [f"key-{i}" for i in range(50)]
    start = time.perf_counter()
    for i in range(records):
        # 10 events per ms of event time, each up to 150 ms out of order
        t = i // 10 + 1_000 - (i * 7919) % 150
        op.process(keys[i % 50], t, 1, i + 1)
    op.flush()
    return records / max(time.perf_counter() - start, 1e-9)


def bench_streams(records: int) -> dict[str, float]:
    """Records per second of a windowed aggregation: the operator alone, and end to end."""
    operator_rate = _operator_rate(records)
    scenario = decode_scenario(_SCENARIO.format(records=records).encode(), "bench", "bench")
    start = time.perf_counter()
    sim = Simulation(scenario)
    sim.run()
    seconds = time.perf_counter() - start
    return {
        "records": float(records),
        "operator_records_per_s": round(operator_rate),
        "simulation_records_per_s": round(records / max(seconds, 1e-9)),
        "simulation_seconds": round(seconds, 3),
        "trace_records": float(len(sim.trace)),
    }
