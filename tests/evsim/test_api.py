"""The evsim package: the names user code imports, and what the role markers record."""

from __future__ import annotations

import random

import pytest

import evsim
from simulator.usercode.api import Context, Host, Message, UsageError, role_of
from simulator.usercode.store import Store, Table, Transaction


def test_the_package_exports_the_documented_api() -> None:
    for name in ("handler", "projector", "decider", "command_handler", "saga_step", "Context"):
        assert name in evsim.__all__ and hasattr(evsim, name)
    for name in ("Message", "Event", "Command", "Store", "Rejected", "VersionConflict"):
        assert hasattr(evsim, name)


def test_importing_evsim_loads_no_ui_library() -> None:
    import subprocess
    import sys

    code = "import sys, evsim; print([m for m in ('textual', 'rich', 'typer') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_markers_record_the_role_and_its_companions() -> None:
    @evsim.handler
    def handle(message: object, ctx: object) -> None: ...

    def evolve(state: object, event: object) -> object:
        return state

    @evsim.decider(evolve=evolve, initial_state={})
    def decide(command: object, state: object) -> list[object]:
        return []

    @evsim.command_handler(decider=decide)
    async def run(command: object, ctx: object) -> None: ...

    def undo(saga: str, ctx: object) -> None: ...

    @evsim.saga_step(compensation=undo)
    def do(saga: str, ctx: object) -> None: ...

    assert role_of(handle) is not None and role_of(handle).kind == "handler"  # type: ignore[union-attr]
    decides = role_of(decide)
    assert decides is not None and decides.evolve is evolve and decides.initial_state == {}
    runs = role_of(run)
    assert runs is not None and runs.decider is decide
    steps = role_of(do)
    assert steps is not None and steps.compensation is undo
    assert role_of(evolve) is None


def test_a_command_handler_needs_a_decider() -> None:
    with pytest.raises(TypeError, match="needs a function marked @decider"):
        evsim.command_handler(decider=lambda c, s: [])


def test_a_message_names_itself_as_the_trace_does() -> None:
    m = Message(12, "k", 3, "v", "shop", "payments", False)
    assert m.ref == "m12"
    with pytest.raises(AttributeError):
        m.id = 13  # type: ignore[misc]


class _Effects(Host):
    role = "handler"

    def __init__(self) -> None:
        self.seen: list[tuple[object, ...]] = []

    def effect(
        self, name: str, key: str | None, seq: int | None, amount: int, ref: str | None
    ) -> None:
        self.seen.append((name, key, seq, amount, ref))


def _ctx(host: Host) -> Context:
    return Context(
        name="c",
        role=host.role,
        clock=lambda: 42,
        rng=random.Random(1),
        store=Store(Transaction(Table("t"))),
        host=host,
    )


def test_the_context_gives_virtual_time_and_checks_what_it_is_given() -> None:
    host = _Effects()
    ctx = _ctx(host)
    assert ctx.now_ms == 42
    ctx.effect("charge", key="a1", seq=2, amount=-1, ref="m3")
    assert host.seen == [("charge", "a1", 2, -1, "m3")]
    for bad in ({"key": 1}, {"seq": "2"}, {"amount": 1.5}, {"ref": 3}):
        with pytest.raises(UsageError):
            ctx.effect("charge", **bad)  # type: ignore[arg-type]


def test_what_a_role_does_not_offer_is_a_usage_error() -> None:
    ctx = _ctx(_Effects())
    with pytest.raises(UsageError, match="publish: not available to a handler"):
        ctx.publish("t", "v")
    with pytest.raises(UsageError, match="only an async command handler awaits the store"):
        ctx.load("account-a1")
