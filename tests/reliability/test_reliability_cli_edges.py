"""Command-line edges: each bad value is one line and exit 2, before any work is done.

``serve`` checks its port, its host and that the port is free; ``--seed`` and
``--until`` are held to the caps of the scenario fields they stand for (64-bit;
the virtual-time cap); ``new`` refuses a name that is long, holds a control,
invisible or non-name character, or points through a symlink, and never
overwrites a file. Every case runs the real command line in a subprocess.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from reliability_support import assert_one_line_refusal, evsim

pytestmark = pytest.mark.slow  # subprocesses: deselect with -m 'not slow'

LESSON = """
title = { en = "t", ko = "t" }
summary = { en = "s", ko = "s" }
[limits]
virtual_ms = 60000
[[topics]]
name = "orders"
[[producers]]
name = "p"
topic = "orders"
[[groups]]
name = "g"
topic = "orders"
[[workload.generators]]
producer = "p"
count = 3
"""

SERVE_GUARD_S = 120
"""A serve that was not refused would listen forever: fail rather than wait."""


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--port", "-1"], ["--port", "-1"]),
        (["--port", "70000"], ["--port", "70000", "1 to 65535"]),
        (["--port", "0"], ["--port"]),
        (["--host", "nowhere.invalid", "--port", "8765"], ["--host", "nowhere.invalid"]),
    ],
)
def test_serve_refuses_a_bad_port_or_host_in_one_line(args: list[str], words: list[str]) -> None:
    assert_one_line_refusal(evsim("serve", *args, timeout=SERVE_GUARD_S), *words)


def test_serve_refuses_a_port_already_in_use_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = evsim("serve", "--host", "127.0.0.1", "--port", port, timeout=SERVE_GUARD_S)
    assert_one_line_refusal(result, "--port", port)


@pytest.fixture
def lesson(tmp_path: Path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(LESSON, encoding="utf-8")
    return path


SEEDS = [str(2**63), str(2**64), str(-(2**63) - 1), str(10**30)]


@pytest.mark.parametrize("command", ["play", "check", "compare", "report"])
def test_seed_is_held_to_64_bits_like_the_scenario_field(lesson: Path, command: str) -> None:
    for seed in SEEDS:
        assert_one_line_refusal(evsim(command, str(lesson), "--seed", seed), "--seed", "64-bit")
    assert evsim(command, str(lesson), "--seed", str(2**63 - 1)).returncode in (0, 1)


def test_until_is_held_to_the_virtual_time_cap_like_until_ms(lesson: Path) -> None:
    for until in ("60001", str(31 * 86_400_000), str(2**63), str(10**30)):
        result = evsim("play", str(lesson), "--quiet", "--until", until)
        assert_one_line_refusal(result, "--until", "virtual-time cap of 60000 ms")
    assert evsim("play", str(lesson), "--quiet", "--until", "60000").returncode == 0


@pytest.mark.parametrize(
    "name",
    [
        "x" * 65,
        "x" * 300,
        "a\nb",
        "a\x1b[2Jb",
        "a\tb",
        "abc\u202etxt",
        "bil\u200bling",
        'x" \nbroker = "sqs',
        "a b",
        "../up",
        "-flag",
        "",
    ],
)
def test_new_refuses_a_name_that_is_not_a_plain_lesson_name(tmp_path: Path, name: str) -> None:
    result = evsim("new", name, cwd=tmp_path)
    line = assert_one_line_refusal(result)
    assert "\x1b" not in line and "\u202e" not in line
    assert list(tmp_path.iterdir()) == []


def test_new_never_writes_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    here = tmp_path / "here"
    here.mkdir()
    (here / "dangling.toml").symlink_to(outside / "made-there.toml")
    precious = outside / "precious.toml"
    precious.write_text("# my lesson\n")
    (here / "linked.toml").symlink_to(precious)
    for name in ("dangling", "linked"):
        assert_one_line_refusal(evsim("new", name, cwd=here), "already exists")
    assert sorted(p.name for p in outside.iterdir()) == ["precious.toml"]
    assert precious.read_text() == "# my lesson\n"


def test_new_never_overwrites_not_even_when_forced(tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text("# mine\n")
    assert_one_line_refusal(evsim("new", "mine", cwd=tmp_path), "already exists")
    assert_one_line_refusal(evsim("new", "mine", "--force", cwd=tmp_path), "--force")
    assert mine.read_text() == "# mine\n"
    made = evsim("new", "다른-레슨_2", cwd=tmp_path)  # letters of any script are names
    assert made.returncode == 0, made.stderr
    assert evsim("validate", "다른-레슨_2.toml", cwd=tmp_path).returncode == 0
