"""What the taps make of what the broker shows (no broker: the messages are built here).

The dead-letter tap reads ``x-death``; the firehose tap reads the trace
messages ``rabbitmqctl trace_on`` makes the broker publish. Both shapes are as
RabbitMQ 3.10.8 sends them (checked against a node with the tracer and the
management plugin on).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from live.events import EventLog, read_new
from live.message import identity_headers, latest_death
from live.taps import Taps
from live.topology import Topology
from simulator.scenario import resolve_scenario

PREFIX = "evsim-live-abc-"


class _Channel:
    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


def _taps(tmp_path: Path) -> tuple[Taps, Path]:
    topology = Topology.of(resolve_scenario("rabbitmq-dlx-delayed-retry"), PREFIX)
    path = tmp_path / "run.1.jsonl"
    conn = SimpleNamespace(channel=lambda: _Channel())
    return Taps(conn, topology, EventLog(path)), path  # type: ignore[arg-type]


def _death(queue: str, reason: str, count: int = 1) -> dict[str, Any]:
    return {
        "count": count,
        "reason": reason.encode(),
        "queue": (PREFIX + queue).encode(),
        "exchange": (PREFIX + "payments").encode(),
        "routing-keys": [b"card-0"],
        "time": 0,
    }


def test_the_latest_dead_lettering_is_the_first_x_death_entry() -> None:
    headers = {"x-death": [_death("retry-wait", "expired"), _death("billing", "rejected")]}
    death = latest_death(headers, lambda n: n.removeprefix(PREFIX))
    assert death is not None
    assert (death.queue, death.reason, death.count, death.exchange) == (
        "retry-wait",
        "expired",
        1,
        "payments",
    )
    assert death.as_dict()["routing-keys"] == ["card-0"]
    assert latest_death({}) is None


def test_a_dead_letter_on_the_tap_becomes_an_expiry_and_a_dead_lettering(tmp_path: Path) -> None:
    taps, path = _taps(tmp_path)
    headers = {
        **identity_headers(1, "card-0", 1, "checkout"),
        "x-death": [_death("retry-wait", "expired")],
    }
    taps._dead_letter("payments")(None, None, SimpleNamespace(headers=headers), b"")
    got, _ = read_new(path, 0)
    assert [(o.kind, o.fields["group"]) for o in got] == [
        ("MessageExpired", "retry-wait"),
        ("DeadLettered", "retry-wait"),
    ]
    assert got[1].fields["destination"] == "payments"
    assert got[1].meta == {"death": "retry-wait|m1|expired|1"}
    assert [m for m, _ in taps.deaths] == [1]


def test_an_ordinary_publish_to_an_exchange_that_is_also_a_dlx_is_not_a_dead_letter(
    tmp_path: Path,
) -> None:
    taps, path = _taps(tmp_path)
    headers = identity_headers(2, "card-1", 1, "checkout")
    taps._dead_letter("payments")(None, None, SimpleNamespace(headers=headers), b"")
    assert read_new(path, 0)[0] == []


def test_a_traced_publish_of_this_run_becomes_routed_without_the_runs_own_taps(
    tmp_path: Path,
) -> None:
    taps, path = _taps(tmp_path)
    traced = {
        "exchange_name": (PREFIX + "payments").encode(),
        "routing_keys": [b"card-0"],
        "routed_queues": [(PREFIX + "billing").encode(), (PREFIX + "~tap-payments").encode()],
        "properties": {"headers": identity_headers(1, "card-0", 1, "checkout")},
    }
    taps._traced(None, None, SimpleNamespace(headers=traced), b"")
    others = {**traced, "exchange_name": b"someone-elses-exchange"}
    taps._traced(None, None, SimpleNamespace(headers=others), b"")
    got, _ = read_new(path, 0)
    assert [(o.kind, o.fields["exchange"], o.fields["queues"]) for o in got] == [
        ("Routed", "payments", ["billing"])
    ]
    assert taps.firehose_seen == 1
