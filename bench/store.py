"""Benchmarks of the event store, each beside the same work in the ``eventsourcing`` library.

Three workloads, each measured with ``time.perf_counter`` and
``time.process_time`` (fine here: a benchmark
measures the machine, it is not part of the deterministic core): appending
events, ten per command, one append per command with its expected version;
rehydrating every aggregate from its stream; rebuilding a projection (balance
per account) by reading the whole SQLite log with ``read_all`` in pages. The
anchor is the Python ``eventsourcing`` library doing the same work through its
own ``Application``, repository and notification log; it is imported lazily, and
when it is absent its figures read ``"anchor not installed"`` — never a guess.
Each benchmark also says how many events the work involves (``expected_events``)
and each append result how many it left stored, counted after the run, so a
caller can check that both sides did the same work. Beside the wall clock each
figure has the process's CPU time over the same span (``cpu_seconds``,
``cpu_events_per_s``): on a shared machine the wall clock swings with the load,
the CPU time much less.

SQLite settings differ by default: evsim commits with ``synchronous=NORMAL`` (no
fsync per commit in WAL mode) and checkpoints less often; the library runs with
SQLite's defaults (``FULL``). So the SQLite anchors run twice: with the
library's defaults, and "tuned" with evsim's ``CONNECTION_PRAGMAS`` set on its
connections — the like-for-like comparison. ``sqlite-floor`` is the same SQL
(one commit row per append, format 2) from pre-encoded rows with no Python
objects: the lower bound on this machine with one transaction per append.
``evsim-sqlite-group`` makes the same appends through a group commit
(``GroupCommit``): a hundred appends per transaction, each answered only after
the commit that made it durable.
"""

from __future__ import annotations

import functools
import gc
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from importlib import metadata
from pathlib import Path
from typing import Any, Final, NamedTuple

import msgspec

from simulator.domain.bank import DOMAIN as BANK
from simulator.domain.bank import Account, AccountOpened, MoneyDeposited
from simulator.store import (
    Appended,
    AppendResult,
    EventStore,
    GroupCommit,
    InMemoryEventStore,
    SqliteEventStore,
)
from simulator.store.sqlite import CONNECTION_PRAGMAS

__all__ = [
    "ANCHOR_NOT_INSTALLED",
    "bench_append",
    "bench_lesson_commands",
    "bench_projection",
    "bench_rehydrate",
    "run_benchmarks",
]

ANCHOR_NOT_INSTALLED: Final = "anchor not installed"
DEFAULT_SCALE: Final = 1_000_000
GROUP_COMMIT_APPENDS: Final = 100
"""Appends per transaction in the group-commit run (1,000 events at 10 per command)."""

Figures = dict[str, Any]


class Span(NamedTuple):
    """A timed span: wall-clock seconds and the process's CPU seconds over the same span."""

    wall: float
    cpu: float


def _started() -> Span:
    return Span(time.perf_counter(), time.process_time())


def _since(started: Span) -> Span:
    return Span(time.perf_counter() - started.wall, time.process_time() - started.cpu)


def _rate(events: int, span: Span) -> Figures:
    return {
        "events": events,
        "seconds": round(span.wall, 3),
        "events_per_s": round(events / span.wall) if span.wall > 0 else None,
        "cpu_seconds": round(span.cpu, 3),
        "cpu_events_per_s": round(events / span.cpu) if span.cpu > 0 else None,
    }


def _ratio(
    ours: Figures | str, theirs: Figures | str, figure: str = "events_per_s"
) -> float | None:
    if isinstance(ours, str) or isinstance(theirs, str):
        return None
    if not ours.get(figure) or not theirs.get(figure):
        return None
    return round(float(ours[figure]) / float(theirs[figure]), 1)


def _anchor_version() -> str:
    try:
        return f"eventsourcing {metadata.version('eventsourcing')}"
    except metadata.PackageNotFoundError:
        return ANCHOR_NOT_INSTALLED


@contextmanager
def _workdir(directory: str | Path | None) -> Iterator[Path]:
    if directory is not None:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="evsim-bench-") as tmp:
        yield Path(tmp)


