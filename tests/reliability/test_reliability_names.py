"""Names are data, not markup: generated hostile names through every view.

Two generated classes of input. **Markup-like** strings — rich and Textual
tags, closing tags, click actions, links, emoji codes, HTML — as names (topic,
producer, group, consumers) and as prose (title, narration, questions): the
scenario loads, and ``play``'s timeline and outcome, the predictions, the
handout (Markdown and HTML), the TUI screens (picker, simulation, why?, fork,
settings, the sequence view, the timers panel, chips in flight, the confirm
dialog) and ``view`` of the exported trace all show the string as itself,
never as markup — in a small lesson of each model, and in shipped lessons of
every broker with their names replaced. **Control and invisible characters** — C0/C1 controls,
zero-width and bidi characters, line separators, odd spaces — in names are
refused with one line naming the ``$.path``, as are two names that differ only
by such a character; in prose only tabs and line breaks pass. See
``docs/scenarios.md`` ("Names").
"""

from __future__ import annotations

import copy
import html
import io
import json
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reliability_support import (
    SHIPPED_DATA,
    assert_one_line_refusal,
    cases,
    evsim,
    hypothesis_settings,
    shard_seed,
)
from rich.console import Console
from tui_support import exercise

from simulator.errors import InputError
from simulator.lessons.predict import check_predictions
from simulator.lessons.report import build_handout, render_html, render_markdown
from simulator.lessons.shrink import toml_dumps
from simulator.lessons.summary import summarize
from simulator.models.registry import model
from simulator.scenario import Scenario, decode_scenario
from simulator.scenario.validation import name_problem
from simulator.simulation import Simulation
from tui.headless import (
    print_prediction_results,
    print_predictions,
    print_summary,
    print_timeline,
)
from tui.runs import load_trace

MARKUP_PIECES = [
    "[", "]", "[b]", "[/b]", "[/]", "[bold red]", "[@click=app.quit]", "[@click=screen.dismiss]",
    "[link=https://evil.example]", "[/link]", "[on blue]", "[#ff0000]", "[i]", "[reverse]",
    "\\[", ":smile:", "$var", "{x}", "<b>", "</div>", "&amp;", "`code`", "*em*", "|",
]  # fmt: skip

words = st.text(alphabet="abcxyz09-_ 가나", min_size=1, max_size=4)
markup = (
    st.lists(st.one_of(st.sampled_from(MARKUP_PIECES), words), min_size=1, max_size=6)
    .map("".join)
    .filter(str.strip)
)
"""Text built from markup fragments and ordinary words (not blank: prose may not be)."""
markup_name = markup.map(lambda s: s.strip().replace("/", "") or "x").filter(
    lambda s: name_problem(s) is None
)
"""A markup-like string that is a valid name (no '/', visible)."""

INVISIBLE_CATEGORIES = ("Cc", "Cf", "Zl", "Zp", "Zs")
invisible = st.characters(
    categories=INVISIBLE_CATEGORIES,  # type: ignore[arg-type]
    exclude_characters=" ",
)
"""A character no reader can see: a control, a zero-width or bidi control, a separator."""
control = st.characters(categories=("Cc",), exclude_characters="\t\n")  # type: ignore[arg-type]


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def lesson_text(
    *,
    group: str = "billing",
    topic: str = "orders",
    producer: str = "checkout",
    consumer: str = "billing-a",
    title: str = "title",
    prose: str = "what happens",
    extra_group: str | None = None,
) -> str:
    extra = (
        f"[[groups]]\nname = {_q(extra_group)}\ntopic = {_q(topic)}\nconsumers = ['zz']\n"
        if extra_group is not None
        else ""
    )
    return f"""
title = {{ en = {_q(title)}, ko = {_q(title)} }}
summary = {{ en = {_q(prose)}, ko = "요약" }}
expect = ["processed >= 1"]
[[topics]]
name = {_q(topic)}
partitions = 2
[[producers]]
name = {_q(producer)}
topic = {_q(topic)}
[[groups]]
name = {_q(group)}
topic = {_q(topic)}
consumers = [{_q(consumer)}, "second"]
commit = "after-process"
auto_offset_reset = "earliest"
{extra}[[workload.generators]]
producer = {_q(producer)}
count = 12
keys = 3
[[faults]]
kind = "crash"
target = {_q(consumer)}
at = "after_process_before_commit"
restart_after_ms = 200
[[narration]]
at_ms = 0
text = {{ en = {_q(prose)}, ko = {_q(prose)} }}
notice = {{ en = {_q(prose)}, ko = "주의" }}
[[predict]]
question = {{ en = {_q(prose)}, ko = "질문" }}
choices = [{{ en = {_q(prose)}, ko = "가" }}, {{ en = "none", ko = "나" }}]
answer = 1
expect = "duplicates >= 1"
explanation = {{ en = {_q(prose)}, ko = "설명" }}
"""


