"""The toy model as the registry knows it (``broker = "toy"``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.models.spec import BrokerModel, Capabilities, ModelSpec, Sections
from toy_model.settings import Toy, ToyGroup, settings_for, validate

if TYPE_CHECKING:
    from simulator.runtime import Runtime

__all__ = ["TOY"]


def build(runtime: Runtime) -> BrokerModel:
    from toy_model.broker import ToyBroker

    return ToyBroker(runtime)


TOY = ModelSpec(
    name="toy",
    follows="no real system: a teaching toy (one queue per group, handed out in turn)",
    build=build,
    settings_for=settings_for,
    capabilities=Capabilities(),
    sections=Sections(name="toy", broker=Toy, group=ToyGroup, validate=validate),
    no_exactly_once="the toy broker has no transactions",
    view="toy_model.view",
)