def _fresh(path: Path) -> Path:
    """Remove a store file left by an earlier run (with its WAL), so every run starts empty."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def _shape(scale: int, events_per_command: int, streams: int) -> tuple[int, int]:
    """(commands, streams), with at least one command per stream."""
    commands = max(scale // events_per_command, 1)
    return commands, max(min(streams, commands), 1)


# -- evsim ----------------------------------------------------------------------


def _account_ids(streams: int) -> list[str]:
    return [f"{i:06d}" for i in range(streams)]


def _open_accounts(store: EventStore, account_ids: list[str]) -> dict[str, tuple[Account, int]]:
    codec = store.codec(BANK)
    states = {}
    for account_id in account_ids:
        opened = AccountOpened(account_id=account_id, owner="bench")
        stream_id = f"account-{account_id}"
        store.append(stream_id, [codec.encode(opened)], 0, recorded_at_ms=0)
        states[stream_id] = (BANK.evolve(BANK.initial_state, opened), 1)
    return states


def _evsim_append(store: EventStore, commands: int, streams: int, events_per_command: int) -> Span:
    """The time to run ``commands`` commands of ``events_per_command`` deposits each."""
    account_ids = _account_ids(streams)
    states = _open_accounts(store, account_ids)
    stream_ids = list(states)
    codec = store.codec(BANK)
    evolve = BANK.evolve
    amounts = range(1, events_per_command + 1)
    started = _started()
    for n in range(commands):
        slot = n % streams
        stream_id = stream_ids[slot]
        account_id = account_ids[slot]
        state, version = states[stream_id]
        events = [
            MoneyDeposited(account_id=account_id, amount_cents=amount, currency="EUR")
            for amount in amounts
        ]
        for event in events:
            state = evolve(state, event)
        result = store.append(stream_id, codec.encode_all(events), version, recorded_at_ms=n)
        if not isinstance(result, Appended):
            raise RuntimeError(f"benchmark append conflicted: {result}")
        states[stream_id] = (state, result.version)
    return _since(started)


def _evsim_append_grouped(
    store: SqliteEventStore, commands: int, streams: int, events_per_command: int, group: int
) -> Span:
    """``_evsim_append`` through a group commit of ``group`` appends per transaction.

    The same commands, each one append of its events with the stream's expected
    version; the writer knows the version its own append leaves and goes on
    without waiting, and every append is answered after the commit that made
    it durable (checked: each answer must be an ``Appended``).
    """
    account_ids = _account_ids(streams)
    states = _open_accounts(store, account_ids)
    stream_ids = list(states)
    codec = store.codec(BANK)
    evolve = BANK.evolve
    amounts = range(1, events_per_command + 1)
    answered = 0

    def on_done(result: AppendResult) -> None:
        nonlocal answered
        if not isinstance(result, Appended):
            raise RuntimeError(f"benchmark append conflicted: {result}")
        answered += 1

    started = _started()
    with GroupCommit(store, group) as writer:
        for n in range(commands):
            slot = n % streams
            stream_id = stream_ids[slot]
            account_id = account_ids[slot]
            state, version = states[stream_id]
            events = [
                MoneyDeposited(account_id=account_id, amount_cents=amount, currency="EUR")
                for amount in amounts
            ]
            for event in events:
                state = evolve(state, event)
            writer.append(
                stream_id, codec.encode_all(events), version, recorded_at_ms=n, on_done=on_done
            )
            states[stream_id] = (state, version + events_per_command)
    span = _since(started)
    if answered != commands:
        raise RuntimeError(f"group commit answered {answered} of {commands} appends")
    return span


def _evsim_fill(store: EventStore, commands: int, streams: int, events_per_command: int) -> None:
    _evsim_append(store, commands, streams, events_per_command)


def _evsim_rehydrate(store: EventStore) -> tuple[Span, int]:
    stream_ids = store.stream_ids()
    started = _started()
    replayed = 0
    for stream_id in stream_ids:
        replayed += store.load(BANK, stream_id).replayed
    return _since(started), replayed


def _evsim_projection(store: SqliteEventStore, page_size: int) -> tuple[Span, int, int]:
    """Balance per account from the whole log, paged by global position."""
    codec = store.codec(BANK)
    decode = codec.decode
    balances: dict[str, int] = {}
    seen = 0
    started = _started()
    checkpoint = 1
    while page := store.read_all(checkpoint, limit=page_size):
        for stored in page:
            event = decode(stored)
            if type(event) is MoneyDeposited:
                balances[event.account_id] = balances.get(event.account_id, 0) + event.amount_cents
            elif type(event) is AccountOpened:
                balances.setdefault(event.account_id, 0)
        seen += len(page)
        checkpoint = page[-1].position + 1
    return _since(started), seen, sum(balances.values())


def _sqlite_floor(path: Path, commands: int, streams: int, events_per_command: int) -> Span:
    """The same four statements per append, from pre-encoded rows, with no Python objects.

    No Python code can append faster than this with one transaction per append: it
    is SQLite's own cost (lock, read the head, insert the commit, commit a WAL frame)
    on this machine, in the store's own schema (format 2: one ``commits`` row per append).
    """
    with SqliteEventStore(path) as store:  # the same schema and file format
        _open_accounts(store, _account_ids(streams))
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in CONNECTION_PRAGMAS:
        con.execute(f"PRAGMA {pragma}")
    stream_ids = [f"account-{account_id}" for account_id in _account_ids(streams)]
    data = [
        msgspec.json.encode(
            MoneyDeposited(account_id="000000", amount_cents=amount, currency="EUR")
        )
        for amount in range(1, events_per_command + 1)
    ]
    offsets = [sum(len(d) for d in data[:i]) for i in range(len(data))]
    parts = msgspec.json.encode(
        [("account.deposited", 2, offset, len(d)) for offset, d in zip(offsets, data, strict=True)]
    ).decode()
    payload = b"".join(data)
    insert = (
        "INSERT INTO commits (first_position, stream, first_version, last_version,"
        " recorded_at_ms, parts, data) VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    last = "FROM commits ORDER BY first_position DESC LIMIT 1"
    head_sql = (
        "SELECT (SELECT id FROM streams WHERE stream_id = ?1), (SELECT COALESCE(MAX("
        "last_version), 0) FROM commits WHERE stream = (SELECT id FROM streams WHERE"
        f" stream_id = ?1)), (SELECT first_position + last_version - first_version {last}),"
        f" (SELECT recorded_at_ms {last})"
    )
    started = _started()
    for n in range(commands):
        con.execute("BEGIN IMMEDIATE")
        key, version, head, _ = con.execute(head_sql, (stream_ids[n % streams],)).fetchone()
        con.execute(
            insert, (head + 1, key, version + 1, version + events_per_command, n, parts, payload)
        )
        con.execute("COMMIT")
    span = _since(started)
    con.close()
    return span


# -- the eventsourcing anchor -----------------------------------------------------


@functools.cache
def _anchor_account_class() -> type[Any]:
    """The library's Account aggregate, defined once: it registers its class by name."""
    from eventsourcing.domain import Aggregate, event

    class BenchAccount(Aggregate):
        @event("Opened")
        def __init__(self, owner: str) -> None:
            self.owner = owner
            self.balance_cents = 0

        @event("Deposited")
        def deposit(self, amount_cents: int, currency: str) -> None:
            self.balance_cents += amount_cents

    return BenchAccount


