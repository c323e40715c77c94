"""Bad input never crashes: the shipped lessons, mutated at random, fed to the loader.

Each case ends in exactly one of two ways: the scenario loads (and then runs to
the end under a small ``max_records``/``until_ms`` cap, within a wall-clock
budget), or the loader raises one ``InputError`` whose single line names the
file and a ``$.path`` or a line. Any other exception, or a hang, fails the test;
the offending input is written to the artefacts directory and named in the
assertion message.

Two generators of bad input: structural mutations of the decoded TOML (wrong
types, missing fields, unknown fields, huge and negative numbers, duplicated
entries), written back with ``simulator.lessons.shrink.toml_dumps``; and byte-level
mutations of the files themselves (truncation, garbage, non-UTF-8 bytes, deep
nesting, duplicated lines).
"""

from __future__ import annotations

import contextlib
import copy
import re
from typing import Any

import msgspec
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from reliability_support import (
    HOSTILE_SCALARS,
    SHIPPED,
    SHIPPED_DATA,
    Hang,
    container_paths,
    delete_at,
    get_at,
    hypothesis_settings,
    leaf_paths,
    reproducer,
    set_at,
    time_limit,
    write_bytes_artifact,
)

from simulator.errors import InputError
from simulator.lessons.shrink import toml_dumps
from simulator.lessons.summary import summarize
from simulator.models.registry import names, sections
from simulator.scenario import Scenario, decode_scenario
from simulator.simulation import Simulation

pytestmark = pytest.mark.slow  # soak, fuzz and kill runs: deselect with -m 'not slow'

FILE = "fuzz.toml"
WHERE = re.compile(r"^(\$[^\n]*|line \d+(, column \d+)?|end of file)$")
LOAD_BUDGET_S = 10.0
RUN_BUDGET_S = 30.0
RUN_MAX_RECORDS = 5_000
RUN_UNTIL_MS = 120_000
RUN_MAX_MESSAGES = 20_000
"""Loaded scenarios with more messages than this are validated but not run (expanding
millions of messages is slow, not wrong; the caps test covers the large end)."""

FIELD_NAMES = sorted(
    {
        "name",
        "topic",
        "partitions",
        "consumers",
        "count",
        "rate_per_s",
        "kind",
        "target",
        "at_ms",
        "at",
        "commit",
        "broker",
        "seed",
        "until_ms",
        "max_records",
        "limits",
        "producer",
        "keys",
        "text",
        "en",
        "ko",
        *(owned.name for owned in sections()),  # the broker models' own tables
        "groups",
        "topics",
        "faults",
    }
)

hostile = st.one_of(
    st.sampled_from(HOSTILE_SCALARS),
    st.integers(),
    st.integers(-5, 5),
    st.floats(),
    st.text(max_size=20),
    st.lists(st.integers(-3, 3), max_size=3),
)


def note(what: str) -> None:
    """A hypothesis statistics event (ignored outside a hypothesis test)."""
    with contextlib.suppress(InvalidArgument):
        event(what)


def check_error(err: InputError, label: str, data: bytes) -> None:
    text = str(err)
    ok = (
        "\n" not in text
        and err.file == FILE
        and WHERE.match(err.where) is not None
        and bool(err.message)
        and text.startswith(f"{FILE}: ")
    )
    if not ok:
        path = write_bytes_artifact(data, label, ".toml")
        raise AssertionError(f"badly formed InputError {text!r} for {path}")
    where = "line" if err.where.startswith("line") else err.where.split("[")[0]
    note(f"refused at {where[:24]}")


def load_or_refuse(data: bytes, label: str) -> Scenario | None:
    """Decode ``data``; None if refused cleanly. Anything else fails with the input saved."""
    try:
        with time_limit(LOAD_BUDGET_S):
            return decode_scenario(data, FILE, "fuzz")
    except InputError as err:
        check_error(err, label, data)
        return None
    except (Exception, Hang) as err:
        path = write_bytes_artifact(data, label, ".toml")
        raise AssertionError(f"loading raised {type(err).__name__}: {err} — input: {path}") from err


