"""Broker models' own tables in the scenario format: ``[rabbitmq]``, ``[groups.sqs]`` …

The core format (``schema``) knows no broker model. A model that needs
settings of its own declares them as ``Table`` structs in its package, and the
registry (``simulator.models.registry``) asks ``extend`` for the format with
those sections added: a subclass of ``Scenario`` with one field per
broker-wide section, whose groups are a subclass of ``Group`` with one field
per group section, each defaulting to the section's defaults. Because the
sections are ordinary fields, a file decodes, reports errors at their
``$.path`` (``$.groups[0].rabbitmq.prefetch``), prints as JSON Schema and
writes back as TOML exactly as if the core had declared them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from simulator.scenario.schema import Group, Scenario, Table

__all__ = ["extend"]

SectionTypes = tuple[tuple[str, type[Table]], ...]
"""(field name, table type) pairs, in the order the fields are declared."""

_extended: dict[tuple[SectionTypes, SectionTypes], type[Scenario]] = {}
"""One type per set of sections, so two files decoded alike compare equal."""


def extend(
    broker: Sequence[tuple[str, type[Table]]], group: Sequence[tuple[str, type[Table]]]
) -> type[Scenario]:
    """The ``Scenario`` type whose files may hold these broker-wide and per-group sections."""
    key = (tuple(broker), tuple(group))
    known = _extended.get(key)
    if known is not None:
        return known
    group_type = _subclass(Group, [(name, t, t()) for name, t in key[1]], {})
    groups: Any = list[group_type]  # type: ignore[valid-type]  # a type made at run time
    scenario_type: type[Scenario] = _subclass(
        Scenario, [(name, t, t()) for name, t in key[0]], {"groups": groups}
    )
    _extended[key] = scenario_type
    return scenario_type


def _subclass(base: type[Any], added: list[tuple[str, type, Any]], retyped: dict[str, Any]) -> Any:
    """``base`` with fields ``added`` at the end and the fields in ``retyped`` of a new type.

    msgspec puts a redeclared field after the inherited ones, so every field
    from the first retyped one on is declared again, in its place, to keep the
    order of the fields (and of a file written back from them).
    """
    fields = msgspec.structs.fields(base)
    names = [f.name for f in fields]
    first = min((names.index(n) for n in retyped), default=len(names))
    again: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for f in fields[first:]:
        kind = retyped.get(f.name, f.type)
        if f.default is not msgspec.NODEFAULT:
            again.append((f.name, kind, f.default))
        elif f.default_factory is not msgspec.NODEFAULT:
            again.append((f.name, kind, msgspec.field(default_factory=f.default_factory)))
        else:
            again.append((f.name, kind))
    return msgspec.defstruct(
        base.__name__,
        [*again, *added],
        bases=(base,),
        module=base.__module__,
        namespace={"__doc__": base.__doc__},
        kw_only=True,
        frozen=True,
        forbid_unknown_fields=True,
    )
