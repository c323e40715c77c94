"""A group's own message handler on every broker: effects, the store, failures, publishing."""

from __future__ import annotations

from pathlib import Path

import pytest
from usercode_support import LOG_GROUP, kinds, load, run

from simulator.trace import EffectPerformed, ProcessingFailed, StoreCommitted

CHARGE = """
from evsim import Context, Message, handler

@handler
def handle(message: Message, ctx: Context) -> None:
    ctx.effect("charge", key=message.key)
"""

QUEUE_GROUP = """
broker = "{broker}"
settle_ms = 500
[[topics]]
name = "payments"
[[producers]]
name = "shop"
topic = "payments"
[[groups]]
name = "billing"
topic = "payments"
consumers = 2
commit = "after-process"
processing_ms = 2
handler = "consumer.py:handle"
[[workload.generators]]
producer = "shop"
count = 8
keys = 2
rate_per_s = 200
"""


@pytest.mark.parametrize("broker", ["log", "rabbitmq", "sqs", "sqs-fifo"])
def test_the_handler_runs_once_per_processing_on_every_broker(tmp_path: Path, broker: str) -> None:
    toml = LOG_GROUP if broker == "log" else QUEUE_GROUP.format(broker=broker)
    if broker.startswith("sqs"):
        toml += "[groups.sqs]\nwait_time_seconds = 1\n"
    records, summary = run(load(tmp_path, toml, CHARGE))
    effects = kinds(records, "EffectPerformed")
    assert summary.processed == len(effects) == 8
    assert all(isinstance(e, EffectPerformed) and e.owner == "billing" for e in effects)
    # each effect is caused by the delivery it was done for
    for e in effects:
        assert e.cause_seq is not None and type(records[e.cause_seq]).__name__ == "Delivered"


def test_an_exception_is_a_handler_error_with_its_type_message_and_line(tmp_path: Path) -> None:
    code = """
    from evsim import Context, Message, handler

    @handler
    def handle(message: Message, ctx: Context) -> None:
        ctx.store.put("seen", message.id)
        if message.id == 3:
            raise ValueError("bad amount")
        ctx.effect("charge")
    """
    toml = LOG_GROUP + '[groups.retry]\npolicy = "immediate"\nattempts = 2\n'
    records, summary = run(load(tmp_path, toml, code))
    failed = [r for r in records if isinstance(r, ProcessingFailed)]
    assert [f.error for f in failed] == ["ValueError: bad amount (consumer.py:8)"] * 2
    assert [f.attempt for f in failed] == [1, 2]
    rolled = kinds(records, "StoreRolledBack")
    assert len(rolled) == 2 and "ValueError" in rolled[0].reason  # type: ignore[attr-defined]
    assert summary.lost == 1  # skipped after its last try: nowhere to go


def test_the_store_is_the_groups_and_commits_after_processing(tmp_path: Path) -> None:
    code = """
    from evsim import Context, Message, handler

    @handler
    def handle(message: Message, ctx: Context) -> None:
        count = ctx.store.get("count", 0)
        ctx.store.put("count", count + 1)
        ctx.effect("count", seq=count + 1)
    """
    records, _ = run(load(tmp_path, LOG_GROUP, code))
    seqs = [r.key_seq for r in records if isinstance(r, EffectPerformed)]
    assert seqs == list(range(1, 9))  # both consumers see one store
    commits = [r for r in records if isinstance(r, StoreCommitted)]
    assert len(commits) == 8
    for c in commits:
        assert c.keys == ["count"] and type(records[c.cause_seq or 0]).__name__ == "Processed"


