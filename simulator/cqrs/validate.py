"""Checks for the event-store and CQRS sections of a scenario, with ``$.path`` errors."""

from __future__ import annotations

from pathlib import Path

import msgspec

from simulator.cqrs.commands import build_command, fill
from simulator.cqrs.projections import PROJECTIONS
from simulator.domain import UnknownDomain
from simulator.errors import InputError
from simulator.scenario import Scenario
from simulator.store import SqliteEventStore, StoreError

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


def _check_store_file(file: str, path: str) -> None:
    """A file already at ``path`` must be an evsim store: a run replaces it, nothing else."""
    if not Path(path).exists():
        return
    try:
        SqliteEventStore(path).close()
    except StoreError as error:
        raise InputError(file, "$.store.path", f"{path}: {error.message}") from None


def validate_cqrs(s: Scenario, file: str) -> None:
    err = InputError
    store = s.store
    if store is None:
        raise err(file, "$.store", "handlers, commands and projectors need a [store] section")
    if store.backend == "sqlite":
        if not store.path:
            raise err(file, "$.store.path", 'backend = "sqlite" needs a path')
        _check_store_file(file, store.path)
    if store.publish != "none" or any(h.publish not in (None, "none") for h in s.handlers):
        _ref(file, "$.store.producer", store.producer, [p.name for p in s.producers], "producer")
    taken = [p.name for p in s.producers] + [g.name for g in s.groups]
    taken += [c for g in s.groups for c in g.consumer_names()]
    handlers = [h.name for h in s.handlers]
    projectors = [p.name for p in s.projectors]
    for kind, names in (("handlers", handlers), ("projectors", projectors)):
        for i, name in enumerate(names):
            if name in taken or name == "outbox-relay" or not name or "/" in name:
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
