"""CQRS on top of the event store, inside the deterministic simulation.

The command side (``handlers``) loads an aggregate, decides and appends with an
expected version; the query side (``projectors``) folds the store's global log —
or a broker topic it was published to — into read models; ``books`` judges a
run by comparing every read model with a fresh fold of the log. See
``docs/cqrs.md`` for the concepts and the lessons that show them.
"""

from __future__ import annotations

__all__: list[str] = []
