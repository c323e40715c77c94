"""What happens inside the broker, read the way any user of it can read it.

A client sees its own publishes, confirms, deliveries and acks. What the broker
does on its own — dead-letter a rejected message, expire one whose TTL ran out,
push out the oldest of a full queue — a client learns only through what the
broker offers every user:

- **a tap on each dead-letter exchange**: the run binds a queue of its own to
  every exchange some queue dead-letters to, and reads each message's
  ``x-death`` header there. Its first entry is the latest dead-lettering: the
  queue that dropped the message and why (``rejected``, ``expired``,
  ``maxlen``, ``delivery_limit``), with a count. That becomes a
  ``DeadLettered`` record (after a ``MessageExpired`` or ``QueueOverflowed``
  when the reason is one), at the moment the tap received it — a millisecond
  or so after the broker acted.
- **the firehose tracer**, if an operator turned it on (``rabbitmqctl
  trace_on``): the broker then copies every publish to the topic exchange
  ``amq.rabbitmq.trace``; a tap bound there with ``publish.#`` turns each of
  this run's publishes into a ``Routed`` record, with the queues the broker
  routed it to when the trace message names them (``routed_queues``). With the
  tracer off, the tap receives nothing and the trace has no ``Routed``.
- **the management API**, if its plugin is enabled: the broker's own counters
  per queue (``live.management``), read once the run is over.

Each tap is an exclusive, auto-deleted queue of the run's own connection, so it
goes away with that connection even if the run is killed.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from live.broker import BrokerAddress
from live.events import EventLog
from live.message import Death, dead_letter_headers, latest_death, message_of, text_of
from live.topology import Topology

if TYPE_CHECKING:
    from pika import BlockingConnection

__all__ = ["Taps", "management_counters"]

FIREHOSE = "amq.rabbitmq.trace"

MANAGEMENT_PORT = 15672


def _identity(headers: dict[str, Any] | None) -> tuple[int, str | None]:
    m = message_of(headers, b"", False)
    return m.msg, m.key


class Taps:
    """The run's taps on the dead-letter exchanges and on the firehose."""

    def __init__(self, conn: BlockingConnection, topology: Topology, log: EventLog) -> None:
        self.conn = conn
        self.topology = topology
        self.log = log
        self.channel = conn.channel()
        self.deaths: list[tuple[int, Death]] = []
        """(message id, entry) of every dead letter a tap saw, in order."""
        self.firehose_seen = 0
        self._queues: list[str] = []

    def start(self) -> None:
        t = self.topology
        for exchange in t.dead_letter_exchanges():
            queue = self._declare(f"{t.prefix}~tap-{exchange}")
            for key in t.tap_keys(exchange):
                self.channel.queue_bind(queue, t.broker_name(exchange), routing_key=key)
            self.channel.basic_consume(queue, self._dead_letter(exchange), auto_ack=True)
        firehose = self._declare(f"{t.prefix}~firehose")
        self.channel.queue_bind(firehose, FIREHOSE, routing_key="publish.#")
        self.channel.basic_consume(firehose, self._traced, auto_ack=True)

    def _declare(self, name: str) -> str:
        self.channel.queue_declare(
            name, exclusive=True, auto_delete=True, arguments={"x-queue-type": "classic"}
        )
        self._queues.append(name)
        return name

    def ready(self) -> int:
        """Messages waiting in the taps (the run turns the connection until this is 0)."""
        return sum(
            int(self.channel.queue_declare(q, passive=True).method.message_count)
            for q in self._queues
        )

    def stop(self) -> None:
        for q in self._queues:
            self.channel.queue_delete(q)
        self.channel.close()

    # -- what the taps receive ----------------------------------------------------------------

    def _dead_letter(self, exchange: str) -> Any:
        def on_message(ch: Any, method: Any, props: Any, body: bytes) -> None:
            death = latest_death(props.headers, self.topology.lesson_name)
            if death is None:
                return  # an ordinary publish to an exchange that is also some queue's DLX
            msg, key = _identity(props.headers)
            self.deaths.append((msg, death))
            group = death.queue
            if death.reason == "expired":
                self.log.write(
                    "MessageExpired",
                    group,
                    group=group,
                    msg=msg,
                    key=key,
                    reason="TTL ran out (x-death reason expired, read on the dead-letter tap)",
                )
            elif death.reason == "maxlen":
                self.log.write(
                    "QueueOverflowed", group, group=group, msg=msg, key=key, overflow="drop-head"
                )
            self.log.write(
                "DeadLettered",
                group,
                meta={"death": death.event(msg)},
                group=group,
                msg=msg,
                key=key,
                destination=exchange,
                reason=death.reason,
                headers=dead_letter_headers(props.headers, self.topology.lesson_name),
            )

        return on_message

    def _traced(self, ch: Any, method: Any, props: Any, body: bytes) -> None:
        headers = props.headers or {}
        exchange = text_of(headers.get("exchange_name", ""))
        t = self.topology
        if not exchange.startswith(t.prefix):
            return  # someone else's publish on the same virtual host
        inner = headers.get("properties") or {}
        msg, key = _identity(inner.get("headers"))
        if not msg:
            return
        self.firehose_seen += 1
        routed = [t.lesson_name(text_of(q)) for q in headers.get("routed_queues") or []]
        queues = [q for q in routed if not q.startswith("~")]  # the run's own taps
        name = t.lesson_name(exchange)
        self.log.write("Routed", name, exchange=name, msg=msg, key=key, queues=queues)


def management_counters(
    address: BrokerAddress,
    queues: list[str],
    local: Callable[[str], str],
    deliveries: dict[str, int],
    deadline_s: float = 8.0,
) -> dict[str, dict[str, int]] | None:
    """The broker's own per-queue counters from the management API, or None without it.

    The broker samples these counters (``collect_statistics_interval``, 5 s by
    default), so right after a short run they are still empty: they are read
    again until each queue's ``deliver`` count reaches the deliveries the trace
    recorded for it (``deliveries``, lesson name → count), or ``deadline_s``
    has passed; the last reading is returned either way.
    """
    give_up = time.monotonic() + deadline_s
    while True:
        out = _read_counters(address, queues, local)
        if out is None:
            return None
        caught_up = all(out[q]["deliver"] >= n for q, n in deliveries.items() if q in out)
        if caught_up or time.monotonic() > give_up:
            return out
        time.sleep(0.25)


def _read_counters(
    address: BrokerAddress, queues: list[str], local: Callable[[str], str]
) -> dict[str, dict[str, int]] | None:
    vhost = quote(address.vhost, safe="")
    token = base64.b64encode(f"{address.user}:{address.password}".encode()).decode()
    out: dict[str, dict[str, int]] = {}
    for name in queues:
        url = f"http://{address.host}:{MANAGEMENT_PORT}/api/queues/{vhost}/{quote(name, safe='')}"
        request = urllib.request.Request(url, headers={"Authorization": f"Basic {token}"})
        try:
            with urllib.request.urlopen(request, timeout=2) as answer:
                data = json.load(answer)
        except (OSError, ValueError):  # no plugin, another node, a refusal: no API to read
            return None
        stats = data.get("message_stats") or {}
        out[local(name)] = {
            "messages_ready": int(data.get("messages_ready", 0)),
            "messages_unacknowledged": int(data.get("messages_unacknowledged", 0)),
            **{k: int(stats.get(k, 0)) for k in ("publish", "deliver", "redeliver", "ack")},
        }
    return out
