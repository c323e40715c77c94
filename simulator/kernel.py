"""The discrete-event kernel: a virtual clock and one scheduler.

Time in evsim is virtual and counted in whole milliseconds; nothing reads the
wall clock. Work is a heap of ``(time_ms, seq, action, arg)`` entries: ``step()``
pops the earliest one, advances the clock to its time and runs it. ``seq`` is a
counter, so two actions due at the same millisecond run in the order they were
scheduled — the tie-break that makes every run of a scenario identical.

Some actions are *background* (heartbeats, idle polls): they keep a system
ticking but are not work of their own. A run is *quiescent* when only background
actions remain; the simulation then lets the clock run a short settle period so
timers such as auto-commit can fire, and stops.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

__all__ = ["Kernel", "Timer", "Timers"]

Action = Callable[[Any], None]

_push = heapq.heappush
"""Looked up once: ``schedule`` runs once per timer, often once per message."""


class Timer:
    """A scheduled action that can be called off (a timeout that no longer matters)."""

    __slots__ = ("_action", "_arg", "_background", "_kernel", "active")

    def __init__(self, kernel: Kernel, action: Action, arg: Any, background: bool) -> None:
        self._kernel = kernel
        self._action = action
        self._arg = arg
        self._background = background
        self.active = True

    def cancel(self) -> None:
        if self.active:
            self.active = False
            if not self._background:
                self._kernel._cancelled_work += 1

    def _fire(self, _: object) -> None:
        if self.active:
            self.active = False
            self._action(self._arg)
        elif not self._background:
            self._kernel._cancelled_work -= 1


class Timers:
    """The pending timers of one component, so that a crash calls them all off.

    A crashed process does not finish the work it had in hand: its processing and
    backoff timers must not fire — and must not count as work that keeps a run
    alive long after everything else has settled. A component that nothing can
    crash (``cancellable=False``) schedules plainly: the hot path pays nothing.
    """

    __slots__ = ("_cancellable", "_kernel", "_live", "_purge_at")

    def __init__(self, kernel: Kernel, *, cancellable: bool = True) -> None:
        self._kernel = kernel
        self._cancellable = cancellable
        self._live: list[Timer] = []
        self._purge_at = 16

    def at(self, at_ms: int, action: Action, arg: Any = None) -> None:
        """``action(arg)`` at ``at_ms``, unless ``cancel_all`` comes first."""
        kernel = self._kernel
        if not self._cancellable:
            kernel.schedule(at_ms, action, arg)
            return
        timer = Timer(kernel, action, arg, False)
        kernel.schedule(at_ms, timer._fire)
        live = self._live
        if len(live) >= self._purge_at:
            live = self._live = [t for t in live if t.active]
            self._purge_at = 2 * len(live) + 16
        live.append(timer)

    @property
    def schedule(self) -> Callable[[int, Action, Any], None]:
        """``at`` itself, or the kernel's plain ``schedule`` when nothing can cancel (faster)."""
        return self.at if self._cancellable else self._kernel.schedule

    def after(self, delay_ms: int, action: Action, arg: Any = None) -> None:
        """``action(arg)`` ``delay_ms`` from now, unless ``cancel_all`` comes first."""
        self.at(self._kernel.now_ms + delay_ms, action, arg)

    def cancel_all(self) -> None:
        for timer in self._live:
            timer.cancel()
        self._live = []
        self._purge_at = 16


class Kernel:
    """Virtual clock plus a heap-ordered agenda of actions."""

    __slots__ = ("_agenda", "_cancelled_work", "_seq", "_work_pending", "now_ms")

    def __init__(self) -> None:
        self.now_ms = 0
        self._agenda: list[tuple[int, int, bool, Action, Any]] = []
        self._seq = 0
        self._work_pending = 0
        self._cancelled_work = 0

    def schedule(
        self, at_ms: int, action: Action, arg: Any = None, *, background: bool = False
    ) -> None:
        """Run ``action(arg)`` at virtual time ``at_ms`` (never earlier than now)."""
        if at_ms < self.now_ms:
            at_ms = self.now_ms
        seq = self._seq = self._seq + 1
        _push(self._agenda, (at_ms, seq, background, action, arg))
        if not background:
            self._work_pending += 1

    def timer(
        self, at_ms: int, action: Action, arg: Any = None, *, background: bool = False
    ) -> Timer:
        """Like ``schedule``, but returns a ``Timer`` that can be cancelled."""
        timer = Timer(self, action, arg, background)
        self.schedule(at_ms, timer._fire, None, background=background)
        return timer

    def after(
        self, delay_ms: int, action: Action, arg: Any = None, *, background: bool = False
    ) -> None:
        """Run ``action(arg)`` ``delay_ms`` from now."""
        self.schedule(self.now_ms + delay_ms, action, arg, background=background)

    @property
    def quiescent(self) -> bool:
        """True when nothing but background actions is left to run."""
        return self._work_pending == self._cancelled_work

    def next_time_ms(self) -> int | None:
        """When the next action is due, or None if the agenda is empty."""
        return self._agenda[0][0] if self._agenda else None

    def step(self) -> bool:
        """Run the earliest action; False if there was none."""
        if not self._agenda:
            return False
        at_ms, _, background, action, arg = heapq.heappop(self._agenda)
        if not background:
            self._work_pending -= 1
        self.now_ms = at_ms
        action(arg)
        return True
