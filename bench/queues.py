"""How fast the broker models run: one keyed, at-least-once workload through each.

The same 200,000 messages (64 keys, 4 competing consumers, process then
ack/commit/delete) go through every registered model (the Kafka-style log,
the RabbitMQ-style queue, SQS standard and FIFO queues); the figure is
*deliveries per wall-clock second*, timed from the scenario text to the end of
the run (decode, build, run), as W1 is. Wall-clock time is read here only —
never in the core, whose time is virtual — so the benchmark cannot change a trace.

Run it with ``python -m bench.queues [MESSAGES]``.
"""

from __future__ import annotations

import gc
import sys
import time
from typing import NamedTuple

from simulator.models.registry import names
from simulator.scenario import decode_scenario
from simulator.simulation import Simulation

__all__ = ["QueueRun", "bench_scenario", "measure_models", "run_benchmark"]

_TEMPLATE = """
title = {{ en = "queue benchmark", ko = "큐 벤치마크" }}
summary = {{ en = "one workload through each broker model", ko = "모든 브로커 모델에 같은 작업량" }}
broker = "{broker}"
settle_ms = 0
[sqs]
duplicate_probability = 0.0
reorder_probability = 0.0
[[topics]]
name = "orders"
partitions = 4
[[producers]]
name = "shop"
topic = "orders"
[[groups]]
name = "billing"
topic = "orders"
consumers = {consumers}
commit = "after-process"
auto_offset_reset = "earliest"
processing_ms = 0
[groups.rabbitmq]
prefetch = 250
ack_multiple = 50
[groups.sqs]
batch_size = 10
[[workload.generators]]
producer = "shop"
count = {messages}
keys = 64
rate_per_s = 100000
"""


def bench_scenario(broker: str, messages: int, consumers: int = 4) -> str:
    """The benchmark workload as scenario TOML for ``broker``."""
    return _TEMPLATE.format(broker=broker, messages=messages, consumers=consumers)


class QueueRun(NamedTuple):
    """One model's run: wall seconds (decode, build and run) and what was counted after it."""

    seconds: float
    delivered: int
    processed: int
    """Distinct messages processed."""

    @property
    def deliveries_per_s(self) -> float:
        return self.delivered / self.seconds if self.seconds > 0 else float("inf")


def measure_models(
    messages: int = 200_000, consumers: int = 4, models: list[str] | None = None
) -> dict[str, QueueRun]:
    """Each model's run (default: every registered one), timed from scenario text to the end."""
    results: dict[str, QueueRun] = {}
    for broker in names() if models is None else models:
        text = bench_scenario(broker, messages, consumers)
        gc.collect()
        start = time.perf_counter()
        scenario = decode_scenario(text.encode(), f"bench-{broker}.toml", f"bench-{broker}")
        sim = Simulation(scenario, 1)
        sim.run()
        elapsed = time.perf_counter() - start
        books = list(sim.checker.groups.values())
        results[broker] = QueueRun(
            seconds=elapsed,
            delivered=sum(b.delivered for b in books),
            processed=sum(len(b.first_processed) for b in books),
        )
        del sim, books
    return results


def run_benchmark(
    messages: int = 200_000, consumers: int = 4, models: list[str] | None = None
) -> dict[str, float]:
    """Deliveries per wall-clock second for each model (default: every registered one)."""
    runs = measure_models(messages, consumers, models)
    return {broker: run.deliveries_per_s for broker, run in runs.items()}


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    messages = int(args[0]) if args else 200_000
    for broker, rate in run_benchmark(messages).items():
        sys.stdout.write(f"{broker:<9} {rate:>12,.0f} deliveries/s\n")


if __name__ == "__main__":
    main()
