"""Resource caps: each one refuses a scenario before it runs, with its ``$.path``.

The hard maxima live in ``simulator.scenario.LIMITS``; a scenario's ``[limits]``
table may lower any of them, never raise one. The trace size is capped by
``max_records`` (at most ``MAX_RECORDS``), which stops a run — a livelock included —
with ``RunFinished(reason="max_records")``.
"""

from __future__ import annotations

import tracemalloc

import msgspec
import pytest
from typer.testing import CliRunner

from cli import app
from simulator.errors import InputError
from simulator.scenario import LIMITS, MAX_RECORDS, decode_scenario
from simulator.simulation import Simulation

BASE = """
title = { en = "t", ko = "t" }
summary = { en = "s", ko = "s" }
%(top)s
[[topics]]
name = "orders"
partitions = %(partitions)s
[[producers]]
name = "p"
topic = "orders"
[[groups]]
name = "g"
topic = "orders"
consumers = %(consumers)s
auto_offset_reset = "earliest"
[[workload.generators]]
producer = "p"
count = %(count)s
keys = 2
%(extra)s
"""


def scenario_text(
    *, top: str = "", partitions: int = 1, consumers: int = 1, count: int = 5, extra: str = ""
) -> bytes:
    values = {
        "top": top,
        "partitions": partitions,
        "consumers": consumers,
        "count": count,
        "extra": extra,
    }
    return (BASE % values).encode()


def refused(data: bytes) -> InputError:
    # Refusing must come before the work the cap guards against. Measured in memory,
    # not seconds (a busy machine is slow, never large): building a trillion consumer
    # names or expanding millions of messages first would take far more than this.
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as err:
            decode_scenario(data, "capped.toml", "capped")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"refusing took {peak:,} bytes: something ran first"
    assert "\n" not in str(err.value) and err.value.file == "capped.toml"
    return err.value


CASES = [
    (
        "partitions_per_topic",
        {"partitions": LIMITS["partitions_per_topic"] + 1},
        "$.topics[0].partitions",
    ),
    (
        "consumers_per_group",
        {"consumers": LIMITS["consumers_per_group"] + 1},
        "$.groups[0].consumers",
    ),
    ("consumers_per_group", {"consumers": 10**15}, "$.groups[0].consumers"),
    ("messages", {"count": LIMITS["messages"] + 1}, "$.workload"),
    ("virtual_ms", {"top": f"until_ms = {LIMITS['virtual_ms'] + 1}"}, "$.until_ms"),
    (
        "virtual_ms",
        {"extra": f"start_ms = {LIMITS['virtual_ms'] + 1}"},
        "$.workload.generators[0]",
    ),
]


@pytest.mark.parametrize(("cap", "change", "where"), CASES)
def test_over_a_hard_maximum_is_refused_before_running(
    cap: str, change: dict[str, object], where: str
) -> None:
    err = refused(scenario_text(**change))  # type: ignore[arg-type]
    assert err.where == where


def test_a_crash_scheduled_past_the_virtual_time_cap_is_refused() -> None:
    extra = f'[[faults]]\nkind = "crash"\ntarget = "g-0"\nat_ms = {LIMITS["virtual_ms"] + 1}\n'
    assert refused(scenario_text(extra=extra)).where == "$.faults[0].at_ms"


LOWERED = [
    ("partitions_per_topic", 2, {"partitions": 3}, "$.topics[0].partitions"),
    ("consumers_per_group", 1, {"consumers": 2}, "$.groups[0].consumers"),
    ("messages", 4, {"count": 5}, "$.workload"),
    ("virtual_ms", 10, {"extra": "start_ms = 11"}, "$.workload.generators[0]"),
    ("topics", 1, {"extra": '[[topics]]\nname = "more"'}, "$.topics"),
    ("memory_mb", 1, {"count": 5000}, "$.workload"),
]


@pytest.mark.parametrize(("cap", "value", "change", "where"), LOWERED)
def test_limits_table_lowers_a_cap(
    cap: str, value: int, change: dict[str, object], where: str
) -> None:
    body = scenario_text(**change)  # type: ignore[arg-type]
    assert refused(body + f"\n[limits]\n{cap} = {value}\n".encode()).where == where
    decode_scenario(body, "ok.toml")  # the same scenario, without the lowered cap, loads


@pytest.mark.parametrize("cap", sorted(LIMITS))
def test_limits_table_cannot_raise_a_cap(cap: str) -> None:
    err = refused(scenario_text() + f"\n[limits]\n{cap} = {LIMITS[cap] + 1}\n".encode())
    assert err.where == f"$.limits.{cap}" and "hard maximum" in err.message


def test_trace_size_cap_is_max_records_with_a_hard_maximum() -> None:
    assert refused(scenario_text(top=f"max_records = {MAX_RECORDS + 1}")).where == "$.max_records"
    assert decode_scenario(scenario_text(top=f"max_records = {MAX_RECORDS}"), "m.toml")
    # A requeue loop never ends by itself; max_records ends it.
    text = scenario_text(
        top='broker = "rabbitmq"\nmax_records = 3000',
        extra='[[faults]]\nkind = "poison"\ngroup = "g"\nkeys = ["key-0"]\n',
    ).decode()
    text = text.replace(
        'auto_offset_reset = "earliest"',
        'auto_offset_reset = "earliest"\nrabbitmq = { requeue_on_failure = true }',
    )
    sim = Simulation(decode_scenario(text.encode(), "loop.toml"))
    sim.run()
    assert sim.finish_reason == "max_records"
    assert len(sim.trace) < 3000 + 100