def test_a_fault_strikes_at_the_commit_after_the_handler_ran(tmp_path: Path) -> None:
    code = """
    from evsim import Context, Message, handler

    @handler
    def handle(message: Message, ctx: Context) -> None:
        ctx.store.put(f"order:{message.id}", True)
        ctx.effect("email")
        ctx.publish("payments-out", "placed", key=message.key)
    """
    toml = LOG_GROUP.replace(
        "settle_ms = 500", 'settle_ms = 500\nproperties = ["publishes-match-commits"]'
    )
    toml += '[[topics]]\nname = "payments-out"\n[[faults]]\nkind = "poison"\nmsgs = [2]\n'
    records, summary = run(load(tmp_path, toml, code))
    failed = [r for r in records if isinstance(r, ProcessingFailed)]
    assert failed and all(f.error == "poison" and f.msg == 2 for f in failed)
    effects = [r for r in records if isinstance(r, EffectPerformed) and r.ref == "m2"]
    assert len(effects) == 1  # the outside world saw it: an effect is never rolled back
    rolled = kinds(records, "StoreRolledBack")
    assert rolled and "poison fault" in rolled[0].reason  # type: ignore[attr-defined]
    verdicts = {e.name: e.ok for e in summary.expectations}
    assert verdicts == {"property publishes-match-commits": False}


def test_outbox_rows_are_published_after_the_commit_and_only_then(tmp_path: Path) -> None:
    code = """
    from evsim import Context, Message, handler

    @handler
    def handle(message: Message, ctx: Context) -> None:
        ctx.store.put(f"order:{message.id}", True)
        ctx.store.outbox("payments-out", "placed", key=message.key)
    """
    toml = LOG_GROUP.replace(
        "settle_ms = 500", 'settle_ms = 500\nproperties = ["publishes-match-commits"]'
    )
    toml += '[[topics]]\nname = "payments-out"\n[[faults]]\nkind = "poison"\nmsgs = [2]\n'
    toml += '[[groups]]\nname = "shipping"\ntopic = "payments-out"\n'
    toml += 'auto_offset_reset = "earliest"\n'
    records, summary = run(load(tmp_path, toml, code))
    assert all(e.ok for e in summary.expectations), summary.expectations
    assert summary.groups["shipping"].processed == 7  # every order but the poisoned one
    commit = next(r for r in records if isinstance(r, StoreCommitted))
    assert commit.outbox == 1
    produced = records[commit.seq + 1]
    assert type(produced).__name__ == "Produced" and produced.cause_seq == commit.seq


def test_a_publish_to_an_unknown_topic_is_the_handlers_error(tmp_path: Path) -> None:
    code = """
    from evsim import Context, Message, handler

    @handler
    def handle(message: Message, ctx: Context) -> None:
        ctx.publish("nowhere", "x")
    """
    records, _ = run(load(tmp_path, LOG_GROUP, code))
    failed = [r for r in records if isinstance(r, ProcessingFailed)]
    assert failed[0].error.startswith("UsageError: no topic 'nowhere' in this scenario")
    assert failed[0].error.endswith("(consumer.py:6)")


def test_inside_a_kafka_transaction_the_store_commits_with_the_offsets(tmp_path: Path) -> None:
    code = """
    from evsim import Context, Message, handler

    @handler
    def handle(message: Message, ctx: Context) -> None:
        n = ctx.store.get("n", 0) + 1
        ctx.store.put("n", n)
        ctx.effect("counted", seq=n)
    """
    toml = LOG_GROUP.replace('commit = "after-process"', 'commit = "transactional"')
    toml = toml.replace("consumers = 2", "consumers = 1")
    toml += (
        '[[faults]]\nkind = "crash"\ntarget = "billing-0"\nat = "before_commit_transaction"\n'
        "restart_after_ms = 50\n"
    )
    records, summary = run(load(tmp_path, toml, code))
    assert summary.lost == 0
    rolled = kinds(records, "StoreRolledBack")
    assert len(rolled) == 1 and rolled[0].reason == "the Kafka transaction aborted"  # type: ignore[attr-defined]
    seqs = [r.key_seq for r in records if isinstance(r, EffectPerformed)]
    # the aborted batch's count is gone with it: the count starts again where it committed
    first_after = seqs.index(1, 1)
    assert seqs[first_after:] == list(range(1, len(seqs) - first_after + 1))
    last = [r for r in records if isinstance(r, StoreCommitted)][-1]
    assert last.keys == ["n"]
