"""The fault plan: crashes at times or named points, handler errors, slow consumers.

Faults are data in the scenario and compose freely: any fault plugs into any
scenario. Components ask the plan at the moments that matter — "I am about to
commit: should I crash here?", "does this message poison my handler?" — so the
same fault logic serves every broker model. Named crash points are the windows
that decide delivery semantics, e.g. ``after_process_before_commit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.scenario import Crash, HandlerError, Poison, Slow

if TYPE_CHECKING:
    from simulator.runtime import Runtime

__all__ = ["FaultPlan"]


class FaultPlan:
    """Answers components' questions about the scenario's faults."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._point_crashes: dict[tuple[str, str], list[Crash]] = {}
        self._point_counts: dict[tuple[str, str], int] = {}
        self._handler_errors: list[HandlerError] = []
        self._poison: list[Poison] = []
        self._slow: dict[str, list[Slow]] = {}
        self._crash_targets: set[str] = set()
        for fault in runtime.scenario.faults:
            if isinstance(fault, Crash):
                self._crash_targets.add(fault.target)
                if fault.at is not None:
                    self._point_crashes.setdefault((fault.target, fault.at), []).append(fault)
            elif isinstance(fault, HandlerError):
                self._handler_errors.append(fault)
            elif isinstance(fault, Poison):
                self._poison.append(fault)
            elif isinstance(fault, Slow):
                self._slow.setdefault(fault.target, []).append(fault)

    def handlers_may_fail(self, group: str) -> bool:
        """Whether any handler fault could touch ``group`` (lets the hot path skip asking)."""
        return any(p.group in (None, group) for p in self._poison) or any(
            h.group == group for h in self._handler_errors
        )

    def may_slow(self, consumer: str) -> bool:
        return consumer in self._slow

    def may_crash(self, component: str) -> bool:
        """Whether any crash fault names ``component``: nothing else crashes a component."""
        return component in self._crash_targets

    def timed_crashes(self) -> list[Crash]:
        return [
            f for f in self.runtime.scenario.faults if isinstance(f, Crash) and f.at_ms is not None
        ]

    def crash_at_point(self, component: str, point: str) -> Crash | None:
        """Count one arrival of ``component`` at ``point``; the crash due now, if any."""
        if not self._point_crashes:
            return None
        key = (component, point)
        faults = self._point_crashes.get(key)
        if not faults:
            return None
        count = self._point_counts.get(key, 0) + 1
        self._point_counts[key] = count
        for fault in faults:
            if fault.occurrence == count:
                return fault
        return None

    def crashes_at(self, component: str, point: str) -> bool:
        """``component`` reached ``point``: crash it now if the plan says so (then True).

        Every component asks at its windows (``after_poll``,
        ``after_append_before_ack`` …) this way, and stops what it was doing
        when the answer is yes.
        """
        if not self._point_crashes:
            return False  # the common case, asked at every message: answer at once
        crash = self.crash_at_point(component, point)
        if crash is None:
            return False
        self.runtime.crash(component, point, crash.restart_after_ms)
        return True

    def handler_error(
        self, group: str, consumer: str, msg: int, key: str | None, value: str
    ) -> str | None:
        """``poison``, ``transient`` or None: what the handler does with this message now."""
        for p in self._poison:
            if p.group is not None and p.group != group:
                continue
            if (
                (key is not None and key in p.keys)
                or msg in p.msgs
                or (p.value_contains is not None and p.value_contains in value)
            ):
                return "poison"
        now = self.runtime.kernel.now_ms
        for h in self._handler_errors:
            if h.group != group or (h.consumer is not None and h.consumer != consumer):
                continue
            if now < h.from_ms or (h.to_ms is not None and now >= h.to_ms):
                continue
            if self.runtime.rng.stream(f"handler:{group}").random() < h.probability:
                return "transient"
        return None

    def processing_ms(self, consumer: str, default_ms: int) -> int:
        """How long the handler takes now, with any ``slow`` fault applied."""
        slows = self._slow.get(consumer)
        if not slows:
            return default_ms
        now = self.runtime.kernel.now_ms
        for s in slows:
            if now >= s.from_ms and (s.to_ms is None or now < s.to_ms):
                return s.processing_ms
        return default_ms
