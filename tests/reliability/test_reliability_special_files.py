"""Special files wherever a path goes: refused up front, never opened, never blocked on.

A generated case puts a special file — a FIFO, a directory, a character
device, a Unix socket, a symlink to a FIFO, a symlink loop — in one of the
roles a path plays: the scenario of ``play``, ``validate``, ``check``,
``report`` and ``compare``; the trace of ``view``; the target of
``--export-trace``, ``report --out`` and ``--svg-at-beats``; the ``[store]
path`` of ``play`` and ``validate``. Each must end in one line and exit 2,
and leave the folder exactly as it was. A command that blocked on a FIFO would
never return: the subprocess guard turns that into a failure.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reliability_support import (
    assert_one_line_refusal,
    bank_lesson,
    evsim,
    hypothesis_settings,
    listing,
)

pytestmark = pytest.mark.slow  # subprocesses: deselect with -m 'not slow'

LESSON = """
title = { en = "t", ko = "t" }
summary = { en = "s", ko = "s" }
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
[[narration]]
at_ms = 0
text = { en = "a beat", ko = "비트" }
"""


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _directory(path: Path) -> None:
    path.mkdir()


def _device(path: Path) -> None:
    if os.geteuid() == 0:
        os.mknod(path, 0o666 | 0o020000, os.makedev(1, 3))
    else:
        path.symlink_to("/dev/null")  # a symlink to a device: refused the same way


def _socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))


def _link_to_fifo(path: Path) -> None:
    fifo = path.with_name(path.name + ".fifo")
    os.mkfifo(fifo)
    path.symlink_to(fifo)


def _loop(path: Path) -> None:
    other = path.with_name(path.name + ".other")
    path.symlink_to(other)
    other.symlink_to(path)


KINDS: dict[str, Callable[[Path], None]] = {
    "FIFO": _fifo,
    "directory": _directory,
    "character device": _device,
    "socket": _socket,
    "symlink to a FIFO": _link_to_fifo,
    "symlink loop": _loop,
}

# Each role: the command line, with {special} for the special file and {lesson} for a lesson.
ROLES: dict[str, list[str]] = {
    "play scenario": ["play", "{special}"],
    "validate scenario": ["validate", "{special}"],
    "check scenario": ["check", "{special}"],
    "report scenario": ["report", "{special}"],
    "compare scenario": ["compare", "{special}"],
    "view trace": ["view", "{special}"],
    "export target": ["play", "{lesson}", "--quiet", "--export-trace", "{special}"],
    "handout target": ["report", "{lesson}", "--out", "{special}"],
    "handout with pictures": ["report", "{lesson}", "--svg", "--out", "{special}"],
    "screenshot folder": ["play", "{lesson}", "--quiet", "--svg-at-beats", "{special}"],
    "store of play": ["play", "{store}", "--quiet"],
    "store of validate": ["validate", "{store}"],
}


def _case(folder: Path, kind: str, role: str) -> tuple[list[str], bool]:
    special = folder / "special"
    KINDS[kind](special)
    lesson = folder / "lesson.toml"
    lesson.write_text(LESSON, encoding="utf-8")
    store_lesson = folder / "bank.toml"
    store_lesson.write_text(bank_lesson(str(special)), encoding="utf-8")
    args = [a.format(special=special, lesson=lesson, store=store_lesson) for a in ROLES[role]]
    # A directory is a fine screenshot folder; the other roles want a regular file.
    expect_refusal = not (role == "screenshot folder" and kind == "directory")
    return args, expect_refusal


@hypothesis_settings(24)
@given(kind=st.sampled_from(sorted(KINDS)), role=st.sampled_from(sorted(ROLES)))
def test_a_special_file_in_any_role_is_one_line_and_touches_nothing(
    tmp_path_factory: pytest.TempPathFactory, kind: str, role: str
) -> None:
    folder = tmp_path_factory.mktemp("special")
    args, expect_refusal = _case(folder, kind, role)
    if not expect_refusal:
        return
    before = listing(folder)
    assert_one_line_refusal(evsim(*args, cwd=folder), "special")
    assert listing(folder) == before, (kind, role)


@pytest.mark.parametrize("role", ["play scenario", "view trace", "export target", "store of play"])
def test_a_fifo_is_never_opened(tmp_path: Path, role: str) -> None:
    """The issue's hangs: a FIFO with no writer (or reader) on the other end."""
    args, _ = _case(tmp_path, "FIFO", role)
    assert_one_line_refusal(evsim(*args, cwd=tmp_path), "FIFO")
