"""One word table: every label in both languages, and every label the code asks for exists."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from simulator.lessons.compare import VARY
from simulator.lessons.words import LANGS, WORDS, word

ROOT = Path(__file__).resolve().parents[2]

SOURCES = [ROOT / "cli.py", *sorted((ROOT / "simulator").rglob("*.py"))]
SOURCES += sorted((ROOT / "tui").rglob("*.py"))

CONSUMER_STATES = ("running", "crashed", "left", "restarted")
"""What ``tui.fold.Consumer.state`` can be; the flow panel shows it through ``word``."""
GROUP_STATES = ("joining", "rebalancing", "stable")
METRICS = ("produced", "acked", "processed", "retries", "lost", "duplicates", "out_of_order")
METRICS += ("dlq", "rebalances", "crashes")
"""The metrics panel's labels, looked up in a loop."""
HANDOUT_COLUMNS = ("delivered", "processed", "lost", "duplicates", "out_of_order")
HANDOUT_COLUMNS += ("dead_lettered", "produced")
FAMILIES = ("key_", "tip_", "timer_", "note_", "saga_", "sqs_")
"""Keys built from a name: a binding's action (``key_step``, ``tip_step``), a timer's kind,
what a consumer did last (``note_acked``, ``sqs_deleted``), a saga's status."""
CHANGES = {"adopted_branch", "changed_settings", "idempotent", "not_idempotent", "on", "off"}
DYNAMIC = {
    *CONSUMER_STATES,
    *GROUP_STATES,
    *METRICS,
    *HANDOUT_COLUMNS,
    *VARY,
    *CHANGES,
    *(k for k in WORDS if k.startswith(FAMILIES)),
}
"""Keys the code passes as a variable, not as a literal."""


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _literal_keys() -> dict[str, list[str]]:
    """Every ``word("key", …)`` in the code → where it is."""
    found: dict[str, list[str]] = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            first = node.args[0]
            # ``word("a" if x else "b", …)`` names both keys.
            choices = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
            for choice in choices:
                if isinstance(choice, ast.Constant) and isinstance(choice.value, str):
                    if name != "word":
                        continue
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    found.setdefault(choice.value, []).append(where)
    return found


@pytest.mark.parametrize("key", sorted(WORDS))
def test_every_word_has_both_languages_with_the_same_placeholders(key: str) -> None:
    entry = WORDS[key]
    assert entry.en.strip() and entry.ko.strip()
    assert _placeholders(entry.en) == _placeholders(entry.ko)


def test_no_word_call_names_a_missing_key() -> None:
    found = _literal_keys()
    assert len(found) > 60, "the scan should see the TUI's, the player's and the handouts' words"
    missing = {key: where for key, where in found.items() if key not in WORDS}
    assert missing == {}


def test_every_word_in_the_table_is_used() -> None:
    unused = set(WORDS) - set(_literal_keys()) - DYNAMIC
    assert unused == set()


def test_keys_the_code_passes_as_variables_are_in_the_table() -> None:
    assert DYNAMIC - set(WORDS) == set()


def test_word_fills_placeholders_and_picks_the_language() -> None:
    assert word("more_findings", "en", n=3, name="x").startswith("… and 3 more findings")
    assert "3건" in word("more_findings", "ko", n=3, name="x")
    assert word("lost", "ko") == "유실" and word("lost", "en") == "lost"
    assert LANGS == ("en", "ko")


def test_an_unknown_key_is_a_bug_not_a_label() -> None:
    with pytest.raises(KeyError):
        word("no-such-word", "en")
