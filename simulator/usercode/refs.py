"""How a scenario names user code, and the checks a name must pass before anything runs.

A scenario names a function by ``file.py:function``, the file relative to the
scenario file (``handler = "my_consumer.py:handle"``); the loaded scenario
remembers that directory (``code_dir``) so a copy of it replays from anywhere.
Before a run, the file is read as a syntax tree — never executed here — to
check what a student most often gets wrong: the file is missing, the function
is not defined at the top level, it takes the wrong arguments, it is not
``async`` where it must be, or it is not marked with its role. Each problem is
one ``InputError`` with the ``$.path`` of the field that names the code.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from simulator.errors import InputError

if TYPE_CHECKING:
    from simulator.scenario.schema import Scenario
    from simulator.usercode.port import UserCode

__all__ = [
    "SIGNATURES",
    "CodeField",
    "CodeRef",
    "check_code",
    "code_fields",
    "code_settings",
    "names_code",
]

_REF = re.compile(r"^(?P<file>[^:]+\.py):(?P<function>[A-Za-z_][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class Signature:
    """What a role's function looks like: its parameters and whether it is ``async``."""

    params: tuple[str, ...]
    """The parameters, in order, as the docs name them."""
    optional: int = 0
    """How many of the last parameters may be left out (a projector's ``ctx``)."""
    is_async: bool = False


SIGNATURES: dict[str, Signature] = {
    "handler": Signature(("message", "ctx")),
    "projector": Signature(("read_model", "event", "ctx"), optional=1),
    "decider": Signature(("command", "state")),
    "command_handler": Signature(("command", "ctx"), is_async=True),
    "saga_step": Signature(("saga", "ctx")),
}
"""Role → the shape of the function a scenario names for it."""


@dataclass(frozen=True)
class CodeRef:
    """``file.py:function``, resolved against the scenario's directory."""

    text: str
    file: str
    function: str

    @staticmethod
    def parse(text: str) -> CodeRef | None:
        m = _REF.match(text)
        return None if m is None else CodeRef(text, m["file"], m["function"])

    def path(self, code_dir: str) -> Path:
        return Path(code_dir or ".") / self.file


@dataclass(frozen=True)
class CodeField:
    """One field of a scenario that names code: where it is, what it says, which role."""

    where: str
    """``$.groups[0].handler``"""
    ref: str
    role: str
    owner: str
    """The component that runs it (a group, projector, handler or saga service)."""


def code_fields(s: Scenario) -> list[CodeField]:
    """Every field of ``s`` that names user code, in file order."""
    from simulator.scenario.schema import SagaServiceSpec

    out: list[CodeField] = []
    for i, g in enumerate(s.groups):
        if g.handler is not None:
            out.append(CodeField(f"$.groups[{i}].handler", g.handler, "handler", g.name))
    for i, p in enumerate(s.processors):
        if isinstance(p, SagaServiceSpec) and p.code is not None:
            out.append(CodeField(f"$.processors[{i}].code", p.code, "saga_step", p.name))
    for i, h in enumerate(s.handlers):
        if h.decider is not None:
            out.append(CodeField(f"$.handlers[{i}].decider", h.decider, "decider", h.name))
        if h.command_handler is not None:
            where = f"$.handlers[{i}].command_handler"
            out.append(CodeField(where, h.command_handler, "command_handler", h.name))
    for i, pr in enumerate(s.projectors):
        if pr.apply is not None:
            out.append(CodeField(f"$.projectors[{i}].apply", pr.apply, "projector", pr.name))
    return out


def names_code(s: Scenario) -> bool:
    """Whether the scenario runs any user code."""
    return bool(code_fields(s))


def code_settings(s: Scenario, code: UserCode) -> dict[str, str]:
    """What the trace header says about the code: who runs which function, from which source."""
    out: dict[str, str] = {}
    for f in code_fields(s):
        out[f"code.{f.owner}.{f.role}"] = f.ref
    for name, digest in sorted(code.book.digests().items()):
        out[f"code.{name}.sha256"] = digest[:16]
    return out


def check_code(s: Scenario, file: str) -> None:
    """Every code field names a function that exists, fits its role, and is marked with it."""
    for f in code_fields(s):
        ref = CodeRef.parse(f.ref)
        if ref is None:
            raise InputError(
                file,
                f.where,
                f'{f.ref!r} is not file.py:function (e.g. "my_code.py:{_example(f.role)}")',
            )
        _check_function(file, f, ref, s.code_dir)


def _example(role: str) -> str:
    return {"projector": "apply", "decider": "decide", "saga_step": "reserve"}.get(role, "handle")


def _check_function(file: str, f: CodeField, ref: CodeRef, code_dir: str) -> None:
    path = ref.path(code_dir)
    if not path.is_file():
        raise InputError(file, f.where, f"{ref.file}: no such file (looked in {path.parent})")
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(file, f.where, f"{ref.file}: cannot read it ({err})") from None
    try:
        tree = ast.parse(source, filename=ref.file)
    except SyntaxError as err:  # a null byte has no line
        at = f"{ref.file}:{err.lineno}" if err.lineno else ref.file
        raise InputError(file, f.where, f"{at}: invalid Python: {err.msg}") from None
    found = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == ref.function
    ]
    sig = SIGNATURES[f.role]
    shape = f"{ref.function}({', '.join(sig.params)})"
    if not found:
        keyword = "async def" if sig.is_async else "def"
        raise InputError(
            file,
            f.where,
            f"{ref.file} has no top-level function {ref.function} (write {keyword} {shape})",
        )
    node = found[-1]  # a later definition replaces an earlier one, as when the file runs
    at = f"{ref.file}:{node.lineno}"
    if sig.is_async and not isinstance(node, ast.AsyncFunctionDef):
        raise InputError(file, f.where, f"{at}: a @{f.role} is async: write async def {shape}")
    if not sig.is_async and isinstance(node, ast.AsyncFunctionDef):
        raise InputError(file, f.where, f"{at}: a @{f.role} is a plain def, not async def")
    _check_params(file, f.where, at, node, sig, shape, f.role)
    if not any(_decorator_name(d) == f.role for d in node.decorator_list):
        raise InputError(
            file,
            f.where,
            f"{at}: {ref.function} is not marked @{f.role} (from evsim import {f.role})",
        )


def _check_params(
    file: str,
    where: str,
    at: str,
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    sig: Signature,
    shape: str,
    role: str,
) -> None:
    args = node.args
    positional = len(args.posonlyargs) + len(args.args)
    required = positional - len(args.defaults)
    most = positional if args.vararg is None else len(sig.params)
    kw_defaults = zip(args.kwonlyargs, args.kw_defaults, strict=True)
    kw_required = [a.arg for a, default in kw_defaults if default is None]
    counts = range(len(sig.params) - sig.optional, len(sig.params) + 1)
    fits = not kw_required and any(required <= n <= most for n in counts)
    if not fits:
        took = ", ".join(a.arg for a in [*args.posonlyargs, *args.args])
        raise InputError(
            file, where, f"{at}: {node.name}({took}) does not fit: a @{role} is {shape}"
        )


def _decorator_name(node: ast.expr) -> str | None:
    """``handler`` for ``@handler``, ``@evsim.handler`` and ``@decider(...)`` alike."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None
