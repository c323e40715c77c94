"""Play a situation against a real RabbitMQ through pika (127.0.0.1 only).

Every run declares its own exchanges and queues under a fresh prefix and
deletes them afterwards, so runs never see each other's messages. All
consumers share one ``BlockingConnection`` (one channel each) and the driver
turns the connection's event loop itself, checking a *condition* between
turns: a message count read with a passive ``queue.declare``, or the
deliveries seen so far. Nothing waits for a fixed time; every wait has a
generous deadline and fails with what it saw.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import NackError
from rabbit_situation import (
    Outcome,
    Session,
    Situation,
    delivery,
    delivery_count,
)

from live.message import latest_death
from live.topology import new_prefix

DEADLINE_S = 30.0
"""How long any one condition may take before the run fails (generous: a loaded machine)."""

TURN_S = 0.01
"""One turn of the connection's event loop between two checks of a condition."""


@dataclass
class _Channel:
    """One consumer session on its own channel, as the driver sees it."""

    consumer: str
    number: int
    session: Session
    channel: BlockingChannel
    seen: list[tuple[str, bool, object]] = field(default_factory=list)
    unacked: list[int] = field(default_factory=list)
    """Delivery tags this session received and has not settled."""
    since_ack: int = 0
    closing: bool = False
    open: bool = True

    @property
    def key(self) -> str:
        return f"{self.consumer}#{self.number}"


