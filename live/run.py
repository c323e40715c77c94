"""One live run: declare, start the processes, pace the fault plan, wait, clean up.

The run, step by step:

1. refuse what cannot run live (``live.plan.refusal``), one line;
2. connect, read the broker's version, declare the lesson's exchanges and
   queues under a fresh prefix (``live.topology``), and the taps
   (``live.taps``);
3. start one process per producer and per consumer (``live.worker``) and wait
   until each has its channel open;
4. let the consumers that start with the lesson subscribe, **one at a time**,
   in the lesson's order — the broker then takes turns among them as the
   model does — and start the clock: ``at`` = 0 in the trace;
5. pace the fault plan and the lesson's late starts in wall-clock time (a
   virtual millisecond takes ``1 / speed`` real ones): a timed crash is a
   ``SIGKILL`` sent to that consumer's process; a consumer that killed itself
   at a named point, or was killed, is started again after
   ``restart_after_ms`` if the fault says so, as a new process. A timed
   crash or a late start at ``at_ms`` also waits until every producer has
   reached each message due before ``at_ms``: on a busy machine a producer
   process can fall behind the clock, and a crash that overtook the
   publishes it follows in the lesson would find nothing to take away;
6. stop at the lesson's ``until_ms``, or once everything has settled and
   stayed settled for ``QUIET_MS``: every producer done, every delivery
   processed or given back, and no queue holding messages that a consumer or
   a TTL would still move (conditions read from the processes' files and from
   the broker, never a fixed sleep);
7. end the processes, read every file, delete everything the run declared
   (and check that nothing is left), and assemble the judged trace
   (``live.assemble``).

Every wait has a deadline (``timeout_s``); a run that does not settle in time
fails with one line, after cleaning up all the same.
"""

from __future__ import annotations

import heapq
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from live.assemble import Assembled, assemble
from live.broker import BrokerAddress, BrokerError, connect, server_version
from live.events import EventLog, Observation, read_new
from live.message import Death
from live.plan import ConsumerPlan, LivePlan, plan, refusal
from live.taps import Taps, management_counters
from live.topology import Topology, new_prefix
from live.worker import Controls, Setup, run_consumer, run_producer
from simulator.models.registry import model
from simulator.scenario import Scenario
from simulator.trace import Record, ScenarioStarted

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from pika import BlockingConnection

__all__ = ["QUIET_MS", "LiveError", "LiveOptions", "LiveResult", "run_live"]

QUIET_MS = 300
"""How long (wall clock) a settled run must stay settled before it ends: dead letters
and acks a moment behind are still written down."""

TURN_S = 0.005
"""One turn of the run's own connection (taps) between two looks at the conditions."""


class LiveError(Exception):
    """A live run could not happen or did not finish: one line for the user."""


@dataclass(frozen=True)
class LiveOptions:
    url: str
    seed: int | None = None
    speed: float = 1.0
    """Virtual milliseconds per wall-clock millisecond (0.5: twice as slow as the lesson)."""
    timeout_s: float = 120.0
    """The longest the run may take from the start of the clock to settling."""


@dataclass
class LiveResult:
    """A finished live run: its judged trace and what only the run itself knows."""

    assembled: Assembled
    broker_version: str
    broker: str
    """The broker's address, without password."""
    prefix: str
    deaths: list[tuple[int, Death]]
    """Every dead letter the taps saw: (message id, its latest ``x-death`` entry)."""
    leftovers: list[str]
    """Exchanges or queues of this run still on the broker after cleanup (should be none)."""
    firehose: bool
    management: dict[str, dict[str, int]] | None
    topology: Topology

    @property
    def records(self) -> list[Record]:
        return self.assembled.records


@dataclass
class _Worker:
    name: str
    process: BaseProcess
    controls: Controls
    log: Path
    consumer: ConsumerPlan | None = None
    incarnation: int = 1
    killed: bool = False
    """The run sent it SIGKILL (a timed crash)."""
    gone: bool = False
    """Its death has been dealt with."""


