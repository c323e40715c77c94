"""Code fields are checked before anything runs: one line, with the field's $.path."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner
from usercode_support import LOG_GROUP, write

from cli import app
from simulator.errors import InputError
from simulator.scenario import load_scenario
from simulator.simulation import Simulation

GOOD = """
from evsim import Context, Message, handler

@handler
def handle(message: Message, ctx: Context) -> None:
    pass
"""

CASES = {
    "missing file": (
        GOOD,
        "other.py:handle",
        "$.groups[0].handler: other.py: no such file",
    ),
    "not file.py:function": (GOOD, "consumer.handle", "is not file.py:function"),
    "no such function": (GOOD, "consumer.py:process", "has no top-level function process"),
    "syntax error": ("def handle(:\n", "consumer.py:handle", "consumer.py:1: invalid Python"),
    "wrong arguments": (
        GOOD.replace("message: Message, ctx: Context", "message"),
        "consumer.py:handle",
        "handle(message) does not fit: a @handler is handle(message, ctx)",
    ),
    "not marked": (
        GOOD.replace("@handler\n", ""),
        "consumer.py:handle",
        "handle is not marked @handler (from evsim import handler)",
    ),
    "async where it must not be": (
        GOOD.replace("def handle", "async def handle"),
        "consumer.py:handle",
        "a @handler is a plain def, not async def",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_code_field_is_one_line_naming_its_path(tmp_path: Path, case: str) -> None:
    code, ref, expected = CASES[case]
    lesson = write(tmp_path, LOG_GROUP.replace("consumer.py:handle", ref), code)
    with pytest.raises(InputError) as caught:
        load_scenario(lesson)
    text = str(caught.value)
    assert "\n" not in text and expected in text
    assert text.startswith(f"{lesson}: $.groups[0].handler: ")
    result = CliRunner().invoke(app, ["play", str(lesson), "--json"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1


def test_a_function_marked_for_another_role_is_refused_when_loaded(tmp_path: Path) -> None:
    code = GOOD.replace("import Context, Message, handler", "import Context, Message, projector")
    code = code.replace("@handler", "@projector\n@handler").replace(
        "from evsim import", "from evsim import handler\nfrom evsim import"
    )
    # the syntax tree sees @handler; the loaded function says @projector (applied last)
    scenario = load_scenario(write(tmp_path, LOG_GROUP, code))
    with pytest.raises(InputError, match="is marked @projector, but this field needs a @handler"):
        Simulation(scenario)


def test_an_error_when_the_file_runs_is_one_line(tmp_path: Path) -> None:
    code = GOOD + "\nraise SystemError('no database')\n"
    lesson = write(tmp_path, LOG_GROUP, code)
    result = CliRunner().invoke(app, ["play", str(lesson)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "evsim: error: consumer.py: running the file raised SystemError: no database"
        " (consumer.py:8)"
    )


def test_code_paths_are_relative_to_the_scenario_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lesson = write(tmp_path, LOG_GROUP, GOOD)
    scenario = load_scenario(lesson)
    assert scenario.code_dir == str(tmp_path)
    elsewhere = tmp_path / "copy"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # played from another folder, the code is still found
    result = CliRunner().invoke(app, ["play", str(lesson), "--json"])
    assert result.exit_code == 0, result.output


def test_a_group_with_its_own_handler_has_no_output_topic(tmp_path: Path) -> None:
    toml = LOG_GROUP.replace(
        'handler = "consumer.py:handle"',
        'handler = "consumer.py:handle"\noutput_topic = "payments"',
    )
    with pytest.raises(
        InputError, match=r"\$\.groups\[0\]\.output_topic: a group with its own handler"
    ):
        load_scenario(write(tmp_path, toml, GOOD))


def test_an_unknown_property_is_refused(tmp_path: Path) -> None:
    toml = LOG_GROUP.replace("settle_ms = 500", 'settle_ms = 500\nproperties = ["tidy"]')
    with pytest.raises(InputError, match=r"\$\.properties\[0\]: unknown property 'tidy'"):
        load_scenario(write(tmp_path, toml, GOOD))


def test_the_trace_header_names_the_code_and_its_source(tmp_path: Path) -> None:
    sim = Simulation(load_scenario(write(tmp_path, LOG_GROUP, GOOD)))
    settings = sim.trace.records[0].settings  # type: ignore[attr-defined]
    assert settings["code.billing.handler"] == "consumer.py:handle"
    assert len(settings["code.consumer.py.sha256"]) == 16


def test_the_schema_describes_the_code_fields() -> None:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    assert "file.py:function, the file relative to this scenario file" in result.stdout
