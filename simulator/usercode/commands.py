"""A command handler's own code: a decider, or the whole load–decide–append loop.

Two roles plug into the command handler (``simulator.cqrs.handler``):

- ``decider = "account.py:decide"``: the built-in handler keeps its loop —
  load, wait ``decide_ms``, decide, append expecting the loaded version, retry
  on a conflict as its policy says — and asks the student's ``decide`` and
  ``evolve`` instead of the domain's. Commands and events are the domain's
  (``account.withdraw``, ``account.withdrawn``), handed over as plain dicts.
- ``command_handler = "teller.py:handle"``: the student writes the loop
  itself, as an ``async`` function that awaits the store: ``ctx.load`` (the
  state folded by its decider's ``evolve``; the handler then thinks for
  ``decide_ms``), ``ctx.append`` (which raises ``VersionConflict`` into the
  code when another writer got there first), ``ctx.sleep`` for a backoff. The
  coroutine is driven here, one step per kernel action, so two commands
  interleave in virtual time exactly where real ones would race.

Every append goes through the handler's own bookkeeping (``EventStored``,
``UpdateLost`` when an append that expected no version overwrote another
decision, publishing), so the checker and the read models see user code as
they see the built-in handler.
"""

from __future__ import annotations

import copy
import typing
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import msgspec

from simulator.domain import Rejected as DomainRejected
from simulator.store import ANY_VERSION, Loaded, VersionConflict
from simulator.trace import (
    AggregateLoaded,
    CodeFailed,
    CodeNoted,
    CommandRejected,
    EffectPerformed,
    VersionConflicted,
)
from simulator.usercode import api
from simulator.usercode.api import Command, Context, Host, Request, Role, UsageError
from simulator.usercode.port import UserCodeRaised, code_of
from simulator.usercode.projection import event_view
from simulator.usercode.store import Store, Transaction

if TYPE_CHECKING:
    from simulator.cqrs.commands import PlannedCommand
    from simulator.cqrs.handler import Handler
    from simulator.domain.decider import Domain
    from simulator.runtime import Runtime
    from simulator.usercode.port import UserCode, UserFunction

__all__ = ["CommandCode", "command_code"]


def command_code(runtime: Runtime, handler: Handler) -> CommandCode | None:
    """The handler's own code (a decider or a whole command handler), if its spec names any."""
    spec = handler.spec
    code = code_of(runtime)
    if code is None or (spec.decider is None and spec.command_handler is None):
        return None
    return CommandCode(runtime, code, handler)


def command_view(planned: PlannedCommand) -> Command:
    data = msgspec.to_builtins(planned.command)
    tag = data.pop("type", None) if isinstance(data, dict) else None
    return Command(
        planned.id,
        str(tag) if tag is not None else type(planned.command).__name__,
        data if isinstance(data, dict) else {},
        planned.domain.stream_id(planned.command),
    )


