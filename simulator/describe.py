"""One-line, human descriptions of trace records, shared by every view.

The headless player, the TUI's trace log and handouts all describe records
the same way: ``m12 key=order-3 → orders/2 @5``. Views add colour; the words
come from here.
"""

from __future__ import annotations

from simulator.trace import Record

__all__ = ["describe", "kind_of"]

_SKIP = frozenset({"seq", "at", "component", "cause_seq"})


def kind_of(record: Record) -> str:
    return type(record).__name__


def _tp(topic: object, partition: object) -> str:
    return f"{topic}/{partition}" if partition is not None else str(topic)


def describe(r: Record) -> str:
    """A short description of what the record says happened."""
    f = {name: getattr(r, name) for name in r.__struct_fields__ if name not in _SKIP}
    kind = kind_of(r)
    msg = f"m{f['msg']}" if f.get("msg") is not None else ""
    key = f" key={f['key']}" if f.get("key") is not None else ""
    if kind == "ScenarioStarted":
        return f"{f['scenario']} seed={f['seed']} broker={f['broker']} ({f['follows']})"
    if kind == "Produced":
        return f"{msg}{key}#{f['key_seq']} → {f['topic']}" if f["key"] else f"{msg} → {f['topic']}"
    if kind == "Appended":
        extra = f" pseq={f['producer_seq']}" if f.get("producer_seq") is not None else ""
        txn = f" txn={f['txn']}" if f.get("txn") else ""
        return f"{msg}{key} @{f['offset']} from {f['producer']}{extra}{txn}"
    if kind == "Acked":
        where = f" {_tp(f['topic'], f['partition'])}@{f['offset']}" if f["offset"] is not None else ""
        return f"{msg}{where}"
    if kind == "Delivered":
        again = " REDELIVERED" if f["redelivered"] else ""
        return f"{msg}{key} {_tp(f['topic'], f['partition'])}@{f['offset']} → {f['group']}{again}"
    if kind == "Processed":
        txn = f" txn={f['txn']}" if f.get("txn") else ""
        return f"{msg}{key}#{f['key_seq']} {_tp(f['topic'], f['partition'])}@{f['offset']}{txn}"
    if kind == "Committed":
        return f"{f['topic']}/{f['partition']} next={f['offset']} by {f['consumer']}"
    if kind == "Rebalanced":
        parts = "; ".join(f"{m}: {','.join(tps) or '-'}" for m, tps in f["assignment"].items())
        return f"gen {f['generation']} ({f['assignor']}) {parts}"
    if kind == "PositionReset":
        return f"{f['topic']}/{f['partition']} from {f['offset']} ({f['reason']})"
    if kind == "DuplicateDetected":
        return f"{msg}{key} processed again by {f['group']} (first: #{f['first_seq']})"
    if kind == "OrderViolated":
        return (
            f"{msg} key={f['key']}#{f['key_seq']} after #{f['after_key_seq']} in {f['group']}"
            f" (see #{f['after_seq']})"
        )
    if kind == "MessageLost":
        return f"{msg}{key} never processed by {f['group']}: {f['reason']}"
    if kind == "Crashed":
        return f"at {f['point']}" if f["point"] else "crashed"
    if kind == "ProduceRetried":
        return f"{msg} attempt {f['attempt']} after {f['backoff_ms']} ms"
    if kind == "RetryScheduled":
        via = f" via {f['via']}" if f["via"] else ""
        return f"{msg} attempt {f['attempt']} in {f['delay_ms']} ms{via}"
    parts = [msg] if msg else []
    for name, value in f.items():
        if name in ("msg", "key") or value is None:
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        parts.append(f"{name}={value}")
    if key:
        parts.insert(1 if msg else 0, key.strip())
    return " ".join(parts)
