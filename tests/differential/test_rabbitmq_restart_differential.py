"""What a broker restart keeps, on a real RabbitMQ restarted here and on the model.

The situation: a durable queue receives one persistent and one transient
message, a non-durable queue one persistent message, all confirmed; then the
broker restarts, and a client looks at what is left. Under it is what a real
**RabbitMQ 3.10.8** (Debian 12's ``rabbitmq-server``, one node) showed.

Restarting a broker must never touch one somebody else is using, so the real
side starts a node of its own — its own directory under ``tmp_path``, its
own node name, a free port and distribution port, all on 127.0.0.1, through
``.ci/broker`` — stops it and starts it again on the same directory, and
stops it at the end, by the pid in its own directory. Without
``rabbitmq-server`` installed the broker test skips; the model test still
runs against the reference below.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import scenario_from

from simulator.simulation import Simulation
from simulator.trace import Processed

pytestmark = pytest.mark.differential

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "broker"
RABBIT_BIN = Path(os.environ.get("RABBIT_BIN", "/usr/lib/rabbitmq/bin"))

REFERENCE = {"durable": ["persistent"], "non-durable": None}
"""Observed on RabbitMQ 3.10.8: the durable queue keeps only the persistent message; the
non-durable queue is gone (a passive declare gets 404 NOT_FOUND)."""


# -- the model -------------------------------------------------------------------------------

MODEL = """
broker = "rabbitmq"
settle_ms = 500
[rabbitmq.delivery_mode]
keeper = 2
fleeting = 1
scratch = 2
[[topics]]
name = "to-durable"
[[topics]]
name = "to-non-durable"
[[producers]]
name = "keeper"
topic = "to-durable"
[[producers]]
name = "fleeting"
topic = "to-durable"
[[producers]]
name = "scratch"
topic = "to-non-durable"
[[groups]]
name = "durable"
topic = "to-durable"
start_ms = 2000
[[groups]]
name = "non-durable"
topic = "to-non-durable"
start_ms = 2000
[groups.rabbitmq]
durable = false
[[workload.messages]]
producer = "keeper"
value = "persistent"
[[workload.messages]]
producer = "fleeting"
at_ms = 1
value = "transient"
[[workload.messages]]
producer = "scratch"
at_ms = 2
value = "persistent"
[[faults]]
kind = "crash"
target = "broker"
at_ms = 100
restart_after_ms = 500
"""


VALUES = {1: "persistent", 2: "transient", 3: "persistent"}
"""The workload's messages, m1 to m3, in the order the file lists them."""


def model_outcome() -> dict[str, list[str] | None]:
    seen: dict[str, list[str]] = {"durable": [], "non-durable": []}
    for r in Simulation(scenario_from(MODEL)).run():
        if isinstance(r, Processed):
            seen[r.group].append(VALUES[r.msg])
    # a non-durable queue that came back empty is one declared anew: it was gone
    return {"durable": seen["durable"], "non-durable": seen["non-durable"] or None}


def test_the_model_keeps_what_a_restarted_rabbitmq_keeps() -> None:
    assert model_outcome() == REFERENCE


# -- a broker of our own ---------------------------------------------------------------------


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class OwnBroker:
    """A RabbitMQ node started by this test, on its own directory, name and port."""

    directory: Path
    port: int
    name: str

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "BROKER_DIR": str(self.directory),
            "BROKER_PORT": str(self.port),
            "BROKER_NODENAME": self.name,
        }

    def run(self, command: str) -> None:
        done = subprocess.run(
            [str(SCRIPT), command], env=self.env, capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            raise RuntimeError(f".ci/broker {command}: {done.stderr.strip() or done.stdout}")

    def restart(self) -> None:
        self.run("stop")
        self.run("start")


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnBroker]:
    if not (RABBIT_BIN / "rabbitmq-server").exists():
        pytest.skip("rabbitmq-server is not installed: no broker of our own to restart")
    pytest.importorskip("pika", reason="pika is not installed: pip install -e '.[dev]'")
    rng = random.Random()  # any free port will do; the test's outcome does not depend on it
    port = next(
        (
            p
            for p in (rng.randrange(20_000, 40_000) for _ in range(50))
            if _free(p) and _free(p + 20_000)
        ),
        None,
    )
    if port is None:
        pytest.skip("no free port pair for a broker of our own")
    broker = OwnBroker(
        tmp_path_factory.mktemp("own-broker"), port, f"evsim-restart-{port}@localhost"
    )
    try:
        broker.run("start")
    except RuntimeError as err:
        pytest.skip(f"could not start a broker of our own: {err}")
    try:
        yield broker
    finally:
        broker.run("stop")


def real_outcome(broker: OwnBroker) -> dict[str, list[str] | None]:
    import pika

    params = pika.ConnectionParameters(host="127.0.0.1", port=broker.port)
    conn = pika.BlockingConnection(params)
    channel = conn.channel()
    channel.confirm_delivery()  # a publish returns once the broker has confirmed it
    channel.queue_declare("durable", durable=True)
    channel.queue_declare("non-durable", durable=False)
    publish = [
        ("durable", b"persistent", 2),
        ("durable", b"transient", 1),
        ("non-durable", b"persistent", 2),
    ]
    for queue, body, mode in publish:
        channel.basic_publish("", queue, body, pika.BasicProperties(delivery_mode=mode))
    conn.close()
    broker.restart()
    conn = pika.BlockingConnection(params)
    channel = conn.channel()
    kept: list[str] = []
    while True:
        method, _, body = channel.basic_get("durable", auto_ack=True)
        if method is None:
            break
        kept.append(body.decode())
    outcome: dict[str, list[str] | None] = {"durable": kept}
    try:
        channel.queue_declare("non-durable", passive=True)
        outcome["non-durable"] = []
    except pika.exceptions.ChannelClosedByBroker as err:
        assert err.reply_code == 404
        outcome["non-durable"] = None
    if conn.is_open:
        conn.close()
    return outcome


@pytest.mark.slow
def test_a_restarted_rabbitmq_keeps_only_durable_queues_persistent_messages(
    own_broker: OwnBroker,
) -> None:
    assert real_outcome(own_broker) == REFERENCE
