"""The store of user code: transactions, copies in and out, the outbox."""

from __future__ import annotations

import pytest

from simulator.usercode.api import UsageError
from simulator.usercode.store import Store, Table, Transaction


def test_a_transaction_commits_all_of_its_writes_or_none() -> None:
    table = Table("billing")
    txn = Transaction(table)
    store = Store(txn)
    store.put("a", 1)
    store.put("b", {"x": [1, 2]})
    assert store.get("a") == 1 and "b" in store and table.rows == {}
    txn.rollback()
    assert store.get("a") is None and table.rows == {}
    store.put("a", 2)
    store.delete("missing")
    txn.commit()
    assert table.rows == {"a": 2}


def test_a_transaction_reads_its_own_writes_and_deletes() -> None:
    table = Table("t")
    table.rows = {"a": 1, "b": 2}
    store = Store(Transaction(table))
    store.delete("a")
    store.put("c", 3)
    assert "a" not in store and store.get("a", "gone") == "gone"
    assert store.items() == [("b", 2), ("c", 3)]
    assert store.items(prefix="c") == [("c", 3)]
    assert list(store) == ["b", "c"]


def test_values_are_copied_in_and_out() -> None:
    table = Table("t")
    txn = Transaction(table)
    store = Store(txn)
    value = {"items": [1]}
    store.put("k", value)
    value["items"].append(2)
    read = store.get("k")
    read["items"].append(3)
    assert store.get("k") == {"items": [1]}


@pytest.mark.parametrize("value", [object(), {1: "int key"}, {"s": {1, 2}}])
def test_a_value_that_is_not_json_like_is_a_usage_error(value: object) -> None:
    with pytest.raises(UsageError, match="is not JSON-like"):
        Store(Transaction(Table("t"))).put("k", value)


def test_keys_are_strings() -> None:
    with pytest.raises(UsageError, match="store keys are strings, not int"):
        Store(Transaction(Table("t"))).put(1, "x")  # type: ignore[arg-type]


def test_an_inner_transaction_waits_for_the_outer_one() -> None:
    table = Table("t")
    outer = Transaction(table)
    inner = Transaction(outer)
    Store(inner, outbox=lambda topic: None).outbox("events", "placed", key="o1")
    Store(inner).put("a", 1)
    assert inner.commit() == []  # due only when the outer transaction commits
    assert table.rows == {}
    rows = outer.commit()
    assert table.rows == {"a": 1} and [(r.topic, r.value, r.key) for r in rows] == [
        ("events", "placed", "o1")
    ]


def test_an_outbox_needs_a_relay_and_a_known_topic() -> None:
    with pytest.raises(UsageError, match="has no outbox relay"):
        Store(Transaction(Table("t"))).outbox("events", "x")

    def known(topic: str) -> None:
        if topic != "events":
            raise UsageError(f"no topic {topic!r}")

    store = Store(Transaction(Table("t")), outbox=known)
    with pytest.raises(UsageError, match="no topic 'elsewhere'"):
        store.outbox("elsewhere", "x")
