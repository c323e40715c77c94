"""The CQRS layer needs nothing but the Runtime port: clock, trace, faults — no simulation."""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from conftest import scenario_from

from simulator.cqrs.commands import expand_commands
from simulator.cqrs.event_log import EventLog
from simulator.cqrs.handler import Handler
from simulator.cqrs.model import CqrsModel
from simulator.cqrs.outbox import Publishing
from simulator.cqrs.projector import Projector
from simulator.kernel import Kernel
from simulator.messages import Message
from simulator.rng import SeedSequence
from simulator.runtime import Runtime
from simulator.scenario import Crash, Scenario
from simulator.store import InMemoryEventStore
from simulator.trace import (
    CheckpointSaved,
    Crashed,
    EventPublished,
    EventStored,
    Projected,
    ProjectionSkipped,
    ReadModelMismatched,
    Record,
    Restarted,
)

CQRS = Path(__file__).resolve().parents[2] / "simulator" / "cqrs"
R = TypeVar("R", bound=Record)


def _imported_modules(path: Path) -> list[str]:
    """Every module ``path`` imports, at any depth (``if TYPE_CHECKING:`` and functions too)."""
    package = "simulator.cqrs"
    out: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            out.append(base)
            out.extend(f"{base}.{alias.name}" for alias in node.names)
    return out


def test_no_cqrs_module_imports_the_simulation() -> None:
    modules = sorted(CQRS.glob("*.py"))
    assert len(modules) > 5
    offenders = [
        f"{path.name}: {name}"
        for path in modules
        for name in _imported_modules(path)
        if name == "simulator.simulation" or name.startswith("simulator.simulation.")
    ]
    assert offenders == []


def test_the_import_scan_sees_imports_under_type_checking(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from simulator.simulation import Simulation\n"
        "def f():\n"
        "    from .. import simulation\n",
        encoding="utf-8",
    )
    names = _imported_modules(module)
    assert "simulator.simulation" in names
    assert "simulator.simulation.Simulation" in names


class NoFaultNetwork:
    """Every call gets through after ``latency_ms``."""

    latency_ms = 0
    faulty = False

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def send(
        self,
        source: str,
        destination: str,
        what: str,
        msg: int | Sequence[int] | None,
        deliver: Callable[[Any], None],
        arg: Any,
        *,
        background: bool = False,
        cause_seq: int | None = None,
    ) -> int | None:
        self.kernel.after(self.latency_ms, deliver, arg, background=background)
        return None

    def allows(self, source: str, destination: str, what: str, **_: Any) -> bool:
        return True

    def last_drop(self, msg: int) -> int | None:
        return None


class ScriptedFaults:
    """No fault, except crashes at the named points listed in ``crashes``, once each."""

    def __init__(self, crashes: dict[tuple[str, str], Crash] | None = None) -> None:
        self.crashes = dict(crashes or {})

    def crash_at_point(self, component: str, point: str) -> Crash | None:
        return self.crashes.pop((component, point), None)

    def handler_error(
        self, group: str, consumer: str, msg: int, key: str | None, value: str
    ) -> str | None:
        return None

    def handlers_may_fail(self, group: str) -> bool:
        return False

    def may_slow(self, consumer: str) -> bool:
        return False

    def may_crash(self, component: str) -> bool:
        return False

    def processing_ms(self, consumer: str, default_ms: int) -> int:
        return default_ms


class FakeRuntime:
    """The smallest runtime: a kernel, a list of records, scripted faults, a list as the broker."""

    def __init__(self, scenario: Scenario, faults: ScriptedFaults | None = None) -> None:
        self.scenario = scenario
        self.seed = scenario.seed
        self.kernel = Kernel()
        self.rng = SeedSequence(self.seed)
        self.network = NoFaultNetwork(self.kernel)
        self.faults = faults or ScriptedFaults()
        self._records: list[Record] = []
        self.sent: list[Message] = []
        self.cqrs: CqrsModel | None = None
        """Who owns the crash targets (set once the model is built)."""

    @property
    def records(self) -> Sequence[Record]:
        return self._records

    @property
    def next_seq(self) -> int:
        return len(self._records)

    def record(self, rec: R) -> R:
        self._records.append(rec)
        return rec

    def record_all(self, recs: list[R]) -> None:
        self._records.extend(recs)

    def record_each(self, recs: list[R]) -> None:
        self._records.extend(recs)

    def emit(self, cls: type[R], component: str, cause_seq: int | None, **fields: Any) -> R:
        rec = cls(
            seq=self.next_seq,
            at=self.kernel.now_ms,
            component=component,
            cause_seq=cause_seq,
            **fields,
        )
        return self.record(rec)

    def crash(self, target: str, point: str | None, restart_after_ms: int | None) -> None:
        assert self.cqrs is not None and self.cqrs.owns(target)
        seq = self.cqrs.crash(target, point)
        if restart_after_ms is not None:
            cqrs = self.cqrs
            self.kernel.after(restart_after_ms, lambda _: cqrs.restart(target, seq))

    def new_message(self, producer: str, key: str | None, key_seq: int, value: str) -> Message:
        return Message(len(self.sent) + 1, producer, key, key_seq, value, self.kernel.now_ms)

    def derived_message(self, source_id: int, topic: str) -> Message:
        raise AssertionError("the CQRS layer derives no messages")

    def publisher(self) -> FakeRuntime:
        return self

    def send(self, msg: Message) -> None:
        self.sent.append(msg)

    def run_until(self, until_ms: int) -> None:
        kernel = self.kernel
        while (at := kernel.next_time_ms()) is not None and at <= until_ms:
            kernel.step()

    def of(self, cls: type[R]) -> list[R]:
        return [r for r in self._records if isinstance(r, cls)]


