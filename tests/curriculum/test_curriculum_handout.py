"""Handouts (`evsim report`) and lesson scaffolding (`evsim new`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from simulator.lessons.course import load_course
from simulator.lessons.predict import check_predictions
from simulator.lessons.report import build_handout, render_html, render_markdown
from simulator.lessons.summary import summarize
from simulator.lessons.templates import template_kinds
from simulator.scenario import builtin_names, builtin_path, decode_scenario, load_scenario
from simulator.simulation import Simulation
from simulator.trace import FINDING_TYPES

runner = CliRunner()


def _handout(name: str, lang: str = "en"):  # type: ignore[no-untyped-def]
    spec = load_scenario(builtin_path(name))
    sim = Simulation(spec)
    summary = summarize(sim)
    return build_handout(
        spec,
        summary,
        sim.trace,
        lang=lang,
        course=load_course(),
        predictions=check_predictions(spec, summary, sim=sim),
    )


def test_handout_has_narration_setup_outcome_findings_and_answers() -> None:
    md = render_markdown(_handout("producer-idempotence"))
    for heading in ("## Setup", "## Narration", "## Outcome", "## Expectations", "## Answers"):
        assert heading in md
    assert "## Predict, then run" in md
    assert md.index("## Predict, then run") < md.index("## Answers")
    assert "DuplicateDetected" in md and "caused by, nearest first:" in md
    assert "`plain-readers`" in md


def test_handout_findings_walk_the_cause_chain() -> None:
    spec = load_scenario(builtin_path("delivery-semantics-crash"))
    sim = Simulation(spec)
    md = render_markdown(build_handout(spec, summarize(sim), sim.trace))
    finding = next(r for r in sim.trace if type(r).__name__ == "DuplicateDetected")
    cause = sim.trace.causes(finding.seq)[0]
    assert f"#{cause.seq} " in md


def test_handout_without_snapshots_says_how_to_get_them_and_shows_no_image() -> None:
    md = render_markdown(_handout("keyed-ordering"))
    assert "No screen snapshots in this handout" in md
    assert "![" not in md


def test_handout_in_korean() -> None:
    md = render_markdown(_handout("retention-lag", "ko"))
    assert "## 내레이션" in md and "## 결과" in md and "## 정답" in md


def test_html_handout_is_one_escaped_page() -> None:
    page = render_html(_handout("exactly-once-transactions"))
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<table>" in page and "<blockquote>" in page
    assert "<script" not in page


HOSTILE = """
title = { en = "<script>alert(1)</script> [/b] **bold**", ko = "t" }
summary = { en = "<img src=x onerror=alert(1)> [a link](javascript:alert(1)) & `code`", ko = "s" }
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
count = 2
[[narration]]
at_ms = 0
text = { en = "<b>not bold</b> but **bold**", ko = "n" }
"""


def test_html_handout_shows_lesson_text_as_text_with_only_its_own_marks() -> None:
    spec = decode_scenario(HOSTILE.encode(), "hostile.toml", "hostile")
    sim = Simulation(spec)
    page = render_html(build_handout(spec, summarize(sim), sim.trace))
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "href" not in page
    assert "<h1>&lt;script&gt;alert(1)&lt;/script&gt; [/b] **bold**</h1>" in page
    assert "&lt;img src=x onerror=alert(1)&gt; [a link](javascript:alert(1)) &amp; " in page
    assert "<code>code</code>" in page
    assert "&lt;b&gt;not bold&lt;/b&gt; but <strong>bold</strong>" in page


def test_report_command_writes_markdown_and_html(tmp_path: Path) -> None:
    md = tmp_path / "h.md"
    result = runner.invoke(app, ["report", "partitions-and-offsets", "--out", str(md)])
    assert result.exit_code == 0, result.output
    assert md.read_text(encoding="utf-8").startswith("# Partitions and offsets")
    html = tmp_path / "h.html"
    result = runner.invoke(
        app, ["report", "partitions-and-offsets", "--format", "html", "--out", str(html)]
    )
    assert result.exit_code == 0
    assert "<h1>" in html.read_text(encoding="utf-8")


def test_report_on_a_comparison_lesson_has_the_compare_table() -> None:
    result = runner.invoke(app, ["report", "three-brokers"])
    assert result.exit_code == 0, result.output
    assert "The same workload on every broker" in result.output
    assert "| sqs-fifo |" in result.output


def test_a_cluster_lessons_handout_says_what_its_run_follows_and_its_cluster_settings() -> None:
    result = runner.invoke(app, ["report", "kafka-unclean-leader-election"])
    assert result.exit_code == 0, result.output
    assert "follows Apache Kafka 3.x (KRaft cluster of 3 brokers" in result.output
    line = next(x for x in result.output.splitlines() if x.startswith("- `log`: "))
    assert '"brokers":3' in line and '"default_replication_factor":3' in line
    assert '"ledger-unclean":{"unclean_leader_election":true}' in line  # unset fields left out


def test_a_one_broker_lessons_handout_shows_no_cluster() -> None:
    result = runner.invoke(app, ["report", "partitions-and-offsets"])
    assert result.exit_code == 0, result.output
    assert "follows Apache Kafka 3.x (one broker; replication not modelled)" in result.output
    assert "- `log`: " not in result.output


def test_report_bad_format_is_a_usage_error() -> None:
    result = runner.invoke(app, ["report", "keyed-ordering", "--format", "pdf"])
    assert result.exit_code == 2


@pytest.mark.parametrize("kind", template_kinds())
def test_new_lesson_from_each_template_validates_and_passes(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["new", f"my-{kind}", "--template", kind])
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"my-{kind}.toml").exists()
    assert runner.invoke(app, ["validate", f"my-{kind}.toml"]).exit_code == 0
    check = runner.invoke(app, ["check", f"my-{kind}.toml"])
    assert check.exit_code == 0, check.output
    again = runner.invoke(app, ["new", f"my-{kind}", "--template", kind])
    assert again.exit_code == 2 and "already exists" in again.output


@pytest.mark.parametrize("kind", template_kinds())
def test_each_template_lesson_fires_every_beat_and_confirms_its_prediction(
    tmp_path: Path, kind: str
) -> None:
    from simulator.lessons.report import beat_records
    from simulator.lessons.templates import render_template

    path = tmp_path / f"t-{kind}.toml"
    path.write_text(render_template(kind, f"t-{kind}"), encoding="utf-8")
    spec = load_scenario(path)
    assert spec.broker == kind
    sim = Simulation(spec)
    summary = summarize(sim)
    assert summary.ok
    assert all(r is not None for r in beat_records(spec, sim.trace))
    assert all(r.confirmed for r in check_predictions(spec, summary, sim=sim))


def test_new_with_an_unknown_template_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["new", "x", "--template", "kinesis"])
    assert result.exit_code == 2
    assert not (tmp_path / "x.toml").exists()


def test_list_path_shows_the_course_in_order() -> None:
    result = runner.invoke(app, ["list", "--path"])
    assert result.exit_code == 0
    out = result.output
    course = load_course()
    positions = [out.index(name) for name in course.path()]
    assert positions == sorted(positions)


def test_report_with_svg_saves_one_screen_per_beat_and_shows_them(tmp_path: Path) -> None:
    out = tmp_path / "keyed.md"
    result = runner.invoke(app, ["report", "keyed-ordering", "--out", str(out), "--svg"])
    assert result.exit_code == 0, result.output
    shots = sorted(p.name for p in (tmp_path / "keyed-svg").glob("*.svg"))
    beats = len(load_scenario(builtin_path("keyed-ordering")).narration)
    assert shots == [f"beat-{i:02d}.svg" for i in range(1, beats + 1)]
    text = out.read_text(encoding="utf-8")
    assert "![beat 1](keyed-svg/beat-01.svg)" in text
    assert "No screen snapshots" not in text


def test_report_svg_needs_an_output_file() -> None:
    result = runner.invoke(app, ["report", "keyed-ordering", "--svg"])
    assert result.exit_code == 2


@pytest.mark.parametrize("name", builtin_names())
def test_the_handout_of_every_lesson_names_every_finding_its_run_has(name: str) -> None:
    """Every kind of finding the run has is in the handout, counted, with one explained."""
    spec = load_scenario(builtin_path(name))
    sim = Simulation(spec)
    md = render_markdown(build_handout(spec, summarize(sim), sim.trace))
    kinds = {t.__name__ for t in FINDING_TYPES}
    counts = Counter(type(r).__name__ for r in sim.trace if type(r).__name__ in kinds)
    for kind, n in counts.items():
        assert f"`{kind}` × {n}" in md, f"{name}: the handout does not count its {kind}"
        assert f" {kind}** — " in md, f"{name}: the handout explains no {kind}"
    if not counts:
        assert "The checker found nothing" in md


def test_a_handout_hides_no_update_lost_behind_found_nothing() -> None:
    md = render_markdown(_handout("es-optimistic-concurrency"))
    assert "The checker found nothing" not in md
    assert "`UpdateLost` × 1" in md
