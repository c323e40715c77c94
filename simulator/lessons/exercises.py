"""Exercises: a lesson, a starter file, a task in two languages, and what the code must hold.

An exercise is a folder under ``scenarios/exercises/<name>/``:

- ``exercise.toml`` — its name, title and summary (en/ko), which files are
  the lesson, the starter and the task, how many runs a grade explores by
  default, and the ``[explore]`` menu of faults the grader may add;
- the lesson (``lesson.toml``) — an ordinary scenario that names the
  student's code (``handler = "consumer.py:handle"``) and says what must hold:
  its ``expect`` lines and ``properties``;
- the starter (``consumer.py``) — a naive version that runs, and fails;
- the task (``README.md``, ``README.ko.md``) — what to build, and why.

``evsim exercise start NAME`` copies those files into a folder of the
student's; ``exercise.toml`` in it names the exercise, so grading uses the
shipped lesson and menu with the student's code: editing the copied lesson
changes nothing about the grade. A folder whose exercise is not shipped (a
teacher's own) is graded by its own files.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import msgspec

from simulator.errors import InputError
from simulator.lessons.explore import Explore
from simulator.scenario import Text

__all__ = [
    "MARKER",
    "Exercise",
    "ExerciseSpec",
    "Submission",
    "exercise_names",
    "exercises_root",
    "load_exercise",
    "submission",
]

MARKER = "exercise.toml"
"""The file that makes a folder an exercise (shipped, or a student's copy)."""


class TaskFiles(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """The task's text, one Markdown file per language."""

    en: str = "README.md"
    ko: str = "README.ko.md"


class ExerciseSpec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``exercise.toml``."""

    name: str
    title: Text
    summary: Text
    starter: str
    """The file the student writes (the lesson's code fields name it)."""
    lesson: str = "lesson.toml"
    task: TaskFiles = TaskFiles()
    runs: int = 200
    """Cases a grade explores unless ``--runs`` says otherwise."""
    seed: int = 1
    """The seed every case's seed and fault plan derive from."""
    explore: Explore = Explore()


@dataclass(frozen=True)
class Exercise:
    """An exercise's definition and the folder it came from."""

    spec: ExerciseSpec
    directory: Path

    @property
    def name(self) -> str:
        return self.spec.name

    def files(self) -> list[str]:
        """What ``start`` copies: the marker, the lesson, the starter, the task."""
        spec = self.spec
        return [MARKER, spec.lesson, spec.starter, spec.task.en, spec.task.ko]

    def task_text(self, lang: str) -> str:
        name = self.spec.task.ko if lang == "ko" else self.spec.task.en
        return (self.directory / name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Submission:
    """A folder to grade: its exercise, and the lesson as the grader runs it."""

    directory: Path
    exercise: Exercise
    lesson: bytes
    """The shipped lesson's bytes (or the folder's own, for an exercise not shipped)."""
    lesson_file: str
    """Where the lesson is taken to be: in the student's folder, so code resolves there."""
    shipped: bool

    @property
    def code_file(self) -> Path:
        return self.directory / self.exercise.spec.starter


def exercises_root() -> Path:
    return Path(str(resources.files("scenarios").joinpath("exercises")))


def exercise_names() -> list[str]:
    """The shipped exercises, by folder name."""
    root = exercises_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / MARKER).is_file())


def _read_spec(path: Path) -> ExerciseSpec:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(str(path), "", err.strerror or "cannot read it") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InputError(str(path), "", f"invalid TOML: {err}") from None
    try:
        return msgspec.convert(raw, ExerciseSpec, strict=True)
    except msgspec.ValidationError as err:
        text = str(err)
        where = text.rsplit(" - at `", 1)[-1].rstrip("`") if " - at `" in text else "$"
        raise InputError(str(path), where, text.split(" - at `")[0]) from None


def load_exercise(name: str) -> Exercise:
    """A shipped exercise by name; ``InputError`` listing the names otherwise."""
    names = exercise_names()
    if name not in names:
        raise InputError(name, "", f"no such exercise (known: {', '.join(names) or 'none'})")
    directory = exercises_root() / name
    spec = _read_spec(directory / MARKER)
    if spec.name != name:
        raise InputError(str(directory / MARKER), "$.name", f"must be the folder's name, {name!r}")
    return Exercise(spec, directory)


def submission(directory: Path) -> Submission:
    """The folder ``directory`` as something to grade."""
    marker = directory / MARKER
    if not marker.is_file():
        raise InputError(
            str(directory), "", f"no {MARKER} here: start one with `evsim exercise start NAME`"
        )
    own = _read_spec(marker)
    shipped = own.name in exercise_names()
    exercise = load_exercise(own.name) if shipped else Exercise(own, directory)
    source = exercise.directory / exercise.spec.lesson
    try:
        lesson = source.read_bytes()
    except OSError as err:
        raise InputError(str(source), "", err.strerror or "cannot read it") from None
    return Submission(directory, exercise, lesson, str(directory / exercise.spec.lesson), shipped)
