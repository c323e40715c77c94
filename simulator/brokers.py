"""The broker model a scenario names, for callers that predate the registry.

``simulator.models.registry`` is where models are listed and described;
``simulator.models.spec.BrokerModel`` is what the simulation asks of one.
``broker_model`` stays for the views that still ask it for ``follows``.
"""

from __future__ import annotations

from simulator.models.registry import model
from simulator.models.spec import BrokerModel, ModelSpec

__all__ = ["BrokerModel", "broker_model"]


def broker_model(name: str) -> tuple[str, ModelSpec]:
    """(follows, spec) of the broker model called ``name``; raises ``KeyError`` if unknown."""
    spec = model(name)
    return spec.follows, spec
