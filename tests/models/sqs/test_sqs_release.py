"""A finished message leaves nothing behind in the queue's or the publisher's books."""

from __future__ import annotations

import gc

from bench.queues import bench_scenario
from simulator.models.sqs.queue import SqsMessage
from simulator.scenario import decode_scenario
from simulator.simulation import Simulation


def run(broker: str, messages: int) -> Simulation:
    scenario = decode_scenario(bench_scenario(broker, messages).encode(), "q.toml", "q")
    sim = Simulation(scenario, 1)
    sim.run()
    return sim


def test_answered_publishes_leave_the_publishers_in_flight_queue_at_once() -> None:
    for broker in ("sqs", "rabbitmq"):
        sim = run(broker, 300)
        assert sim.checker.acked == 300
        publishers = sim.broker.publishers.values()
        assert all(len(p._in_flight) == 0 for p in publishers)


def test_deleted_messages_are_not_held_by_their_cancelled_visibility_timer() -> None:
    sim = run("sqs", 300)
    assert sum(b.processed for b in sim.checker.groups.values()) == 300
    gc.collect()
    ours = {id(m) for m in sim._messages}
    held = [o for o in gc.get_objects() if type(o) is SqsMessage and id(o.msg) in ours]
    assert held == []
