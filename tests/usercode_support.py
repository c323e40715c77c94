"""Shared pieces of the user-code tests (usercode/, evsim/): scenarios and their code files."""

from __future__ import annotations

import textwrap
from pathlib import Path

from simulator.lessons.summary import RunSummary, summarize
from simulator.scenario import Scenario, load_scenario
from simulator.simulation import Simulation
from simulator.trace import Record

HEADER = 'title = { en = "t", ko = "t" }\nsummary = { en = "s", ko = "s" }\n'

LOG_GROUP = """
settle_ms = 500
[[topics]]
name = "payments"
partitions = 2
[[producers]]
name = "shop"
topic = "payments"
[[groups]]
name = "billing"
topic = "payments"
consumers = 2
commit = "after-process"
auto_offset_reset = "earliest"
processing_ms = 2
session_timeout_ms = 300
heartbeat_interval_ms = 100
handler = "consumer.py:handle"
[[workload.generators]]
producer = "shop"
count = 8
keys = 2
rate_per_s = 200
"""
"""A log scenario whose one group runs ``consumer.py:handle``."""


def write(tmp_path: Path, toml: str, code: str, file: str = "consumer.py") -> Path:
    """Write ``lesson.toml`` and the code file into ``tmp_path``; the lesson's path."""
    (tmp_path / file).write_text(textwrap.dedent(code), encoding="utf-8")
    lesson = tmp_path / "lesson.toml"
    lesson.write_text(HEADER + textwrap.dedent(toml), encoding="utf-8")
    return lesson


def load(tmp_path: Path, toml: str, code: str, file: str = "consumer.py") -> Scenario:
    return load_scenario(write(tmp_path, toml, code, file))


def run(scenario: Scenario) -> tuple[list[Record], RunSummary]:
    sim = Simulation(scenario)
    summary = summarize(sim)
    return sim.trace.records, summary


def kinds(records: list[Record], kind: str) -> list[Record]:
    return [r for r in records if type(r).__name__ == kind]


BANK = """
settle_ms = 300
[store]
[[handlers]]
name = "teller"
decide_ms = 5
{handler}
[[projectors]]
name = "balances"
projection = "balances"
kind = "{kind}"
batch = 3
{apply}
[[commands]]
handler = "teller"
domain = "bank"
type = "account.open"
fields = {{ account_id = "A1", owner = "ana" }}
[[command_generators]]
handler = "teller"
domain = "bank"
type = "account.deposit"
count = 6
start_ms = 10
rate_per_s = 100
fields = {{ account_id = "A1", amount_cents = "100" }}
"""
"""An event-store scenario: a teller, a projector (``kind``, ``apply``) and deposits."""

APPLY = 'apply = "projector.py:apply"'


def bank(kind: str = "naive", apply: str = APPLY, handler: str = "") -> str:
    return BANK.format(kind=kind, apply=apply, handler=handler)


SAGA = """
settle_ms = 1000
properties = ["saga-net-effects"]
[saga]
mode = "orchestration"
steps = ["stock", "payment"]
compensable = ["stock", "payment"]
events_topic = "events"
commands_topic = "commands"
step_timeout_ms = 300
[[topics]]
name = "events"
[[topics]]
name = "commands"
[[producers]]
name = "shop"
topic = "events"
[[processors]]
kind = "saga-manager"
name = "orchestrator"
[[processors]]
kind = "saga-service"
name = "stock-service"
step = "stock"
code = "stock.py:reserve"
[[processors]]
kind = "saga-service"
name = "payment-service"
step = "payment"
decline_keys = ["order-1"]
[[groups]]
name = "orchestration"
topic = "events"
processor = "orchestrator"
commit = "after-process"
auto_offset_reset = "earliest"
[[groups]]
name = "stock"
topic = "commands"
processor = "stock-service"
commit = "after-process"
auto_offset_reset = "earliest"
[[groups]]
name = "payment"
topic = "commands"
processor = "payment-service"
commit = "after-process"
auto_offset_reset = "earliest"
[[workload.generators]]
producer = "shop"
count = 3
keys = 3
key_prefix = "order-"
value_prefix = "order.placed "
"""
"""An orchestrated saga whose stock step runs ``stock.py:reserve``."""

STEP = """
from evsim import Context, Rejected, saga_step

def release(saga: str, ctx: Context) -> None:
    if ctx.store.get(saga) == "reserved":
        ctx.effect("stock", amount=-1)
    ctx.store.put(saga, "released")

@saga_step(compensation=release)
def reserve(saga: str, ctx: Context):
    if saga == "order-2":
        return Rejected("out of stock")
    if ctx.store.get(saga) is None:
        ctx.effect("stock", amount=+1)
        ctx.store.put(saga, "reserved")
"""
"""A stock step: it reserves once per saga and releases only what it reserved."""