BANK = """
[store]
{store}

[[handlers]]
name = "teller"
decide_ms = 2

[[projectors]]
name = "balances"
projection = "balances"
kind = "{kind}"
batch = 2

[[commands]]
handler = "teller"
domain = "bank"
type = "account.open"
fields = {{ account_id = "A", owner = "ana" }}

[[command_generators]]
handler = "teller"
domain = "bank"
type = "account.deposit"
count = 4
start_ms = 10
rate_per_s = 100
fields = {{ account_id = "A", amount_cents = "25" }}
"""


def _bank(kind: str = "naive", store: str = "") -> Scenario:
    return scenario_from(BANK.format(kind=kind, store=store))


def test_a_handler_and_a_projector_run_on_a_fake_runtime() -> None:
    scenario = _bank()
    runtime = FakeRuntime(scenario)
    port: Runtime = runtime  # the fake is a whole Runtime, as a type checker sees it
    log = EventLog(InMemoryEventStore(), single_writer=False)
    handler = Handler(port, log, Publishing(port, log), scenario.handlers[0])
    projector = Projector(port, log, scenario.projectors[0])
    for planned in expand_commands(scenario, runtime.rng):
        runtime.kernel.schedule(planned.at_ms, handler.receive, (planned, 1, None))
    runtime.run_until(500)
    assert [r.position for r in runtime.of(EventStored)] == [1, 2, 3, 4, 5]
    assert [r.position for r in runtime.of(Projected)] == [1, 2, 3, 4, 5]
    assert projector.serving.table == {"A": 100}
    assert projector.serving.checkpoint == 6
    assert [r.seq for r in runtime.records] == list(range(len(runtime.records)))


def test_a_crash_through_the_ports_crash_hook_hits_the_projectors_window() -> None:
    """The fault plan crashes the idempotent projector between rows and checkpoint."""
    point = "after_project_before_checkpoint"
    faults = ScriptedFaults({("balances", point): Crash(target="balances", restart_after_ms=20)})
    runtime = FakeRuntime(_bank(kind="idempotent"), faults)
    runtime.cqrs = model = CqrsModel(runtime)
    runtime.run_until(500)
    model.finish()
    crashed = runtime.of(Crashed)
    assert [(r.component, r.point) for r in crashed] == [("balances", point)]
    assert [r.cause_seq for r in runtime.of(Restarted)] == [crashed[0].seq]
    assert runtime.of(ProjectionSkipped), "the batch read again is skipped, not applied twice"
    assert model.projectors["balances"].serving.table == {"A": 100}
    assert runtime.of(CheckpointSaved)[-1].position == 6
    assert runtime.of(ReadModelMismatched) == []


def test_the_outbox_relay_publishes_through_the_runtimes_publisher() -> None:
    outbox = """
        publish = "outbox"
        producer = "relay"
        relay_interval_ms = 10

        [[topics]]
        name = "accounts"

        [[producers]]
        name = "relay"
        topic = "accounts"
    """
    scenario = _bank(store=textwrap.dedent(outbox))
    runtime = FakeRuntime(scenario)
    model = CqrsModel(runtime)
    runtime.run_until(500)
    published = runtime.of(EventPublished)
    assert [r.position for r in published] == [1, 2, 3, 4, 5]
    assert [m.id for m in runtime.sent] == [r.msg for r in published]
    assert {m.producer for m in runtime.sent} == {"relay"}
    assert model.publishing.unpublished() == []
