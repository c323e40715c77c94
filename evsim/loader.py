"""Loading a student's code: the one place evsim runs a Python file a scenario names.

Everything else in evsim treats files as data — a scenario is TOML decoded
into structs, a trace JSON Lines — and ``tests/reliability/test_reliability_no_exec.py``
proves that no module of the core can turn file content into code. Running a
student's handler is the point of an exercise, so it happens here, outside
the core, on purpose and only for the files a scenario names in its code
fields (``handler = "my_consumer.py:handle"``).

Each run gets a *fresh* module: the file's compiled code is executed again into
a new namespace (under the determinism guard, so reading the clock at import
is caught too). A run never sees what an earlier run left in module variables
— except when the grader hands the same ``Book`` to two runs on purpose, to
find exactly that. Loading checks what the syntax-tree check before it could
not: that the function really carries its role's marker, that a decider's
``evolve`` and a saga step's compensation take the right arguments.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from evsim.guard import Guard
from simulator.errors import InputError
from simulator.scenario import Scenario
from simulator.usercode.api import Role, role_of
from simulator.usercode.port import CodeAborted, UserCodeRaised
from simulator.usercode.refs import SIGNATURES, CodeRef, code_fields

__all__ = ["Book", "LoadedFunction", "load_book"]

T = TypeVar("T")

_compiled: dict[tuple[str, int, int], tuple[types.CodeType, str]] = {}
"""(path, mtime, size) → the compiled file and its SHA-256: compile once, run fresh each time."""


@dataclass(frozen=True)
class LoadedFunction:
    """A user function, checked against the role the scenario names it for."""

    ref: str
    role: Role
    arity: int
    fn: Callable[..., Any]


class Book:
    """The loaded code of one run (``simulator.usercode.port.CodeBook``)."""

    def __init__(self, scenario: Scenario, file: str = "") -> None:
        self._file = file or scenario.name or "scenario"
        self._modules: dict[str, types.ModuleType] = {}
        self._sources: dict[str, str] = {}
        self._functions: dict[tuple[str, str], LoadedFunction] = {}
        fields = code_fields(scenario)
        paths: dict[str, Path] = {}
        for f in fields:
            ref = CodeRef.parse(f.ref)
            if ref is None:
                raise InputError(self._file, f.where, f"{f.ref!r} is not file.py:function")
            path = Path(os.path.abspath(ref.path(scenario.code_dir)))
            paths[ref.file] = path
        self.guard = Guard(frozenset(str(p) for p in paths.values()))
        for name, path in paths.items():
            self._modules[name] = self._load(name, path)
        for f in fields:
            ref = CodeRef.parse(f.ref)
            assert ref is not None
            self._functions[(f.ref, f.role)] = self._check(f.where, ref, f.role)

    # -- loading -------------------------------------------------------------------------------

    def _load(self, name: str, path: Path) -> types.ModuleType:
        try:
            stat = path.stat()
            key = (str(path), stat.st_mtime_ns, stat.st_size)
            compiled = _compiled.get(key)
            if compiled is None:
                source = path.read_bytes()
                code = compile(source, str(path), "exec", dont_inherit=True)
                compiled = _compiled[key] = (code, hashlib.sha256(source).hexdigest())
        except OSError as err:
            raise InputError(name, "", f"cannot read it: {err.strerror or err}") from None
        except SyntaxError as err:
            raise InputError(name, f"line {err.lineno}", f"invalid Python: {err.msg}") from None
        except ValueError as err:  # a null byte in the source
            raise InputError(name, "", f"invalid Python: {err}") from None
        code, digest = compiled
        self._sources[name] = digest
        digest_of_path = hashlib.sha256(str(path).encode()).hexdigest()[:8]
        module = types.ModuleType(f"evsim_user_{path.stem}_{digest_of_path}")
        module.__file__ = str(path)
        # Registered (and replaced by the next load) so that dataclasses and the like
        # can find the module their classes are defined in.
        sys.modules[module.__name__] = module
        try:
            self.guard.run(exec, code, module.__dict__)
        except UserCodeRaised as raised:
            raise InputError(name, "", f"running the file raised {raised.error}") from None
        return module

    def _check(self, where: str, ref: CodeRef, role: str) -> LoadedFunction:
        module = self._modules[ref.file]
        fn = module.__dict__.get(ref.function)
        at = f"{ref.file}:{ref.function}"
        if not callable(fn):
            raise InputError(self._file, where, f"{at} is not a function once the file has run")
        marked = role_of(fn)
        if marked is None:
            raise InputError(
                self._file, where, f"{at} is not marked @{role} (from evsim import {role})"
            )
        if marked.kind != role:
            raise InputError(
                self._file, where, f"{at} is marked @{marked.kind}, but this field needs a @{role}"
            )
        sig = SIGNATURES[role]
        arity = _arity(fn, len(sig.params) - sig.optional, len(sig.params))
        if arity is None:
            raise InputError(
                self._file, where, f"{at} does not take ({', '.join(sig.params)}) as a @{role} must"
            )
        if sig.is_async != inspect.iscoroutinefunction(fn):
            kind = "an async def" if sig.is_async else "a plain def"
            raise InputError(self._file, where, f"{at} must be {kind}")
        companions = {
            "evolve": (marked.evolve, ("state", "event")),
            "compensation": (marked.compensation, ("saga", "ctx")),
        }
        if role == "command_handler" and marked.decider is not None:
            decides = role_of(marked.decider)
            companions["evolve"] = (decides.evolve if decides else None, ("state", "event"))
        for what, (companion, params) in companions.items():
            if companion is not None and _arity(companion, len(params), len(params)) is None:
                raise InputError(
                    self._file,
                    where,
                    f"{at}: its {what} {getattr(companion, '__name__', '?')} does not take"
                    f" ({', '.join(params)})",
                )
        return LoadedFunction(ref.text, marked, arity, fn)

    # -- the CodeBook port ---------------------------------------------------------------------

    def function(self, ref: str, role: str) -> LoadedFunction:
        return self._functions[(ref, role)]

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        return self.guard.run(fn, *args)

    def digests(self) -> dict[str, str]:
        return dict(self._sources)


def _arity(fn: Callable[..., Any], least: int, most: int) -> int | None:
    """The most positional arguments in ``least..most`` that ``fn`` accepts, or None."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    for n in range(most, least - 1, -1):
        try:
            signature.bind(*range(n))
        except TypeError:
            continue
        return n
    return None


def load_book(scenario: Scenario, file: str = "") -> Book:
    """Load every file the scenario's code fields name; ``InputError`` for what is wrong."""
    try:
        return Book(scenario, file)
    except CodeAborted:
        raise
    except RecursionError:
        raise InputError(file or scenario.name, "", "loading the code recursed too deep") from None