class _Anchor:
    """The library's Application with one Account aggregate, configured per backend."""

    def __init__(self, env: dict[str, str]) -> None:
        from eventsourcing.application import Application

        self.account_class = _anchor_account_class()
        self.app: Any = Application(env=env)

    def open_accounts(self, streams: int) -> list[Any]:
        accounts = [self.account_class(owner="bench") for _ in range(streams)]
        self.app.save(*accounts)
        return accounts

    def append(self, commands: int, streams: int, events_per_command: int) -> Span:
        accounts = self.open_accounts(streams)
        save = self.app.save
        amounts = range(1, events_per_command + 1)
        started = _started()
        for n in range(commands):
            account = accounts[n % streams]
            for amount in amounts:
                account.deposit(amount_cents=amount, currency="EUR")
            save(account)
        return _since(started)

    def rehydrate(self, ids: list[Any]) -> tuple[Span, int]:
        get = self.app.repository.get
        started = _started()
        replayed = 0
        for aggregate_id in ids:
            replayed += get(aggregate_id).version
        return _since(started), replayed

    def projection(self, page_size: int) -> tuple[Span, int, int]:
        recorder = self.app.recorder
        to_domain_event = self.app.mapper.to_domain_event
        deposited = self.account_class.Deposited
        balances: dict[Any, int] = {}
        seen = 0
        started = _started()
        start = 1
        while page := recorder.select_notifications(start=start, limit=page_size):
            for notification in page:
                domain_event = to_domain_event(notification)
                if isinstance(domain_event, deposited):
                    key = domain_event.originator_id
                    balances[key] = balances.get(key, 0) + domain_event.amount_cents
                else:
                    balances.setdefault(domain_event.originator_id, 0)
            seen += len(page)
            start = page[-1].id + 1
        return _since(started), seen, sum(balances.values())

    def stored_events(self) -> int:
        """Events in the library's notification log, counted after the run."""
        return int(self.app.recorder.max_notification_id() or 0)

    def close(self) -> None:
        self.app.close()


