"""The concept guide: one Markdown page per chapter of the course, in en and ko.

The pages live in ``docs/guide/<lang>/`` in the source tree, and the wheel
ships the same folder inside the ``scenarios`` package as ``scenarios/guide``
(``pyproject.toml``, hatch ``force-include``), so an installed ``evsim`` reads
them from there. ``guide_page`` looks in the package first, then the source
tree; it is plain file reading, shared by the TUI's Learn screen and anyone
else who needs a page.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["guide_dirs", "guide_page"]

LANGS = ("en", "ko")


def guide_dirs() -> list[Path]:
    """Where the guide may be: the installed package's copy, then the source tree's."""
    packaged = Path(str(resources.files("scenarios").joinpath("guide")))
    source = Path(__file__).resolve().parent.parent / "docs" / "guide"
    return [packaged, source]


def guide_page(file: str, lang: str) -> tuple[str, Path] | None:
    """The text of page ``file`` in ``lang`` (English if there is no such translation)."""
    if Path(file).name != file:  # a chapter names a file, never a path out of the guide
        return None
    for language in dict.fromkeys((lang if lang in LANGS else "en", "en")):
        for base in guide_dirs():
            path = base / language / file
            if path.is_file():
                return path.read_text(encoding="utf-8"), path
    return None
