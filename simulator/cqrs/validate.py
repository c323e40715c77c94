"""Checks for the event-store and CQRS sections of a scenario, with ``$.path`` errors."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from simulator.cqrs.commands import build_command, fill
from simulator.cqrs.event_log import relative_store_problem, store_path
from simulator.cqrs.projections import PROJECTIONS
from simulator.domain import UnknownDomain
from simulator.errors import InputError
from simulator.files import file_kind
from simulator.scenario import Scenario
from simulator.scenario.validation import check_name
from simulator.store.sqlite import is_sqlite_header

__all__ = ["validate_cqrs"]


def _ref(file: str, where: str, name: str | None, known: list[str], what: str) -> None:
    if name not in known:
        listing = ", ".join(known) if known else "none defined"
        raise InputError(file, where, f"unknown {what} {name!r} (known: {listing})")


def _command(file: str, where: str, domain: str, tag: str, fields: dict[str, object]) -> None:
    try:
        build_command(domain, tag, fields)
    except UnknownDomain as error:
        raise InputError(file, f"{where}.domain", str(error)) from None
    except LookupError as error:
        raise InputError(file, f"{where}.type", str(error)) from None
    except msgspec.ValidationError as error:
        raise InputError(file, f"{where}.fields", f"does not fit {tag}: {error}") from None


def _check_store_file(file: str, s: Scenario) -> None:
    """What a run would find at the store's path, looked at without writing anything.

    Nothing is created, opened for writing or locked here (``evsim validate``
    writes nothing): the path must stay in its run directory, and a file already
    there must be a regular file that could be an SQLite store. Whether a run may
    use it — a new store, or ``--reuse-store`` of its own — is decided when it runs.
    """
    assert s.store is not None and s.store.path
    if not Path(s.store.path).is_absolute():
        problem = relative_store_problem(s.store.path)
        if problem is not None:
            raise InputError(file, "$.store.path", problem)
    path = store_path(s.store, s.name, Path.cwd())
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise InputError(file, "$.store.path", f"{path}: {error.strerror or error}") from None
    kind = file_kind(mode)
    if kind is not None:
        raise InputError(file, "$.store.path", f"{path}: is {kind}, not an event store file")
    try:
        sqlite = is_sqlite_header(path)
    except OSError as error:
        raise InputError(file, "$.store.path", f"{path}: {error.strerror or error}") from None
    if not sqlite:
        raise InputError(
            file, "$.store.path", f"{path}: not an evsim event store (not an SQLite database)"
        )


def validate_cqrs(s: Scenario, file: str) -> None:
    err = InputError
    store = s.store
    if store is None:
        raise err(file, "$.store", "handlers, commands and projectors need a [store] section")
    if store.backend == "sqlite":
        if not store.path:
            raise err(file, "$.store.path", 'backend = "sqlite" needs a path')
        _check_store_file(file, s)
    if store.publish != "none" or any(h.publish not in (None, "none") for h in s.handlers):
        _ref(file, "$.store.producer", store.producer, [p.name for p in s.producers], "producer")
    taken = [p.name for p in s.producers] + [g.name for g in s.groups]
    taken += [c for g in s.groups for c in g.consumer_names()]
    handlers = [h.name for h in s.handlers]
    projectors = [p.name for p in s.projectors]
    for kind, names in (("handlers", handlers), ("projectors", projectors)):
        for i, name in enumerate(names):
            check_name(file, f"$.{kind}[{i}].name", name, kind[:-1])
            if name in taken or name == "outbox-relay":
                raise err(file, f"$.{kind}[{i}].name", f"name {name!r} is already used or invalid")
            taken.append(name)
    ids: list[str] = []
    for i, c in enumerate(s.commands):
        at = f"$.commands[{i}]"
        _ref(file, f"{at}.handler", c.handler, handlers, "handler")
        _command(file, at, c.domain, c.type, dict(c.fields))
        cid = c.id or f"c{i + 1}"
        if cid in ids:
            raise err(file, f"{at}.id", f"duplicate command id {cid!r}")
        ids.append(cid)
    for i, gen in enumerate(s.command_generators):
        at = f"$.command_generators[{i}]"
        _ref(file, f"{at}.handler", gen.handler, handlers, "handler")
        _command(file, at, gen.domain, gen.type, fill(gen.fields, 0, 0, 0))
    group_names = [g.name for g in s.groups]
    for i, p in enumerate(s.projectors):
        at = f"$.projectors[{i}]"
        _ref(file, f"{at}.projection", p.projection, list(PROJECTIONS), "projection")
        if p.source == "group":
            _ref(file, f"{at}.group", p.group, group_names, "group")
            if p.kind == "atomic":
                raise err(
                    file,
                    f"{at}.kind",
                    'atomic needs source = "store": Kafka keeps a group\'s offsets, '
                    "not the read model's database",
                )
        elif p.group is not None:
            raise err(file, f"{at}.group", 'a group is read only with source = "group"')
    for i, q in enumerate(s.queries):
        at = f"$.queries[{i}]"
        if q.projector is not None:
            _ref(file, f"{at}.projector", q.projector, projectors, "projector")
            if q.as_of_ms is not None:
                raise err(file, f"{at}.as_of_ms", "a read model only knows now: use the event log")
        elif q.domain is None or q.stream is None:
            raise err(file, at, "a query names a projector, or a domain and stream (event log)")
        else:
            try:
                from simulator.domain import get_domain

                get_domain(q.domain)
            except UnknownDomain as error:
                raise err(file, f"{at}.domain", str(error)) from None
        if q.after_command is not None:
            _ref(file, f"{at}.after_command", q.after_command, ids, "command id")
    for i, r in enumerate(s.rebuilds):
        at = f"$.rebuilds[{i}]"
        _ref(file, f"{at}.projector", r.projector, projectors, "projector")
        spec = s.projectors[projectors.index(r.projector)]
        if spec.source != "store":
            raise err(
                file, at, "rebuilds replay the event store: the projector needs source = store"
            )
        if r.projection is not None:
            _ref(file, f"{at}.projection", r.projection, list(PROJECTIONS), "projection")
        if r.start == "snapshot":
            if spec.snapshot_every == 0:
                raise err(
                    file, f"{at}.start", "the projector takes no snapshots: set snapshot_every"
                )
            if r.projection not in (None, spec.projection):
                raise err(
                    file,
                    f"{at}.start",
                    "a snapshot of the old projection's table is no start for new code: "
                    'use start = "zero"',
                )
