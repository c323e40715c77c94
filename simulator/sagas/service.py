"""A saga service: payment, stock, shipping or notification as a small state machine.

The service reads its input topic through a consumer group like any other
consumer, so crashes, redeliveries and slow handlers apply to it. For each saga
it remembers one status in its own database (which survives its crashes):

``done`` → it did its step (charged, reserved …) and replied ``<step>.completed``;
``declined`` → it refused (``<step>.failed``); ``undone`` → it ran the
compensating action (``<step>.compensated``).

Under **orchestration** it obeys commands (``<step>.do``, ``<step>.undo``).
Under **choreography** nobody commands: it reacts to the previous step's
``completed`` event (the first step to ``order.placed``) and compensates when
it sees any ``failed`` event or ``order.cancelled`` for a saga it took part in.

An **idempotent** service (the default) ignores a repeat of something it
already did — a redelivered command after a crash, a duplicated event — and
records ``SagaDuplicateIgnored``. A non-idempotent one does the work again:
the customer is charged twice (``SagaStepCompleted`` with ``repeat``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.sagas.protocol import make, parse
from simulator.scenario import SagaServiceSpec
from simulator.streams.plugin import Output
from simulator.trace import SagaCompensated, SagaDuplicateIgnored, SagaStepCompleted, SagaStepFailed

if TYPE_CHECKING:
    from simulator.models.log.assignors import TopicPartition
    from simulator.models.log.consumer import Consumer
    from simulator.models.log.partition import Entry, Partition
    from simulator.usercode.saga import SagaStepCode

__all__ = ["SagaService"]


class SagaService:
    """One service's handler: do, undo, and the database of what it did per saga."""

    def __init__(self, consumer: Consumer, spec: SagaServiceSpec) -> None:
        saga = consumer.runtime.scenario.saga
        assert saga is not None
        self.consumer = consumer
        self.runtime = consumer.runtime
        self.spec = spec
        self.saga = saga
        self.step = spec.step
        self.group = consumer.spec.name
        index = saga.steps.index(spec.step)
        self.trigger = ("order", "placed") if index == 0 else (saga.steps[index - 1], "completed")
        self.compensable = spec.step in saga.compensable
        self.status: dict[str, str] = {}
        """Saga id → ``done``, ``declined`` or ``undone``: the service's own database."""
        self.executions: dict[str, int] = {}
        self.cancelled: dict[str, bool] = {}
        self._decisions: dict[str, bool] = {}
        self._rng = self.runtime.rng.stream(f"saga:{self.group}")
        self.code: SagaStepCode | None = None
        """The student's own step (``code = "stock.py:reserve"``): it decides and undoes."""
        if spec.code is not None:
            from simulator.usercode.saga import saga_step_code

            self.code = saga_step_code(self.runtime, spec, consumer.name)

    # -- the consumer's questions ---------------------------------------------------------

    def on_assigned(self, partitions: list[TopicPartition], cause_seq: int | None) -> None:
        """Nothing to restore: the service's database outlives its process."""

    def on_crash(self, crash_seq: int) -> None:
        """The database survives; only work in flight is lost (and will be redelivered)."""

    def process(self, part: Partition, entry: Entry, processed_seq: int) -> list[Output]:
        msg = entry.msg
        subject, verb, saga = parse(msg, self.saga.steps)
        if self.saga.mode == "orchestration":
            if subject != self.step:
                return []
            if verb == "do":
                return self._do(saga, msg.id, processed_seq)
            if verb == "undo":
                return self._undo(saga, msg.id, processed_seq)
            return []
        if (subject, verb) == self.trigger:
            if self.cancelled.get(saga):
                return []
            return self._do(saga, msg.id, processed_seq)
        if (verb == "failed" and subject != self.step) or (subject, verb) == ("order", "cancelled"):
            self.cancelled[saga] = True
            if self.status.get(saga) == "done" and self.compensable:
                return self._undo(saga, msg.id, processed_seq)
        return []

    # -- the step and its compensation ---------------------------------------------------

    def _ignored(self, saga: str, what: str, msg: int, cause: int) -> list[Output]:
        self.runtime.emit(
            SagaDuplicateIgnored,
            self.consumer.name,
            cause,
            group=self.group,
            saga=saga,
            what=what,
            msg=msg,
        )
        return []

    def _reply(self, source: int, verb: str, saga: str) -> list[Output]:
        topic = self.saga.events_topic
        return [(topic, make(self.runtime, source, topic, self.step, verb, saga))]

    def _do(self, saga: str, msg: int, cause: int) -> list[Output]:
        status = self.status.get(saga)
        code = self.code
        refusal: str | None = None
        declined: bool | None
        if code is not None:
            refusal = code.do(saga, cause)  # every do reaches the student's code, repeats too
            declined = refusal is not None
        elif status is not None and (self.spec.idempotent or status != "done"):
            return self._ignored(saga, f"{self.step}.do", msg, cause)
        else:
            declined = self._decisions.get(saga)
        if declined is None:
            declined = saga in self.spec.decline_keys or (
                self.spec.decline_probability > 0
                and self._rng.random() < self.spec.decline_probability
            )
            self._decisions[saga] = declined
        name = self.consumer.name
        if declined:
            self.status[saga] = "declined"
            self.runtime.emit(
                SagaStepFailed,
                name,
                cause,
                group=self.group,
                saga=saga,
                step=self.step,
                reason=refusal or "declined",
            )
            return self._reply(msg, "failed", saga)
        self.status[saga] = "done"
        count = self.executions.get(saga, 0) + 1
        self.executions[saga] = count
        self.runtime.emit(
            SagaStepCompleted,
            name,
            cause,
            group=self.group,
            saga=saga,
            step=self.step,
            msg=msg,
            repeat=count > 1,
        )
        return self._reply(msg, "completed", saga)

    def _undo(self, saga: str, msg: int, cause: int) -> list[Output]:
        status = self.status.get(saga)
        code = self.code
        if code is not None:
            if not code.undo(saga, cause):  # it raised: nothing is compensated, no reply
                return []
        elif status == "undone":
            return self._ignored(saga, f"{self.step}.undo", msg, cause)
        self.status[saga] = "undone"
        if status == "done" or code is not None:
            self.runtime.emit(
                SagaCompensated,
                self.consumer.name,
                cause,
                group=self.group,
                saga=saga,
                step=self.step,
            )
        return self._reply(msg, "compensated", saga)
