"""The real systems the differential tests compare the models with, found or started here.

(Fixtures imported by the test modules: a ``conftest.py`` here would shadow
the top-level one that other test modules import helpers from.)

``rabbitmq``: a RabbitMQ already listening on 127.0.0.1:5672 (``make broker``
starts one); without it every test that needs it skips with one line saying
so (``live.broker.unavailable``, the line live mode prints too). ``sqs``:
moto's server mode (a stand-in for Amazon SQS), started on a free 127.0.0.1
port for the session and stopped at its end; without moto installed those
tests skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from live.broker import DEFAULT_URL, BrokerAddress, server_version, unavailable

ADDRESS = BrokerAddress.parse(DEFAULT_URL)


@dataclass(frozen=True)
class RealRabbitMQ:
    params: Any
    version: str

    def play(self, situation: Any) -> Any:
        from rabbit_real import RealRun

        return RealRun(situation, self.params).play()


@pytest.fixture(scope="session", name="rabbitmq")
def rabbitmq_fixture() -> RealRabbitMQ:
    why = unavailable(ADDRESS)
    if why is not None:
        pytest.skip(why)
    pika = pytest.importorskip("pika", reason="pika is not installed: pip install -e '.[dev]'")
    params = ADDRESS.parameters()
    try:
        conn = pika.BlockingConnection(params)
    except pika.exceptions.AMQPError:
        pytest.skip(f"{ADDRESS.shown}: the broker refused the connection")
    try:
        version = server_version(conn)
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