@dataclass
class _Books:
    """What the run knows from the processes' files while it waits."""

    offsets: dict[Path, int] = field(default_factory=dict)
    observations: list[Observation] = field(default_factory=list)
    open: dict[str, int] = field(default_factory=dict)
    """consumer → deliveries it has not finished (processed, nacked or skipped)."""
    arrivals: dict[str, dict[str, int]] = field(default_factory=dict)
    """consumer → crash point → times reached, over all incarnations."""
    failures: list[str] = field(default_factory=list)
    crashed: dict[str, str | None] = field(default_factory=dict)
    """consumer → the point of its latest self-inflicted crash (until it is restarted)."""
    produced: dict[str, int] = field(default_factory=dict)
    """producer → messages it has reached (and published, or is publishing)."""

    def read(self, path: Path) -> None:
        new, self.offsets[path] = read_new(path, self.offsets.get(path, 0))
        for o in new:
            self.observations.append(o)
            self._count(o)

    def _count(self, o: Observation) -> None:
        name = o.component
        if o.kind == "Delivered":
            self.open[name] = self.open.get(name, 0) + 1
            self._arrive(name, "after_poll")
            self._arrive(name, "after_commit_before_process")  # reached by auto-ack ones
        elif o.kind in ("Processed", "Nacked") or (
            o.kind == "Skipped" and "auto-ack" in str(o.fields.get("reason", ""))
        ):
            self.open[name] = self.open.get(name, 0) - 1
            if o.kind == "Processed":
                self._arrive(name, "after_process_before_commit")
        elif o.kind == "Crashed":
            self.open[name] = 0
            self.crashed[name] = o.fields.get("point")
        elif o.kind == "Produced":
            self.produced[name] = self.produced.get(name, 0) + 1
        elif o.kind == "WorkerFailed":
            self.failures.append(f"{name}: {o.fields.get('error')}")

    def _arrive(self, name: str, point: str) -> None:
        points = self.arrivals.setdefault(name, {})
        points[point] = points.get(point, 0) + 1


