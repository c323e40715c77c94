"""The registry of broker models: the one list of the models a scenario can name.

Each model package exports a ``ModelSpec`` (``simulator.models.spec``) and
``BUILTIN`` lists them, one line per model, in the order every comparison
and listing shows them. Code outside the core — a course's own model, a test's
toy broker — adds one with ``register`` and takes it away with ``unregister``
(or for a while with ``registered``). Everything that used to name models
asks here instead: validation (is ``broker`` known, may this group be
transactional?), the scenario format (which model sections a file may hold),
the simulation (how to build the model), compare, the benchmarks, lesson
templates, the handout and the CLI.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import msgspec

from simulator.models.log import LOG
from simulator.models.rabbitmq import RABBITMQ
from simulator.models.spec import Capabilities, ModelSpec, Sections
from simulator.models.sqs import SQS, SQS_FIFO

if TYPE_CHECKING:
    from simulator.scenario import Scenario

__all__ = [
    "BUILTIN",
    "UnknownModel",
    "capable",
    "model",
    "models",
    "names",
    "register",
    "registered",
    "scenario_schema",
    "scenario_type",
    "sections",
    "unregister",
]

BUILTIN: tuple[ModelSpec, ...] = (
    LOG,
    RABBITMQ,
    SQS,
    SQS_FIFO,
)
"""The models evsim ships, one line each."""

_added: list[ModelSpec] = []
"""Models registered at run time, after the built-in ones (a plug-in list, like entry points)."""


class UnknownModel(KeyError):
    """No registered model has this name; the message lists the known ones."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name
        self.message = f"unknown broker model {name!r} (known: {', '.join(names())})"

    def __str__(self) -> str:
        return self.message


def models() -> tuple[ModelSpec, ...]:
    """Every registered model: the built-in ones first, then the added ones."""
    return (*BUILTIN, *_added)


def names() -> list[str]:
    """The names a scenario's ``broker`` may take."""
    return [m.name for m in models()]


def model(name: str) -> ModelSpec:
    """The model called ``name``; raises ``UnknownModel`` (a ``KeyError``)."""
    for m in models():
        if m.name == name:
            return m
    raise UnknownModel(name)


def capable(capability: str) -> list[str]:
    """The names of the models that have ``capability`` (a ``Capabilities`` field)."""
    if capability not in Capabilities.__dataclass_fields__:
        raise ValueError(f"no capability {capability!r}")
    return [m.name for m in models() if getattr(m.capabilities, capability)]


def sections() -> list[Sections]:
    """The scenario sections of every model, each once (models may share them)."""
    out: list[Sections] = []
    for m in models():
        if m.sections is not None and m.sections not in out:
            out.append(m.sections)
    return out


def scenario_type() -> type[Scenario]:
    """The ``Scenario`` type of files: the core tables plus every registered model section."""
    from simulator.scenario.sections import extend

    found = sections()
    broker = [(s.name, s.broker) for s in found if s.broker is not None]
    group = [(s.name, s.group) for s in found if s.group is not None]
    return extend(broker, group)


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (``evsim schema``): ``broker`` is a registered name."""
    schema: dict[str, Any] = msgspec.json.schema(scenario_type())
    schema["$defs"]["Scenario"]["properties"]["broker"]["enum"] = names()
    return schema


def register(spec: ModelSpec) -> None:
    """Add a model; its name, and its sections' names, must be new (or the same sections)."""
    if any(m.name == spec.name for m in models()):
        raise ValueError(f"a broker model called {spec.name!r} is registered already")
    own = spec.sections
    if own is not None:
        from simulator.scenario.schema import Group, Scenario

        core = {*Scenario.__struct_fields__, *Group.__struct_fields__}
        if own.name in core:
            raise ValueError(f"the section name {own.name!r} is a table of the core format")
        for other in sections():
            if other.name == own.name and other is not own:
                raise ValueError(f"the section name {own.name!r} belongs to another model")
    _added.append(spec)


def unregister(name: str) -> None:
    """Take away a model added with ``register`` (the built-in ones stay)."""
    for i, m in enumerate(_added):
        if m.name == name:
            del _added[i]
            return
    raise UnknownModel(name)


@contextmanager
def registered(spec: ModelSpec) -> Iterator[ModelSpec]:
    """``spec`` is registered inside the ``with`` block, and not after it."""
    register(spec)
    try:
        yield spec
    finally:
        unregister(spec.name)
