"""Lesson templates: the starting files of ``evsim new NAME --template KIND``.

A new author learns the format fastest from a small lesson that already works:
each template is a complete scenario for one broker model — topology,
workload, one fault, a prediction question, narration in English and Korean
and expectations that hold — with comments that say what to change. They are
shipped as package data in ``scenarios/templates/`` (a subfolder, so they are
not built-in lessons), one per model that names one in its spec
(``simulator.models.registry``), and ``__NAME__`` in them becomes the new
lesson's name.
"""

from __future__ import annotations

from importlib import resources

from simulator.models.registry import models

__all__ = ["render_template", "template_kinds", "template_text"]

PLACEHOLDER = "__NAME__"


def template_kinds() -> list[str]:
    """Template kinds: the names of the models that ship a template."""
    return [m.name for m in models() if m.template is not None]


def template_text(kind: str) -> str:
    """The template file as shipped; raises ``KeyError`` for an unknown kind."""
    spec = next((m for m in models() if m.name == kind), None)
    if spec is None or spec.template is None:
        raise KeyError(kind)
    return resources.files("scenarios").joinpath("templates", spec.template).read_text("utf-8")


def render_template(kind: str, name: str) -> str:
    """The template with the lesson's name filled in."""
    return template_text(kind).replace(PLACEHOLDER, name)