def _context() -> ForkServerContext:
    """Processes started fresh (no inherited sockets), from a server with pika preloaded."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["live.worker"])
    return ctx


def header(
    scenario: Scenario, seed: int, address: BrokerAddress, version: str, prefix: str, speed: float
) -> ScenarioStarted:
    """The trace header: the model's settings, and ``live.*`` settings saying what this is.

    A live trace reuses ``ScenarioStarted`` as it is: a new field would change
    the digest of every simulated trace (msgspec writes every field), and a new
    record kind would be unknown to readers of the schema. The ``settings`` map
    is what every reader already shows as the run's header.
    """
    settings = dict(model(scenario.broker).settings_for(scenario))
    settings.update(
        {
            "live": "true: a real broker, recorded by its clients",
            "live.deterministic": "false: wall-clock time; the broker and the OS schedule freely",
            "live.broker": address.shown,
            "live.broker_version": f"RabbitMQ {version}",
            "live.clock": "at = wall-clock ms since the workload started",
            "live.speed": f"{speed:g} (virtual ms per wall-clock ms; every duration, TTLs too,"
            " is divided by it)",
            "live.names": f"{prefix}<name> (deleted after the run; a queue left behind"
            " expires after 10 min unused, its exchange with it)",
            "network.latency_ms": "real (loopback)",
        }
    )
    return ScenarioStarted(
        seq=0,
        at=0,
        component="live",
        scenario=scenario.name,
        title=scenario.title.en,
        seed=seed,
        broker=scenario.broker,
        follows=f"RabbitMQ {version}, a real broker at {address.host}:{address.port} (live run)",
        settings=settings,
    )


def run_live(
    scenario: Scenario, options: LiveOptions, progress: Callable[[str], None] | None = None
) -> LiveResult:
    """Play ``scenario`` on the broker at ``options.url``; raises ``LiveError`` with one line."""
    reason = refusal(scenario)
    if reason is not None:
        raise LiveError(f"{scenario.name}: cannot run live: {reason}")
    if not 0.05 <= options.speed <= 20:
        raise LiveError("--speed: between 0.05 and 20")
    try:
        address = BrokerAddress.parse(options.url)
        conn = connect(address)
    except BrokerError as err:
        raise LiveError(str(err)) from None
    try:
        return _Run(scenario, options, address, conn, progress or (lambda _: None)).play()
    finally:
        if conn.is_open:
            conn.close()


class _Run:
    def __init__(
        self,
        scenario: Scenario,
        options: LiveOptions,
        address: BrokerAddress,
        conn: BlockingConnection,
        progress: Callable[[str], None],
    ) -> None:
        self.scenario = scenario
        self.options = options
        self.speed = options.speed
        self.address = address
        self.conn = conn
        self.progress = progress
        self.version = server_version(conn)
        self.plan: LivePlan = plan(scenario, options.seed)
        self.prefix = new_prefix()
        self.topology = Topology.of(scenario, self.prefix, self.plan.keys, self.speed)
        self.log_dir = Path(tempfile.mkdtemp(prefix="evsim-live-"))
        self.log = EventLog(self.log_dir / "run.1.jsonl")
        self.ctx = _context()
        self.t0 = self.ctx.Value("q", 0)
        self.lifeline, self._lifeline_end = self.ctx.Pipe(duplex=False)
        """Workers read ``lifeline``; the run keeps the writing end and never writes."""
        self.setup = Setup.of(
            options.url, self.prefix, scenario, self.plan.seed, self.speed, str(self.log_dir)
        )
        self.workers: list[_Worker] = []
        self.books = _Books()
        self.agenda: list[tuple[int, int, str, Any, int]] = []
        """(due in ns, order, what, its argument, its virtual time in ms)."""
        self._agenda_seq = 0

    # -- the run --------------------------------------------------------------------------

    def play(self) -> LiveResult:
        taps: Taps | None = None
        management = None
        leftovers: list[str] = []
        try:
            self.topology.declare(self.conn.channel())
            taps = Taps(self.conn, self.topology, self.log)
            taps.start()
            self._start_processes()
            t0, end, reason = self._pace(taps)
            self._stop_processes()
            for w in self.workers:
                self.books.read(w.log)
            self.books.read(self.log.path)
            _, queues = self.topology.object_names()
            delivered: dict[str, int] = {}
            for o in self.books.observations:
                if o.kind == "Delivered" and o.t <= end:
                    group = str(o.fields["group"])
                    delivered[group] = delivered.get(group, 0) + 1
            management = management_counters(
                self.address, queues, self.topology.lesson_name, delivered
            )
        finally:
            self._stop_processes()
            try:
                if taps is not None and self.conn.is_open:
                    taps.stop()
                if self.conn.is_open:
                    self.topology.delete(self.conn)
                    leftovers = self.topology.leftovers(self.conn)
            finally:
                self.log.close()
                shutil.rmtree(self.log_dir, ignore_errors=True)
        head = header(
            self.scenario, self.plan.seed, self.address, self.version, self.prefix, self.speed
        )
        assembled = assemble(
            self.scenario, self.plan.seed, head, self.books.observations, t0, end, reason
        )
        return LiveResult(
            assembled=assembled,
            broker_version=self.version,
            broker=self.address.shown,
            prefix=self.prefix,
            deaths=list(taps.deaths) if taps is not None else [],
            leftovers=leftovers,
            firehose=taps is not None and taps.firehose_seen > 0,
            management=management,
            topology=self.topology,
        )

    # -- processes --------------------------------------------------------------------------

    def _controls(self) -> Controls:
        ctx = self.ctx
        return Controls(ctx.Event(), ctx.Event(), ctx.Event(), self.t0, self.lifeline)

    def _start_processes(self) -> None:
        self.progress("starting producer and consumer processes")
        go = self.ctx.Event()
        for p in self.plan.producers:
            controls = Controls(self.ctx.Event(), go, self.ctx.Event(), self.t0, self.lifeline)
            process = self.ctx.Process(
                target=run_producer, args=(self.setup, p, controls), name=f"evsim-live {p.name}"
            )
            self._spawn(_Worker(p.name, process, controls, self._path(p.name, 1)))
        for c in self.plan.consumers:
            self._spawn_consumer(c, 1, {})
        self._wait(
            lambda: all(w.controls.connected.is_set() for w in self.workers),
            "every process to connect",
        )
        self.progress("subscribing the consumers")
        for w in self.workers:
            if w.consumer is not None and w.consumer.start_ms == 0:
                w.controls.start.set()
                self._wait(w.controls.subscribed.is_set, f"{w.name} to subscribe")
        self.t0.value = time.monotonic_ns()
        go.set()
        for w in self.workers:
            if w.consumer is not None and w.consumer.start_ms > 0:
                self._schedule(w.consumer.start_ms, "start", w)
        for crash in self.plan.timed_crashes:
            self._schedule(crash.at_ms, "crash", crash.target)
        self.progress("running")

    def _path(self, name: str, incarnation: int) -> Path:
        return self.log_dir / f"{name}.{incarnation}.jsonl"

    def _spawn(self, worker: _Worker) -> None:
        worker.process.start()
        self.workers.append(worker)

    def _spawn_consumer(
        self, c: ConsumerPlan, incarnation: int, arrivals: dict[str, int]
    ) -> _Worker:
        controls = self._controls()
        process = self.ctx.Process(
            target=run_consumer,
            args=(self.setup, c, incarnation, arrivals, controls),
            name=f"evsim-live {c.name}",
        )
        worker = _Worker(c.name, process, controls, self._path(c.name, incarnation), c, incarnation)
        self._spawn(worker)
        return worker

    def _stop_processes(self) -> None:
        alive = [w for w in self.workers if w.process.is_alive()]
        for w in alive:
            if w.process.pid is not None:
                os.kill(w.process.pid, signal.SIGTERM)
        for w in alive:
            w.process.join(5)
            if w.process.is_alive() and w.process.pid is not None:
                os.kill(w.process.pid, signal.SIGKILL)
                w.process.join(5)

    # -- pacing -----------------------------------------------------------------------------

    def _schedule(self, at_ms: int, what: str, arg: Any) -> None:
        due = self.t0.value + int(at_ms / self.speed * 1_000_000)
        heapq.heappush(self.agenda, (due, self._agenda_seq, what, arg, at_ms))
        self._agenda_seq += 1

    def _due(self, now: int) -> None:
        while self.agenda and self.agenda[0][0] <= now:
            _, _, what, _, at_ms = self.agenda[0]
            if what in ("crash", "start") and not self._produced_before(at_ms):
                return  # and what follows it waits too: the lesson's order is kept
            _, _, what, arg, _ = heapq.heappop(self.agenda)
            if what == "start":
                arg.controls.start.set()
            elif what == "crash":
                self._kill(arg)
            elif what == "restart":
                name, incarnation = arg
                c = self.plan.consumer(name)
                w = self._spawn_consumer(c, incarnation, dict(self.books.arrivals.get(name, {})))
                w.controls.start.set()

    def _produced_before(self, at_ms: int) -> bool:
        """Every producer still running has reached each of its messages due before ``at_ms``."""
        for p in self.plan.producers:
            # A producer publishes its messages in order: the last one due before at_ms.
            due = max((i + 1 for i, m in enumerate(p.messages) if m.at_ms < at_ms), default=0)
            worker = self._current(p.name)
            running = worker is not None and worker.process.is_alive()
            if running and self.books.produced.get(p.name, 0) < due:
                return False
        return True

    def _kill(self, name: str) -> None:
        """A timed crash: the run writes ``Crashed`` and sends the process ``SIGKILL``."""
        worker = self._current(name)
        if worker is None or not worker.process.is_alive() or worker.process.pid is None:
            return
        self.log.write("Crashed", name, point=None)
        worker.killed = True
        os.kill(worker.process.pid, signal.SIGKILL)

    def _current(self, name: str) -> _Worker | None:
        return next((w for w in reversed(self.workers) if w.name == name), None)

    def _deaths(self, now: int) -> None:
        """Notice processes that ended; restart a crashed consumer if its fault says so."""
        for w in self.workers:
            if w.gone or w.process.is_alive():
                continue
            w.gone = True
            self.books.read(w.log)
            if self.books.failures:
                raise LiveError(f"{self.scenario.name}: {self.books.failures[0]}")
            if w.consumer is None:
                if w.process.exitcode not in (0, None):
                    raise LiveError(f"{w.name} exited with code {w.process.exitcode}")
                continue
            if w.killed:
                restart = self.plan.crash_for(w.name, None, 0)
            elif w.name in self.books.crashed:
                point = self.books.crashed.pop(w.name)
                count = self.books.arrivals.get(w.name, {}).get(point or "", 0)
                restart = self.plan.crash_for(w.name, point, count)
            else:
                raise LiveError(f"{w.name} exited with code {w.process.exitcode}")
            if restart is not None:
                at_ms = (now - self.t0.value) / 1_000_000 * self.speed + restart
                self._schedule(int(at_ms), "restart", (w.name, w.incarnation + 1))

    def _pace(self, taps: Taps) -> tuple[int, int, str]:
        """Run until ``until_ms`` or until settled; returns (t0, end, reason) in ns."""
        t0 = self.t0.value
        until = self.plan.until_ms
        until_ns = None if until is None else t0 + int(until / self.speed * 1_000_000)
        deadline = t0 + int(self.options.timeout_s * 1e9)
        quiet_since: int | None = None
        while True:
            now = time.monotonic_ns()
            self._due(now)
            for w in self.workers:
                self.books.read(w.log)
            self.books.read(self.log.path)
            self._deaths(now)
            self.conn.process_data_events(time_limit=TURN_S)
            now = time.monotonic_ns()
            if until_ns is not None and now >= until_ns:
                return t0, until_ns, "until"
            if now > deadline:
                raise LiveError(
                    f"{self.scenario.name}: the live run did not settle within"
                    f" {self.options.timeout_s:g} s"
                )
            if self._settled(taps):
                if quiet_since is None:
                    quiet_since = now
                elif now - quiet_since >= QUIET_MS * 1_000_000:
                    return t0, now, "quiescent"
            else:
                quiet_since = None

    def _settled(self, taps: Taps) -> bool:
        """Nothing left that a producer, a consumer, a TTL or the fault plan would do."""
        if self.agenda:
            return False
        if any(w.consumer is None and w.process.is_alive() for w in self.workers):
            return False
        if any(n > 0 for n in self.books.open.values()):
            return False
        starting = [
            w
            for w in self.workers
            if w.consumer is not None
            and w.process.is_alive()
            and w.controls.start.is_set()
            and not w.controls.subscribed.is_set()
        ]
        if starting:
            return False  # a consumer (re)starting will take what is waiting
        consuming = {
            w.consumer.group
            for w in self.workers
            if w.consumer is not None and w.process.is_alive() and w.controls.subscribed.is_set()
        }
        channel = self.conn.channel()
        try:
            for q in self.topology.queues:
                name = self.topology.broker_name(q.name)
                ready = int(channel.queue_declare(name, passive=True).method.message_count)
                if ready and (q.name in consuming or q.message_ttl_ms is not None):
                    return False
        finally:
            channel.close()
        return taps.ready() == 0

    def _wait(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 60
        while not condition():
            for w in self.workers:
                if not w.process.is_alive():
                    self.books.read(w.log)
                    detail = (
                        self.books.failures[0]
                        if self.books.failures
                        else (f"{w.name} exited with code {w.process.exitcode}")
                    )
                    raise LiveError(f"{self.scenario.name}: {detail}")
            if time.monotonic() > deadline:
                raise LiveError(f"{self.scenario.name}: waited 60 s for {what}")
            self.conn.process_data_events(time_limit=TURN_S)
