"""A lag-driven autoscaler for a consumer group, as KEDA's Kafka scaler does it.

The partitions of a topic are its unit of parallelism: a group spreads them
over its members, one member per partition at most, so consumers beyond the
partition count sit idle. An autoscaler watches the group's **lag** — records
in its partitions past its committed offsets — and sizes the group to it:

    desired = ceil(lag / lag_threshold), between min and max consumers,
              and at most the partition count (unless allow_idle_consumers)

as KEDA's ``kafka`` trigger asks of the Kubernetes HPA every
``pollingInterval``. More consumers start at once (each joins the group after
``startup_ms`` and a seeded share of ``startup_jitter_ms``: pods become ready
one by one); fewer only once the lower count has been
recommended over a whole ``cooldown_ms`` (the HPA's scale-down stabilization
window), so a dip does not send consumers away.

The cost is the **rebalance**: every consumer that joins or leaves makes the
whole group stop, rejoin and take a new assignment (Kafka's eager protocol).
While it rebalances nobody reads, so the lag grows — and a scaler that reacts
fast to lag can keep the group rebalancing: a rebalance storm.

Simplified: KEDA can scale to zero, here a group keeps ``min_consumers``
(at least one); the HPA's limits on how fast it may scale up are not modelled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.models.log.settings import Autoscale, group_args
from simulator.scenario import Group
from simulator.trace import ScaledIn, ScaledOut

if TYPE_CHECKING:
    from simulator.models.log.broker import LogBroker
    from simulator.models.log.group import GroupCoordinator
    from simulator.runtime import Runtime

__all__ = ["LagScaler", "desired_consumers"]


def desired_consumers(lag: int, partitions: int, scale: Autoscale) -> int:
    """How many consumers the scaler asks for at this lag (KEDA's formula, clamped)."""
    limit = (
        scale.max_consumers if scale.allow_idle_consumers else min(scale.max_consumers, partitions)
    )
    wanted = -(-lag // scale.lag_threshold)  # ceil
    return max(scale.min_consumers, min(max(limit, scale.min_consumers), wanted))


class LagScaler:
    """Scales one group's consumers up and down on its lag."""

    def __init__(
        self, runtime: Runtime, broker: LogBroker, coordinator: GroupCoordinator, spec: Group
    ) -> None:
        scale = group_args(spec).autoscale
        assert scale is not None
        self.runtime = runtime
        self.broker = broker
        self.coordinator = coordinator
        self.spec = spec
        self.scale = scale
        self.running: list[str] = spec.consumer_names()
        """The consumers it runs, oldest first (scaling in stops the newest)."""
        self._jitter = runtime.rng.stream(f"autoscale:{spec.name}")
        self._recommended: list[tuple[int, int]] = []
        """(time, desired count) over the last ``cooldown_ms``."""
        runtime.kernel.after(scale.polling_interval_ms, self._poll, background=True)

    def lag(self) -> int:
        """Records past the group's committed offsets, summed over its partitions."""
        total = 0
        coordinator = self.coordinator
        for tp in coordinator.partitions:
            part = self.broker.partition(tp)
            end = part.readable_end
            committed = coordinator.committed.get(tp)
            if committed is None:
                committed = (
                    part.log_start_offset if self.spec.auto_offset_reset == "earliest" else end
                )
            total += max(0, end - committed)
        return total

    def _poll(self, _: object = None) -> None:
        runtime = self.runtime
        now = runtime.kernel.now_ms
        scale = self.scale
        lag = self.lag()
        desired = desired_consumers(lag, len(self.coordinator.partitions), scale)
        recommended = self._recommended
        recommended.append((now, desired))
        while recommended[0][0] < now - scale.cooldown_ms:
            recommended.pop(0)
        current = len(self.running)
        if desired > current:
            self._scale_out(desired, lag)
        elif desired < current:
            stable = max(count for _, count in recommended)
            if stable < current:
                self._scale_in(stable, lag)
        runtime.kernel.after(scale.polling_interval_ms, self._poll, background=True)

    def _scale_out(self, desired: int, lag: int) -> None:
        names = [f"{self.spec.name}-{i}" for i in range(len(self.running), desired)]
        scaled = self.runtime.emit(
            ScaledOut,
            "autoscaler",
            None,
            group=self.spec.name,
            consumers=desired,
            lag=lag,
            added=names,
        )
        scale = self.scale
        for name in names:
            delay = scale.startup_ms
            if scale.startup_jitter_ms:
                delay += self._jitter.randint(0, scale.startup_jitter_ms)
            self.broker.add_consumer(self.spec, name).launch(delay, scaled.seq)
        self.running += names

    def _scale_in(self, target: int, lag: int) -> None:
        removed = self.running[target:]
        self.running = self.running[:target]
        scaled = self.runtime.emit(
            ScaledIn,
            "autoscaler",
            None,
            group=self.spec.name,
            consumers=target,
            lag=lag,
            removed=removed,
        )
        for name in removed:
            self.broker.consumers[name].stop(scaled.seq)