class RealRun:
    """One run of a situation on a broker at ``params``."""

    def __init__(self, situation: Situation, params: pika.ConnectionParameters) -> None:
        self.s = situation
        self.params = params
        self.prefix = new_prefix("diff")
        self.exchange = self.prefix + "jobs"
        self.queue = self.prefix + "work"
        self.dlx = self.prefix + "jobs-dlx"
        self.dlq = self.prefix + "dead"
        self.witness = self.prefix + "witness"
        self.outcome = Outcome()
        self.sessions: list[_Channel] = []
        self.pending: dict[str, list[Session]] = {}
        self.acked = 0
        self.dropped = 0
        self.accepted: int | None = None
        self.total_deliveries = 0

    # -- the run ---------------------------------------------------------------------------

    def play(self) -> Outcome:
        conn = pika.BlockingConnection(self.params)
        self.conn = conn
        try:
            self.admin = conn.channel()
            self._declare()
            try:
                self._run()
            finally:
                for sess in self.sessions:
                    if sess.open and sess.channel.is_open:
                        sess.channel.close()
                self._delete()
        finally:
            if conn.is_open:
                conn.close()
        return self.outcome

    def _run(self) -> None:
        s = self.s
        for c in s.consumers:
            self.pending[c.name] = list(c.sessions)
        if s.consumers_first:
            self._attach_all()
        self._publish()
        if s.ttl_witness_ms is not None:
            self._wait(lambda: self._ready(self.witness) == 0, "the witness queue to expire")
        if not s.consumers_first and s.consumers:
            self.outcome.waiting = self._ready(self.queue)
            self._attach_all()
        self._wait(self._finished, "every message to be settled")
        self._read_dead_letters()
        for sess in self.sessions:
            self.outcome.deliveries[sess.key] = " ".join(delivery(b, r) for b, r, _ in sess.seen)
            if s.queue.type == "quorum":
                self.outcome.delivery_counts[sess.key] = " ".join(
                    delivery_count(n) for _, _, n in sess.seen
                )

    def _declare(self) -> None:
        a = self.admin
        s = self.s
        a.exchange_declare(self.exchange, "fanout", durable=True)
        if s.queue.dead_letter_exchange:
            a.exchange_declare(self.dlx, "fanout", durable=True)
            a.queue_declare(self.dlq, durable=True)
            a.queue_bind(self.dlq, self.dlx)
        a.queue_declare(self.queue, durable=True, arguments=s.queue.arguments(self.dlx))
        a.queue_bind(self.queue, self.exchange)
        if s.ttl_witness_ms is not None:
            a.queue_declare(
                self.witness, durable=True, arguments={"x-message-ttl": s.ttl_witness_ms}
            )
            a.queue_bind(self.witness, self.exchange)

    def _delete(self) -> None:
        a = self.admin if self.admin.is_open else self.conn.channel()
        for q in (self.queue, self.dlq, self.witness):
            a.queue_delete(q)
        for x in (self.exchange, self.dlx):
            a.exchange_delete(x)

    # -- publishing ------------------------------------------------------------------------

    def _publish(self) -> None:
        """Publish in order; unconfirmed ones first, then the channel turns confirms on."""
        pub = self.conn.channel()
        confirming = False
        answers: list[str] = []
        unconfirmed = 0
        for p in self.s.publishes:
            if p.confirm and not confirming:
                pub.confirm_delivery()
                confirming = True
            elif not p.confirm and confirming:
                raise ValueError("unconfirmed publishes must come before confirmed ones")
            props = pika.BasicProperties(
                delivery_mode=2,
                expiration=None if p.expiration_ms is None else str(p.expiration_ms),
            )
            if not p.confirm:
                pub.basic_publish(self.exchange, "job", p.name.encode(), props)
                unconfirmed += 1
                continue
            try:
                pub.basic_publish(self.exchange, "job", p.name.encode(), props)
                answers.append("ack")
            except NackError:
                answers.append("nack")
        pub.close()
        if unconfirmed and not self.s.publishes[-1].confirm:
            raise ValueError("end unconfirmed publishes with a confirmed one: the barrier")
        self.outcome.confirms = " ".join(answers)
        # Without confirms nobody knows how many messages the queue took. Every message
        # counted here ends up acked, dead-lettered, dropped, held or ready; with
        # reject-publish-dlx that includes the nacked ones, dead-lettered on refusal.
        accepted = answers.count("ack")
        if self.s.queue.overflow == "reject-publish-dlx":
            accepted += answers.count("nack")
        self.accepted = None if unconfirmed else accepted

    # -- consuming -------------------------------------------------------------------------

    def _attach_all(self) -> None:
        for c in self.s.consumers:
            self._open_next(c.name)

    def _open_next(self, consumer: str) -> None:
        queue = self.pending[consumer]
        if not queue:
            return
        session = queue.pop(0)
        channel = self.conn.channel()
        channel.basic_qos(prefetch_count=self.s.prefetch)
        number = 1 + sum(1 for x in self.sessions if x.consumer == consumer)
        sess = _Channel(consumer, number, session, channel)
        self.sessions.append(sess)
        channel.basic_consume(self.queue, self._on_message(sess), auto_ack=False)

    def _on_message(self, sess: _Channel) -> Callable[..., None]:
        s = self.s

        def on_message(
            ch: BlockingChannel,
            method: pika.spec.Basic.Deliver,
            props: pika.BasicProperties,
            body: bytes,
        ) -> None:
            if sess.closing or (s.observe is not None and self.total_deliveries >= s.observe):
                return  # arrived after the script was done with this channel: left unacked
            name = body.decode()
            count = (props.headers or {}).get("x-delivery-count")
            sess.seen.append((name, bool(method.redelivered), count))
            self.total_deliveries += 1
            tag = method.delivery_tag
            close = sess.session.close_after is not None and (
                len(sess.seen) >= sess.session.close_after
            )
            if name in s.poison:
                if s.poison_settle == "nack-requeue":
                    ch.basic_nack(tag, requeue=True)
                elif s.poison_settle == "nack":
                    ch.basic_nack(tag, requeue=False)
                    self._gone()
                else:
                    ch.basic_reject(tag, requeue=False)
                    self._gone()
            elif sess.session.settle == "ack" and not close:
                sess.unacked.append(tag)
                sess.since_ack += 1
                if sess.since_ack >= sess.session.ack_multiple:
                    ch.basic_ack(tag, multiple=sess.session.ack_multiple > 1)
                    self.acked += len(sess.unacked)
                    sess.unacked.clear()
                    sess.since_ack = 0
            else:
                sess.unacked.append(tag)
            if close:
                sess.closing = True

        return on_message

    def _gone(self) -> None:
        """A message rejected without requeue: to the DLQ (counted there), or dropped."""
        if not self.s.queue.dead_letter_exchange:
            self.dropped += 1

    # -- conditions ------------------------------------------------------------------------

    def _ready(self, queue: str) -> int:
        return int(self.admin.queue_declare(queue, passive=True).method.message_count)

    def _turn(self) -> None:
        self.conn.process_data_events(time_limit=TURN_S)
        for sess in self.sessions:
            if sess.closing and sess.open:
                sess.channel.close()
                sess.open = False
                # The next channel opens once the closed one's deliveries are back.
                self._wait(self._accounted, f"the deliveries of {sess.key} to return")
                self._open_next(sess.consumer)
                return

    def _accounted(self) -> bool:
        """Every accepted message is settled, held by an open session, or ready again."""
        if self.accepted is None:
            raise ValueError("closing a channel needs confirmed publishes (to count them)")
        held = sum(len(x.unacked) for x in self.sessions if x.open)
        return (
            self.acked + self.dropped + self._dead() + held + self._ready(self.queue)
            == self.accepted
        )

    def _dead(self) -> int:
        return self._ready(self.dlq) if self.s.queue.dead_letter_exchange else 0

    def _finished(self) -> bool:
        s = self.s
        if s.observe is not None and self.total_deliveries >= s.observe:
            return True
        open_sessions = [x for x in self.sessions if x.open]
        ready = self._ready(self.queue)
        if ready and any(s.prefetch == 0 or len(x.unacked) < s.prefetch for x in open_sessions):
            return False  # a consumer with room: the broker still has deliveries to make
        if ready and (not open_sessions or self.s.queue.message_ttl_ms is not None):
            return False  # nobody will take them, but their TTL will
        if self.accepted is None:
            # Unconfirmed publishes: the confirmed one after them was a barrier, so what
            # the queue held when the consumers attached is all it took (or nearly:
            # see quorum-reject-publish-without-confirms).
            received = sum(len(x.seen) for x in self.sessions)
            held = any(x.unacked for x in open_sessions)
            return ready == 0 and not held and received >= (self.outcome.waiting or 0)
        return self._accounted()

    def _wait(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.s.name}: waited {DEADLINE_S:.0f} s for {what}; saw "
                    + repr({x.key: x.seen for x in self.sessions})
                )
            self._turn()

    # -- the dead-letter queue -------------------------------------------------------------

    def _read_dead_letters(self) -> None:
        if not self.s.queue.dead_letter_exchange:
            return
        letters: list[str] = []
        while True:
            method, props, body = self.admin.basic_get(self.dlq, auto_ack=True)
            if method is None:
                break
            name = body.decode()
            death = latest_death(props.headers, self._local)
            letters.append(f"{name}:{death.reason if death is not None else '?'}")
            if death is not None:
                self.outcome.x_death[name] = death.as_dict()
        self.outcome.dead_letters = " ".join(letters)

    def _local(self, name: str) -> str:
        """A broker-side name without this run's prefix (``work``, ``jobs``)."""
        return name.removeprefix(self.prefix)