def _anchor_installed() -> bool:
    try:
        import eventsourcing.application  # noqa: F401
    except ImportError:
        return False
    return True


@contextmanager
def _sqlite_evsim_settings() -> Iterator[None]:
    """Give the library's SQLite connections evsim's settings (``CONNECTION_PRAGMAS``)."""
    from eventsourcing.sqlite import SQLiteConnectionPool

    original: Callable[..., Any] = SQLiteConnectionPool._create_connection

    def create_connection(pool: Any) -> Any:
        connection = original(pool)
        for pragma in CONNECTION_PRAGMAS:
            connection._sqlite_conn.execute(f"PRAGMA {pragma}")
        return connection

    SQLiteConnectionPool._create_connection = create_connection  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        SQLiteConnectionPool._create_connection = original  # type: ignore[method-assign]


ANCHOR_BACKENDS: Final = ("popo", "sqlite", "sqlite-tuned")
"""The library's in-memory backend, SQLite with its defaults, SQLite with evsim's settings."""


@contextmanager
def _anchor(backend: str, workdir: Path) -> Iterator[_Anchor]:
    env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if backend != "popo":
        workdir.mkdir(parents=True, exist_ok=True)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(_fresh(workdir / f"eventsourcing-{backend}.sqlite3")),
        }
    settings = _sqlite_evsim_settings() if backend == "sqlite-tuned" else nullcontext()
    with settings:
        anchor = _Anchor(env)
        try:
            yield anchor
        finally:
            anchor.close()


@contextmanager
def _collected() -> Iterator[None]:
    """Start each timed run from a clean heap, so one run's garbage does not bill the next."""
    gc.collect()
    yield
    gc.collect()


# -- the three benchmarks -------------------------------------------------------


def bench_append(
    scale: int = DEFAULT_SCALE,
    *,
    events_per_command: int = 10,
    streams: int = 1000,
    directory: str | Path | None = None,
) -> Figures:
    """Append ``scale`` events, ``events_per_command`` per command, round-robin over streams.

    Each command appends its events in one call with the stream's expected version
    (one SQLite transaction each); the aggregate's state is evolved in memory, as
    the library's aggregates do when they trigger events.
    """
    commands, streams = _shape(scale, events_per_command, streams)
    events = commands * events_per_command
    results: dict[str, Figures | str] = {}
    with _workdir(directory) as workdir:
        with _collected():
            memory = InMemoryEventStore()
            results["evsim-memory"] = _rate(
                events, _evsim_append(memory, commands, streams, events_per_command)
            ) | {"stored": memory.head_position() - streams}
            del memory
        with _collected(), SqliteEventStore(_fresh(workdir / "evsim-append.sqlite3")) as store:
            results["evsim-sqlite"] = _rate(
                events, _evsim_append(store, commands, streams, events_per_command)
            ) | {"stored": store.head_position() - streams}
        with (
            _collected(),
            SqliteEventStore(_fresh(workdir / "evsim-append-group.sqlite3")) as store,
        ):
            results["evsim-sqlite-group"] = _rate(
                events,
                _evsim_append_grouped(
                    store, commands, streams, events_per_command, GROUP_COMMIT_APPENDS
                ),
            ) | {"stored": store.head_position() - streams}
        with _collected():
            results["sqlite-floor"] = _rate(
                events,
                _sqlite_floor(
                    _fresh(workdir / "floor.sqlite3"), commands, streams, events_per_command
                ),
            )
        for backend in ANCHOR_BACKENDS:
            if not _anchor_installed():
                results[f"eventsourcing-{backend}"] = ANCHOR_NOT_INSTALLED
                continue
            with _collected(), _anchor(backend, workdir / "append") as anchor:
                seconds = anchor.append(commands, streams, events_per_command)
                results[f"eventsourcing-{backend}"] = _rate(events, seconds) | {
                    "stored": anchor.stored_events() - streams
                }
    return {
        "benchmark": "append",
        "workload": (
            f"{events} events: {commands} commands of {events_per_command} deposits, "
            f"round-robin over {streams} accounts, one append per command"
        ),
        "anchor": _anchor_version(),
        "expected_events": events,
        "results": results,
        "ratios": {
            "memory": _ratio(results["evsim-memory"], results["eventsourcing-popo"]),
            "sqlite": _ratio(results["evsim-sqlite"], results["eventsourcing-sqlite"]),
            "sqlite_same_settings": _ratio(
                results["evsim-sqlite"], results["eventsourcing-sqlite-tuned"]
            ),
            "sqlite_group_same_settings": _ratio(
                results["evsim-sqlite-group"], results["eventsourcing-sqlite-tuned"]
            ),
        },
        "cpu_ratios": {
            "sqlite_same_settings": _ratio(
                results["evsim-sqlite"], results["eventsourcing-sqlite-tuned"], "cpu_events_per_s"
            ),
            "sqlite_group_same_settings": _ratio(
                results["evsim-sqlite-group"],
                results["eventsourcing-sqlite-tuned"],
                "cpu_events_per_s",
            ),
        },
    }


