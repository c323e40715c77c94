"""Decider-style aggregates and the events they produce.

Pure functions and plain data only: nothing here knows about storage. The event
store (``simulator.store``) persists the events these domains decide, and reads
them back through each domain's upcasters.
"""

from __future__ import annotations

from simulator.domain.decider import (
    Decider,
    Domain,
    Rejected,
    event_schema_version,
    event_tag,
)
from simulator.domain.registry import DOMAINS, UnknownDomain, domain_names, get_domain
from simulator.domain.upcasting import Payload, Upcaster, UpcasterChain

__all__ = [
    "DOMAINS",
    "Decider",
    "Domain",
    "Payload",
    "Rejected",
    "UnknownDomain",
    "Upcaster",
    "UpcasterChain",
    "domain_names",
    "event_schema_version",
    "event_tag",
    "get_domain",
]
