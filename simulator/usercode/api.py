"""What your code sees: messages, events, commands, the context, its store, and role markers.

A student's file is ordinary Python. Each function a scenario names is marked
with its *role* — ``@handler`` for a consumer's message handler,
``@projector`` for a projector's ``apply``, ``@decider`` for an aggregate's
``decide`` (with its ``evolve``), ``@command_handler`` for a command handler
that loads, decides and appends itself, ``@saga_step`` for a saga step (with
its compensation) — so the loader can say so when a scenario names the wrong
one. evsim calls it with plain, read-only values (``Message``, ``Event``,
``Command``) and a ``Context``: the virtual clock (``ctx.now_ms``), a seeded
random stream (``ctx.rng``), the component's own key-value ``Store`` and the
ways out of the function (``effect``, ``publish``, ``log`` …). Nothing else
is needed, and nothing else keeps a run reproducible: the machine's clock and
the global ``random`` module are off limits inside user code (``evsim.guard``
names the call), and state kept in module variables is caught by running the
code twice.

Everything here is re-exported by the ``evsim`` package: ``from evsim import
handler, Context``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from simulator.usercode.store import Store

__all__ = [
    "ROLES",
    "Command",
    "Context",
    "Event",
    "Loaded",
    "Message",
    "Rejected",
    "Role",
    "UsageError",
    "VersionConflict",
    "command_handler",
    "decider",
    "handler",
    "projector",
    "role_of",
    "saga_step",
]

F = TypeVar("F", bound=Callable[..., Any])

ROLE_ATTRIBUTE = "__evsim_role__"
"""The attribute a role marker sets on the function it marks."""

ROLES = ("handler", "projector", "decider", "command_handler", "saga_step")
"""Every role, as ``@marker`` names and error messages spell them."""


# -- roles ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    """What a marker says about a function: its role and the functions that go with it."""

    kind: str
    """One of ``ROLES``."""
    evolve: Callable[[Any, Event], Any] | None = None
    """``@decider``: folds one stored event into the state."""
    initial_state: Any = None
    """``@decider``: the state of a stream with no events (copied for every load)."""
    compensation: Callable[[str, Context], Any] | None = None
    """``@saga_step``: undoes the step for a saga (it must be safe when the step never ran)."""
    decider: Callable[..., Any] | None = None
    """``@command_handler``: the ``@decider`` whose ``evolve`` ``ctx.load`` folds with."""


def _mark(fn: F, role: Role) -> F:
    if not callable(fn):
        raise TypeError(f"@{role.kind} marks a function, not {type(fn).__name__}")
    setattr(fn, ROLE_ATTRIBUTE, role)
    return fn


def role_of(fn: object) -> Role | None:
    """The role a marker gave ``fn``, or None."""
    role = getattr(fn, ROLE_ATTRIBUTE, None)
    return role if isinstance(role, Role) else None


def handler(fn: F) -> F:
    """Mark ``fn(message, ctx)`` as a consumer group's message handler.

    It is called once per processing attempt. Returning is success: the
    consumer then commits (offset, ack or delete, as the group says), and the
    store writes of the call commit first. Raising is a handler failure: the
    writes roll back, the error goes into the trace with your file and line,
    and the group's retry policy decides what comes next.
    """
    return _mark(fn, Role("handler"))


def projector(fn: F) -> F:
    """Mark ``fn(read_model, event, ctx)`` (or ``fn(read_model, event)``) as a projector's apply.

    ``read_model`` is the projector's table (row → number or text); change the
    rows the event changes. ``ctx.store`` is the projector's own table beside
    the rows, in the same database: keep what you need to recognise an event
    you applied already (its position, or the version per stream).
    """
    return _mark(fn, Role("projector"))


def decider(*, evolve: Callable[[Any, Event], Any], initial_state: Any) -> Callable[[F], F]:
    """Mark ``decide(command, state)`` as an aggregate's decider, with its ``evolve``.

    ``decide`` returns the new events (dicts with a ``"type"`` and the event's
    fields) or ``Rejected("why")``; ``evolve(state, event)`` returns the state
    after one stored event; ``initial_state`` is the state before the first.
    """
    if not callable(evolve):
        raise TypeError("@decider(evolve=...) needs a function evolve(state, event)")

    def mark(fn: F) -> F:
        return _mark(fn, Role("decider", evolve=evolve, initial_state=initial_state))

    return mark


def command_handler(*, decider: Callable[..., Any]) -> Callable[[F], F]:
    """Mark ``async def handle(command, ctx)`` as a command handler built on ``decider``.

    The handler does the work the built-in one does: ``await ctx.load(stream)``
    (the state, folded with the decider's ``evolve``, and its version), decide,
    ``await ctx.append(stream, events, expected_version=...)`` — which raises
    ``VersionConflict`` when another writer got there first — or
    ``ctx.reject(reason)``. ``await ctx.sleep(ms)`` waits in virtual time.
    """
    decides = role_of(decider)
    if decides is None or decides.kind != "decider":
        raise TypeError("@command_handler(decider=...) needs a function marked @decider")

    def mark(fn: F) -> F:
        return _mark(fn, Role("command_handler", decider=decider))

    return mark


def saga_step(*, compensation: Callable[[str, Context], Any]) -> Callable[[F], F]:
    """Mark ``do(saga, ctx)`` as a saga step, and ``compensation(saga, ctx)`` as its undo.

    ``do`` returns nothing (or True) when the step is done, and ``False`` or
    ``Rejected("why")`` when it refuses (the saga then compensates the steps
    before it). The compensation runs when a later step failed or the step did
    not answer in time — so it may come for a step that never ran, or twice.
    """
    if not callable(compensation):
        raise TypeError("@saga_step(compensation=...) needs a function compensation(saga, ctx)")

    def mark(fn: F) -> F:
        return _mark(fn, Role("saga_step", compensation=compensation))

    return mark


# -- the values user code is handed ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    """A message as a handler receives it (read-only)."""

    id: int
    """The id the producer gave it (``m12`` is 12): the same on a redelivery and on a retry."""
    key: str | None
    key_seq: int
    """Its place in its key's order, counted by its producer: 1, 2, 3 … (0 without a key)."""
    value: str
    producer: str
    topic: str
    redelivered: bool
    """The broker has given this group the message before (a hint, not a promise)."""

    @property
    def ref(self) -> str:
        """``"m12"``: how the trace names the message."""
        return f"m{self.id}"


@dataclass(frozen=True, slots=True)
class Event:
    """A stored event, as a projector or an ``evolve`` reads it (read-only)."""

    type: str
    """The event's stable tag, e.g. ``"account.deposited"``."""
    data: dict[str, Any]
    """Its fields, e.g. ``{"account_id": "a1", "amount_cents": 500, "currency": "EUR"}``."""
    stream: str
    version: int
    """Its place in its stream: 1, 2, 3 …"""
    position: int
    """Its place in the whole log (the store's global position)."""

    def __getitem__(self, name: str) -> Any:
        return self.data[name]


@dataclass(frozen=True, slots=True)
class Command:
    """A command as a decider or a command handler receives it (read-only)."""

    id: str
    """How the trace names it (``c3``, ``g1.7``)."""
    type: str
    """The command's tag, e.g. ``"account.withdraw"``."""
    data: dict[str, Any]
    stream: str
    """The stream the domain says the command addresses (``account-a1``)."""

    def __getitem__(self, name: str) -> Any:
        return self.data[name]


@dataclass(frozen=True, slots=True)
class Loaded:
    """What ``await ctx.load(stream)`` gives: the folded state and the version it is at."""

    stream: str
    state: Any
    version: int
    """0 for a stream with no events yet; pass it as ``expected_version``."""


class Rejected:
    """What ``decide`` (or a saga step) returns to refuse, with the reason in words."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = str(reason)

    def __repr__(self) -> str:
        return f"Rejected({self.reason!r})"


class VersionConflict(Exception):
    """``append`` expected a version the stream is no longer at: someone else appended first."""

    def __init__(self, stream: str, expected: int, actual: int) -> None:
        self.stream = stream
        self.expected = expected
        self.actual = actual
        super().__init__(f"{stream}: expected version {expected}, the stream is at {actual}")


class UsageError(Exception):
    """Your code asked the context for something its role does not have, or gave a bad value."""


# -- the context ------------------------------------------------------------------------------


class Request:
    """Something a command handler awaits; the runner answers it in virtual time."""

    __slots__ = ("args", "what")

    def __init__(self, what: str, args: tuple[Any, ...]) -> None:
        self.what = what
        self.args = args

    def __await__(self) -> Generator[Request, Any, Any]:
        answer = yield self
        return answer


class Context:
    """What a call of your code may use: clock, randomness, its store, and its ways out.

    Each role offers what makes sense for it; asking for anything else raises
    ``UsageError``. ``now_ms`` is virtual time (milliseconds since the run
    started), ``rng`` a ``random.Random`` seeded from the run's seed and the
    component's name, ``store`` the component's own durable key-value store.
    """

    __slots__ = ("_clock", "_host", "name", "rng", "role", "store")

    def __init__(
        self,
        *,
        name: str,
        role: str,
        clock: Callable[[], int],
        rng: random.Random,
        store: Store,
        host: Host,
    ) -> None:
        self.name = name
        """The component running your code: a consumer, a projector, a service, a handler."""
        self.role = role
        self.rng = rng
        self.store = store
        self._clock = clock
        self._host = host

    @property
    def now_ms(self) -> int:
        """Virtual time in milliseconds: the simulation's clock, never the machine's."""
        return self._clock()

    def effect(
        self,
        name: str,
        *,
        key: str | None = None,
        seq: int | None = None,
        amount: int = 1,
        ref: str | None = None,
    ) -> None:
        """Do something to the outside world — charge a card, reserve stock, ship a parcel.

        It happens at once and is never rolled back (a store write is; an e-mail
        is not). ``ref`` says what it is for (default: the message in hand,
        ``"m12"``, or the saga); ``key`` and ``seq`` place it in a key's order;
        ``amount`` counts it (``-1`` undoes a ``+1``). The trace records it,
        and an exercise's property judges it.
        """
        if not isinstance(name, str) or not name:
            raise UsageError("effect(name): name must be a non-empty string")
        if key is not None and not isinstance(key, str):
            raise UsageError(f"effect(key=...): a string or None, not {type(key).__name__}")
        if seq is not None and (not isinstance(seq, int) or isinstance(seq, bool)):
            raise UsageError(f"effect(seq=...): an int or None, not {type(seq).__name__}")
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise UsageError(f"effect(amount=...): an int, not {type(amount).__name__}")
        if ref is not None and not isinstance(ref, str):
            raise UsageError(f"effect(ref=...): a string or None, not {type(ref).__name__}")
        self._host.effect(name, key, seq, amount, ref)

    def publish(self, topic: str, value: str, *, key: str | None = None) -> None:
        """Publish a message to ``topic`` now — outside the store's transaction.

        If the call then fails, the message is out anyway: that is the dual
        write. ``ctx.store.outbox(...)`` publishes only what commits.
        """
        if not isinstance(topic, str) or not isinstance(value, str):
            raise UsageError("publish(topic, value): both must be strings")
        if key is not None and not isinstance(key, str):
            raise UsageError(f"publish(key=...): a string or None, not {type(key).__name__}")
        self._host.publish(topic, value, key)

    def log(self, text: object) -> None:
        """Write a note into the trace (instead of ``print``): the TUI shows it in place."""
        self._host.log(str(text))

    # -- command handlers ------------------------------------------------------------------

    def load(self, stream: str) -> Request:
        """``await ctx.load(stream)``: the stream's state and version (a ``Loaded``)."""
        self._host.awaits("load")
        if not isinstance(stream, str) or not stream:
            raise UsageError("load(stream): stream must be a non-empty string")
        return Request("load", (stream,))

    def append(
        self, stream: str, events: list[dict[str, Any]], *, expected_version: int | None = None
    ) -> Request:
        """``await ctx.append(stream, events, expected_version=v)``: the new version.

        With ``expected_version`` the store refuses the append if the stream
        has moved past ``v`` (``VersionConflict``); without it the append goes
        through whatever happened in between — the lost update.
        """
        self._host.awaits("append")
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise UsageError("append(stream, events): events must be a list of dicts")
        if expected_version is not None and (
            not isinstance(expected_version, int) or isinstance(expected_version, bool)
        ):
            raise UsageError("append(expected_version=...): an int or None")
        return Request("append", (stream, events, expected_version))

    def sleep(self, ms: int) -> Request:
        """``await ctx.sleep(ms)``: wait ``ms`` milliseconds of virtual time (a backoff)."""
        self._host.awaits("sleep")
        if not isinstance(ms, int) or isinstance(ms, bool) or ms < 0:
            raise UsageError("sleep(ms): a non-negative int")
        return Request("sleep", (ms,))

    def reject(self, reason: str) -> None:
        """Refuse the command in hand, with the reason in words (no events are appended)."""
        self._host.reject(str(reason))


class Host:
    """The role's side of a context: what the runner does for each call (default: refuse)."""

    role = "code"

    def _refuse(self, what: str) -> UsageError:
        return UsageError(f"{what}: not available to a {self.role.replace('_', ' ')}")

    def effect(
        self, name: str, key: str | None, seq: int | None, amount: int, ref: str | None
    ) -> None:
        raise self._refuse("effect")

    def publish(self, topic: str, value: str, key: str | None) -> None:
        raise self._refuse("publish")

    def log(self, text: str) -> None:
        raise self._refuse("log")

    def awaits(self, what: str) -> None:
        raise self._refuse(f"{what} (only an async command handler awaits the store)")

    def reject(self, reason: str) -> None:
        raise self._refuse("reject")