def bench_rehydrate(
    scale: int = DEFAULT_SCALE,
    *,
    streams: int = 1000,
    events_per_command: int = 10,
    directory: str | Path | None = None,
) -> Figures:
    """Load every aggregate from ``scale`` stored events (no snapshots): replay throughput."""
    commands, streams = _shape(scale, events_per_command, streams)
    results: dict[str, Figures | str] = {}
    with _workdir(directory) as workdir:
        memory = InMemoryEventStore()
        _evsim_fill(memory, commands, streams, events_per_command)
        with _collected():
            seconds, replayed = _evsim_rehydrate(memory)
        results["evsim-memory"] = _rate(replayed, seconds)
        del memory
        with SqliteEventStore(_fresh(workdir / "evsim-rehydrate.sqlite3")) as store:
            _evsim_fill(store, commands, streams, events_per_command)
            with _collected():
                seconds, replayed = _evsim_rehydrate(store)
            results["evsim-sqlite"] = _rate(replayed, seconds)
        for backend in ANCHOR_BACKENDS:
            if not _anchor_installed():
                results[f"eventsourcing-{backend}"] = ANCHOR_NOT_INSTALLED
                continue
            with _anchor(backend, workdir / "rehydrate") as anchor:
                accounts = _anchor_fill(anchor, commands, streams, events_per_command)
                with _collected():
                    seconds, replayed = anchor.rehydrate([a.id for a in accounts])
                results[f"eventsourcing-{backend}"] = _rate(replayed, seconds)
    return {
        "benchmark": "rehydrate",
        "workload": (
            f"load {streams} accounts from {commands * events_per_command + streams} "
            "stored events, no snapshots"
        ),
        "anchor": _anchor_version(),
        "expected_events": commands * events_per_command + streams,
        "results": results,
        "ratios": {
            "memory": _ratio(results["evsim-memory"], results["eventsourcing-popo"]),
            "sqlite": _ratio(results["evsim-sqlite"], results["eventsourcing-sqlite"]),
            "sqlite_same_settings": _ratio(
                results["evsim-sqlite"], results["eventsourcing-sqlite-tuned"]
            ),
        },
        "cpu_ratios": {
            "sqlite_same_settings": _ratio(
                results["evsim-sqlite"], results["eventsourcing-sqlite-tuned"], "cpu_events_per_s"
            ),
        },
    }


