"""The command workload: explicit commands and generated ones, in send order.

A scenario writes commands as data — a domain, the command's tag and its fields
— so this module turns each into the domain's command class with msgspec
(numbers written as text become numbers). Generators fill ``{i}`` (index),
``{k}`` (index modulo ``keys``) and ``{r}`` (a seeded number 0–999, from the
``commands:{n}`` stream) into string fields; a field that is then all digits
becomes an integer. Ties in time keep file order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from simulator.domain import get_domain
from simulator.domain.decider import Domain
from simulator.rng import SeedSequence
from simulator.scenario import CommandValue, Scenario

__all__ = ["PlannedCommand", "build_command", "expand_commands"]


@dataclass(frozen=True)
class PlannedCommand:
    id: str
    at_ms: int
    handler: str
    domain: Domain[Any, Any, Any]
    command: msgspec.Struct


def build_command(domain_name: str, type_tag: str, fields: dict[str, Any]) -> msgspec.Struct:
    """The command object; raises LookupError or msgspec.ValidationError with a reason."""
    domain = get_domain(domain_name)
    for cls in domain.command_types:
        if cls.__struct_config__.tag == type_tag:
            command: msgspec.Struct = msgspec.convert(fields, cls, strict=False)
            return command
    known = ", ".join(str(c.__struct_config__.tag) for c in domain.command_types)
    raise LookupError(f"domain {domain_name!r} has no command {type_tag!r} (known: {known})")


def fill(fields: dict[str, CommandValue], i: int, k: int, r: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, str) and "{" in value:
            value = value.replace("{i}", str(i)).replace("{k}", str(k)).replace("{r}", str(r))
            if value.lstrip("-").isdigit():
                value = int(value)
        out[name] = value
    return out


def expand_commands(scenario: Scenario, rng: SeedSequence) -> list[PlannedCommand]:
    planned: list[tuple[int, int, str, str, str, str, dict[str, Any]]] = []
    order = 0
    for n, c in enumerate(scenario.commands):
        cid = c.id or f"c{n + 1}"
        planned.append((c.at_ms, order, cid, c.handler, c.domain, c.type, dict(c.fields)))
        order += 1
    for n, gen in enumerate(scenario.command_generators):
        stream = rng.stream(f"commands:{n}")
        for i in range(gen.count):
            at_ms = gen.start_ms + (i * 1000) // gen.rate_per_s
            fields = fill(gen.fields, i, i % gen.keys, stream.randrange(1000))
            cid = f"g{n + 1}.{i + 1}"
            planned.append((at_ms, order, cid, gen.handler, gen.domain, gen.type, fields))
            order += 1
    planned.sort(key=lambda p: (p[0], p[1]))
    return [
        PlannedCommand(cid, at_ms, handler, get_domain(dom), build_command(dom, tag, fields))
        for at_ms, _, cid, handler, dom, tag, fields in planned
    ]