class CommandCode:
    """User code in one command handler: fold, decide, or drive a whole command."""

    def __init__(self, runtime: Runtime, code: UserCode, handler: Handler) -> None:
        spec = handler.spec
        self.runtime = runtime
        self.code = code
        self.handler = handler
        self.name = handler.name
        self.drives = spec.command_handler is not None
        """A whole command handler (``receive`` takes over); else a decider."""
        self.fn: UserFunction = (
            code.function(spec.command_handler, "command_handler")
            if spec.command_handler is not None
            else code.function(spec.decider or "", "decider")
        )
        role = self.fn.role
        decider = role.decider if role.kind == "command_handler" else self.fn.fn
        self.decider: Role = api.role_of(decider) or Role("decider")
        self.rng = runtime.rng.stream(f"code:{self.name}")
        self.table = code.table(self.name)

    # -- the decider ---------------------------------------------------------------------------

    def fold(self, domain: Domain[Any, Any, Any], stream: str) -> tuple[Any, int, int]:
        """The stream's state by the decider's ``evolve``: (state, version, events folded)."""
        store = self.handler.log.store
        evolve = self.decider.evolve
        book = self.code.book
        state = book.run(copy.deepcopy, self.decider.initial_state)
        events = store.read_stream(stream)
        codec = store.codec(domain)
        for stored in events:
            if evolve is not None:
                state = book.run(evolve, state, event_view(stored, codec.decode(stored)))
        return state, store.stream_version(stream), len(events)

    def load(self, planned: PlannedCommand, stream: str, cause: int | None) -> Loaded[Any] | None:
        """The built-in loop's load, by the student's ``evolve``; None if it raised."""
        try:
            state, version, replayed = self.fold(planned.domain, stream)
        except UserCodeRaised as raised:
            self._failed(planned.id, cause, f"evolve raised {raised.error}")
            return None
        return Loaded(stream_id=stream, state=state, version=version, replayed=replayed)

    def decide(
        self, planned: PlannedCommand, state: Any, cause: int | None
    ) -> list[msgspec.Struct] | DomainRejected | None:
        """The student's ``decide``: the domain's events, a rejection, or None if it failed."""
        try:
            decided = self.code.book.run(self.fn.fn, command_view(planned), state)
            if isinstance(decided, api.Rejected):
                return DomainRejected(reason=decided.reason)
            return self.events_of(planned.domain, decided)
        except UserCodeRaised as raised:
            self._failed(planned.id, cause, raised.error)
            return None

    def events_of(self, domain: Domain[Any, Any, Any], decided: object) -> list[msgspec.Struct]:
        """Dicts with a ``"type"`` as the domain's event structs; ``UserCodeRaised`` if not."""
        if not isinstance(decided, list):
            raise UserCodeRaised(
                f"UsageError: decide returned {type(decided).__name__}: return a list of events"
                ' (dicts with a "type") or Rejected(reason)'
            )
        try:
            return _events(domain, decided)
        except UsageError as err:
            raise UserCodeRaised(f"UsageError: {err}") from None

    def _failed(self, subject: str, cause: int | None, error: str) -> None:
        self.runtime.emit(
            CodeFailed,
            self.name,
            cause,
            owner=self.name,
            role=self.fn.role.kind,
            subject=subject,
            error=error,
        )

    # -- a whole command handler ---------------------------------------------------------------

    def receive(self, planned: PlannedCommand, cause: int | None) -> None:
        """A command arrives: start the student's coroutine on it."""
        run = _Run(self, planned, cause)
        try:
            coro = self.code.book.run(self.fn.fn, command_view(planned), run.context())
        except UserCodeRaised as raised:
            run.fail(raised.error)
            return
        if not isinstance(coro, Coroutine):
            run.fail("the command handler did not return a coroutine (write async def)")
            return
        run.coro = coro
        run.step(None, None)


def _events(domain: Domain[Any, Any, Any], decided: list[object]) -> list[msgspec.Struct]:
    union: Any = typing.Union[domain.event_types]  # noqa: UP007 - a union built at run time
    out: list[msgspec.Struct] = []
    for event in decided:
        if not isinstance(event, dict) or "type" not in event:
            raise UsageError(f'an event is a dict with a "type", not {event!r}')
        try:
            out.append(msgspec.convert(event, union, strict=False))
        except msgspec.ValidationError as err:
            tags = ", ".join(str(t.__struct_config__.tag) for t in domain.event_types)
            raise UsageError(
                f"{event!r} is not an event of the {domain.name} domain ({tags}): {err}"
            ) from None
    return out