def run_capped(scenario: Scenario, label: str) -> None:
    """Run a loaded scenario to the end under small caps; it must finish cleanly."""
    workload = scenario.workload
    total = len(workload.messages) + sum(g.count for g in workload.generators)
    if total > RUN_MAX_MESSAGES:
        note("loaded, too big to run here")
        return
    until_ms = min(scenario.until_ms or RUN_UNTIL_MS, RUN_UNTIL_MS)
    capped = msgspec.structs.replace(
        scenario, max_records=min(scenario.max_records, RUN_MAX_RECORDS), until_ms=until_ms
    )
    try:
        with time_limit(RUN_BUDGET_S):
            sim = Simulation(capped)
            summary = summarize(sim)
            msgspec.json.encode(summary)
    except (Exception, Hang) as err:
        why = f"running raised {type(err).__name__}: {err}"
        raise AssertionError(reproducer(capped, label, capped.seed, why)) from err
    assert sim.finished
    note(f"loaded and ran ({sim.finish_reason})")


def check_bytes(data: bytes, label: str) -> None:
    scenario = load_or_refuse(data, label)
    if scenario is not None:
        run_capped(scenario, label)


# -- structural mutations --------------------------------------------------------------


def mutate(raw: dict[str, Any], data: st.DataObject) -> str:
    kind = data.draw(
        st.sampled_from(["replace", "delete", "unknown", "duplicate", "number", "swap"]),
        label="kind",
    )
    paths = leaf_paths(raw)
    if not paths:
        kind = "unknown"
    if kind == "replace":
        set_at(raw, data.draw(st.sampled_from(paths)), data.draw(hostile))
    elif kind == "delete":
        delete_at(raw, data.draw(st.sampled_from(paths)))
    elif kind == "unknown":
        table = get_at(raw, data.draw(st.sampled_from(container_paths(raw))))
        key = data.draw(st.one_of(st.sampled_from(FIELD_NAMES), st.text(min_size=1, max_size=8)))
        table[key] = data.draw(hostile)
    elif kind == "duplicate":
        lists = [p for p in paths if isinstance(get_at(raw, p), list) and get_at(raw, p)]
        if lists:
            target = get_at(raw, data.draw(st.sampled_from(lists)))
            target.append(copy.deepcopy(data.draw(st.sampled_from(target))))
    elif kind == "number":
        ints = [
            p
            for p in paths
            if isinstance(get_at(raw, p), int) and not isinstance(get_at(raw, p), bool)
        ]
        if ints:
            path = data.draw(st.sampled_from(ints))
            factor = data.draw(st.sampled_from([-1, 0, 2, 1000, 10**6, 10**12, 2**62]))
            set_at(raw, path, get_at(raw, path) * factor)
    elif kind == "swap":
        # A valid value from another place: right type, wrong meaning (names, kinds, times).
        a, b = data.draw(st.sampled_from(paths)), data.draw(st.sampled_from(paths))
        if a[: len(b)] != b and b[: len(a)] != a:
            set_at(raw, a, copy.deepcopy(get_at(raw, b)))
    return kind


@hypothesis_settings(120)
@given(data=st.data())
def test_structurally_mutated_lessons_load_or_fail_with_one_input_error(
    data: st.DataObject,
) -> None:
    name = data.draw(st.sampled_from(sorted(SHIPPED)), label="lesson")
    raw = copy.deepcopy(SHIPPED_DATA[name])
    kinds = [mutate(raw, data) for _ in range(data.draw(st.integers(1, 4), label="mutations"))]
    check_bytes(toml_dumps(raw).encode(), f"{name}-{'-'.join(kinds)}")


def plausible(raw: dict[str, Any], data: st.DataObject) -> str:
    """A change that keeps types right, so more cases load and reach the simulator."""
    paths = leaf_paths(raw)
    kind = data.draw(st.sampled_from(["scale", "flip", "rename", "drop"]), label="kind")
    if kind == "scale":
        ints = [p for p in paths if type(get_at(raw, p)) is int]
        if ints:
            path = data.draw(st.sampled_from(ints))
            factor = data.draw(st.sampled_from([0, 1, 2, 3, 10, 100]))
            set_at(raw, path, get_at(raw, path) * factor + data.draw(st.integers(0, 2)))
    elif kind == "flip":
        bools = [p for p in paths if type(get_at(raw, p)) is bool]
        if bools:
            path = data.draw(st.sampled_from(bools))
            set_at(raw, path, not get_at(raw, path))
    elif kind == "rename":
        strings = [p for p in paths if type(get_at(raw, p)) is str and p[0] != "narration"]
        if strings:
            a, b = data.draw(st.sampled_from(strings)), data.draw(st.sampled_from(strings))
            set_at(raw, a, get_at(raw, b))
    elif kind == "drop":
        items = [p for p in paths if type(p[-1]) is int and p[0] != "narration"]
        if items:
            delete_at(raw, data.draw(st.sampled_from(items)))
    return kind


