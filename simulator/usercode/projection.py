"""A projector's own ``apply``: user code behind the ``Projection`` the projector already uses.

The projector (``simulator.cqrs.projector``) keeps doing its job — read the
log from its checkpoint, apply each event, save the checkpoint, crash where
the fault plan says — and only the apply step is the student's: it gets the
read model (row → number or text), the event with its stream, version and
global position, and a context whose store is the projector's own table in
the read model's database. That table is durable like the rows: with ``kind =
"naive"`` each apply commits at once; with ``kind = "atomic"`` rows, store and
checkpoint commit together, and a crash rolls all three back.

At the end of the run the read model is judged against the built-in
projection its spec names (``projection = "balances"``) folded over the whole
log; the student's own code folded the same way (``fresh``: a silent copy on
an empty table) tells a bug in the code from an event applied twice.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import msgspec

from simulator.cqrs.projections import Projection, Table
from simulator.rng import derive_seed
from simulator.trace import CodeFailed, CodeNoted
from simulator.usercode.api import Context, Event, Host
from simulator.usercode.port import UserCodeRaised, code_of
from simulator.usercode.store import Store, Transaction
from simulator.usercode.store import Table as StoreTable

if TYPE_CHECKING:
    from simulator.runtime import Runtime
    from simulator.scenario import ProjectorSpec
    from simulator.store import StoredEvent
    from simulator.usercode.port import UserCode, UserFunction

__all__ = ["event_view", "user_projection"]

_MISSING = object()


def event_view(stored: StoredEvent, decoded: Any) -> Event:
    """The read-only ``Event`` user code is handed for a stored event."""
    data = msgspec.to_builtins(decoded)
    if isinstance(data, dict):
        data.pop("type", None)
    else:
        data = {}
    return Event(stored.type, data, stored.stream_id, stored.version, stored.position)


class _Viewed:
    """A decoded event with the view user code gets of it."""

    __slots__ = ("decoded", "event")

    def __init__(self, event: Event, decoded: Any) -> None:
        self.event = event
        self.decoded = decoded


def user_projection(runtime: Runtime, spec: ProjectorSpec, reference: Projection) -> Projection:
    """The projection a projector with ``apply = "file.py:fn"`` uses; judged by ``reference``."""
    code = code_of(runtime)
    assert code is not None and spec.apply is not None
    fn = code.function(spec.apply, "projector")
    rng = runtime.rng.stream(f"code:{spec.name}")
    return _ProjectorCode(runtime, code, fn, spec.name, reference, rng, silent=False).projection


class _ProjectorCode(Host):
    """Runs the student's apply for one projector (or, silently, for a fresh fold)."""

    role = "projector"

    def __init__(
        self,
        runtime: Runtime,
        code: UserCode,
        fn: UserFunction,
        owner: str,
        reference: Projection,
        rng: random.Random,
        *,
        silent: bool,
    ) -> None:
        self.runtime = runtime
        self.code = code
        self.fn = fn
        self.owner = owner
        self.reference = reference
        self.rng = rng
        self.silent = silent
        self._store: dict[str, Any] = {}
        self._cause: int | None = None
        self.projection = Projection(
            name=f"{owner}: {fn.ref}",
            domain=reference.domain,
            summary=f"your apply ({fn.ref}), judged by {reference.name}",
            apply=self.apply,
            row_of=self.row_of,
            reference=reference.name,
            code=self,
        )

    # -- the ProjectionCode protocol ---------------------------------------------------------

    def read(self, stored: StoredEvent, decoded: Any) -> Any:
        return _Viewed(event_view(stored, decoded), decoded)

    def use(self, store: dict[str, Any], cause: int | None) -> None:
        self._store = store
        self._cause = cause

    def fresh(self) -> Projection:
        seed = derive_seed(self.runtime.seed, f"code:{self.owner}:fold")
        return _ProjectorCode(
            self.runtime,
            self.code,
            self.fn,
            self.owner,
            self.reference,
            random.Random(seed),
            silent=True,
        ).projection

    # -- the Projection's functions ------------------------------------------------------------

    def row_of(self, viewed: Any) -> str | None:
        return self.reference.row_of(viewed.decoded) if isinstance(viewed, _Viewed) else None

    def apply(self, table: Table, viewed: Any) -> str | None:
        """Run the student's apply on one event; the row it changed (rows, if several)."""
        if not isinstance(viewed, _Viewed):
            return None
        before = dict(table)
        backing = StoreTable(self.owner)
        backing.rows = self._store
        txn = Transaction(backing)
        runtime = self.runtime
        ctx = Context(
            name=self.owner,
            role="projector",
            clock=lambda: runtime.kernel.now_ms,
            rng=self.rng,
            store=Store(txn),
            host=self,
        )
        args: tuple[Any, ...] = (table, viewed.event, ctx)
        try:
            self.code.book.run(self.fn.fn, *args[: self.fn.arity])
            changed = _changed(before, table)
            for row in changed:
                value = table.get(row, _MISSING)
                if value is not _MISSING and (
                    not isinstance(value, int | str) or isinstance(value, bool)
                ):
                    raise UserCodeRaised(
                        f"UsageError: read_model[{row!r}] = {value!r}: a read model holds"
                        " numbers (int) or text"
                    )
        except UserCodeRaised as raised:
            table.clear()
            table.update(before)
            txn.rollback()
            if not self.silent:
                runtime.emit(
                    CodeFailed,
                    self.owner,
                    self._cause,
                    owner=self.owner,
                    role="projector",
                    subject=f"@{viewed.event.position}",
                    error=f"{raised.error}; the event is not applied",
                )
            return None
        txn.commit()
        if not changed:
            return None
        return changed[0] if len(changed) == 1 else ", ".join(changed)

    def log(self, text: str) -> None:
        if not self.silent:
            self.runtime.emit(CodeNoted, self.owner, self._cause, owner=self.owner, text=text)


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    rows = set(before) | set(after)
    return sorted(r for r in rows if before.get(r, _MISSING) != after.get(r, _MISSING))
