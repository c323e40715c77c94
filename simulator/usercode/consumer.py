"""A consumer group's own message handler, as each of its consumers runs it.

Every broker model's consumer asks the same two things of ``GroupCode``, at
the place its built-in handler decides today: *run* the handler on a message
(success, or the error the consumer's failure path then handles), and, once
the consumer has recorded ``Processed``, *commit* what the call wrote. The
store is the group's database: all its consumers share it and a crash loses
none of it. One call is one transaction — committed with the call, rolled back
when it raised — except inside a Kafka transaction (``commit =
"transactional"``), where every call's writes wait for the transaction and
commit with the group's offsets, or vanish when it aborts.

A fault from the scenario (``poison``, ``handler-error``) strikes *after* the
handler ran, when its transaction commits ("the database refused the
commit"): the writes roll back, while what the call did to the outside world
(``ctx.effect``, ``ctx.publish``) has already happened. The outbox
(``ctx.store.outbox``) publishes only what committed: the group's relay sends
those rows right after the commit, the way a change-data-capture relay tails
a database's log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from simulator.streams.plugin import new_message
from simulator.trace import CodeNoted, Delivered, EffectPerformed, StoreCommitted, StoreRolledBack
from simulator.usercode.api import Context, Host, Message, UsageError
from simulator.usercode.port import UserCodeRaised, code_of
from simulator.usercode.store import OutboxRow, Store, Transaction

if TYPE_CHECKING:
    from simulator.messages import Message as BrokerMessage
    from simulator.runtime import Runtime
    from simulator.scenario import Group
    from simulator.usercode.port import UserCode

__all__ = ["GroupCode", "Send", "group_code"]

Send = Callable[[str, "BrokerMessage", "int | None"], int]
"""Write an output message to a topic the way the consumer writes outputs; the Produced seq."""


def group_code(runtime: Runtime, spec: Group, consumer: str, send: Send) -> GroupCode | None:
    """The group's own handler for ``consumer``, or None when the group has the built-in one."""
    code = code_of(runtime)
    if spec.handler is None or code is None:
        return None
    return GroupCode(runtime, code, spec, consumer, send)


class _Call(Host):
    """What one call of the handler may do, and what it did."""

    role = "handler"

    def __init__(self, owner: GroupCode, msg: BrokerMessage, cause: int) -> None:
        self.owner = owner
        self.msg = msg
        self.cause = cause
        self.published: list[int] = []
        self.outputs = 0

    def effect(
        self, name: str, key: str | None, seq: int | None, amount: int, ref: str | None
    ) -> None:
        o = self.owner
        o.runtime.emit(
            EffectPerformed,
            o.consumer,
            self.cause,
            owner=o.group,
            name=name,
            ref=ref if ref is not None else f"m{self.msg.id}",
            key=key,
            key_seq=seq,
            amount=amount,
        )

    def publish(self, topic: str, value: str, key: str | None) -> None:
        self.published.append(self.owner.output(self, topic, value, key, self.cause, "publish"))

    def log(self, text: str) -> None:
        o = self.owner
        o.runtime.emit(CodeNoted, o.consumer, self.cause, owner=o.group, text=text)


