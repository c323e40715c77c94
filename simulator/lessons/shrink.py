"""Failing cases as scenario files: write a Scenario back as TOML, and make it smaller.

A property test that finds a lost message is only useful if a person can replay
what it found. ``scenario_to_toml`` turns a ``Scenario`` struct back into a
lesson file (written by ``tomli_w``) that holds only the settings that differ
from their defaults, so ``evsim play FILE --seed N`` reproduces the run byte
for byte (``load(write(s)) == s``). ``shrink`` then removes what the failure
does not need, the way hypothesis shrinks its examples: drop a fault, a
message, a beat, halve a generator, and keep each change only while the
failure still shows.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import tomli_w

from simulator.errors import InputError
from simulator.scenario import Scenario, validate

__all__ = ["scenario_to_toml", "shrink", "toml_dumps", "write_reproducer"]


# -- writing TOML ------------------------------------------------------------------


def _plain(obj: Any) -> Any:
    """Builtins for ``obj``, leaving out every struct field that holds its default."""
    if isinstance(obj, msgspec.Struct):
        config = obj.__struct_config__
        out: dict[str, Any] = {}
        if isinstance(config.tag, str) and config.tag_field is not None:
            out[config.tag_field] = config.tag
        for field in msgspec.structs.fields(obj):
            value = getattr(obj, field.name)
            if field.default is not msgspec.NODEFAULT and value == field.default:
                continue
            if field.default_factory is not msgspec.NODEFAULT and value == field.default_factory():
                continue
            if value is None:
                raise ValueError(f"{field.name} is None but its default is not: not writable")
            out[field.encode_name] = _plain(value)
        return out
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def toml_dumps(table: dict[str, Any], comment: str = "") -> str:
    """``table`` (plain data, as ``tomllib.loads`` returns it) as TOML text under ``comment``.

    ``tomli_w`` writes it; a string holding a lone surrogate has no TOML (or
    UTF-8) form at all and raises ``ValueError`` here rather than when the text
    is saved.
    """
    text = tomli_w.dumps(table)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        code = ord(text[err.start])
        raise ValueError(f"a lone surrogate (U+{code:04X}) cannot be written as TOML") from None
    header = "".join(f"# {line}".rstrip() + "\n" for line in comment.splitlines())
    return header + text


def scenario_to_toml(scenario: Scenario, comment: str = "") -> str:
    """The scenario as TOML text that loads back into an equal ``Scenario``."""
    table: dict[str, Any] = _plain(scenario)
    return toml_dumps(table, comment)


def write_reproducer(
    scenario: Scenario, directory: str | Path, label: str, seed: int | None = None, why: str = ""
) -> Path:
    """Write ``scenario`` to ``directory/<label>-<hash>.toml`` with the command that replays it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    text = scenario_to_toml(scenario)
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", label).strip("-") or "case"
    path = directory / f"{stem}-{hashlib.sha256(text.encode()).hexdigest()[:10]}.toml"
    replay = f"evsim play {path}" + (f" --seed {seed}" if seed is not None else "") + " --json"
    comment = f"Found by the evsim reliability suite.\nReplay: {replay}\n"
    if why:
        comment += f"Failure: {' '.join(why.split())}\n"
    path.write_text(scenario_to_toml(scenario, comment), encoding="utf-8")
    return path


# -- shrinking ------------------------------------------------------------------------


def _smaller(s: Scenario, structure: bool = True) -> Iterator[Scenario]:
    """Candidate scenarios, each one step smaller than ``s``, the biggest steps first.

    With ``structure=False`` only the faults and the workload shrink: the system
    (its groups, what it expects) stays as it is, so a smaller failure is one of
    the same system, never one of a system with a part taken away.
    """
    replace = msgspec.structs.replace
    if structure:
        if s.narration:
            yield replace(s, narration=[])
        if s.expect:
            yield replace(s, expect=[])
        if s.tags:
            yield replace(s, tags=[])
    for i in range(len(s.faults)):
        yield replace(s, faults=s.faults[:i] + s.faults[i + 1 :])
    if structure:
        for i in range(len(s.groups)):
            yield replace(s, groups=s.groups[:i] + s.groups[i + 1 :])
    gens = s.workload.generators
    for i, gen in enumerate(gens):
        if gen.count > 1:
            smaller = replace(gen, count=gen.count // 2)
            workload = replace(s.workload, generators=[*gens[:i], smaller, *gens[i + 1 :]])
            yield replace(s, workload=workload)
    for i in range(len(gens)):
        yield replace(s, workload=replace(s.workload, generators=gens[:i] + gens[i + 1 :]))
    messages = s.workload.messages
    if len(messages) > 1:
        half = len(messages) // 2
        yield replace(s, workload=replace(s.workload, messages=messages[:half]))
        yield replace(s, workload=replace(s.workload, messages=messages[half:]))
    for i in range(min(len(messages), 64)):
        yield replace(s, workload=replace(s.workload, messages=messages[:i] + messages[i + 1 :]))
    if not structure:  # commands are the workload of the event store's side
        made = s.command_generators
        for i, maker in enumerate(made):
            if maker.count > 1:
                fewer = replace(maker, count=maker.count // 2)
                yield replace(s, command_generators=[*made[:i], fewer, *made[i + 1 :]])
        for i in range(len(made)):
            yield replace(s, command_generators=made[:i] + made[i + 1 :])
        for i in range(min(len(s.commands), 64)):
            yield replace(s, commands=s.commands[:i] + s.commands[i + 1 :])


def _valid(s: Scenario) -> bool:
    try:
        validate(s, "shrink")
    except InputError:
        return False
    return True


def shrink(
    scenario: Scenario,
    fails: Callable[[Scenario], bool],
    max_tries: int = 200,
    *,
    structure: bool = True,
) -> Scenario:
    """The smallest scenario found (greedily) for which ``fails`` still holds.

    ``fails(scenario)`` must be true on entry. Each step tries the candidates of
    ``_smaller`` in turn and keeps the first valid one that still fails; it stops
    when no candidate does, or after ``max_tries`` runs of ``fails``. With
    ``structure=False`` only the fault plan and the workload (messages,
    commands) shrink — what the exercise grader wants.
    """
    current = scenario
    tries = 0
    progress = True
    while progress and tries < max_tries:
        progress = False
        for candidate in _smaller(current, structure):
            if not _valid(candidate):
                continue
            tries += 1
            if fails(candidate):
                current = candidate
                progress = True
                break
            if tries >= max_tries:
                break
    return current
