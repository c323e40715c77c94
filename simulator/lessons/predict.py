"""Predict, then run: questions a lesson asks before it plays, answered by the run.

Asking a class to commit to an answer before the timeline plays is what turns a
demo into an experiment (Mazur's peer instruction does the same with a vote).
A ``[[predict]]`` section holds the question, its choices, the number of the
right one and an expectation over the outcome that holds exactly when that
answer is right: the key is not the author's opinion, the run checks it. This
module judges predictions against a finished run's summary; it prints nothing.
"""

from __future__ import annotations

import msgspec

from simulator.lessons.summary import RunSummary
from simulator.scenario import Expectation, Predict, Scenario, parse_expectation
from simulator.simulation import Simulation

__all__ = ["PredictionResult", "check_predictions", "metric_value", "parse_answers"]


class PredictionResult(msgspec.Struct, frozen=True, kw_only=True):
    """One question after the run: is the key confirmed, and was the student right?"""

    number: int
    """1-based position of the question in the lesson."""
    predict: Predict
    confirmed: bool
    """The run satisfies ``predict.expect``: the stated answer is what happened."""
    detail: str
    """The metric as measured, e.g. ``duplicates[plain-readers] = 1``."""
    student: int | None = None
    """The choice the student gave with ``--predict`` (1-based), if any."""

    @property
    def student_right(self) -> bool | None:
        return None if self.student is None else self.student == self.predict.answer


def metric_value(summary: RunSummary, e: Expectation, sim: Simulation | None = None) -> int:
    """The value an expectation's metric has in the run (per group when it names one).

    Delegates to the code that checks ``expect`` lines (``simulator.lessons.summary``),
    so a prediction and an expectation over the same metric always agree.
    Stream, saga and CQRS metrics are counted from the trace: pass ``sim``.
    """
    from simulator.lessons import summary as books

    values = {k: v for k, v in msgspec.structs.asdict(summary).items() if isinstance(v, int)}
    flow = books.flow_metrics(sim.scenario, sim.trace) if sim is not None else None
    if e.metric not in values and e.group is None and flow is None:
        raise ValueError(f"metric {e.metric!r} needs the simulation, not just its summary")
    value: int = books._metric(values, summary.groups, e, flow)
    return value


def parse_answers(text: str, scenario: Scenario) -> list[int]:
    """``"2"`` or ``"2,1"``: one choice per question, in order; raises ``ValueError``."""
    if not scenario.predict:
        raise ValueError(f"lesson {scenario.name or '?'} asks no prediction question")
    parts = [part.strip() for part in text.split(",")]
    if len(parts) > len(scenario.predict):
        raise ValueError(
            f"{len(parts)} answers for {len(scenario.predict)} question(s) (give one per question)"
        )
    answers: list[int] = []
    for i, part in enumerate(parts):
        choices = len(scenario.predict[i].choices)
        if not part.isdigit() or not 1 <= int(part) <= choices:
            raise ValueError(f"answer {part!r} to question {i + 1}: choose 1–{choices}")
        answers.append(int(part))
    return answers


def check_predictions(
    scenario: Scenario,
    summary: RunSummary,
    answers: list[int] | None = None,
    sim: Simulation | None = None,
) -> list[PredictionResult]:
    """Judge every prediction of ``scenario`` against the run, with the student's answers.

    ``sim`` (the finished run) is needed when a prediction checks a stream,
    saga or CQRS metric, which the summary does not carry.
    """
    given = answers or []
    results: list[PredictionResult] = []
    for i, p in enumerate(scenario.predict):
        e = parse_expectation(p.expect)
        if isinstance(e, str):  # validated on load; kept for scenarios built in code
            confirmed, detail = False, e
        else:
            actual = metric_value(summary, e, sim)
            confirmed = e.holds(actual)
            name = e.metric if e.group is None else f"{e.metric}[{e.group}]"
            detail = f"{name} = {actual}"
        student = given[i] if i < len(given) else None
        results.append(
            PredictionResult(
                number=i + 1, predict=p, confirmed=confirmed, detail=detail, student=student
            )
        )
    return results
