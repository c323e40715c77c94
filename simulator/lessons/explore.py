"""The invariant explorer: many seeds and random fault plans, the first violation, in order.

Two explorations share this module. The reliability suite's ``Case`` builds a
small scenario — one topic, a consumer group, a keyed workload, consumer
crashes at random times or named points, lost producer acknowledgements — and
``violation`` says what the run breaks of its delivery semantics' promise.
An *exercise* (``simulator.lessons.exercises``) explores its own lesson: case 0
is the lesson as written, every later case adds a random fault plan drawn from
the exercise's menu (crashes at named points or times, network drops and
duplicates, poison messages, transient errors, slow consumers, values varied
along paths of the file), with a seed of its own; a case fails when any
expectation or property of the lesson does.

Every case is a pure function of (lesson, code, menu, base seed, case number),
so cases can run anywhere — one after another here, or in a process pool
(``evsim.grade``), or later on a cluster — and ``first_failure`` reads their
results in case order: the first violation reported is the same whatever ran
the cases and however many workers there were.
"""

from __future__ import annotations

import random
import textwrap
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import msgspec

from simulator.errors import InputError
from simulator.lessons.summary import RunSummary, summarize
from simulator.models.registry import model, names
from simulator.rng import derive_seed
from simulator.scenario import Scenario, decode_scenario
from simulator.simulation import Simulation
from simulator.trace import Processed

__all__ = [
    "BROKERS",
    "COMMIT",
    "POINTS",
    "SEMANTICS",
    "Case",
    "CaseResult",
    "CaseTask",
    "Explore",
    "Plan",
    "first_failure",
    "first_failure_of",
    "first_processings_out_of_key_order",
    "plan_case",
    "run_case",
    "semantics_for",
    "violation",
]


# -- the reliability suite's cases ------------------------------------------------------------

BROKERS = tuple(names())
SEMANTICS = ("at-least-once", "at-most-once", "exactly-once")
COMMIT = {
    "at-least-once": "after-process",
    "at-most-once": "before-process",
    "exactly-once": "transactional",
}
POINTS = ("after_poll", "after_process_before_commit", "after_commit_before_process")


@dataclass(frozen=True)
class Case:
    """One random delivery-guarantee case: a broker, its semantics, a workload and crashes."""

    broker: str
    semantics: str
    seed: int
    partitions: int
    consumers: int
    count: int
    keys: int
    crashes: tuple[tuple[int, int | str, int], ...]
    ack_drop: float

    def toml(self) -> str:
        text = f"""
        title = {{ en = "reliability case", ko = "신뢰성 사례" }}
        summary = {{ en = "{self}", ko = "무작위 사례" }}
        broker = "{self.broker}"
        seed = {self.seed}
        settle_ms = 2000
        [[topics]]
        name = "orders"
        partitions = {self.partitions}
        [[producers]]
        name = "shop"
        topic = "orders"
        request_timeout_ms = 40
        retry_backoff_ms = 5
        [[groups]]
        name = "g"
        topic = "orders"
        consumers = {self.consumers}
        commit = "{COMMIT[self.semantics]}"
        auto_offset_reset = "earliest"
        processing_ms = 3
        max_poll_records = 4
        session_timeout_ms = 300
        heartbeat_interval_ms = 100
        [groups.rabbitmq]
        prefetch = 3
        [groups.sqs]
        visibility_timeout_ms = 500
        batch_size = 2
        [[workload.generators]]
        producer = "shop"
        count = {self.count}
        keys = {self.keys}
        rate_per_s = 200
        key_choice = "random"
        """
        if self.semantics == "exactly-once":
            text = text.replace(
                'commit = "transactional"', 'commit = "transactional"\noutput_topic = "ledger"'
            )
            text += """
            [[topics]]
            name = "ledger"
            partitions = 2
            [[groups]]
            name = "reader"
            topic = "ledger"
            isolation = "read_committed"
            auto_offset_reset = "earliest"
            """
        if self.broker == "sqs":
            # A standard queue's own rare second copy is documented behaviour, not a
            # consumer-side duplicate: switch it off so at-most-once can be judged.
            text += "[sqs]\nduplicate_probability = 0.0\n"
        if self.ack_drop:
            text += f"""
            [[faults]]
            kind = "network"
            source = "broker"
            destination = "shop"
            drop_probability = {self.ack_drop}
            """
        seen: set[tuple[int, str]] = set()
        for consumer, when, restart in self.crashes:
            if consumer >= self.consumers:
                continue
            if isinstance(when, str):
                if (consumer, when) in seen:
                    continue
                seen.add((consumer, when))
                moment = f'at = "{when}"'
            else:
                moment = f"at_ms = {when}"
            text += f"""
            [[faults]]
            kind = "crash"
            target = "g-{consumer}"
            {moment}
            restart_after_ms = {restart}
            """
        return textwrap.dedent(text)

    def scenario(self) -> Scenario:
        return decode_scenario(self.toml().encode(), "case.toml", "case")


