"""``writing_beside``: a file written over a long time appears whole at its target, or not."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.errors import InputError
from simulator.files import INCOMPLETE, writing_beside


def test_a_committed_file_appears_whole_and_nothing_is_left_beside_it(tmp_path: Path) -> None:
    target = tmp_path / "trace.jsonl"
    with writing_beside(target, what="a trace export") as pending:
        pending.out.write(b"one\n")
        assert not target.exists() and INCOMPLETE in pending.temp.name
        pending.out.seek(0)
        assert pending.out.read() == b"one\n"  # what was written can be read back
        pending.out.seek(0, 2)
        pending.out.write(b"two\n")
        pending.commit()
    assert target.read_bytes() == b"one\ntwo\n"
    assert [p.name for p in tmp_path.iterdir()] == ["trace.jsonl"]


def test_a_block_that_ends_without_a_commit_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "trace.jsonl"
    target.write_bytes(b"the old export\n")
    with writing_beside(target, what="a trace export") as pending:
        pending.out.write(b"half")
    with pytest.raises(RuntimeError), writing_beside(target, what="a trace export") as pending:
        pending.out.write(b"half")
        raise RuntimeError("the run failed")
    assert target.read_bytes() == b"the old export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["trace.jsonl"]


def test_a_target_that_became_a_protected_file_is_refused_at_the_commit(tmp_path: Path) -> None:
    scenario = tmp_path / "lesson.toml"
    scenario.write_text("title = 1\n")
    target = tmp_path / "trace.jsonl"
    with (
        pytest.raises(InputError, match="which this run reads"),
        writing_beside(target, protected=[scenario], what="a trace export") as pending,
    ):
        target.symlink_to(scenario)  # while the run went on
        pending.commit()
    assert scenario.read_text() == "title = 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lesson.toml", "trace.jsonl"]