def _load(text: str, name: str = "hostile") -> Scenario:
    return decode_scenario(text.encode(), f"{name}.toml", name)


def _headless(spec: Scenario, lang: str) -> str:
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None, highlight=False)
    sim = Simulation(spec)
    print_predictions(console, spec, lang, [1])
    print_timeline(console, spec, sim, lang)
    summary = summarize(sim)
    print_summary(console, summary, spec, lang)
    print_prediction_results(console, check_predictions(spec, summary, [1], sim), lang)
    return out.getvalue()


def _handouts(spec: Scenario) -> tuple[str, str]:
    sim = Simulation(spec)
    summary = summarize(sim)
    handout = build_handout(
        spec,
        summary,
        sim.trace,
        lang="en",
        follows=model(spec.broker).follows,
        predictions=check_predictions(spec, summary, sim=sim),
    )
    return render_markdown(handout), render_html(handout)


@hypothesis_settings(40)
@given(name=markup_name, prose=markup, lang=st.sampled_from(["en", "ko"]))
def test_markup_like_names_and_prose_are_printed_as_themselves(
    name: str, prose: str, lang: str
) -> None:
    spec = _load(lesson_text(group=name, producer=f"p{name}", title=prose, prose=prose))
    text = _headless(spec, lang)
    assert name in text and prose.strip() in text
    markdown, page = _handouts(spec)
    assert prose.strip() in markdown
    assert "<b>" not in page.replace(html.escape("<b>"), "") or "<b>" not in prose
    assert "@click" not in page or html.escape(prose) in page or "@click" in name


TUI_SHARDS = 4
"""The TUI properties drive the app per example (about ten seconds each): they run
as shards, each with its own seed, so the parallel runner spreads them; in CI two
cases a shard, in the dedicated run two hundred."""


@pytest.mark.long
@pytest.mark.parametrize("shard", range(TUI_SHARDS))
def test_markup_like_names_through_the_tui_screens_and_view(
    tmp_path_factory: pytest.TempPathFactory, shard: int
) -> None:
    @shard_seed(shard)
    @hypothesis_settings(2)
    @given(
        field=st.sampled_from(["group", "topic", "producer", "consumer"]),
        name=markup_name,
        prose=markup,
    )
    def check(field: str, name: str, prose: str) -> None:
        spec = _load(lesson_text(**{field: name}, title=prose, prose=prose))
        folder = tmp_path_factory.mktemp("tui")
        exercise(scenario=spec, export_dir=folder)
        trace = folder / "hostile.jsonl"
        trace.write_bytes(b"".join(Simulation(spec).run().jsonl_chunks()))
        records, _ = load_trace(trace)
        exercise(records=records, label=f"{name}.jsonl")

    check()


RENAMED_LESSONS = [
    "rabbitmq-ttl-and-length-limits",  # timers: a message's TTL; queues that drop
    "rabbitmq-consumer-crash",  # chips requeued from a crashed consumer
    "sqs-visibility-timeout",  # timers: the visibility timeout, extended by a heartbeat
    "sqs-redrive-dlq",  # maxReceiveCount among the settings knobs
    "slow-consumer-max-poll",  # timers: max.poll.interval on a log's consumers
    "consumer-rebalance",  # the sequence view across a rebalance
]


