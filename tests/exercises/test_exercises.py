"""Every shipped exercise: its naive starter fails, its reference solution passes.

The references live here (``solutions/<exercise>/``), not in the package: a
student starts from the naive starter. A grade of the starter must find a
failure, shrink it, and write a counterexample that ``evsim play`` replays with
the same failure; a grade of the reference must explore every run and pass.
Few runs (``RUNS``) keep the suite quick; ``evsim exercise grade`` explores the
exercise's own number (200).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner

from cli import app
from evsim.grade import Grade, grade
from simulator.lessons.exercises import exercise_names, load_exercise

RUNS = 40
SOLUTIONS = Path(__file__).resolve().parent / "solutions"
EXERCISES = exercise_names()
runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]

FAILS = {
    "idempotent-consumer": "property effects-once",
    "idempotent-projector": "read_model_mismatches == 0",
    "optimistic-concurrency": "lost_updates == 0",
    "resequencer": "property effects-in-key-order",
    "saga-compensation": "property saga-net-effects",
    "transactional-outbox": "property publishes-match-commits",
}
"""What each naive starter breaks: the finding its exercise is about, and nothing else."""


def start(name: str, tmp_path: Path) -> Path:
    folder = tmp_path / name
    result = runner.invoke(app, ["exercise", "start", name, str(folder)])
    assert result.exit_code == 0, result.output
    return folder


def solve(name: str, folder: Path) -> None:
    starter = load_exercise(name).spec.starter
    shutil.copyfile(SOLUTIONS / name / starter, folder / starter)


def test_there_are_six_exercises_each_with_a_reference_solution() -> None:
    assert len(EXERCISES) >= 6
    for name in EXERCISES:
        ex = load_exercise(name)
        assert (SOLUTIONS / name / ex.spec.starter).is_file(), f"{name} has no reference"
        for file in ex.files():
            assert (ex.directory / file).is_file(), f"{name} ships no {file}"
        assert ex.spec.title.en and ex.spec.title.ko and ex.spec.summary.ko
        assert "[English](README.md)" in ex.task_text("ko")
        assert "[한국어](README.ko.md)" in ex.task_text("en")
    assert sorted(FAILS) == EXERCISES, "name the finding each new starter must fail with"


@pytest.mark.parametrize("name", EXERCISES)
def test_the_naive_starter_fails_with_a_counterexample_that_replays(
    name: str, tmp_path: Path
) -> None:
    folder = start(name, tmp_path)
    g = grade(folder, runs=RUNS, workers=1)
    assert g.verdict == "fail", g.detail
    assert g.deterministic and g.runs <= RUNS
    ce = g.counterexample
    assert ce is not None and ce.file is not None
    assert ce.faults <= ce.faults_before and ce.messages <= ce.messages_before
    assert ce.failures and not ce.failures[0].startswith("first finding")
    assert g.detail.split(" breaks ", 1)[1].startswith(FAILS[name]), g.detail
    assert ce.failures[0].startswith(FAILS[name]), ce.failures
    played = runner.invoke(app, ["play", ce.file, "--json"])
    assert played.exit_code == 1, played.output
    outcome = json.loads(played.stdout)
    failed = [e["name"] for e in outcome["expectations"] if not e["ok"]]
    assert failed and ce.failures[0].startswith(failed[0])
    # replayed in a fresh interpreter, from the folder, with another string-hash seed:
    # the same trace, to the byte
    fresh = subprocess.run(
        [sys.executable, "-c", "import cli; cli.main()", "play", "counterexample.toml", "--json"],
        capture_output=True,
        text=True,
        cwd=folder,
        env={**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)},
    )
    assert fresh.returncode == 1, fresh.stderr
    assert json.loads(fresh.stdout)["trace_digest"] == outcome["trace_digest"]
    # played from the folder itself, by its relative name, too
    text = Path(ce.file).read_text(encoding="utf-8")
    assert text.startswith("# A counterexample found by evsim exercise grade")
    assert str(tmp_path) not in text  # nothing in it ties it to this machine


@pytest.mark.parametrize("name", EXERCISES)
def test_the_reference_solution_passes(name: str, tmp_path: Path) -> None:
    folder = start(name, tmp_path)
    solve(name, folder)
    g = grade(folder, runs=RUNS, workers=1)
    assert (g.verdict, g.runs) == ("pass", RUNS), g.detail
    assert g.counterexample is None and not (folder / "counterexample.toml").exists()


def _comparable(g: Grade) -> dict[str, object]:
    out: dict[str, object] = msgspec.to_builtins(g)
    del out["seconds"], out["workers"]
    return out


def test_one_worker_and_two_find_the_same_results(tmp_path: Path) -> None:
    name = "idempotent-consumer"
    folder = start(name, tmp_path)
    alone = grade(folder, runs=RUNS, workers=1)
    alone_example = (folder / "counterexample.toml").read_text(encoding="utf-8")
    pooled = grade(folder, runs=RUNS, workers=2)
    assert pooled.workers == 2
    assert _comparable(alone) == _comparable(pooled)
    assert (folder / "counterexample.toml").read_text(encoding="utf-8") == alone_example
    solve(name, folder)
    assert _comparable(grade(folder, runs=RUNS, workers=1)) == _comparable(
        grade(folder, runs=RUNS, workers=2)
    )


def test_editing_the_copied_lesson_does_not_change_the_grade(tmp_path: Path) -> None:
    folder = start("idempotent-consumer", tmp_path)
    lesson = folder / "lesson.toml"
    lesson.write_text(
        lesson.read_text(encoding="utf-8").replace('properties = ["effects-once"]', ""),
        encoding="utf-8",
    )
    assert grade(folder, runs=RUNS, workers=1).verdict == "fail"