def _anchor_fill(anchor: _Anchor, commands: int, streams: int, per_command: int) -> list[Any]:
    """Store the same events as ``_evsim_fill`` through the library, one save per account."""
    accounts = anchor.open_accounts(streams)
    amounts = range(1, per_command + 1)
    for n, account in enumerate(accounts):
        for _ in range(commands // streams + (1 if n < commands % streams else 0)):
            for amount in amounts:
                account.deposit(amount_cents=amount, currency="EUR")
        anchor.app.save(account)
    return accounts


def bench_projection(
    scale: int = DEFAULT_SCALE,
    *,
    page_size: int = 10_000,
    streams: int = 1000,
    events_per_command: int = 10,
    directory: str | Path | None = None,
) -> Figures:
    """Rebuild "balance per account" by reading the whole SQLite log in pages of positions."""
    commands, streams = _shape(scale, events_per_command, streams)
    results: dict[str, Figures | str] = {}
    totals: dict[str, int] = {}
    with _workdir(directory) as workdir:
        with SqliteEventStore(_fresh(workdir / "evsim-projection.sqlite3")) as store:
            _evsim_fill(store, commands, streams, events_per_command)
        # Reopen, so the rebuild reads through a fresh connection like a restarted projector.
        with SqliteEventStore(workdir / "evsim-projection.sqlite3") as store, _collected():
            seconds, seen, totals["evsim-sqlite"] = _evsim_projection(store, page_size)
        results["evsim-sqlite"] = _rate(seen, seconds)
        for backend in ("sqlite", "sqlite-tuned"):
            if not _anchor_installed():
                results[f"eventsourcing-{backend}"] = ANCHOR_NOT_INSTALLED
                continue
            with _anchor(backend, workdir / "projection") as anchor:
                _anchor_fill(anchor, commands, streams, events_per_command)
                with _collected():
                    seconds, seen, totals[f"eventsourcing-{backend}"] = anchor.projection(page_size)
                results[f"eventsourcing-{backend}"] = _rate(seen, seconds)
    return {
        "benchmark": "projection",
        "workload": (
            f"balance per account from {commands * events_per_command + streams} events "
            f"read from SQLite in pages of {page_size}"
        ),
        "anchor": _anchor_version(),
        "expected_events": commands * events_per_command + streams,
        "results": results,
        "ratios": {
            "sqlite": _ratio(results["evsim-sqlite"], results["eventsourcing-sqlite"]),
            "sqlite_same_settings": _ratio(
                results["evsim-sqlite"], results["eventsourcing-sqlite-tuned"]
            ),
        },
        "cpu_ratios": {
            "sqlite_same_settings": _ratio(
                results["evsim-sqlite"], results["eventsourcing-sqlite-tuned"], "cpu_events_per_s"
            ),
        },
        "target_events_per_s": 500_000,
        "totals_agree": len(set(totals.values())) == 1,
    }


def _lesson_commands(store: EventStore, commands: int, streams: int) -> Span:
    """Seconds for ``commands`` deposits through ``handle_command``, round-robin over streams."""
    from simulator.domain.bank import DepositMoney, OpenAccount
    from simulator.store import handle_command

    account_ids = _account_ids(streams)
    for account_id in account_ids:
        handle_command(
            store, BANK, OpenAccount(account_id=account_id, owner="bench"), recorded_at_ms=0
        )
    started = _started()
    for n in range(commands):
        command = DepositMoney(account_id=account_ids[n % streams], amount_cents=1 + n % 97)
        result = handle_command(store, BANK, command, recorded_at_ms=n + 1)
        if not isinstance(result.outcome, Appended):
            raise RuntimeError(f"benchmark command was not appended: {result.outcome}")
    return _since(started)


def bench_lesson_commands(
    commands: int = 100_000, *, streams: int = 3, directory: str | Path | None = None
) -> Figures:
    """A lesson's command side at scale: load, decide, append, ``commands`` times.

    Each command loads its aggregate (``EventStore.load``), decides and appends
    expecting the loaded version, as a scenario's ``[[handlers]]`` do, over a
    few long streams (three accounts) — the shape where a load that replays the
    whole stream each time turns quadratic. No snapshots; no anchor (the library
    has no equivalent loop to time), so the figures stand alone.
    """
    results: dict[str, Figures | str] = {}
    with _workdir(directory) as workdir:
        with _collected():
            results["evsim-memory"] = _rate(
                commands, _lesson_commands(InMemoryEventStore(), commands, streams)
            )
        path = _fresh(workdir / "evsim-lesson.sqlite3")
        with _collected(), SqliteEventStore(path) as store:
            results["evsim-sqlite"] = _rate(commands, _lesson_commands(store, commands, streams))
    return {
        "benchmark": "lesson-commands",
        "workload": (
            f"{commands:,} commands (load, decide, append) over {streams} accounts, no snapshots"
        ),
        "results": results,
    }


def run_benchmarks(scale: int = DEFAULT_SCALE, directory: str | Path | None = None) -> Figures:
    """All three benchmarks at one scale, as one dict (what ``evsim bench`` prints)."""
    return {
        "scale": scale,
        "append": bench_append(scale, directory=directory),
        "rehydrate": bench_rehydrate(scale, directory=directory),
        "projection": bench_projection(scale, directory=directory),
    }