def renamed_lesson(lesson: str, name: str) -> Scenario:
    """A shipped lesson with each topic, producer, group and named consumer called
    ``name`` plus a number (its expectations and questions, which name them, dropped)."""
    data = copy.deepcopy(SHIPPED_DATA[lesson])
    old: list[str] = [t["name"] for t in data.get("topics", [])]
    old += [p["name"] for p in data.get("producers", [])]
    groups = [g["name"] for g in data.get("groups", [])]
    old += groups
    for g in data.get("groups", []):
        if isinstance(g.get("consumers"), list):
            old += g["consumers"]
    new = {before: f"{name}{i}" for i, before in enumerate(dict.fromkeys(old))}
    numbered = re.compile(r"(.+)-(\d+)")  # a group's generated consumers: group-0, group-1

    def rename(value: object) -> object:
        if isinstance(value, dict):
            return {k: rename(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rename(v) for v in value]
        if isinstance(value, str):
            if value in new:
                return new[value]
            m = numbered.fullmatch(value)
            if m and m.group(1) in groups:
                return f"{new[m.group(1)]}-{m.group(2)}"
        return value

    data = rename(data)
    assert isinstance(data, dict)
    data["expect"] = []
    data.pop("predict", None)
    return decode_scenario(toml_dumps(data).encode(), f"{lesson}.toml", lesson)


@pytest.mark.long
@pytest.mark.parametrize("shard", range(TUI_SHARDS // 2))
def test_markup_like_names_in_shipped_lessons_of_every_broker_through_the_tui(
    tmp_path_factory: pytest.TempPathFactory, shard: int
) -> None:
    @shard_seed(shard)
    @hypothesis_settings(2)
    @given(lesson=st.sampled_from(RENAMED_LESSONS), name=markup_name)
    def check(lesson: str, name: str) -> None:
        spec = renamed_lesson(lesson, name)
        assert spec.groups and spec.groups[0].name.startswith(name)
        exercise(scenario=spec, export_dir=tmp_path_factory.mktemp("tui"))
        records = Simulation(spec).run().records
        exercise(records=list(records), label=f"{name}.jsonl")

    check()


@pytest.mark.parametrize("lesson", RENAMED_LESSONS)
def test_the_closing_tag_that_crashed_the_summary_through_each_brokers_screens(
    tmp_path: Path, lesson: str
) -> None:
    """``[/b]`` is not a valid name (a '/'), so the closing half comes from a lone ``]``."""
    spec = renamed_lesson(lesson, "[bold red]x] [@click=app.quit]")
    exercise(scenario=spec, export_dir=tmp_path)


def test_markup_names_through_play_report_and_check_on_the_command_line(tmp_path: Path) -> None:
    names = ["[b]keyed", "[@click=app.quit]q", "x]", "[bold red]on", "[link=x]y"]
    prose = "[/b]closing, [/] and [@click=app.quit]a click"
    for i, name in enumerate(names[: max(2, cases(len(names)))]):
        path = tmp_path / f"m{i}.toml"
        path.write_text(lesson_text(group=name, title=prose, prose=prose), encoding="utf-8")
        for args in (["play", str(path)], ["report", str(path)], ["check", str(path)]):
            result = evsim(*args, "--seed", "1")
            assert result.returncode in (0, 1), (args, result.stderr[-2000:])
            assert "Traceback" not in result.stderr and not result.stderr.strip()
            if args[0] != "check":  # check prints the file, not the groups
                assert name in result.stdout


def _with_invisible(base: str, char: str, at: int) -> str:
    at %= len(base) + 1
    return base[:at] + char + base[at:]


@hypothesis_settings(80)
@given(
    field=st.sampled_from(["group", "topic", "producer", "consumer"]),
    char=invisible,
    at=st.integers(0, 20),
)
def test_a_name_holding_an_invisible_character_is_refused_at_its_path(
    field: str, char: str, at: int
) -> None:
    name = _with_invisible("billing", char, at)
    with pytest.raises(InputError) as caught:
        _load(lesson_text(**{field: name}))
    err = caught.value
    assert "\n" not in str(err) and not any(
        unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in str(err)
    )
    if unicodedata.category(char) == "Cc":  # refused in any text, names included
        assert "control character" in err.message or "Illegal character" in err.message
    else:
        where = {"group": "$.groups[0].name", "topic": "$.topics[0].name"}.get(field)
        assert where is None or err.where == where, err
        assert "invisible or control character" in err.message


@hypothesis_settings(60)
@given(
    char=st.characters(categories=("Cf", "Zl", "Zp"), max_codepoint=0xFFFF), at=st.integers(0, 7)
)  # type: ignore[arg-type]
def test_two_names_that_differ_only_by_an_invisible_character_cannot_both_exist(
    char: str, at: int
) -> None:
    twin = _with_invisible("billing", char, at)
    with pytest.raises(InputError) as caught:
        _load(lesson_text(group="billing", extra_group=twin))
    assert caught.value.where == "$.groups[1].name"


@hypothesis_settings(60)
@given(char=control, at=st.integers(0, 12))
def test_prose_holding_a_control_character_is_refused_but_tabs_and_newlines_pass(
    char: str, at: int
) -> None:
    with pytest.raises(InputError) as caught:
        _load(lesson_text(prose=_with_invisible("what happens", char, at)))
    message = caught.value.message  # TOML itself refuses a raw DEL
    assert "control character" in message or "Illegal character" in message
    _load(lesson_text(prose="line one\n\tline two"))


@pytest.mark.parametrize("field", ["group", "producer", "consumer", "topic"])
def test_names_with_a_slash_are_refused_as_the_docs_say(field: str) -> None:
    with pytest.raises(InputError) as caught:
        _load(lesson_text(**{field: "a/b"}))
    assert "'/'" in caught.value.message


def test_a_refused_name_is_one_line_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "esc.toml"
    path.write_text(lesson_text(group="bil\u200bling", title="\u202eevil"), encoding="utf-8")
    line = assert_one_line_refusal(evsim("play", str(path)), "$.groups[0].name", "U+200B")
    assert "\u200b" not in line and "\u202e" not in line
    path.write_text(lesson_text(title="a\x1b[2Jb"), encoding="utf-8")
    line = assert_one_line_refusal(evsim("play", str(path)), "$.title.en", "U+001B")
    assert "\x1b" not in line
