"""Lesson templates: the starting files of ``evsim new NAME --template KIND``.

A new author learns the format fastest from a small lesson that already works:
each template is a complete scenario for one broker model — topology,
workload, one fault, a prediction question, narration in English and Korean
and expectations that hold — with comments that say what to change. They are
shipped as package data in ``scenarios/templates/`` (a subfolder, so they are
not built-in lessons), and ``__NAME__`` in them becomes the new lesson's name.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["TEMPLATES", "render_template", "template_text"]

TEMPLATES = ("log", "rabbitmq", "sqs", "sqs-fifo")
"""Template kinds, one per broker model."""

PLACEHOLDER = "__NAME__"


def template_text(kind: str) -> str:
    """The template file as shipped; raises ``KeyError`` for an unknown kind."""
    if kind not in TEMPLATES:
        raise KeyError(kind)
    return resources.files("scenarios").joinpath("templates", f"{kind}.toml").read_text("utf-8")


def render_template(kind: str, name: str) -> str:
    """The template with the lesson's name filled in."""
    return template_text(kind).replace(PLACEHOLDER, name)
