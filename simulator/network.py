"""The network between components: latency, loss, duplication and partitions.

Every request and response between two components (a producer and the broker,
a consumer and its coordinator) crosses ``Network.send``. By default it simply
arrives ``latency_ms`` later. Network faults from the scenario make a link lossy
(``drop_probability``), duplicating, slower, or cut off entirely for a window
(a partition). Each decision draws from the link's own seeded stream, so a fault
on one link never changes what happens on another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from simulator.scenario import NetworkFault, PartitionFault
from simulator.trace import NetworkDropped, NetworkDuplicated, NetworkHealed, NetworkPartitioned

if TYPE_CHECKING:
    from simulator.runtime import Runtime

__all__ = ["Network"]


class Network:
    """Moves calls between components through virtual time, applying network faults."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.latency_ms = runtime.scenario.network.latency_ms
        self._rules: dict[tuple[str, str], list[NetworkFault]] = {}
        self._last_drop: dict[int, int] = {}
        """Message id → seq of the latest NetworkDropped record that carried it."""
        self._cut: dict[frozenset[str], int] = {}
        """Active partitions: the pair of components → seq of the NetworkPartitioned record."""
        for fault in runtime.scenario.faults:
            if isinstance(fault, NetworkFault):
                self._rules.setdefault((fault.source, fault.destination), []).append(fault)
            elif isinstance(fault, PartitionFault):
                runtime.kernel.schedule(fault.from_ms, self._partition, fault)
        self.faulty = bool(self._rules) or any(
            isinstance(f, PartitionFault) for f in runtime.scenario.faults
        )

    def _partition(self, fault: PartitionFault) -> None:
        rec = self.runtime.emit(
            NetworkPartitioned,
            "network",
            None,
            between=list(fault.between),
            until_ms=fault.to_ms,
        )
        self._cut[frozenset(fault.between)] = rec.seq
        self.runtime.kernel.schedule(fault.to_ms, self._heal, fault)

    def _heal(self, fault: PartitionFault) -> None:
        seq = self._cut.pop(frozenset(fault.between), None)
        self.runtime.emit(NetworkHealed, "network", seq, between=list(fault.between))

    def _dropped(self, cause_seq: int | None, link: str, what: str, msgs: list[int]) -> int:
        seq: int = self.runtime.emit(
            NetworkDropped, "network", cause_seq, link=link, what=what, msgs=msgs
        ).seq
        for m in msgs:
            self._last_drop[m] = seq
        return seq

    def last_drop(self, msg: int) -> int | None:
        """The seq of the latest NetworkDropped record for message ``msg``, if any."""
        return self._last_drop.get(msg)

    def allows(
        self,
        source: str,
        destination: str,
        what: str,
        *,
        background: bool = False,
        cause_seq: int | None = None,
    ) -> bool:
        """Whether a synchronous call (a fetch, a join, a commit) gets through right now.

        Partitions and ``drop_probability`` apply as for ``send``; delays do not,
        because the caller models the call as taking no time. A failed call is
        recorded (unless it is background chatter) and the caller retries later.
        """
        if not self.faulty:
            return True
        link = f"{source}->{destination}"
        cut = self._cut.get(frozenset((source, destination))) if self._cut else None
        if cut is None:
            now = self.runtime.kernel.now_ms
            for rule in self._rules.get((source, destination), ()):
                if now < rule.from_ms or (rule.to_ms is not None and now >= rule.to_ms):
                    continue
                if rule.msgs or not rule.drop_probability:
                    continue
                if self.runtime.rng.stream(f"network:{link}").random() < rule.drop_probability:
                    break
            else:
                return True
        if not background:
            self._dropped(cut if cut is not None else cause_seq, link, what, [])
        return False

    def send(
        self,
        source: str,
        destination: str,
        what: str,
        msg: int | Sequence[int] | None,
        deliver: Callable[[Any], None],
        arg: Any,
        *,
        background: bool = False,
        cause_seq: int | None = None,
    ) -> int | None:
        """Deliver ``deliver(arg)`` at ``destination`` after the link's latency.

        ``msg`` names the message(s) the request carries, for faults that target
        messages and for the trace. Returns the seq of a ``NetworkDropped``
        record if the network lost it, else None.
        """
        kernel = self.runtime.kernel
        if not self.faulty:
            kernel.schedule(kernel.now_ms + self.latency_ms, deliver, arg, background=background)
            return None
        link = f"{source}->{destination}"
        msgs = [] if msg is None else [msg] if isinstance(msg, int) else list(msg)
        cut = self._cut.get(frozenset((source, destination))) if self._cut else None
        if cut is not None:
            if background:
                return None
            return self._dropped(cut, link, what, msgs)
        delay = self.latency_ms
        copies = 1
        now = kernel.now_ms
        for rule in self._rules.get((source, destination), ()):
            if now < rule.from_ms or (rule.to_ms is not None and now >= rule.to_ms):
                continue
            if rule.msgs and not any(m in rule.msgs for m in msgs):
                continue
            rng = self.runtime.rng.stream(f"network:{link}")
            if rule.drop_probability and rng.random() < rule.drop_probability:
                if background:
                    return None
                return self._dropped(cause_seq, link, what, msgs)
            if rule.duplicate_probability and rng.random() < rule.duplicate_probability:
                copies = 2
                if not background:
                    self.runtime.emit(
                        NetworkDuplicated, "network", cause_seq, link=link, what=what, msgs=msgs
                    )
            delay += rule.delay_ms
            if rule.jitter_ms:
                delay += rng.randint(0, rule.jitter_ms)
        for _ in range(copies):
            kernel.schedule(now + delay, deliver, arg, background=background)
        return None
