"""The process manager: starts sagas, waits for each step with a timeout, compensates.

Under **orchestration** it is the one coordinator: on ``order.placed`` it
sends ``<first step>.do``, on each ``<step>.completed`` the next command, and
when a step fails or its reply does not come within ``step_timeout_ms`` of
virtual time it sends ``<step>.undo`` to every compensable step already done
(and to the step that timed out: its outcome is unknown, so it is undone too —
which is why an undo must be safe for work that never happened).

Under **choreography** the services drive themselves through events; the
manager only *watches* (an order tracker): it records the saga's progress and,
when a step stays silent too long, publishes ``order.cancelled``, on which the
services that did their step compensate.

Its saga log is its database and survives its crashes; its timers do not, and
are armed again (at their original deadlines) when it gets its partitions back.
A repeated or stale message — a duplicate ``order.placed``, a reply for a step
it no longer waits for — is recorded as ``SagaDuplicateIgnored`` and ignored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.kernel import Timer
from simulator.sagas.protocol import make, parse
from simulator.scenario import SagaManagerSpec
from simulator.streams.plugin import Output
from simulator.trace import SagaCompleted, SagaDuplicateIgnored, SagaStarted, SagaTimedOut

if TYPE_CHECKING:
    from simulator.models.log.assignors import TopicPartition
    from simulator.models.log.consumer import Consumer
    from simulator.models.log.partition import Entry, Partition

__all__ = ["SagaManager", "SagaRun"]


class SagaRun:
    """One saga in the manager's log."""

    __slots__ = (
        "awaiting",
        "completed",
        "deadline_ms",
        "outcome",
        "saga",
        "source",
        "started_ms",
        "timed_out",
        "timer",
        "undoing",
    )

    def __init__(self, saga: str, source: int, now_ms: int) -> None:
        self.saga = saga
        self.source = source
        """The ``order.placed`` message: timer-driven messages derive from it."""
        self.started_ms = now_ms
        self.awaiting: str | None = None
        """The step whose reply the manager waits for."""
        self.deadline_ms = 0
        self.completed: list[str] = []
        self.undoing: list[str] = []
        """Compensations sent and not yet confirmed."""
        self.timed_out = False
        self.outcome: str | None = None
        self.timer: Timer | None = None


