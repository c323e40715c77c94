"""Failing cases as scenario files: write a Scenario back as TOML, and make it smaller.

A property test that finds a lost message is only useful if a person can replay
what it found. ``scenario_to_toml`` turns a ``Scenario`` struct back into the
TOML a lesson author would write — only the settings that differ from their
defaults — so ``evsim play FILE --seed N`` reproduces the run byte for byte
(``load(write(s)) == s``). ``shrink`` then removes what the failure does not
need, the way hypothesis shrinks its examples: drop a fault, a message, a beat,
halve a generator, and keep each change only while the failure still shows.
"""

from __future__ import annotations

import datetime
import hashlib
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from simulator.errors import InputError
from simulator.scenario import Scenario, validate

__all__ = ["scenario_to_toml", "shrink", "toml_dumps", "write_reproducer"]


# -- writing TOML ------------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else _string(name)


def _string(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            raise ValueError(f"a lone surrogate (U+{code:04X}) cannot be written as TOML")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _scalar(value: Any) -> str:
    # bool before int: True is an int in Python.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (datetime.date, datetime.time)):  # datetime is a date too
        return value.isoformat()
    raise ValueError(f"cannot write {type(value).__name__} as a TOML value")


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        body = ", ".join(f"{_key(k)} = {_inline(v)}" for k, v in value.items())
        return "{ " + body + " }" if body else "{}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return _scalar(value)


def _is_small_table(value: Any) -> bool:
    """A table of a few scalars reads best inline: ``title = { en = "…", ko = "…" }``."""
    return (
        isinstance(value, dict)
        and len(value) <= 3
        and all(not isinstance(v, (dict, list)) for v in value.values())
    )


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _is_plain(value: Any) -> bool:
    """Written as ``key = value`` inside its table (not as a ``[header]`` of its own)."""
    return _is_small_table(value) or not (isinstance(value, dict) or _is_table_array(value))


def _table(lines: list[str], header: str, table: dict[str, Any]) -> None:
    """Write ``table``'s plain entries, then its sub-tables and arrays of tables."""
    later: list[tuple[str, Any]] = []
    for name, value in table.items():
        if _is_plain(value):
            lines.append(f"{_key(name)} = {_inline(value)}")
        else:
            later.append((name, value))
    for name, value in later:
        path = f"{header}.{_key(name)}" if header else _key(name)
        if isinstance(value, dict):
            if any(_is_plain(v) for v in value.values()):
                lines.append("")
                lines.append(f"[{path}]")  # else the sub-tables' headers define it
            _table(lines, path, value)
        else:
            for item in value:
                lines.append("")
                lines.append(f"[[{path}]]")
                _table(lines, path, item)


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
    """``table`` (plain data, as ``tomllib.loads`` returns it) as TOML text."""
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    _table(lines, "", table)
    return "\n".join(lines).strip("\n") + "\n"


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


def _smaller(s: Scenario) -> Iterator[Scenario]:
    """Candidate scenarios, each one step smaller than ``s``, the biggest steps first."""
    replace = msgspec.structs.replace
    if s.narration:
        yield replace(s, narration=[])
    if s.expect:
        yield replace(s, expect=[])
    if s.tags:
        yield replace(s, tags=[])
    for i in range(len(s.faults)):
        yield replace(s, faults=s.faults[:i] + s.faults[i + 1 :])
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


def _valid(s: Scenario) -> bool:
    try:
        validate(s, "shrink")
    except InputError:
        return False
    return True


def shrink(scenario: Scenario, fails: Callable[[Scenario], bool], max_tries: int = 200) -> Scenario:
    """The smallest scenario found (greedily) for which ``fails`` still holds.

    ``fails(scenario)`` must be true on entry. Each step tries the candidates of
    ``_smaller`` in turn and keeps the first valid one that still fails; it stops
    when no candidate does, or after ``max_tries`` runs of ``fails``.
    """
    current = scenario
    tries = 0
    progress = True
    while progress and tries < max_tries:
        progress = False
        for candidate in _smaller(current):
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
