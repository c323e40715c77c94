"""Exports never destroy what the run reads, never block, never leave half a file.

``--export-trace``, ``report --out``, ``--svg-at-beats`` and ``report --svg``
refuse, up front and in one line, a target that is the scenario being played
(by any name: a symlink, a relative path) or the run's own event store, and a
target that is a FIFO, a device or a directory; a failed write leaves nothing
new behind — not even the screenshot folder of a handout that could not be
written. (Killed and concurrent exports: ``test_reliability_kill.py``.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from reliability_support import assert_one_line_refusal, bank_lesson, evsim, listing

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
auto_offset_reset = "earliest"
[[workload.generators]]
producer = "p"
count = 5
[[narration]]
at_ms = 0
text = { en = "one beat", ko = "한 비트" }
"""


@pytest.fixture
def lesson(tmp_path: Path) -> Path:
    path = tmp_path / "self.toml"
    path.write_text(LESSON, encoding="utf-8")
    return path


def _same_name_targets(lesson: Path) -> list[str]:
    alias = lesson.with_name("alias.jsonl")
    alias.symlink_to(lesson)
    return [str(lesson), "self.toml", "./self.toml", str(alias)]


def test_an_export_may_not_overwrite_the_scenario_being_played(lesson: Path) -> None:
    before = lesson.read_bytes()
    for target in _same_name_targets(lesson):
        for args in (
            ["play", str(lesson), "--quiet", "--export-trace", target],
            ["report", str(lesson), "--out", target],
            ["report", str(lesson), "--svg", "--out", target],
        ):
            assert_one_line_refusal(evsim(*args, cwd=lesson.parent), "self.toml")
            assert lesson.read_bytes() == before, args
    assert sorted(p.name for p in lesson.parent.iterdir()) == ["alias.jsonl", "self.toml"]


def test_an_export_may_not_overwrite_the_runs_own_event_store(tmp_path: Path) -> None:
    store = tmp_path / "own.sqlite3"
    lesson = tmp_path / "bank.toml"
    lesson.write_text(bank_lesson(str(store)), encoding="utf-8")
    result = evsim("play", str(lesson), "--quiet", "--export-trace", str(store), cwd=tmp_path)
    assert_one_line_refusal(result, "own.sqlite3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bank.toml"]  # nothing run, nothing made


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _device(path: Path) -> Path:
    os.mknod(path, 0o666 | 0o020000, os.makedev(1, 7))  # like /dev/full: every write fails
    return path


SPECIAL = {
    "a FIFO": _fifo,
    "a directory": lambda p: (p.mkdir(), p)[1],
    "a character device": _device,
}


@pytest.mark.parametrize("kind", list(SPECIAL))
def test_an_export_to_a_special_file_is_refused_up_front_and_leaves_nothing(
    lesson: Path, kind: str
) -> None:
    if kind == "a character device" and os.geteuid() != 0:
        pytest.skip("making a device needs root")
    target = SPECIAL[kind](lesson.parent / "out")
    before = listing(lesson.parent)
    for args in (
        ["play", str(lesson), "--quiet", "--export-trace", str(target)],
        ["report", str(lesson), "--out", str(target)],
        ["report", str(lesson), "--svg", "--out", str(target)],
    ):
        assert_one_line_refusal(evsim(*args, cwd=lesson.parent), "out")
        assert listing(lesson.parent) == before, (kind, args)


@pytest.mark.parametrize("kind", ["a FIFO", "a regular file"])
def test_svg_at_beats_needs_a_folder(lesson: Path, kind: str) -> None:
    target = lesson.parent / "shots"
    if kind == "a FIFO":
        os.mkfifo(target)
    else:
        target.write_text("not a folder\n")
    before = listing(lesson.parent)
    result = evsim("play", str(lesson), "--quiet", "--svg-at-beats", str(target), cwd=lesson.parent)
    assert_one_line_refusal(result, "shots", "not a folder")
    assert listing(lesson.parent) == before


def test_a_handout_whose_name_is_a_folder_is_refused_before_any_picture(lesson: Path) -> None:
    out = lesson.parent / "handout.md"
    out.mkdir()
    (out / "keep.txt").write_text("mine\n")
    before = listing(lesson.parent)
    result = evsim("report", str(lesson), "--svg", "--out", str(out), cwd=lesson.parent)
    assert_one_line_refusal(result, "handout.md")
    assert listing(lesson.parent) == before


DISK_FULL_FOR_HANDOUTS = """
import errno, os
_fsync = os.fsync
def fsync(fd):
    if ".md.evsim-incomplete-" in os.readlink(f"/proc/self/fd/{fd}"):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    _fsync(fd)
os.fsync = fsync
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_a_handout_that_fails_to_write_leaves_nothing_not_even_its_pictures(
    lesson: Path,
) -> None:
    out = lesson.parent / "handout.md"
    before = listing(lesson.parent)
    result = evsim(
        "report",
        str(lesson),
        "--svg",
        "--out",
        str(out),
        cwd=lesson.parent,
        bootstrap=DISK_FULL_FOR_HANDOUTS,
    )
    assert_one_line_refusal(result, "handout.md", "No space left on device")
    assert listing(lesson.parent) == before  # no handout, no temporary file, no handout-svg/


def test_a_handout_is_written_whole_with_its_pictures(lesson: Path) -> None:
    out = lesson.parent / "handout.md"
    result = evsim("report", str(lesson), "--svg", "--out", str(out), cwd=lesson.parent)
    assert result.returncode == 0, result.stderr
    assert "handout-svg/beat-01.svg" in out.read_text(encoding="utf-8")
    names = sorted(p.name for p in lesson.parent.rglob("*"))
    assert names == ["beat-01.svg", "handout-svg", "handout.md", "self.toml"]
