"""Predict, then run: questions are validated, answered by the run, and shown headless."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli import app
from simulator.errors import InputError
from simulator.lessons.predict import check_predictions, parse_answers
from simulator.lessons.summary import summarize
from simulator.scenario import builtin_names, builtin_path, load_scenario
from simulator.simulation import Simulation

runner = CliRunner()
LESSONS = builtin_names()
WITH_PREDICTIONS = [n for n in LESSONS if load_scenario(builtin_path(n)).predict]

BASE = """
title = { en = "t", ko = "t" }
summary = { en = "s", ko = "s" }
expect = ["lost == 0"]
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
text = { en = "go", ko = "시작" }
"""

PREDICT = """
[[predict]]
question = { en = "Lost?", ko = "유실?" }
choices = [{ en = "yes", ko = "예" }, { en = "no", ko = "아니요" }]
answer = ANSWER
expect = "EXPECT"
explanation = { en = "Nothing fails.", ko = "실패가 없습니다." }
"""


def _file(tmp_path, answer: str = "2", expect: str = "lost[g] == 0"):  # type: ignore[no-untyped-def]
    path = tmp_path / "lesson.toml"
    body = BASE + PREDICT.replace("ANSWER", answer).replace("EXPECT", expect)
    path.write_text(body, encoding="utf-8")
    return path


def test_at_least_four_kafka_lessons_ask_a_prediction() -> None:
    kafka = [n for n in WITH_PREDICTIONS if load_scenario(builtin_path(n)).broker == "log"]
    assert len(kafka) >= 4, kafka


@pytest.mark.parametrize("name", WITH_PREDICTIONS)
def test_every_prediction_key_is_confirmed_by_the_lesson_run(name: str) -> None:
    spec = load_scenario(builtin_path(name))
    sim = Simulation(spec)
    results = check_predictions(spec, summarize(sim), sim=sim)
    wrong = [f"{r.number}: {r.predict.expect} ({r.detail})" for r in results if not r.confirmed]
    assert not wrong, f"{name}: the run does not confirm the stated answer: {wrong}"


@pytest.mark.parametrize("name", WITH_PREDICTIONS)
def test_every_prediction_speaks_both_languages(name: str) -> None:
    for p in load_scenario(builtin_path(name)).predict:
        for text in (p.question, p.explanation, *p.choices):
            assert text.en.strip() and text.ko.strip()


def test_an_answer_that_is_not_a_choice_is_refused_with_its_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as err:
        load_scenario(_file(tmp_path, answer="3"))
    assert "$.predict[0].answer" in str(err.value)


def test_a_prediction_check_that_does_not_parse_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as err:
        load_scenario(_file(tmp_path, expect="lost = 0"))
    assert "$.predict[0].expect" in str(err.value)


def test_a_prediction_check_naming_an_unknown_group_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as err:
        load_scenario(_file(tmp_path, expect="lost[nobody] == 0"))
    assert "$.predict[0].expect" in str(err.value)


def test_parse_answers_takes_one_choice_per_question(tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = load_scenario(_file(tmp_path))
    assert parse_answers("2", spec) == [2]
    for bad in ("0", "3", "x", "1,2"):
        with pytest.raises(ValueError):
            parse_answers(bad, spec)


def test_headless_play_asks_before_the_timeline_and_answers_after(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["play", str(_file(tmp_path))])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.index("Lost?") < out.index("ScenarioStarted") < out.index("Answer: 2) no")
    assert "the run confirms it (lost[g] = 0)" in out
    assert "Nothing fails." in out


def test_headless_play_in_korean_speaks_korean(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["play", str(_file(tmp_path)), "--lang", "ko", "--predict", "2"])
    assert result.exit_code == 0
    assert "유실?" in result.output and "정답: 2) 아니요" in result.output
    assert "맞음" in result.output


def test_the_students_answer_is_compared(tmp_path) -> None:  # type: ignore[no-untyped-def]
    right = runner.invoke(app, ["play", str(_file(tmp_path)), "--predict", "2"]).output
    wrong = runner.invoke(app, ["play", str(_file(tmp_path)), "--predict", "1"]).output
    assert "your answer: 2 — right" in right
    assert "your answer: 1 — not this time" in wrong


def test_a_bad_predict_option_is_a_usage_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["play", str(_file(tmp_path)), "--predict", "7"])
    assert result.exit_code == 2
    assert "--predict" in result.output


def test_predictions_do_not_change_the_json_contract(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["play", str(_file(tmp_path)), "--json", "--predict", "1"])
    assert result.exit_code == 0
    assert result.output.lstrip().startswith("{")


def test_check_fails_a_lesson_whose_prediction_key_the_run_contradicts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = _file(tmp_path, answer="1", expect="lost[g] >= 1")  # "yes, lost": nothing is lost
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert "✗ predict[1]: lost[g] >= 1  (lost[g] = 0)" in result.output
    good = runner.invoke(app, ["check", str(_file(tmp_path))])
    assert good.exit_code == 0 and "1 predictions" in good.output
