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

A component that schedules one kind of action always the same delay ahead — a
consumer's check, five minutes after each poll, that it has polled again —
would fill the heap with them: thousands pending at once on a busy run (31,013
at the end of W1 at 10M messages), each a few objects of its own kept alive among
the run's short-lived records. A ``Lane`` keeps such actions
in a queue of their own, in the order they fall due, with only the earliest in
the heap; each is given its ``seq`` when it is scheduled, so the run is the
one it would be with them all in the heap.
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Callable
from typing import Any

__all__ = ["Kernel", "Lane", "Timer", "Timers"]

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


class Lane:
    """One action, scheduled a fixed ``delay_ms`` ahead, kept out of the heap but for the earliest.

    The calls fall due in the order they were scheduled, so a queue holds
    them; the agenda holds the head alone, under the ``seq`` it was given when
    it was scheduled. Every call runs at the time and in the place among the
    others that it would have had in the heap. The queue is three arrays of
    raw numbers (due time, seq, the call's argument): calls that wait minutes
    of virtual time hold no objects of their own, which, made one at a time
    among a run's short-lived records, would pin the memory around them.
    """

    __slots__ = (
        "_action",
        "_args",
        "_armed",
        "_background",
        "_delay_ms",
        "_head",
        "_kernel",
        "_seqs",
        "_times",
    )

    def __init__(
        self,
        kernel: Kernel,
        delay_ms: int,
        action: Callable[[int], None],
        *,
        background: bool = False,
    ) -> None:
        if delay_ms < 0:
            raise ValueError("a lane's delay is not negative")
        self._kernel = kernel
        self._delay_ms = delay_ms
        self._action = action
        self._background = background
        self._times = array("q")
        self._seqs = array("q")
        self._args = array("q")
        self._head = 0
        """Index of the earliest call pending; those before it have run."""
        self._armed = False
        """Whether the earliest call is in the agenda."""

    def __len__(self) -> int:
        """Calls pending."""
        return len(self._times) - self._head

    def after(self, arg: int) -> None:
        """Call the lane's action with ``arg`` (an integer) the lane's delay from now."""
        kernel = self._kernel
        seq = kernel._seq = kernel._seq + 1
        if not self._background:
            kernel._work_pending += 1
        self._times.append(kernel.now_ms + self._delay_ms)
        self._seqs.append(seq)
        self._args.append(arg)
        if not self._armed:
            self._arm()

    def _arm(self) -> None:
        head = self._head
        entry = (self._times[head], self._seqs[head], self._background, self._fire, None)
        _push(self._kernel._agenda, entry)
        self._armed = True

    def _fire(self, _: object) -> None:
        head = self._head
        arg = self._args[head]
        head += 1
        times = self._times
        if head == len(times):
            del times[:], self._seqs[:], self._args[:]
            head = 0
        elif head >= _LANE_COMPACT and 2 * head >= len(times):
            del times[:head], self._seqs[:head], self._args[:head]
            head = 0
        self._head = head
        self._armed = False
        if head < len(times):
            self._arm()
        self._action(arg)


_LANE_COMPACT = 4096
"""Calls run that a lane keeps at the front of its arrays before it moves the rest down
(once they are half the arrays, so each call is moved at most once on average)."""
