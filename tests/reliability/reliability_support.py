"""Shared pieces of the reliability suite: scale, artefacts, time limits, mutations.

``EVSIM_RELIABILITY_SCALE`` (default 1) multiplies every case count: the
default keeps the suite fast enough for CI, the dedicated run
(``EVSIM_RELIABILITY_SCALE=100``, see ``docs/reliability.md``) tries thousands.
Failing cases are written as scenario files under ``EVSIM_ARTIFACTS_DIR``
(default: ``evsim-reliability`` in the system temp directory), and the path goes
into the assertion message, so ``evsim play FILE`` replays what a test found.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, seed, settings

from simulator.lessons.shrink import write_reproducer
from simulator.scenario import Scenario, builtin_names, builtin_path

ROOT = Path(__file__).resolve().parents[2]
SCALE = max(1, int(os.environ.get("EVSIM_RELIABILITY_SCALE", "1") or "1"))
DEDICATED = SCALE > 1


def cases(ci: int) -> int:
    """How many cases to try: ``ci`` in CI, ``ci * SCALE`` in the dedicated run."""
    return ci * SCALE


def hypothesis_settings(ci_examples: int) -> settings:
    """CI runs are derandomised (the same cases every time); dedicated runs explore."""
    return settings(
        max_examples=cases(ci_examples),
        deadline=None,
        derandomize=not DEDICATED,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
        # The explain phase re-runs failing cases many times over: slow, and the
        # written-out reproducer already says what failed.
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    )


_F = TypeVar("_F")


def shard_seed(shard: int) -> Callable[[_F], _F]:
    """Seed shard ``shard`` of a property split into parametrised shards.

    A slow property (one that drives the TUI per example) is split so the
    parallel runner can spread it over its workers; a derandomised run would
    draw the same cases in every shard, so in CI each shard has its own fixed
    seed (the same cases every time, different from the other shards'). The
    dedicated run explores: no seed.
    """
    if DEDICATED:
        return lambda test: test
    return seed(shard)


def artifacts_dir() -> Path:
    default = Path(tempfile.gettempdir()) / "evsim-reliability"
    path = Path(os.environ.get("EVSIM_ARTIFACTS_DIR", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def reproducer(scenario: Scenario, label: str, seed: int | None = None, why: str = "") -> str:
    """Write the failing scenario out; return a message naming the file to replay."""
    path = write_reproducer(scenario, artifacts_dir(), label, seed, why)
    replay = f"evsim play {path}" + (f" --seed {seed}" if seed is not None else "")
    return f"{why} — reproduce with: {replay}"


def write_bytes_artifact(data: bytes, label: str, suffix: str) -> Path:
    import hashlib

    path = artifacts_dir() / f"{label}-{hashlib.sha256(data).hexdigest()[:10]}{suffix}"
    path.write_bytes(data)
    return path


class Hang(Exception):
    """A case ran past its wall-clock budget."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Turn a hang into a ``Hang`` exception (main thread only; SIGPROF).

    The budget is this process's CPU time, not the wall clock: a runaway loop
    burns CPU and is caught, while a machine busy with other work only makes
    the case take longer, never fail.
    """

    def _raise(signum: int, frame: object) -> None:
        raise Hang(f"still running after {seconds} s of CPU time")

    old = signal.signal(signal.SIGPROF, _raise)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


# -- the shipped lessons, as text and as plain data ------------------------------------

SHIPPED: dict[str, bytes] = {name: builtin_path(name).read_bytes() for name in builtin_names()}
SHIPPED_DATA: dict[str, dict[str, Any]] = {
    name: tomllib.loads(data.decode()) for name, data in SHIPPED.items()
}


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into ``value`` (tables, arrays and scalars alike), the root excluded."""
    out: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            out.append((*path, key))
            out += leaf_paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.append((*path, i))
            out += leaf_paths(item, (*path, i))
    return out


def container_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every table (dict), the root included."""
    out: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        out.append(path)
        for key, item in value.items():
            out += container_paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += container_paths(item, (*path, i))
    return out


def get_at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def set_at(value: Any, path: tuple[Any, ...], new: Any) -> None:
    get_at(value, path[:-1])[path[-1]] = new


def delete_at(value: Any, path: tuple[Any, ...]) -> None:
    del get_at(value, path[:-1])[path[-1]]


HOSTILE_SCALARS: list[Any] = [
    0,
    -1,
    -(2**63),
    2**63 - 1,
    2**63,
    10**30,
    1,
    1_000_000_000,
    0.5,
    -0.0,
    float("inf"),
    float("nan"),
    1e308,
    True,
    False,
    "",
    "x" * 10_000,
    "\u0000\u202e\ud7ff\U0001f600",
    "all",
    "log",
    "../../etc/passwd",
    "__import__('os').system('echo pwned')",
    datetime.date(1979, 5, 27),
    datetime.datetime(1979, 5, 27, 7, 32),
    [],
    {},
    [1, "a", None is None],
    {"nested": {"deeper": [1, 2, {"x": 1}]}},
]
"""Values that break assumptions: wrong types, edges of 64-bit, huge, negative, odd text."""


# -- the command line in a subprocess ----------------------------------------------------

HANG_GUARD_S = 300
"""A subprocess still running after this long is a hang: the test fails instead of
waiting forever. Generous on purpose: it is a guard, never a measure of speed."""


def evsim(
    *args: str,
    cwd: Path = ROOT,
    bootstrap: str = "",
    stdin: str | None = None,
    timeout: float = HANG_GUARD_S,
) -> subprocess.CompletedProcess[str]:
    """``evsim ARGS`` in a fresh interpreter; ``bootstrap`` runs first (a test's patches).

    A hang surfaces as ``subprocess.TimeoutExpired``, which fails the test.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = f"{bootstrap}\nimport sys, cli\nsys.argv = ['evsim', *sys.argv[1:]]\ncli.main()\n"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        input=stdin,
    )


def assert_one_line_refusal(
    result: subprocess.CompletedProcess[str], *words: str, code: int = 2
) -> str:
    """Exit ``code`` with exactly one ``evsim: error:`` line on stderr holding ``words``."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, (result.returncode, result.stderr[-3000:])
    assert len(lines) == 1 and lines[0].startswith("evsim: error: "), result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def listing(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder`` with its bytes (None for anything but a regular file)."""
    out: dict[str, bytes | None] = {}
    for entry in sorted(folder.rglob("*")):
        regular = entry.is_file() and not entry.is_symlink()
        out[str(entry.relative_to(folder))] = entry.read_bytes() if regular else None
    return out


def bank_lesson(path: str, commands: int = 3, name_line: str = "") -> str:
    """A small event-sourcing lesson whose SQLite store is at ``path``."""
    return f"""title = {{ en = "bank", ko = "bank" }}
summary = {{ en = "s", ko = "s" }}
{name_line}
[store]
backend = "sqlite"
path = {json.dumps(path)}
[[handlers]]
name = "bank"
[[projectors]]
name = "balances"
projection = "balances"
[[commands]]
at_ms = 0
handler = "bank"
domain = "bank"
type = "account.open"
fields = {{ account_id = "A1", owner = "ana" }}
[[command_generators]]
handler = "bank"
domain = "bank"
type = "account.deposit"
count = {commands}
start_ms = 10
fields = {{ account_id = "A1", amount_cents = 5 }}
"""