class GroupCode:
    """A group's handler code on one consumer: run a call, then commit or roll it back."""

    def __init__(
        self, runtime: Runtime, code: UserCode, spec: Group, consumer: str, send: Send
    ) -> None:
        assert spec.handler is not None
        self.runtime = runtime
        self.code = code
        self.fn = code.function(spec.handler, "handler")
        self.group = spec.name
        self.consumer = consumer
        self.topics = frozenset(t.name for t in runtime.scenario.topics)
        self._send = send
        self._table = code.table(spec.name)
        self._rng = runtime.rng.stream(f"code:{consumer}")
        self._call: Transaction | None = None
        self._host: _Call | None = None
        self._kafka: Transaction | None = None
        """An open Kafka transaction: the calls' writes wait in it for the offsets' commit."""
        self._kafka_published: list[tuple[int | None, list[int]]] = []

    # -- one call ------------------------------------------------------------------------------

    def run(
        self, msg: BrokerMessage, topic: str, delivered_seq: int, fault: str | None
    ) -> str | None:
        """Run the handler on ``msg``: None when it succeeded (commit it with ``processed``).

        Otherwise the error for the consumer's failure path: the handler's own
        (``ValueError: … (my_consumer.py:12)``) or ``fault``, which strikes at
        the commit. Either way the call's writes are rolled back here.
        """
        runtime = self.runtime
        delivered = runtime.records[delivered_seq]
        redelivered = isinstance(delivered, Delivered) and delivered.redelivered
        view = Message(msg.id, msg.key, msg.key_seq, msg.value, msg.producer, topic, redelivered)
        parent = self._kafka if self._kafka is not None else self._table
        txn = Transaction(parent)
        host = _Call(self, msg, delivered_seq)
        ctx = Context(
            name=self.consumer,
            role="handler",
            clock=lambda: runtime.kernel.now_ms,
            rng=self._rng,
            store=Store(txn, outbox=self.check_topic),
            host=host,
        )
        try:
            self.code.book.run(self.fn.fn, view, ctx)
        except UserCodeRaised as raised:
            self._roll_back(txn, delivered_seq, f"the handler raised {raised.error}")
            return raised.error
        if fault is not None:
            why = f"a {fault} fault: the transaction failed to commit after the handler ran"
            self._roll_back(txn, delivered_seq, why)
            return fault
        self._call = txn
        self._host = host
        return None

    def processed(self, processed_seq: int) -> None:
        """The consumer recorded ``Processed``: commit the call (or stage it in the Kafka txn)."""
        txn, host = self._call, self._host
        self._call = self._host = None
        if txn is None or host is None:
            return
        keys = txn.touched
        rows = list(txn.outbox)
        if self._kafka is not None:
            txn.commit()  # into the Kafka transaction: durable when it commits
            sent = self._relay(host, rows, processed_seq)
            self._kafka_published.append((host.msg.id, host.published + sent))
            return
        commit_seq = processed_seq
        txn.commit()
        if keys or rows:
            commit_seq = self.runtime.emit(
                StoreCommitted,
                self.consumer,
                processed_seq,
                owner=self.group,
                keys=keys,
                outbox=len(rows),
            ).seq
        sent = self._relay(host, rows, commit_seq)
        self.code.book_commit(self.group, host.msg.id, host.published + sent)

    def _relay(self, host: _Call, rows: list[OutboxRow], cause: int) -> list[int]:
        """The outbox relay: publish the committed rows, in the order they were written."""
        return [self.output(host, r.topic, r.value, r.key, cause, "outbox") for r in rows]

    def _roll_back(self, txn: Transaction, cause: int, reason: str) -> None:
        keys = txn.touched
        txn.rollback()
        if keys:
            self.runtime.emit(
                StoreRolledBack, self.consumer, cause, owner=self.group, keys=keys, reason=reason
            )

    def output(
        self, host: _Call, topic: str, value: str, key: str | None, cause: int | None, via: str
    ) -> int:
        """Publish one message the call asked for; its id (the same when the call runs again)."""
        self.check_topic(topic)
        host.outputs += 1
        label = f"{via}:{self.group}:{topic}:{host.outputs}"
        out = new_message(self.runtime, host.msg.id, label, key if key is not None else "", value)
        out.key = key
        produced = self._send(topic, out, cause)
        self.code.book_publish(self.group, out.id, produced, host.msg.id)
        return out.id

    def check_topic(self, topic: str) -> None:
        if topic not in self.topics:
            known = ", ".join(sorted(self.topics))
            raise UsageError(f"no topic {topic!r} in this scenario (known: {known})")

    # -- Kafka transactions --------------------------------------------------------------------

    def transaction_begins(self) -> None:
        """The consumer opened a Kafka transaction: calls now commit into it."""
        self._kafka = Transaction(self._table)
        self._kafka_published = []

    def transaction_ends(self, committed: bool, cause: int | None) -> None:
        """The Kafka transaction committed (with the offsets) or aborted."""
        kafka = self._kafka
        self._kafka = None
        if kafka is None:
            return
        keys = kafka.touched
        if not committed:
            kafka.rollback()
            if keys:
                self.runtime.emit(
                    StoreRolledBack,
                    self.consumer,
                    cause,
                    owner=self.group,
                    keys=keys,
                    reason="the Kafka transaction aborted",
                )
            self._kafka_published = []
            return
        kafka.commit()
        if keys:
            self.runtime.emit(
                StoreCommitted, self.consumer, cause, owner=self.group, keys=keys, outbox=0
            )
        for msg_id, published in self._kafka_published:
            self.code.book_commit(self.group, msg_id, published)
        self._kafka_published = []
