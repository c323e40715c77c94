"""Views: how each broker model is drawn on the stage, chosen through the model registry.

A model's ``ModelSpec.view`` names a module (``tui.views.log``, or a course's own
``toy_model.view``); that module has a function ``picture(state, width, lang)``
returning a ``Picture`` — lines of text and where each component sits on them,
so the flow widget can move chips between components and dim what the
narration is not about. ``view_for(broker)`` imports the module once; a model
without a view, or one whose module cannot be imported, is drawn by
``tui.views.default`` (and ``view_problem`` says why, once).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType

from simulator.models import registry
from tui.fold import ViewState
from tui.views.picture import Picture

__all__ = ["DEFAULT_VIEW", "Picture", "PictureFn", "view_for", "view_problem"]

PictureFn = Callable[[ViewState, int, str], Picture]
DEFAULT_VIEW = "tui.views.default"

_resolved: dict[str, tuple[PictureFn, str | None]] = {}


def _load(dotted: str) -> tuple[PictureFn, str | None]:
    try:
        module: ModuleType = importlib.import_module(dotted)
    except ImportError as err:
        return _default(), f"view {dotted!r} cannot be imported ({err}); drawn by the default view"
    fn = getattr(module, "picture", None)
    if not callable(fn):
        return _default(), f"view {dotted!r} has no picture(state, width, lang)"
    return fn, None


def _default() -> PictureFn:
    from tui.views.default import picture

    return picture


def _resolve(broker: str) -> tuple[PictureFn, str | None]:
    known = _resolved.get(broker)
    if known is not None:
        return known
    try:
        dotted = registry.model(broker).view or DEFAULT_VIEW
    except registry.UnknownModel:
        dotted = DEFAULT_VIEW
    found = _load(dotted)
    _resolved[broker] = found
    return found


def view_for(broker: str) -> PictureFn:
    """The picture function of ``broker``'s view (the default view if it has none)."""
    return _resolve(broker)[0]


def view_problem(broker: str) -> str | None:
    """Why ``broker`` is drawn by the default view although it names another, or None."""
    return _resolve(broker)[1]
