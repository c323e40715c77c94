"""The built-in domains, by the name a scenario file uses for them.

Each domain is small but real: its rules are the ones the case study in the
curriculum turns on (no overdraft, ship only when paid and reserved, nearest
free driver by last known location, resume where you paused). A scenario names
one (``domain = "bank"``); an unknown name is a user error, reported as an
``UnknownDomain`` value that lists the names that do exist.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from simulator.domain import bank, bank_v1, orders, rides, viewing
from simulator.domain.decider import Domain

__all__ = ["DOMAINS", "UnknownDomain", "domain_names", "get_domain"]

DOMAINS: MappingProxyType[str, Domain[Any, Any, Any]] = MappingProxyType(
    {
        domain.name: domain
        for domain in (bank.DOMAIN, bank_v1.DOMAIN, orders.DOMAIN, rides.DOMAIN, viewing.DOMAIN)
    }
)


class UnknownDomain(LookupError):
    """A domain name that is not built in; the message lists the ones that are."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.known = domain_names()
        super().__init__(f"unknown domain {name!r} (known: {', '.join(self.known)})")


def domain_names() -> tuple[str, ...]:
    return tuple(DOMAINS)


def get_domain(name: str) -> Domain[Any, Any, Any]:
    """The built-in domain called ``name``; raises ``UnknownDomain`` otherwise."""
    domain = DOMAINS.get(name)
    if domain is None:
        raise UnknownDomain(name)
    return domain