def test_the_cli_refuses_an_over_cap_scenario_with_exit_2_and_one_line(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "huge.toml"
    path.write_bytes(scenario_text(count=LIMITS["messages"] + 1))
    result = CliRunner().invoke(app, ["play", str(path), "--json"])
    assert result.exit_code == 2
    assert "$.workload" in result.output and "cap" in result.output


@pytest.mark.parametrize("command", ["compare", "view"])
def test_a_run_projected_over_the_memory_budget_is_refused_before_it_is_built(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """The most messages a scenario may send, in a 300-byte file: within every count cap,
    but held in memory 5,000,000 of them peaked at 7.1 GB; the commands that hold the
    whole trace refuse it up front."""
    from pathlib import Path

    def never(*_: object, **__: object) -> None:
        raise AssertionError("a Simulation was built for a scenario over the budget")

    monkeypatch.setattr("simulator.simulation.Simulation", never)
    monkeypatch.setattr("simulator.lessons.compare.Simulation", never)
    monkeypatch.setattr("tui.app.EvsimApp", never)
    path = Path(str(tmp_path)) / "huge.toml"
    path.write_bytes(scenario_text(count=LIMITS["messages"]))
    assert len(path.read_bytes()) < 400
    args = ["compare", str(path), "--vary", "semantics"] if command == "compare" else ["view"]
    result = CliRunner().invoke(app, args if command == "compare" else [*args, str(path)])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1
    assert "$.workload" in result.output and "memory" in result.output
    assert f"budget of {LIMITS['memory_mb']:,} MB" in result.output
    assert "evsim play" in result.output  # what to do instead


def test_a_headless_run_keeps_a_large_trace_on_disk_so_its_projection_is_smaller() -> None:
    """The same messages load for ``evsim play``: it keeps their records on disk as the
    run goes (``simulator.spill``), so only the messages and the books stay in memory."""
    from simulator.scenario.validation import projected_memory_bytes, trace_on_disk

    spec = decode_scenario(scenario_text(count=LIMITS["messages"]), "big.toml")
    budget = LIMITS["memory_mb"] * 2**20
    assert trace_on_disk(spec)
    assert projected_memory_bytes(spec) < budget < projected_memory_bytes(spec, on_disk=False)
    small = decode_scenario(scenario_text(count=1_000), "small.toml")
    assert not trace_on_disk(small)
    assert projected_memory_bytes(small) == projected_memory_bytes(small, on_disk=False)


def test_the_memory_projection_follows_the_measured_cost() -> None:
    from simulator.scenario.validation import projected_memory_bytes, projected_records

    spec = decode_scenario(scenario_text(count=200_000), "m.toml")
    # measured for this shape: 1,000,088 records, about 330 MB at the peak held in memory;
    # W1 of the same size played headless (its trace spilled): 88 B a record, about 84 MB
    assert 900_000 <= projected_records(spec) <= 1_100_000
    assert 250 * 2**20 <= projected_memory_bytes(spec, on_disk=False) <= 600 * 2**20
    assert 84 * 2**20 <= projected_memory_bytes(spec) <= 300 * 2**20


def test_the_caps_are_documented() -> None:
    from reliability_support import ROOT

    doc = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    for cap in (*LIMITS, "max_records", "MAX_SCENARIO_BYTES"):
        assert f"`{cap}`" in doc, cap
    assert msgspec.json.encode(LIMITS)  # plain data, printable in the docs


def test_every_hard_maximum_has_a_limits_field_and_back() -> None:
    from simulator.scenario import Limits

    assert {f.name for f in msgspec.structs.fields(Limits)} == set(LIMITS)


def test_a_run_is_priced_per_message_by_its_broker_model() -> None:
    """The same workload costs what each model keeps per message: an SQS FIFO queue
    keeps dedup and group books a Kafka-style log does not."""
    from simulator.models.registry import model
    from simulator.scenario.validation import BYTES_PER_RECORD, projected_memory_bytes

    log = decode_scenario(scenario_text(count=100_000), "log.toml")
    fifo = msgspec.structs.replace(log, broker="sqs-fifo")
    gap = projected_memory_bytes(fifo, on_disk=False) - projected_memory_bytes(log, on_disk=False)
    per_message = model("sqs-fifo").bytes_per_message - model("log").bytes_per_message
    assert gap == 100_000 * per_message > 0
    assert model("log").bytes_per_message < BYTES_PER_RECORD * 5


def test_the_largest_workload_plays_headless_within_the_budget() -> None:
    """LIMITS["messages"] W1 messages (one group, trace on disk) load for ``evsim play``;
    the 50,050,019 records fit under MAX_RECORDS. Measured: 1.8 GB at the peak."""
    from simulator.scenario.validation import projected_memory_bytes, projected_records

    text = scenario_text(top=f"max_records = {MAX_RECORDS}", count=LIMITS["messages"])
    spec = decode_scenario(text, "largest.toml")
    assert projected_records(spec) == 5 * LIMITS["messages"] < MAX_RECORDS
    assert projected_memory_bytes(spec) < LIMITS["memory_mb"] * 2**20
