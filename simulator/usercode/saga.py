"""A saga step's own code: the step and its compensation, run by a saga service.

The service (``simulator.sagas.service``) keeps doing what a service does —
read its topic through a consumer group, take the orchestrator's commands or
react to the other services' events, reply ``completed``, ``failed`` or
``compensated`` — and asks the student's code what to do: ``do(saga, ctx)``
for the step, its compensation for the undo. The store is the service's own
database (it survives the service's crashes), so the student decides what to
remember: which sagas it did, what it reserved. The built-in service's
idempotency and decline settings do not apply: a redelivered ``do`` reaches
the code again, and an undo may come for a step that never ran or twice.

``do`` succeeds by returning (None or True) and refuses by returning
``False`` or ``Rejected(reason)``; an exception in it is a refusal too, with
the error as its reason (the saga compensates). An exception in the
compensation leaves the step uncompensated, and the saga never ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator.trace import CodeFailed, CodeNoted, EffectPerformed
from simulator.usercode import api
from simulator.usercode.api import Context, Host
from simulator.usercode.port import UserCodeRaised, code_of
from simulator.usercode.store import Store, Transaction

if TYPE_CHECKING:
    from simulator.runtime import Runtime
    from simulator.scenario import SagaServiceSpec

__all__ = ["SagaStepCode", "saga_step_code"]


def saga_step_code(runtime: Runtime, spec: SagaServiceSpec, consumer: str) -> SagaStepCode | None:
    code = code_of(runtime)
    if code is None or spec.code is None:
        return None
    return SagaStepCode(runtime, spec, consumer)


class _Call(Host):
    role = "saga_step"

    def __init__(self, owner: SagaStepCode, saga: str, cause: int) -> None:
        self.owner = owner
        self.saga = saga
        self.cause = cause

    def effect(
        self, name: str, key: str | None, seq: int | None, amount: int, ref: str | None
    ) -> None:
        o = self.owner
        o.runtime.emit(
            EffectPerformed,
            o.consumer,
            self.cause,
            owner=o.name,
            name=name,
            ref=ref if ref is not None else self.saga,
            key=key,
            key_seq=seq,
            amount=amount,
        )

    def log(self, text: str) -> None:
        o = self.owner
        o.runtime.emit(CodeNoted, o.consumer, self.cause, owner=o.name, text=text)


class SagaStepCode:
    """The student's step and compensation in one saga service."""

    def __init__(self, runtime: Runtime, spec: SagaServiceSpec, consumer: str) -> None:
        code = code_of(runtime)
        assert code is not None and spec.code is not None
        self.runtime = runtime
        self.code = code
        self.name = spec.name
        self.consumer = consumer
        self.fn = code.function(spec.code, "saga_step")
        self.compensation = self.fn.role.compensation
        self.table = code.table(spec.name)
        self.rng = runtime.rng.stream(f"code:{spec.name}")

    def _call(self, fn: Any, saga: str, cause: int) -> Any:
        """Run ``fn(saga, ctx)`` in one transaction; raises ``UserCodeRaised`` (rolled back)."""
        runtime = self.runtime
        txn = Transaction(self.table)
        ctx = Context(
            name=self.consumer,
            role="saga_step",
            clock=lambda: runtime.kernel.now_ms,
            rng=self.rng,
            store=Store(txn),
            host=_Call(self, saga, cause),
        )
        try:
            result = self.code.book.run(fn, saga, ctx)
        except UserCodeRaised:
            txn.rollback()
            raise
        txn.commit()
        return result

    def do(self, saga: str, cause: int) -> str | None:
        """The step for ``saga``: None when done, else why it refused."""
        try:
            result = self._call(self.fn.fn, saga, cause)
        except UserCodeRaised as raised:
            self._failed(saga, cause, raised.error)
            return f"the step raised {raised.error}"
        if result is None or result is True:
            return None
        if result is False:
            return "declined"
        if isinstance(result, api.Rejected):
            return result.reason or "declined"
        return f"the step returned {type(result).__name__}: return None, False or Rejected(reason)"

    def undo(self, saga: str, cause: int) -> bool:
        """The compensation for ``saga``; False if it raised (the step stays as it was)."""
        if self.compensation is None:
            return True
        try:
            self._call(self.compensation, saga, cause)
        except UserCodeRaised as raised:
            self._failed(saga, cause, f"the compensation raised {raised.error}")
            return False
        return True

    def _failed(self, saga: str, cause: int, error: str) -> None:
        self.runtime.emit(
            CodeFailed,
            self.consumer,
            cause,
            owner=self.name,
            role="saga_step",
            subject=saga,
            error=error,
        )
