"""The toy model's own scenario sections: ``[toy]`` and ``[groups.toy]``.

``[toy] handoff_ms`` is how long the broker takes to hand a message to a
consumer (on top of the network); ``[groups.toy] order`` says which end of the
queue consumers take from. Like every model's sections they are Tables, read
through typed accessors that fall back to the defaults.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from simulator.errors import InputError
from simulator.scenario import Group, Scenario, Table

__all__ = ["Toy", "ToyGroup", "group_args", "settings_for", "toy_args", "validate"]


class Toy(Table, frozen=True):
    """``[toy]``: broker-wide settings of the toy model."""

    handoff_ms: Annotated[int, msgspec.Meta(ge=0, le=60_000)] = 0
    """Time the broker takes to hand out each message, on top of the network's latency."""


class ToyGroup(Table, frozen=True):
    """``[groups.toy]``: how one group's queue hands out its messages."""

    order: Literal["fifo", "lifo"] = "fifo"
    """``lifo``: consumers take the newest message first (a stack, not a queue)."""


def toy_args(s: Scenario) -> Toy:
    args = getattr(s, "toy", None)
    return args if isinstance(args, Toy) else Toy()


def group_args(g: Group) -> ToyGroup:
    args = getattr(g, "toy", None)
    return args if isinstance(args, ToyGroup) else ToyGroup()


def validate(s: Scenario, file: str) -> None:
    """A stack read by competing consumers has no order worth showing: one consumer only."""
    for i, g in enumerate(s.groups):
        if group_args(g).order == "lifo" and len(g.consumer_names()) != 1:
            raise InputError(file, f"$.groups[{i}].toy.order", "lifo needs exactly one consumer")


def settings_for(s: Scenario) -> dict[str, str]:
    out = {"network.latency_ms": str(s.network.latency_ms)}
    out["toy.handoff_ms"] = str(toy_args(s).handoff_ms)
    for g in s.groups:
        out[f"queue.{g.name}.order"] = group_args(g).order
        out[f"queue.{g.name}.consumers"] = str(len(g.consumer_names()))
    return out
