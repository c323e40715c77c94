"""What of a lesson can run live, how its topology is declared, and how a run is paced.

No broker is needed here: these are the decisions live mode makes before it
connects.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import scenario_from

from live.plan import plan, refusal
from live.runtime import RecordedRuntime
from live.topology import Topology, queue_arguments, wall_ms
from simulator.scenario import builtin_names, load_scenario, resolve_scenario

ROOT = Path(__file__).resolve().parents[2]

RABBIT = """
broker = "rabbitmq"
[[topics]]
name = "orders"
[[producers]]
name = "app"
topic = "orders"
[[groups]]
name = "work"
topic = "orders"
[[workload.generators]]
producer = "app"
count = 3
"""


def test_the_five_rabbitmq_lessons_can_run_live() -> None:
    for name in (
        "rabbitmq-prefetch",
        "rabbitmq-consumer-crash",
        "rabbitmq-requeue-loop",
        "rabbitmq-dlx-delayed-retry",
        "rabbitmq-ttl-and-length-limits",
    ):
        assert refusal(resolve_scenario(name)) is None, name


def test_a_kafka_lesson_is_refused_because_no_kafka_broker_can_be_installed() -> None:
    why = refusal(resolve_scenario("partitions-and-offsets"))
    assert why is not None and "Kafka" in why and "stays simulated" in why


def test_an_sqs_lesson_is_refused_naming_its_model() -> None:
    why = refusal(resolve_scenario("sqs-visibility-timeout"))
    assert why is not None and "sqs model" in why


def test_a_lesson_with_a_network_fault_is_refused_naming_the_fault() -> None:
    why = refusal(resolve_scenario("three-brokers"))
    assert why is not None and why.startswith("faults[0] is a network fault")


def test_a_crash_of_a_producer_is_refused() -> None:
    s = scenario_from(RABBIT + '[[faults]]\nkind = "crash"\ntarget = "app"\nat_ms = 5\n')
    assert refusal(s) == "faults[0] crashes 'app'; live mode kills consumer processes only"


def test_every_lesson_is_either_runnable_live_or_refused_in_one_line() -> None:
    for name in builtin_names():
        why = refusal(load_scenario(ROOT / "scenarios" / f"{name}.toml"))
        assert why is None or "\n" not in why, name


def test_a_live_run_publishes_the_same_messages_as_the_model() -> None:
    from simulator.simulation import Simulation
    from simulator.trace import Produced

    s = resolve_scenario("rabbitmq-consumer-crash")
    planned = [(m.id, m.key, m.key_seq) for p in plan(s).producers for m in p.messages]
    produced = [(r.msg, r.key, r.key_seq) for r in Simulation(s).run() if isinstance(r, Produced)]
    assert planned == produced


def test_queues_are_declared_with_the_lessons_arguments_and_a_prefixed_dlx() -> None:
    t = Topology.of(resolve_scenario("rabbitmq-ttl-and-length-limits"), "evsim-live-x-")
    assert t.queue("capped").arguments == {
        "x-queue-type": "classic",
        "x-max-length": 4,
        "x-overflow": "drop-head",
        "x-dead-letter-exchange": "evsim-live-x-orders-dlx",
    }
    assert t.queue("expiring").arguments["x-message-ttl"] == 1000
    assert t.dead_letter_exchanges() == ["orders-dlx"]
    assert t.lesson_name(t.broker_name("capped")) == "capped"


def test_a_slower_speed_stretches_the_ttls_declared_on_the_broker() -> None:
    s = resolve_scenario("rabbitmq-ttl-and-length-limits")
    t = Topology.of(s, "p-", speed=0.5)
    assert t.queue("expiring").arguments["x-message-ttl"] == 2000
    assert wall_ms(1, 4.0) == 1  # a duration never rounds down to none


def test_a_quorum_queue_gets_its_delivery_limit() -> None:
    t = Topology.of(resolve_scenario("rabbitmq-requeue-loop"), "p-")
    assert t.queue("quorum-limit").arguments == queue_arguments(
        queue_type="quorum", delivery_limit=4, dead_letter_exchange="p-payments-dlx"
    )


def test_a_tap_binds_every_key_on_a_direct_exchange() -> None:
    s = scenario_from(
        RABBIT.replace(
            'broker = "rabbitmq"',
            'broker = "rabbitmq"\n[rabbitmq]\nexchanges = { orders = "direct" }',
        )
        .replace(
            'topic = "orders"\n[[workload',
            'topic = "orders"\n[groups.rabbitmq]\nbindings = ["key-0"]\n[[workload',
        )
        .replace("count = 3", "count = 3\nkeys = 2")
    )
    t = Topology.of(s, "p-", plan(s).keys)
    assert t.tap_keys("orders") == ("key-0", "key-1")


def test_a_recorded_runtime_refuses_what_only_a_simulation_has() -> None:
    runtime = RecordedRuntime(resolve_scenario("rabbitmq-prefetch"), 1)
    with pytest.raises(NotImplementedError, match="the run already happened"):
        runtime.crash("x", None, None)


def test_the_simulator_never_imports_live_mode() -> None:
    code = (
        "import sys, simulator.simulation, simulator.lessons.summary, simulator.checker;"
        "import simulator.lessons.compare, simulator.scenario;"
        "print(','.join(m for m in sys.modules if m == 'live' or m.startswith('live.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
    sources = [p for p in (ROOT / "simulator").rglob("*.py") if "import live" in p.read_text()]
    assert sources == []


def test_without_rabbitmq_installed_the_one_line_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from live import broker

    address = broker.BrokerAddress.parse("amqp://127.0.0.1:1")
    assert broker.unavailable(address) in (broker.no_broker(address), broker.INSTALL_HINT)
    monkeypatch.setattr(broker, "RABBITMQ_SERVER", "/nonexistent/rabbitmq-server")
    assert (
        broker.unavailable(address)
        == "rabbitmq-server is not installed: apt-get install rabbitmq-server"
    )


def test_a_broker_url_shows_without_its_password() -> None:
    from live.broker import BrokerAddress

    address = BrokerAddress.parse("amqp://teacher:secret@127.0.0.1:5672/class")
    assert address.shown == "amqp://teacher@127.0.0.1:5672/class"
    assert (address.vhost, address.password) == ("class", "secret")


class _Alive:
    def is_alive(self) -> bool:
        return True


def _paced(lesson: str) -> tuple[Any, list[str]]:
    """A run of ``lesson`` with its pacing only: no broker, no processes; kills are listed."""
    from live import run as live_run

    paced: Any = object.__new__(live_run._Run)
    paced.plan = plan(resolve_scenario(lesson))
    paced.books = live_run._Books()
    paced.speed = 0.5
    paced.t0 = SimpleNamespace(value=0)
    paced.agenda, paced._agenda_seq = [], 0
    paced.workers = [SimpleNamespace(name=p.name, process=_Alive()) for p in paced.plan.producers]
    killed: list[str] = []
    paced._kill = killed.append
    for crash in paced.plan.timed_crashes:
        paced._schedule(crash.at_ms, "crash", crash.target)
    return paced, killed


def test_a_timed_crash_waits_for_a_producer_that_fell_behind_the_clock() -> None:
    """The consumer-crash lesson kills shipping-0 at 120 ms, after 24 orders are published:
    on a busy machine the producer can lag, and a kill on the clock alone once found
    shipping-0 with two deliveries, both done, and the lesson's reordering never happened."""
    from live.events import Observation

    paced, killed = _paced("rabbitmq-consumer-crash")
    ((crash_ms, target),) = [(c.at_ms, c.target) for c in paced.plan.timed_crashes]
    (producer,) = paced.plan.producers
    due = [m for m in producer.messages if m.at_ms < crash_ms]
    assert len(due) == 24
    late = int(10 * crash_ms / paced.speed * 1_000_000)  # ten times its wall-clock time
    for n in range(len(due)):
        paced._due(late)
        assert killed == [], f"killed with {n} of {len(due)} orders published"
        paced.books._count(Observation(t=n, kind="Produced", component=producer.name, fields={}))
    paced._due(late)
    assert killed == [target]


def test_a_timed_crash_does_not_wait_for_a_producer_that_has_ended() -> None:
    paced, killed = _paced("rabbitmq-consumer-crash")
    paced.workers[0].process = SimpleNamespace(is_alive=lambda: False)
    paced._due(10**12)
    assert killed == ["shipping-0"]


def test_a_timed_crash_waits_for_its_time_when_the_producer_is_ahead() -> None:
    from live.events import Observation

    paced, killed = _paced("rabbitmq-consumer-crash")
    (producer,) = paced.plan.producers
    for n in range(len(producer.messages)):
        paced.books._count(Observation(t=n, kind="Produced", component=producer.name, fields={}))
    crash_ns = int(paced.plan.timed_crashes[0].at_ms / paced.speed * 1_000_000)
    paced._due(crash_ns - 1)
    assert killed == []
    paced._due(crash_ns)
    assert killed == ["shipping-0"]
