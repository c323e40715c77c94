"""Snapshots: a cache of an aggregate's state, never a source of truth.

Replaying a long stream on every command gets slow — a dispatch zone receives a
driver location every few seconds. A snapshot stores the folded state at some
version, so loading becomes "snapshot + the events after it" (the tail). The
common policy, also the Python ``eventsourcing`` library's
``snapshotting_intervals``, is to take one every N events. A snapshot is only a
cache: the log stays the truth, and a snapshot taken under another state schema
is discarded, never trusted.
"""

from __future__ import annotations

import msgspec

__all__ = ["NEVER", "SnapshotPolicy"]


class SnapshotPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Take a snapshot each time a stream's version crosses a multiple of N."""

    every_n_events: int = 0
    """0 means never."""

    def __post_init__(self) -> None:
        if self.every_n_events < 0:
            raise ValueError("every_n_events must be >= 0")

    def is_due(self, version_before: int, version_after: int) -> bool:
        """Did an append from ``version_before`` to ``version_after`` pass a multiple of N?"""
        n = self.every_n_events
        return n > 0 and version_after // n > version_before // n


NEVER = SnapshotPolicy(every_n_events=0)