class _Run(Host):
    """One command in the student's command handler: its coroutine, driven in virtual time."""

    role = "command_handler"

    def __init__(self, owner: CommandCode, planned: PlannedCommand, cause: int | None) -> None:
        self.owner = owner
        self.planned = planned
        self.cause = cause
        self.epoch = owner.handler.epoch
        self.coro: Coroutine[Any, Any, Any] | None = None
        self.loaded: dict[str, int] = {}
        """Stream → the version this command last loaded (what an unchecked append overwrites)."""
        self.decided = False
        self.conflicts = 0

    def context(self) -> Context:
        runtime = self.owner.runtime
        return Context(
            name=self.owner.name,
            role="command_handler",
            clock=lambda: runtime.kernel.now_ms,
            rng=self.owner.rng,
            store=Store(Transaction(self.owner.table)),
            host=self,
        )

    # -- what the context may ask --------------------------------------------------------------

    def awaits(self, what: str) -> None:
        """Loads, appends and sleeps are what a command handler awaits."""

    def reject(self, reason: str) -> None:
        if self.decided:
            raise UsageError("reject: this command has been decided already")
        self.decided = True
        owner = self.owner
        self.cause = owner.runtime.emit(
            CommandRejected,
            owner.name,
            self.cause,
            handler=owner.name,
            command=self.planned.id,
            stream=self.planned.domain.stream_id(self.planned.command),
            reason=reason,
        ).seq

    def log(self, text: str) -> None:
        owner = self.owner
        owner.runtime.emit(CodeNoted, owner.name, self.cause, owner=owner.name, text=text)

    def effect(
        self, name: str, key: str | None, seq: int | None, amount: int, ref: str | None
    ) -> None:
        owner = self.owner
        owner.runtime.emit(
            EffectPerformed,
            owner.name,
            self.cause,
            owner=owner.name,
            name=name,
            ref=ref if ref is not None else self.planned.id,
            key=key,
            key_seq=seq,
            amount=amount,
        )

    # -- driving the coroutine -------------------------------------------------------------------

    def fail(self, error: str) -> None:
        self.decided = True
        self.owner._failed(self.planned.id, self.cause, error)

    def _later(self, delay_ms: int, value: Any, exc: BaseException | None) -> None:
        self.owner.runtime.kernel.after(delay_ms, self._resume, (value, exc))

    def _resume(self, arg: tuple[Any, BaseException | None]) -> None:
        self.step(*arg)

    def step(self, value: Any, exc: BaseException | None) -> None:
        """Run the coroutine to its next await, and answer that request in virtual time."""
        coro = self.coro
        owner = self.owner
        if coro is None:
            return
        if not owner.handler.is_current(self.epoch):
            self.coro = None  # the handler crashed: the command dies with the process
            return
        book = owner.code.book
        try:
            request = book.run(coro.throw, exc) if exc is not None else book.run(coro.send, value)
        except StopIteration:
            self.coro = None
            if not self.decided:
                self.fail("returned without appending events or calling ctx.reject(reason)")
            return
        except UserCodeRaised as raised:
            self.coro = None
            self.fail(raised.error)
            return
        if not isinstance(request, Request):
            self._later(0, None, UsageError("await only ctx.load, ctx.append and ctx.sleep"))
            return
        if request.what == "load":
            self._load(request.args[0])
        elif request.what == "append":
            self._append(*request.args)
        else:
            self._later(int(request.args[0]), None, None)

    def _load(self, stream: str) -> None:
        owner = self.owner
        planned = self.planned
        try:
            state, version, replayed = owner.fold(planned.domain, stream)
        except UserCodeRaised as raised:
            self.coro = None
            self.fail(f"evolve raised {raised.error}")
            return
        self.loaded[stream] = version
        self.cause = owner.runtime.emit(
            AggregateLoaded,
            owner.name,
            self.cause,
            handler=owner.name,
            command=planned.id,
            stream=stream,
            version=version,
            replayed=replayed,
            snapshot_version=0,
        ).seq
        self._later(owner.handler.spec.decide_ms, api.Loaded(stream, state, version), None)

    def _append(self, stream: str, events: list[dict[str, Any]], expected: int | None) -> None:
        owner = self.owner
        handler = owner.handler
        runtime = owner.runtime
        planned = self.planned
        try:
            structs = _events(planned.domain, list(events))
        except UsageError as err:
            self._later(0, None, err)
            return
        store = handler.log.store
        if not structs:
            self._later(0, store.stream_version(stream), None)
            return
        result = store.append(
            stream,
            store.codec(planned.domain).encode_all(structs),
            ANY_VERSION if expected is None else expected,
            recorded_at_ms=runtime.kernel.now_ms,
        )
        if isinstance(result, VersionConflict):
            self.conflicts += 1
            self.cause = runtime.emit(
                VersionConflicted,
                owner.name,
                self.cause,
                handler=owner.name,
                command=planned.id,
                stream=stream,
                expected=result.expected_version,
                actual=result.actual_version,
                attempt=self.conflicts,
                retry_in_ms=None,
            ).seq
            conflict = api.VersionConflict(stream, result.expected_version, result.actual_version)
            self._later(0, None, conflict)
            return
        self.decided = True
        loaded = self.loaded.get(stream, 0)
        stored = handler.record_append(planned, result, loaded, expected is None, self.cause)
        self.loaded[stream] = result.version
        if stored:
            self.cause = handler.log.stored_seq.get(stored[-1].position, self.cause)
        if handler.publish_after_append(stored):
            self._later(0, result.version, None)
