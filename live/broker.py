"""Where the real broker is, whether it answers, and which RabbitMQ it is.

A broker is named by an AMQP URL (``amqp://127.0.0.1:5672``; user, password
and virtual host as RabbitMQ's URI spec has them, ``guest``/``guest`` on ``/``
by default). Live mode and the differential tests both start by asking
whether anything listens there, so that a machine without a broker gets one
line saying how to start one instead of a traceback. The version comes from
the broker itself (the ``version`` property of ``connection.start``), so a
trace says which RabbitMQ it was recorded on.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    from pika import BlockingConnection, ConnectionParameters

__all__ = [
    "DEFAULT_URL",
    "INSTALL_HINT",
    "BrokerAddress",
    "BrokerError",
    "connect",
    "listening",
    "no_broker",
    "server_version",
    "unavailable",
]

DEFAULT_URL = "amqp://127.0.0.1:5672"

INSTALL_HINT = "rabbitmq-server is not installed: apt-get install rabbitmq-server"
"""The one line for a machine without RabbitMQ (``make broker`` runs Debian's package)."""


class BrokerError(Exception):
    """The broker cannot be used: one line for the user, no traceback."""


@dataclass(frozen=True)
class BrokerAddress:
    """An AMQP URL, split into what a client and a person need to see."""

    url: str
    host: str
    port: int
    vhost: str
    user: str

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """``amqp://[user[:password]@]host[:port][/vhost]``; raises ``BrokerError``."""
        parts = urlsplit(url)
        if parts.scheme != "amqp":
            raise BrokerError(f"--broker: {url!r} is not an amqp:// URL")
        try:
            port = parts.port or 5672
        except ValueError:
            raise BrokerError(f"--broker: {url!r} has a bad port") from None
        vhost = parts.path[1:] if parts.path not in ("", "/") else "/"
        return cls(url, parts.hostname or "localhost", port, vhost, parts.username or "guest")

    @property
    def password(self) -> str:
        return urlsplit(self.url).password or "guest"

    @property
    def shown(self) -> str:
        """The URL without its password, for traces and messages."""
        vhost = "" if self.vhost == "/" else "/" + quote(self.vhost, safe="")
        return f"amqp://{self.user}@{self.host}:{self.port}{vhost}"

    def parameters(self) -> ConnectionParameters:
        """pika's connection parameters, with patient timeouts (a loaded machine)."""
        import pika

        params = pika.URLParameters(self.url)
        params.connection_attempts = 3
        params.retry_delay = 1
        params.socket_timeout = 10
        params.blocked_connection_timeout = 30
        return params


def listening(host: str, port: int, timeout_s: float = 2.0) -> bool:
    """Whether anything accepts TCP connections at ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def no_broker(address: BrokerAddress) -> str:
    """The one line for "nobody answers there", saying how to start a broker."""
    where = f"{address.host}:{address.port}"
    return f"no RabbitMQ on {where}: start one with `make broker` (or `evsim broker start`)"


RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
"""Where Debian's package puts the server (``.ci/broker`` starts it from there)."""


def unavailable(address: BrokerAddress) -> str | None:
    """Why there is no broker to use at ``address`` (one line), or None if one answers."""
    if listening(address.host, address.port):
        return None
    local = address.host in ("127.0.0.1", "localhost", "::1")
    if local and not os.path.exists(RABBITMQ_SERVER):
        return INSTALL_HINT
    return no_broker(address)


def connect(address: BrokerAddress) -> BlockingConnection:
    """A blocking pika connection; ``BrokerError`` with one line when it fails."""
    import pika

    why = unavailable(address)
    if why is not None:
        raise BrokerError(why)
    try:
        return pika.BlockingConnection(address.parameters())
    except pika.exceptions.ProbableAuthenticationError:
        raise BrokerError(f"{address.shown}: the broker refused the user or password") from None
    except pika.exceptions.AMQPError as err:
        raise BrokerError(f"{address.shown}: cannot connect: {type(err).__name__}") from None


def server_version(conn: BlockingConnection) -> str:
    """The RabbitMQ version the broker announced in ``connection.start``."""
    # pika keeps the broker's connection.start properties on the connection underneath.
    props = getattr(conn._impl, "server_properties", None) or {}
    version = props.get("version", b"?")
    return version.decode() if isinstance(version, bytes) else str(version)