ENUMS: dict[str, list[Any]] = {
    "broker": names(),
    "commit": ["auto", "before-process", "after-process", "transactional"],
    "isolation": ["read_uncommitted", "read_committed"],
    "acks": [0, 1, "all"],
    "assignor": ["range", "round-robin", "sticky"],
    "queue_type": ["classic", "quorum"],
    "trigger": ["consumer", "lambda"],
}


@hypothesis_settings(150)
@given(data=st.data())
def test_plausibly_mutated_lessons_run_to_the_end_or_are_refused(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(SHIPPED)), label="lesson")
    raw = copy.deepcopy(SHIPPED_DATA[name])
    raw["broker"] = data.draw(st.sampled_from(ENUMS["broker"]), label="broker")
    raw["seed"] = data.draw(st.integers(0, 2**32), label="seed")
    kinds = [plausible(raw, data) for _ in range(data.draw(st.integers(0, 4), label="mutations"))]
    for path in leaf_paths(raw):
        if path[-1] in ENUMS and data.draw(st.booleans(), label=f"switch {path[-1]}"):
            set_at(raw, path, data.draw(st.sampled_from(ENUMS[str(path[-1])])))
    check_bytes(toml_dumps(raw).encode(), f"{name}-plausible-{'-'.join(kinds)}")


# -- byte-level mutations ---------------------------------------------------------------


def deep(depth: int, opener: str) -> bytes:
    closer = {"[": "]", "{a=": "}"}[opener]
    return f"x = {opener * depth}1{closer * depth}\n".encode()


@hypothesis_settings(120)
@given(data=st.data())
def test_byte_mutated_lessons_load_or_fail_with_one_input_error(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(SHIPPED)), label="lesson")
    blob = bytearray(SHIPPED[name])
    kind = data.draw(
        st.sampled_from(
            ["truncate", "insert", "overwrite", "non-utf8", "deep", "dup-line", "bom", "nul"]
        ),
        label="kind",
    )
    at = data.draw(st.integers(0, len(blob)), label="at")
    if kind == "truncate":
        del blob[at:]
    elif kind == "insert":
        blob[at:at] = data.draw(st.binary(min_size=1, max_size=40))
    elif kind == "overwrite":
        chunk = data.draw(st.binary(min_size=1, max_size=40))
        blob[at : at + len(chunk)] = chunk
    elif kind == "non-utf8":
        blob[at:at] = data.draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80"]))
    elif kind == "deep":
        depth = data.draw(st.sampled_from([10, 500, 5_000, 50_000]))
        blob[at:at] = b"\n" + deep(depth, data.draw(st.sampled_from(["[", "{a="])))
    elif kind == "dup-line":
        lines = bytes(blob).split(b"\n")
        i = data.draw(st.integers(0, len(lines) - 1))
        lines.insert(i, lines[i])
        blob = bytearray(b"\n".join(lines))
    elif kind == "bom":
        blob[0:0] = b"\xef\xbb\xbf"
    elif kind == "nul":
        blob[at:at] = b"\x00"
    check_bytes(bytes(blob), f"{name}-{kind}")


def test_a_file_over_the_size_cap_is_refused_unread() -> None:
    from simulator.scenario import MAX_SCENARIO_BYTES

    data = b"# " + b"x" * MAX_SCENARIO_BYTES
    with pytest.raises(InputError) as err:
        decode_scenario(data, FILE)
    assert err.value.file == FILE and "larger than" in err.value.message


def test_integers_past_64_bits_are_input_errors() -> None:
    base = SHIPPED["keyed-ordering"]
    for literal in ("9" * 5_000, "0x" + "f" * 5_000, str(2**63), str(-(2**63) - 1)):
        assert load_or_refuse(f"seed = {literal}\n".encode() + base, "bigint") is None