def semantics_for(broker: str) -> tuple[str, ...]:
    """Exactly-once only where the model has transactions."""
    return SEMANTICS if model(broker).capabilities.transactions else SEMANTICS[:2]


def first_processings_out_of_key_order(scenario: Scenario) -> str | None:
    """The first first-processing that comes before an earlier message of its key, if any."""
    sim = Simulation(scenario)
    sim.run()
    latest: dict[tuple[str, str], int] = {}
    seen: set[tuple[str, int]] = set()
    for r in sim.trace:
        if type(r) is Processed and r.key is not None and (r.group, r.msg) not in seen:
            seen.add((r.group, r.msg))
            if r.key_seq <= latest.get((r.group, r.key), 0):
                return f"m{r.msg} ({r.key} #{r.key_seq}) first processed after a later one"
            latest[(r.group, r.key)] = r.key_seq
    return None


def violation(scenario: Scenario, semantics: str) -> str | None:
    """What the run breaks of its semantics' promise, or None."""
    s: RunSummary = summarize(Simulation(scenario))
    if semantics in ("at-least-once", "exactly-once") and s.lost:
        return f"{semantics}: lost {s.lost} ({s.groups})"
    if semantics in ("at-most-once", "exactly-once") and s.duplicates:
        return f"{semantics}: {s.duplicates} duplicates ({s.groups})"
    # On SQS FIFO, deleting before processing frees the message group at once, so
    # another consumer may take the next batch while the first is still processing:
    # ordering of processing is promised only when the delete comes after it.
    order = model(scenario.broker).capabilities.key_order
    if order == "per-partition" or (order == "per-message-group" and semantics != "at-most-once"):
        return first_processings_out_of_key_order(scenario)
    return None


# -- an exercise's menu of faults ---------------------------------------------------------------