class SagaManager:
    """Orchestrator or order tracker, per ``[saga].mode``."""

    def __init__(self, consumer: Consumer, spec: SagaManagerSpec) -> None:
        saga = consumer.runtime.scenario.saga
        assert saga is not None
        self.consumer = consumer
        self.runtime = consumer.runtime
        self.spec = spec
        self.saga = saga
        self.group = consumer.spec.name
        self.orchestrating = saga.mode == "orchestration"
        self.runs: dict[str, SagaRun] = {}

    # -- the consumer's questions ---------------------------------------------------------

    def on_assigned(self, partitions: list[TopicPartition], cause_seq: int | None) -> None:
        for run in self.runs.values():
            if run.awaiting is not None and run.outcome is None and run.timer is None:
                self._arm(run)

    def on_crash(self, crash_seq: int) -> None:
        for run in self.runs.values():
            if run.timer is not None:
                run.timer.cancel()
                run.timer = None

    def process(self, part: Partition, entry: Entry, processed_seq: int) -> list[Output]:
        msg = entry.msg
        subject, verb, saga = parse(msg, self.saga.steps)
        run = self.runs.get(saga)
        out: list[Output] = []
        if (subject, verb) == ("order", "placed"):
            if run is not None:
                self._ignored(saga, "order.placed", msg.id, processed_seq)
                return out
            run = SagaRun(saga, msg.id, self.runtime.kernel.now_ms)
            self.runs[saga] = run
            self.runtime.emit(
                SagaStarted,
                self.consumer.name,
                processed_seq,
                group=self.group,
                saga=saga,
                mode=self.saga.mode,
                msg=msg.id,
            )
            self._next(run, msg.id, processed_seq, out)
            return out
        if subject == "order" or verb in ("do", "undo"):
            return out
        if run is None or run.outcome is not None:
            self._ignored(saga, f"{subject}.{verb}", msg.id, processed_seq)
            return out
        if verb == "compensated" and subject in run.undoing:
            run.undoing.remove(subject)
            if not run.undoing:
                self._finish(
                    run, "timed-out" if run.timed_out else "compensated", msg.id, processed_seq, out
                )
            return out
        if subject != run.awaiting:
            self._ignored(saga, f"{subject}.{verb}", msg.id, processed_seq)
            return out
        self._stop_timer(run)
        run.awaiting = None
        if verb == "completed":
            run.completed.append(subject)
            self._next(run, msg.id, processed_seq, out)
        elif verb == "failed":
            self._compensate(run, [], msg.id, processed_seq, out)
        return out

    # -- the saga's course ----------------------------------------------------------------

    def _next(self, run: SagaRun, source: int, cause: int | None, out: list[Output]) -> None:
        steps = self.saga.steps
        index = len(run.completed)
        if index >= len(steps):
            self._finish(run, "completed", source, cause, out)
            return
        step = steps[index]
        run.awaiting = step
        run.deadline_ms = self.runtime.kernel.now_ms + self.saga.step_timeout_ms
        self._arm(run)
        if self.orchestrating:
            topic = self.saga.commands_topic or ""
            out.append((topic, make(self.runtime, source, topic, step, "do", run.saga)))

    def _compensate(
        self, run: SagaRun, extra: list[str], source: int, cause: int | None, out: list[Output]
    ) -> None:
        """Undo every compensable step done (latest first), plus ``extra`` ones."""
        compensable = self.saga.compensable
        undo = [s for s in reversed(run.completed) if s in compensable]
        undo += [s for s in extra if s in compensable and s not in undo]
        run.undoing = list(undo)
        if self.orchestrating:
            topic = self.saga.commands_topic or ""
            for step in undo:
                out.append((topic, make(self.runtime, source, topic, step, "undo", run.saga)))
        elif run.timed_out:
            topic = self.saga.events_topic
            out.append((topic, make(self.runtime, source, topic, "order", "cancelled", run.saga)))
        if not undo:
            self._finish(run, "timed-out" if run.timed_out else "compensated", source, cause, out)

    def _finish(
        self, run: SagaRun, outcome: str, source: int, cause: int | None, out: list[Output]
    ) -> None:
        run.outcome = outcome
        run.awaiting = None
        self._stop_timer(run)
        self.runtime.emit(
            SagaCompleted,
            self.consumer.name,
            cause,
            group=self.group,
            saga=run.saga,
            outcome=outcome,
        )
        verb = "completed" if outcome == "completed" else "cancelled"
        if self.orchestrating or verb == "completed":
            topic = self.saga.events_topic
            out.append((topic, make(self.runtime, source, topic, "order", verb, run.saga)))

    def _ignored(self, saga: str, what: str, msg: int, cause: int) -> None:
        self.runtime.emit(
            SagaDuplicateIgnored,
            self.consumer.name,
            cause,
            group=self.group,
            saga=saga,
            what=what,
            msg=msg,
        )

    # -- timeouts in virtual time ----------------------------------------------------------

    def _arm(self, run: SagaRun) -> None:
        self._stop_timer(run)
        run.timer = self.runtime.kernel.timer(run.deadline_ms, self._timed_out, run)

    def _stop_timer(self, run: SagaRun) -> None:
        if run.timer is not None:
            run.timer.cancel()
            run.timer = None

    def _timed_out(self, run: SagaRun) -> None:
        run.timer = None
        step = run.awaiting
        if self.consumer.crashed or step is None or run.outcome is not None:
            return
        run.awaiting = None
        run.timed_out = True
        rec = self.runtime.emit(
            SagaTimedOut,
            self.consumer.name,
            None,
            group=self.group,
            saga=run.saga,
            step=step,
            waited_ms=self.saga.step_timeout_ms,
        )
        out: list[Output] = []
        self._compensate(run, [step] if self.orchestrating else [], run.source, rec.seq, out)
        for topic, msg in out:
            self.consumer.write_output(topic, msg, rec.seq)
