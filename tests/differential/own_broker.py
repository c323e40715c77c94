"""RabbitMQ nodes of the tests' own: started, crashed and stopped only by the tests.

Some situations disturb a broker — a restart, a memory alarm, a node killed in a
cluster — so they must never run on a broker somebody else uses. ``OwnBroker``
is one node started through ``.ci/broker`` with its own directory, node name
and free ports (AMQP and Erlang distribution), all on 127.0.0.1; it is stopped,
or killed, only by the pid in its own directory. ``rabbitmqctl`` reaches it by
its node name, with the Erlang cookie in its directory.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "broker"
RABBIT_BIN = Path(os.environ.get("RABBIT_BIN", "/usr/lib/rabbitmq/bin"))

__all__ = ["RABBIT_BIN", "OwnBroker", "can_start", "free_ports"]


def can_start() -> str | None:
    """Why no broker of our own can start here, or None."""
    if not (RABBIT_BIN / "rabbitmq-server").exists():
        return "rabbitmq-server is not installed: no broker of our own"
    try:
        import pika  # noqa: F401
    except ImportError:
        return "pika is not installed: pip install -e '.[dev]'"
    return None


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(n: int) -> list[int]:
    """``n`` AMQP ports, each with its distribution port (+20000) free too."""
    rng = random.Random()  # any free port will do; no outcome depends on which
    found: list[int] = []
    for _ in range(200):
        p = rng.randrange(20_000, 40_000)
        if p not in found and _free(p) and _free(p + 20_000):
            found.append(p)
            if len(found) == n:
                return found
    raise RuntimeError(f"no {n} free port pairs for brokers of our own")


@dataclass
class OwnBroker:
    """A RabbitMQ node started by the tests, on its own directory, name and port."""

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

    @property
    def pid(self) -> int:
        return int((self.directory / "rabbitmq.pid").read_text().strip())

    def kill(self) -> None:
        """Crash the node: ``kill -9`` of its own pid, then wait (by polling) until it is gone."""
        pid = self.pid
        os.kill(pid, signal.SIGKILL)
        for _ in range(3000):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)  # polling for a condition: the process is gone
        raise RuntimeError(f"node {self.name} (pid {pid}) did not die")

    def ctl(self, *args: str) -> str:
        """``rabbitmqctl`` against this node only (its name, its cookie in its directory)."""
        env = {**self.env, "HOME": str(self.directory), "ERL_EPMD_ADDRESS": "127.0.0.1"}
        done = subprocess.run(
            [str(RABBIT_BIN / "rabbitmqctl"), "-n", self.name, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout
