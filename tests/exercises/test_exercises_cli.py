"""`evsim exercise list|start|grade`: what a student and a teacher see, and the exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from cli import app
from simulator.lessons.exercises import exercise_names, load_exercise

runner = CliRunner()
SOLUTIONS = Path(__file__).resolve().parent / "solutions"


def test_list_names_every_exercise_with_its_file_and_title_in_either_language() -> None:
    for lang in ("en", "ko"):
        result = runner.invoke(app, ["exercise", "list", "--lang", lang])
        assert result.exit_code == 0, result.output
        for name in exercise_names():
            spec = load_exercise(name).spec
            line = next(line for line in result.stdout.splitlines() if name in line)
            assert spec.starter in line and spec.title.get(lang) in line


def test_start_copies_the_exercise_and_never_overwrites(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    first = runner.invoke(app, ["exercise", "start", "resequencer", str(folder)])
    assert first.exit_code == 0, first.output
    ex = load_exercise("resequencer")
    for file in ex.files():
        assert (folder / file).read_bytes() == (ex.directory / file).read_bytes()
    (folder / ex.spec.starter).write_text("# my work\n", encoding="utf-8")
    again = runner.invoke(app, ["exercise", "start", "resequencer", str(folder)])
    assert again.exit_code == 2
    assert again.stderr.count("\n") == 1 and "already exists" in again.stderr
    assert (folder / ex.spec.starter).read_text(encoding="utf-8") == "# my work\n"


def test_an_unknown_exercise_is_one_line_listing_the_known_ones(tmp_path: Path) -> None:
    result = runner.invoke(app, ["exercise", "start", "no-such", str(tmp_path / "x")])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "no such exercise (known: " in result.stderr and "resequencer" in result.stderr
    assert not (tmp_path / "x").exists()


def test_grading_what_is_not_a_submission_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["exercise", "grade", str(tmp_path)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "neither a submission nor a folder of them" in result.stderr


def _class(tmp_path: Path) -> Path:
    """A folder of two submissions: one naive, one with the reference solution."""
    root = tmp_path / "class"
    for student in ("ana", "ben"):
        started = runner.invoke(
            app, ["exercise", "start", "idempotent-consumer", str(root / student)]
        )
        assert started.exit_code == 0, started.output
    shutil.copyfile(SOLUTIONS / "idempotent-consumer" / "consumer.py", root / "ben/consumer.py")
    return root


def test_a_folder_of_submissions_grades_as_one_json_list(tmp_path: Path) -> None:
    root = _class(tmp_path)
    result = runner.invoke(
        app, ["exercise", "grade", str(root), "--json", "--runs", "20", "--workers", "1"]
    )
    assert result.exit_code == 1, result.output  # one of them fails
    grades = json.loads(result.stdout)
    assert [(Path(g["submission"]).name, g["verdict"]) for g in grades] == [
        ("ana", "fail"),
        ("ben", "pass"),
    ]
    assert grades[0]["counterexample"]["file"] == str(root / "ana" / "counterexample.toml")
    assert grades[1]["runs"] == grades[1]["runs_requested"] == 20


def test_a_folder_of_submissions_grades_as_one_table(tmp_path: Path) -> None:
    root = _class(tmp_path)
    result = runner.invoke(app, ["exercise", "grade", str(root), "--runs", "20", "--workers", "1"])
    assert result.exit_code == 1, result.output
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.split()}
    assert "fail" in rows["ana"] and "effects-once" in rows["ana"]
    assert "pass" in rows["ben"] and "20 runs explored" in rows["ben"]


def test_a_passing_submission_exits_0_and_says_how_many_runs(tmp_path: Path) -> None:
    root = _class(tmp_path)
    result = runner.invoke(
        app, ["exercise", "grade", str(root / "ben"), "--runs", "20", "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "PASS idempotent-consumer (consumer.py): 20 runs explored, no violation"
    )


def test_progress_counts_every_case_up_to_the_first_failure(tmp_path: Path) -> None:
    from evsim.grade import grade

    root = _class(tmp_path)
    seen: list[tuple[int, int]] = []
    passed = grade(root / "ben", runs=12, workers=2, progress=lambda d, t: seen.append((d, t)))
    assert passed.verdict == "pass" and seen == [(i, 12) for i in range(1, 13)]
    seen.clear()
    failed = grade(root / "ana", runs=12, workers=1, progress=lambda d, t: seen.append((d, t)))
    assert failed.verdict == "fail" and seen == [(i, 12) for i in range(1, failed.runs + 1)]


def test_a_counterexample_that_cannot_be_written_is_one_line_and_exit_2(tmp_path: Path) -> None:
    root = _class(tmp_path)
    (root / "ana" / "counterexample.toml").mkdir()  # in the way: not a file
    result = runner.invoke(app, ["exercise", "grade", str(root / "ana"), "--runs", "20"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert "counterexample.toml: cannot write: " in result.stderr
