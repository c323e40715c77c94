"""The real systems the differential tests compare the models with, found or started here.

(Fixtures imported by the test modules: a ``conftest.py`` here would shadow
the top-level one that other test modules import helpers from.)

``rabbitmq``: a RabbitMQ already listening on 127.0.0.1:5672 (``make broker``
starts one); without it every test that needs it skips with one line saying
so. ``sqs``: moto's server mode (a stand-in for Amazon SQS), started on a free
127.0.0.1 port for the session and stopped at its end; without moto
installed those tests skip.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

RABBITMQ_HOST = "127.0.0.1"
RABBITMQ_PORT = 5672
NO_BROKER = f"no RabbitMQ on {RABBITMQ_HOST}:{RABBITMQ_PORT}: start one with `make broker`"


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class RealRabbitMQ:
    params: Any
    version: str

    def play(self, situation: Any) -> Any:
        from rabbit_real import RealRun

        return RealRun(situation, self.params).play()


@pytest.fixture(scope="session", name="rabbitmq")
def rabbitmq_fixture() -> RealRabbitMQ:
    if not _listening(RABBITMQ_HOST, RABBITMQ_PORT):
        pytest.skip(NO_BROKER)
    pika = pytest.importorskip("pika", reason="pika is not installed: pip install -e '.[dev]'")
    params = pika.ConnectionParameters(
        host=RABBITMQ_HOST,
        port=RABBITMQ_PORT,
        connection_attempts=3,
        retry_delay=1,
        socket_timeout=10,
        blocked_connection_timeout=30,
    )
    try:
        conn = pika.BlockingConnection(params)
    except pika.exceptions.AMQPError:
        pytest.skip(NO_BROKER)
    try:
        # pika keeps the broker's connection.start properties on the connection underneath.
        props = conn._impl.server_properties or {}
        version = props.get("version", b"?")
        version = version.decode() if isinstance(version, bytes) else str(version)
    finally:
        conn.close()
    return RealRabbitMQ(params, version)


@pytest.fixture(scope="session", name="sqs")
def sqs_fixture() -> Iterator[Any]:
    """A boto3 SQS client talking to a moto server of this session's own."""
    pytest.importorskip("moto", reason="moto is not installed: pip install -e '.[dev]'")
    from sqs_real import MotoServer

    server = MotoServer()
    try:
        yield server.client()
    finally:
        server.stop()
