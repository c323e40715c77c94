"""The key-value store of user code: a small database, with transactions.

Every component that runs user code owns a store: a consumer group's handler
(shared by the group's consumers, as a service's database is shared by its
instances), a projector (beside its read model), a saga service. The store is
*durable*: a crash of the process loses nothing that was committed. What a
call writes is one transaction: it commits when the call succeeds and rolls
back when it fails, so a dedup table and the state it guards change together
or not at all. Inside a Kafka transaction (``commit = "transactional"``) the
writes of every call wait for the transaction and commit with the offsets —
or vanish with it when it aborts.

An *outbox* row (``store.outbox(topic, value)``) is written in the same
transaction and published by the component's relay once it commits: what a
rolled-back call meant to publish never leaves. Values are JSON-like (numbers,
text, booleans, None, lists, dicts with text keys) and are copied in and out,
so a value read and then changed in place does not change the store behind its
back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from simulator.usercode.api import UsageError

__all__ = ["OutboxRow", "Store", "Table", "Transaction", "json_copy"]

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


class _Deleted:
    """A pending delete (a tombstone in the transaction's writes)."""

    def __repr__(self) -> str:
        return "<deleted>"


DELETED = _Deleted()
_MISSING = object()


def json_copy(value: Any, what: str) -> Any:
    """A deep copy of a JSON-like ``value``; ``UsageError`` naming ``what`` otherwise."""
    try:
        copy = _decoder.decode(_encoder.encode(value))
    except (msgspec.EncodeError, TypeError, ValueError, OverflowError) as err:
        copy, problem = None, str(err)
    else:
        problem = (
            "" if copy == value else "it would come back changed (a tuple, a set, a number key?)"
        )
    if problem:
        raise UsageError(
            f"{what}: {type(value).__name__} is not JSON-like (use numbers, text, booleans,"
            f" None, lists and dicts with text keys): {problem}"
        )
    return copy


@dataclass(frozen=True)
class OutboxRow:
    """A message to publish once the transaction that wrote it commits."""

    topic: str
    value: str
    key: str | None


class Table:
    """The committed contents of one store: key → value, durable."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.rows: dict[str, Any] = {}

    def lookup(self, key: str) -> Any:
        return self.rows.get(key, _MISSING)

    def visible_keys(self) -> set[str]:
        return set(self.rows)

    def apply(self, writes: dict[str, Any], outbox: list[OutboxRow]) -> list[OutboxRow]:
        """Make ``writes`` durable; returns the outbox rows now due for publishing."""
        for key, value in writes.items():
            if value is DELETED:
                self.rows.pop(key, None)
            else:
                self.rows[key] = value
        return outbox


class Transaction:
    """Writes pending over a table (or over an outer transaction), until commit or rollback."""

    def __init__(self, parent: Table | Transaction) -> None:
        self.parent = parent
        self.writes: dict[str, Any] = {}
        self.outbox: list[OutboxRow] = []

    @property
    def table(self) -> Table:
        parent = self.parent
        return parent if isinstance(parent, Table) else parent.table

    def lookup(self, key: str) -> Any:
        if key in self.writes:
            value = self.writes[key]
            return _MISSING if value is DELETED else value
        return self.parent.lookup(key)

    def visible_keys(self) -> set[str]:
        keys = self.parent.visible_keys()
        for key, value in self.writes.items():
            if value is DELETED:
                keys.discard(key)
            else:
                keys.add(key)
        return keys

    def apply(self, writes: dict[str, Any], outbox: list[OutboxRow]) -> list[OutboxRow]:
        """An inner transaction committed into this one: its rows wait for this commit."""
        self.writes.update(writes)
        self.outbox += outbox
        return []

    @property
    def touched(self) -> list[str]:
        """The keys this transaction writes or deletes, sorted."""
        return sorted(self.writes)

    def commit(self) -> list[OutboxRow]:
        """Apply the writes to the parent; the outbox rows due now (none into an outer one)."""
        due = self.parent.apply(self.writes, self.outbox)
        self.writes = {}
        self.outbox = []
        return due

    def rollback(self) -> None:
        self.writes = {}
        self.outbox = []


class Store:
    """What ``ctx.store`` is: reads and writes of one call, inside its transaction."""

    __slots__ = ("_outbox", "_txn")

    def __init__(self, txn: Transaction, *, outbox: Callable[[str], None] | None = None) -> None:
        self._txn = txn
        self._outbox = outbox
        """Checks an outbox row's topic (raises ``UsageError``); None: no outbox here."""

    def get(self, key: str, default: Any = None) -> Any:
        """The value under ``key`` (your own uncommitted writes included), or ``default``."""
        value = self._txn.lookup(_key(key))
        return default if value is _MISSING else json_copy(value, "store value")

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._txn.lookup(key) is not _MISSING

    def put(self, key: str, value: Any) -> None:
        """Write ``value`` under ``key``; it commits with the call (or not at all)."""
        self._txn.writes[_key(key)] = json_copy(value, f"store.put({key!r}, …)")

    def delete(self, key: str) -> None:
        """Remove ``key`` (nothing happens if it is not there)."""
        self._txn.writes[_key(key)] = DELETED

    def items(self, prefix: str = "") -> list[tuple[str, Any]]:
        """Every (key, value) whose key starts with ``prefix``, in key order."""
        keys = sorted(k for k in self._txn.visible_keys() if k.startswith(prefix))
        return [(k, json_copy(self._txn.lookup(k), "store value")) for k in keys]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._txn.visible_keys()))

    def outbox(self, topic: str, value: str, *, key: str | None = None) -> None:
        """Write a message into the outbox, in this transaction: published once it commits."""
        if self._outbox is None:
            raise UsageError("store.outbox: this component has no outbox relay")
        if not isinstance(topic, str) or not isinstance(value, str):
            raise UsageError("store.outbox(topic, value): both must be strings")
        if key is not None and not isinstance(key, str):
            raise UsageError("store.outbox(key=...): a string or None")
        self._outbox(topic)
        self._txn.outbox.append(OutboxRow(topic, value, key))


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise UsageError(f"store keys are strings, not {type(key).__name__}")
    return key
