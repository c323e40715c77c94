"""A CQRS process that can crash: its epoch, and the named points where it may die.

A command handler, the outbox relay and a projector are processes. A crash stops
one and loses what it held in memory, while what it wrote to a database (the
store, a read model, a checkpoint) survives. Each process keeps an *epoch* that
a crash ends, and every timer it sets carries the epoch it was set in, so work
scheduled before a crash is dropped when it fires — as a killed process's
callbacks never run. A crash point (``after_append_before_publish`` …) is a
place in the code where the scenario's fault plan may kill the process: the
window a lesson wants to show.
"""

from __future__ import annotations

from simulator.runtime import Runtime

__all__ = ["Process"]


class Process:
    """Up or crashed, with an epoch that a crash ends."""

    def __init__(self, runtime: Runtime, name: str) -> None:
        self.runtime = runtime
        self.name = name
        self.crashed = False
        self.epoch = 0

    def is_current(self, epoch: int) -> bool:
        """Whether work set in ``epoch`` may run now: the process is up, still in that epoch."""
        return not self.crashed and epoch == self.epoch

    def crashes_at(self, point: str) -> bool:
        """Arrive at crash point ``point``; True if the fault plan crashes the process here."""
        crash = self.runtime.faults.crash_at_point(self.name, point)
        if crash is None:
            return False
        self.runtime.crash(self.name, point, crash.restart_after_ms)
        return True

    def crash(self, seq: int) -> None:
        """The process dies (``seq``: its ``Crashed`` record); work it had scheduled is void."""
        self.crashed = True
        self.epoch += 1

    def restart(self) -> None:
        """The process comes back, with only what it had written down."""
        self.crashed = False