class _Menu(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """Base of the ``[explore]`` tables of an exercise file."""


class CrashMenu(_Menu, frozen=True):
    """Crash one of ``targets`` at a named point or at a time, and restart it."""

    targets: list[str]
    points: list[str] = []
    at_ms: tuple[int, int] | None = None
    """Crash at a time drawn from this range (ms), when given."""
    restart_after_ms: tuple[int, int] = (0, 200)
    occurrence: tuple[int, int] = (1, 1)
    """At a point: the n-th arrival there, n drawn from this range."""


class NetworkMenu(_Menu, frozen=True):
    """Drop or duplicate messages from ``source`` to ``destination``."""

    source: str
    destination: str
    drop: list[float] = []
    duplicate: list[float] = []


class PoisonMenu(_Menu, frozen=True):
    """Poison one message, its id drawn from ``msgs`` (a range)."""

    msgs: tuple[int, int]
    group: str | None = None


class HandlerErrorMenu(_Menu, frozen=True):
    """Transient handler errors in ``group``, with a probability drawn from the list."""

    group: str
    probability: list[float]


class SlowMenu(_Menu, frozen=True):
    """Slow one of ``targets`` down for a while."""

    targets: list[str]
    processing_ms: list[int]
    from_ms: tuple[int, int] = (0, 0)
    for_ms: tuple[int, int] = (100, 1000)


class VaryMenu(_Menu, frozen=True):
    """Set the value at ``path`` (``workload.generators[0].count``) to one of ``values``."""

    path: str
    values: list[int | float | str | bool]


class Explore(_Menu, frozen=True):
    """``[explore]``: what the grader may do to an exercise's lesson, case after case."""

    max_faults: int = 3
    """Faults added to each case (at least one), drawn from the menus below."""
    crash: list[CrashMenu] = []
    network: list[NetworkMenu] = []
    poison: list[PoisonMenu] = []
    handler_error: list[HandlerErrorMenu] = []
    slow: list[SlowMenu] = []
    vary: list[VaryMenu] = []


@dataclass(frozen=True)
class Plan:
    """One case of an exploration: its seed, the faults added, the values varied."""

    index: int
    seed: int
    faults: list[dict[str, Any]] = field(default_factory=list)
    vary: dict[str, Any] = field(default_factory=dict)


def _crash(rng: random.Random, m: CrashMenu) -> dict[str, Any]:
    fault: dict[str, Any] = {"kind": "crash", "target": rng.choice(m.targets)}
    modes = (["point"] if m.points else []) + (["time"] if m.at_ms is not None else [])
    if rng.choice(modes) == "point":
        fault["at"] = rng.choice(m.points)
        fault["occurrence"] = rng.randint(*m.occurrence)
    else:
        assert m.at_ms is not None
        fault["at_ms"] = rng.randint(*m.at_ms)
    fault["restart_after_ms"] = rng.randint(*m.restart_after_ms)
    return fault


def _network(rng: random.Random, m: NetworkMenu) -> dict[str, Any]:
    fault: dict[str, Any] = {"kind": "network", "source": m.source, "destination": m.destination}
    if m.drop:
        fault["drop_probability"] = rng.choice(m.drop)
    if m.duplicate:
        fault["duplicate_probability"] = rng.choice(m.duplicate)
    return fault


def _poison(rng: random.Random, m: PoisonMenu) -> dict[str, Any]:
    fault: dict[str, Any] = {"kind": "poison", "msgs": [rng.randint(*m.msgs)]}
    if m.group is not None:
        fault["group"] = m.group
    return fault


def _handler_error(rng: random.Random, m: HandlerErrorMenu) -> dict[str, Any]:
    return {"kind": "handler-error", "group": m.group, "probability": rng.choice(m.probability)}


def _slow(rng: random.Random, m: SlowMenu) -> dict[str, Any]:
    start = rng.randint(*m.from_ms)
    return {
        "kind": "slow",
        "target": rng.choice(m.targets),
        "processing_ms": rng.choice(m.processing_ms),
        "from_ms": start,
        "to_ms": start + rng.randint(*m.for_ms),
    }


def plan_case(menu: Explore, base_seed: int, index: int, lesson_seed: int) -> Plan:
    """Case ``index`` of the exploration: 0 is the lesson as written, the rest are random."""
    if index == 0:
        return Plan(0, lesson_seed)
    rng = random.Random(derive_seed(base_seed, f"exercise-case:{index}"))
    seed = rng.randrange(2**32)
    makers: list[Callable[[], dict[str, Any]]] = []
    makers += [partial(_crash, rng, m) for m in menu.crash]
    makers += [partial(_network, rng, m) for m in menu.network]
    makers += [partial(_poison, rng, m) for m in menu.poison]
    makers += [partial(_handler_error, rng, m) for m in menu.handler_error]
    makers += [partial(_slow, rng, m) for m in menu.slow]
    faults = []
    if makers:
        for _ in range(rng.randint(1, max(1, menu.max_faults))):
            faults.append(rng.choice(makers)())
    vary = {v.path: rng.choice(v.values) for v in menu.vary}
    return Plan(index, seed, faults, vary)


def _set_path(raw: dict[str, Any], path: str, value: Any) -> None:
    """Set ``workload.generators[0].count`` (a path into the plain data) to ``value``."""
    steps: list[str | int] = []
    for part in path.split("."):
        name, _, rest = part.partition("[")
        if name:
            steps.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            steps.append(int(index))
            rest = rest.removeprefix("[")
    target: Any = raw
    for step in steps[:-1]:
        target = target[step]
    target[steps[-1]] = value


def apply_plan(base: dict[str, Any], plan: Plan, file: str) -> Scenario:
    """The lesson (as plain data) with the plan's seed, faults and varied values."""
    raw = msgspec.json.decode(msgspec.json.encode(base))  # a deep copy
    raw["seed"] = plan.seed
    if plan.faults:
        raw["faults"] = [*raw.get("faults", []), *plan.faults]
    for path, value in plan.vary.items():
        _set_path(raw, path, value)
    from simulator.lessons.shrink import toml_dumps

    return decode_scenario(toml_dumps(raw).encode(), file, "")


# -- running one case ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseTask:
    """Everything a worker needs to run case ``index`` of an exercise (plain, picklable data)."""

    lesson: bytes
    """The lesson file's bytes."""
    file: str
    """Where the lesson is taken to be: code paths are relative to it."""
    menu: bytes
    """The ``[explore]`` table, as JSON."""
    base_seed: int
    index: int


class CaseResult(msgspec.Struct, frozen=True, kw_only=True):
    """How one case went: ``failures`` lists what broke (empty: it passed)."""

    index: int
    seed: int
    failures: list[str]
    digest: str = ""
    error: str | None = None
    """The case could not run at all (the code does not load, or broke determinism)."""

    @property
    def ok(self) -> bool:
        return not self.failures and self.error is None


_decoded: dict[tuple[bytes, str], tuple[Scenario, dict[str, Any]]] = {}
"""Per worker: the lesson decoded once (as a scenario and as plain data)."""


def lesson_of(lesson: bytes, file: str) -> tuple[Scenario, dict[str, Any]]:
    key = (lesson, file)
    known = _decoded.get(key)
    if known is None:
        scenario = decode_scenario(lesson, file, "")
        import tomllib

        raw = tomllib.loads(lesson.decode("utf-8"))
        known = _decoded[key] = (scenario, raw)
    return known


def judge(summary: RunSummary) -> list[str]:
    """What broke in a run: each failed expectation or property, as one line."""
    failures = [f"{e.name} ({e.detail})" for e in summary.expectations if not e.ok]
    if summary.finished == "max_records":
        failures.append(f"the run was cut at its record cap ({summary.trace_records} records)")
    return failures


def run_case(task: CaseTask) -> CaseResult:
    """Run one case of an exercise and judge it (a top-level function: a pool can call it)."""
    scenario, raw = lesson_of(task.lesson, task.file)
    menu = msgspec.json.decode(task.menu, type=Explore)
    plan = plan_case(menu, task.base_seed, task.index, scenario.seed)
    try:
        case = apply_plan(raw, plan, task.file)
        summary = summarize(Simulation(case))
    except InputError as err:
        return CaseResult(index=task.index, seed=plan.seed, failures=[], error=str(err))
    return CaseResult(
        index=task.index, seed=plan.seed, failures=judge(summary), digest=summary.trace_digest
    )


Mapper = Callable[[Callable[[CaseTask], CaseResult], Iterable[CaseTask]], Iterator[CaseResult]]
"""Runs tasks and yields their results *in task order* (``map``, a pool's ``map`` …)."""


def first_failure(
    tasks: Iterable[CaseTask],
    mapper: Mapper = map,
    progress: Callable[[CaseResult], None] | None = None,
) -> tuple[int, CaseResult | None]:
    """(cases judged, the first failing case or None), reading results in case order."""
    return first_failure_of(mapper(run_case, tasks), progress)


def first_failure_of(
    results: Iterable[CaseResult], progress: Callable[[CaseResult], None] | None = None
) -> tuple[int, CaseResult | None]:
    """``first_failure`` over results already coming in case order (an exploration started)."""
    explored = 0
    for result in results:
        explored += 1
        if progress is not None:
            progress(result)
        if not result.ok:
            return explored, result
    return explored, None
