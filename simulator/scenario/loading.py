"""Loading a scenario: bytes → TOML → Structs → validated ``Scenario``, or one clear error.

A scenario may come from a file anyone wrote, so loading refuses early and
says where: an oversized file unread, text that is not UTF-8, invalid TOML
(with its line and column), integers TOML cannot hold, a wrong type or an
unknown key (with its ``$.path``), then everything ``validate`` checks. Each
refusal is an ``InputError`` (one line: file, place, message), never a
traceback. Built-in lessons are the ``*.toml`` files of the ``scenarios``
package, found by name.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import msgspec

from simulator.errors import InputError, control_character, visible
from simulator.files import open_regular
from simulator.scenario.schema import Scenario
from simulator.scenario.validation import validate

__all__ = [
    "MAX_SCENARIO_BYTES",
    "builtin_names",
    "builtin_path",
    "decode_scenario",
    "load_scenario",
    "resolve_scenario",
]

MAX_SCENARIO_BYTES = 4 * 1024 * 1024
"""A scenario file larger than this is refused unread (the shipped lessons are < 10 KiB)."""

_INT64 = (-(2**63), 2**63 - 1)


def _toml_error(file: str, err: Exception) -> InputError:
    text = str(err)
    m = re.search(r"\(at line (\d+), column (\d+)\)", text)
    where = f"line {m[1]}, column {m[2]}" if m else ""
    if m:
        text = text[: m.start()].strip()
    elif "end of document" in text:
        where = "end of file"
        text = text.replace("(at end of document)", "").strip()
    return InputError(file, where, f"invalid TOML: {text}")


def _validation_error(file: str, err: msgspec.ValidationError) -> InputError:
    text = str(err)
    m = re.search(r" - at `(\$[^`]*)`$", text)
    where = m[1] if m else "$"
    message = text[: m.start()] if m else text
    return InputError(file, where, message)


def _check_values(file: str, value: object, where: str = "$") -> None:
    """Integers TOML can hold, and text without control characters, all through the file.

    TOML promises 64-bit integers; Python would accept any size, and choke later.
    A control character (an escape sequence, a NUL, a carriage return) in a name or
    a line of narration would reach the terminal that prints it; only tabs and line
    breaks are text (``control_character`` says which characters are refused).
    """
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise InputError(file, where, "integer out of range (TOML integers are 64-bit)")
    elif isinstance(value, str):
        _check_text(file, where, value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(file, f"{where}.{visible(key)}", key)
            _check_values(file, item, f"{where}.{visible(key)}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_values(file, item, f"{where}[{i}]")


def _check_text(file: str, where: str, text: str) -> None:
    bad = control_character(text)
    if bad is not None:
        raise InputError(
            file, where, f"control character {bad} in text (only tabs and line breaks)"
        )


def decode_scenario(data: bytes, file: str, name: str = "") -> Scenario:
    """Decode and validate scenario bytes; raises ``InputError`` naming ``file``."""
    if len(data) > MAX_SCENARIO_BYTES:
        raise InputError(file, "", f"larger than {MAX_SCENARIO_BYTES:,} bytes: not a scenario")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(file, f"line {line}", "not UTF-8 text") from None
    try:
        import tomllib

        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise _toml_error(file, err) from None
    except RecursionError:
        raise InputError(file, "$", "nesting too deep") from None
    except ValueError:  # an integer literal longer than Python converts (4,300 digits)
        m = re.search(r"[0-9_]{4000,}", text)
        where = f"line {text[: m.start()].count(chr(10)) + 1}" if m else "$"
        raise InputError(file, where, "integer out of range (TOML integers are 64-bit)") from None
    try:
        _check_values(file, raw)
    except RecursionError:
        raise InputError(file, "$", "nesting too deep") from None
    from simulator.models.registry import UnknownModel, model, scenario_type

    broker = raw.get("broker")
    if isinstance(broker, str):
        try:  # before the sections: a file for an unknown model is refused for that
            model(broker)
        except UnknownModel as unknown:
            raise InputError(file, "$.broker", unknown.message) from None
    try:
        scenario = msgspec.convert(raw, type=scenario_type(), strict=True)
    except msgspec.ValidationError as err:
        raise _validation_error(file, err) from None
    except RecursionError:
        raise InputError(file, "$", "nesting too deep") from None
    if name and not scenario.name:
        scenario = msgspec.structs.replace(scenario, name=name)
    validate(scenario, file)
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Load a scenario file; raises ``InputError`` for anything wrong with it."""
    p = Path(path)
    # A FIFO, a device or a directory is refused before it is opened: opening a FIFO
    # waits for a writer that may never come.
    with open_regular(p, "a scenario file") as f:
        try:
            # Read one byte past the cap: no file that size is a scenario.
            data = f.read(MAX_SCENARIO_BYTES + 1)
        except OSError as err:
            raise InputError(str(path), "", err.strerror or "cannot read file") from None
    return decode_scenario(data, str(path), p.stem)


def builtin_names() -> list[str]:
    """The stems of the scenario files shipped in the ``scenarios`` package."""
    root = resources.files("scenarios")
    return sorted(
        entry.name[: -len(".toml")] for entry in root.iterdir() if entry.name.endswith(".toml")
    )


def builtin_path(name: str) -> Path:
    return Path(str(resources.files("scenarios").joinpath(f"{name}.toml")))


def resolve_scenario(name_or_path: str) -> Scenario:
    """A built-in lesson by name, or a scenario file by path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists() or "/" in name_or_path:
        return load_scenario(p)
    names = builtin_names()
    if name_or_path not in names:
        close = [n for n in names if name_or_path in n or n in name_or_path][:3]
        hint = f" (did you mean {', '.join(close)}?)" if close else " (see `evsim list`)"
        raise InputError(name_or_path, "", f"no built-in scenario or file by that name{hint}")
    return load_scenario(builtin_path(name_or_path))
