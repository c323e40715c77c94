"""One term per concept: the word table, the lessons and the guide follow docs/glossary.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from simulator.lessons.words import WORDS

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = tomllib.loads((ROOT / "docs" / "glossary.toml").read_text(encoding="utf-8"))["term"]
AVOIDED = [(t["en"], t["ko"], bad) for t in GLOSSARY for bad in t["avoid"]]


def _korean_texts() -> list[tuple[str, str]]:
    """(where, text) for every Korean text evsim shows: words, lesson files and exercise
    tasks, the guide and the Korean pages of docs/."""
    out = [(f"words.py:{key}", w.ko) for key, w in WORDS.items()]
    for path in sorted((ROOT / "scenarios").rglob("*.toml")):
        out.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
    for path in sorted((ROOT / "scenarios").rglob("*.ko.md")):
        out.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
    for path in sorted((ROOT / "docs" / "guide").rglob("*.md")):
        out.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
    for path in sorted((ROOT / "docs").glob("*.ko.md")):
        out.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
    return out


def test_the_glossary_names_each_concept_once() -> None:
    assert GLOSSARY, "docs/glossary.toml has no terms"
    ens = [t["en"] for t in GLOSSARY]
    assert len(ens) == len(set(ens))
    for t in GLOSSARY:
        assert t["ko"] and t["ko"] not in t["avoid"]


@pytest.mark.parametrize(("en", "ko", "bad"), AVOIDED)
def test_no_text_uses_an_avoided_variant(en: str, ko: str, bad: str) -> None:
    found = [where for where, text in _korean_texts() if bad in text]
    assert not found, f"{en!r} is {ko!r}, not {bad!r}: {found}"


def test_the_word_table_uses_the_glossary_terms() -> None:
    """A label whose English is a glossary term says it with the glossary's Korean term."""
    by_en = {t["en"]: t["ko"] for t in GLOSSARY}
    for key, w in WORDS.items():
        term = by_en.get(w.en.lower())
        if term is not None:
            assert term in w.ko, f"{key}: {w.ko!r} should use {term!r}"
