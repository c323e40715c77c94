"""The command line on mutated scenario files, in real subprocesses.

Whatever the file holds, ``evsim validate`` and ``evsim play`` exit with 0, 1
or 2, print at most one line on stderr (``evsim: error: FILE: WHERE: ...``) and
never a traceback. The files come from the same mutations as the in-process
fuzz test, drawn from a fixed ``random.Random`` so a CI run is repeatable.
"""

from __future__ import annotations

import copy
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from reliability_support import (
    HOSTILE_SCALARS,
    ROOT,
    SHIPPED,
    SHIPPED_DATA,
    cases,
    delete_at,
    get_at,
    leaf_paths,
    set_at,
    write_bytes_artifact,
)

from simulator.lessons.shrink import toml_dumps

PLAY_TIMEOUT_S = 120


def _mutated(rng: random.Random) -> bytes:
    name = rng.choice(sorted(SHIPPED))
    if rng.random() < 0.3:
        blob = bytearray(SHIPPED[name])
        at = rng.randrange(len(blob))
        choice = rng.randrange(4)
        if choice == 0:
            del blob[at:]
        elif choice == 1:
            blob[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 20)))
        elif choice == 2:
            blob[at:at] = b"\xff\xfe"
        else:
            blob[at:at] = b"\nx = " + b"[" * 20_000 + b"]" * 20_000 + b"\n"
        return bytes(blob)
    raw: dict[str, Any] = copy.deepcopy(SHIPPED_DATA[name])
    for _ in range(rng.randint(1, 3)):
        paths = leaf_paths(raw)
        path = rng.choice(paths)
        roll = rng.random()
        if roll < 0.4:
            set_at(raw, path, rng.choice(HOSTILE_SCALARS))
        elif roll < 0.6:
            delete_at(raw, path)
        elif roll < 0.8:
            value = get_at(raw, path)
            if type(value) is int:
                set_at(raw, path, value * rng.choice([0, 2, 10, -1, 10**9]))
        else:
            raw[rng.choice(["bogus", "until_ms", "limits", "seed"])] = rng.choice(HOSTILE_SCALARS)
    return toml_dumps(raw).encode()


def _files(tmp_path: Path, count: int, seed: int) -> list[Path]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        path = tmp_path / f"case-{i}.toml"
        path.write_bytes(_mutated(rng))
        out.append(path)
    return out


def _evsim(*args: str, timeout: float = PLAY_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
    )


def _check(result: subprocess.CompletedProcess[str], file: Path) -> None:
    lines = result.stderr.strip().splitlines()
    ok = (
        result.returncode in (0, 1, 2)
        and "Traceback" not in result.stderr
        and len(lines) <= 1
        and (result.returncode != 2 or (bool(lines) and lines[0].startswith("evsim: error: ")))
    )
    if not ok:
        saved = write_bytes_artifact(file.read_bytes(), "cli", ".toml")
        raise AssertionError(f"exit {result.returncode} on {saved}; stderr:\n{result.stderr}")


def test_validate_on_many_mutated_files_exits_0_or_2_with_one_line_per_bad_file(
    tmp_path: Path,
) -> None:
    files = _files(tmp_path, cases(150), seed=9)
    result = _evsim("validate", *map(str, files))
    assert result.returncode in (0, 2)
    assert "Traceback" not in result.stderr
    errors = result.stderr.strip().splitlines()
    oks = result.stdout.strip().splitlines()
    assert len(errors) + len(oks) == len(files), result.stderr[-2000:]
    assert all(line.startswith("evsim: error: ") for line in errors)


def test_play_on_mutated_files_exits_0_1_or_2_never_with_a_traceback(tmp_path: Path) -> None:
    for file in _files(tmp_path, min(cases(8), 200), seed=11):
        result = _evsim("play", str(file), "--json", "--until", "120000")
        _check(result, file)


def test_play_on_special_paths_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "dir.toml").mkdir()
    unreadable = tmp_path / "secret.toml"
    unreadable.write_text("seed = 1\n")
    unreadable.chmod(0)
    for target in ("/dev/zero", str(tmp_path / "dir.toml"), str(tmp_path / "missing.toml")):
        result = _evsim("play", target, "--json", timeout=60)
        assert result.returncode == 2, (target, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    if os.geteuid() != 0:  # root reads any file
        result = _evsim("play", str(unreadable), "--json", timeout=60)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
