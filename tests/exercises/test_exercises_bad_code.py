"""A student's broken code: one line naming the file and its line, never a traceback.

Code that cannot be judged — it does not parse, its function has the wrong
signature or no marker, it reads the machine's clock, it never returns — stops
``evsim play`` with one line on stderr and exit 2, and ``evsim exercise grade``
with the verdict ``error`` and the same line. Code that raises is judged: the
exception is a handler error in the trace, with its type, message and line, and
what it breaks fails the grade.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

runner = CliRunner()

BAD = {
    "syntax error": (
        "from evsim import handler\n@handler\ndef handle(message, ctx)\n    pass\n",
        "consumer.py:3: invalid Python",
    ),
    "wrong signature": (
        "from evsim import handler\n@handler\ndef handle(message):\n    pass\n",
        "consumer.py:3: handle(message) does not fit: a @handler is handle(message, ctx)",
    ),
    "no marker": (
        "from evsim import handler\ndef handle(message, ctx):\n    pass\n",
        "consumer.py:2: handle is not marked @handler",
    ),
    "raises when loaded": (
        "from evsim import handler\n@handler\ndef handle(message, ctx):\n    pass\n"
        "raise RuntimeError('oops')\n",
        "consumer.py: running the file raised RuntimeError: oops (consumer.py:5)",
    ),
    "endless loop": (
        "from evsim import handler\n@handler\ndef handle(message, ctx):\n"
        "    while True:\n        pass\n",
        "consumer.py: line ",
    ),
    "wall clock": (
        "import time\nfrom evsim import handler\n@handler\ndef handle(message, ctx):\n"
        "    ctx.effect('charge', amount=int(time.time()))\n",
        "consumer.py: line 5: your code is not deterministic: it calls time.time()",
    ),
}


def _folder(tmp_path: Path, code: str | None) -> Path:
    folder = tmp_path / "mine"
    started = runner.invoke(app, ["exercise", "start", "idempotent-consumer", str(folder)])
    assert started.exit_code == 0, started.output
    if code is None:
        (folder / "consumer.py").unlink()
    else:
        (folder / "consumer.py").write_text(code, encoding="utf-8")
    return folder


@pytest.mark.parametrize("case", sorted(BAD))
def test_code_that_cannot_run_is_one_line_and_exit_2_and_an_error_grade(
    tmp_path: Path, case: str
) -> None:
    code, expected = BAD[case]
    folder = _folder(tmp_path, code)
    played = runner.invoke(app, ["play", str(folder / "lesson.toml"), "--quiet"])
    assert played.exit_code == 2, played.output
    lines = [line for line in played.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in played.output, played.output
    assert lines[0].startswith("evsim: error: ") and expected in lines[0], lines[0]

    graded = runner.invoke(app, ["exercise", "grade", str(folder), "--json", "--runs", "3"])
    assert graded.exit_code == 1, graded.output
    grade = json.loads(graded.stdout)
    assert grade["verdict"] == "error" and expected in grade["detail"], grade["detail"]
    assert grade["counterexample"] is None and not (folder / "counterexample.toml").exists()


def test_a_missing_file_is_named_with_the_folder_it_was_looked_for_in(tmp_path: Path) -> None:
    folder = _folder(tmp_path, None)
    played = runner.invoke(app, ["play", str(folder / "lesson.toml"), "--quiet"])
    assert played.exit_code == 2
    assert "consumer.py: no such file (looked in" in played.stderr
    graded = runner.invoke(app, ["exercise", "grade", str(folder), "--json"])
    assert (graded.exit_code, json.loads(graded.stdout)["verdict"]) == (1, "error")


def test_a_handler_that_raises_is_a_handler_error_in_the_trace_and_fails_the_grade(
    tmp_path: Path,
) -> None:
    code = (
        "from evsim import handler\n@handler\ndef handle(message, ctx):\n"
        "    if message.id == 4:\n        raise ValueError('bad amount')\n"
        "    ctx.effect('charge', key=message.key)\n"
    )
    folder = _folder(tmp_path, code)
    trace = tmp_path / "trace.jsonl"
    played = runner.invoke(
        app, ["play", str(folder / "lesson.toml"), "--quiet", "--export-trace", str(trace)]
    )
    assert played.exit_code == 1 and "Traceback" not in played.output, played.output
    failed = [
        json.loads(line)
        for line in trace.read_text(encoding="utf-8").splitlines()
        if '"ProcessingFailed"' in line
    ]
    assert failed and all(r["error"] == "ValueError: bad amount (consumer.py:5)" for r in failed)
    graded = runner.invoke(app, ["exercise", "grade", str(folder), "--json", "--runs", "3"])
    grade = json.loads(graded.stdout)
    assert (graded.exit_code, grade["verdict"]) == (1, "fail"), grade
    assert grade["detail"].startswith("run 0 (seed 1) breaks lost == 0")
