"""Views: how each broker model is drawn on the stage, chosen through the model registry.

A model's ``ModelSpec.view`` names a module (``tui.views.log``, or a course's own
``toy_model.view``); that module has a function ``picture(state, width, lang)``
returning a ``Picture`` — lines of text and where each component sits on them,
so the flow widget can move chips between components and dim what the
narration is not about — and may have ``topology(scenario, settings, lang)``,
the lesson drawn in the model's own terms before it runs (the lesson picker's
preview). ``view_for(broker)`` imports the module once; a model without a view,
or one whose module cannot be imported, is drawn by ``tui.views.default`` (and
``view_problem`` says why, once); ``topology_for(broker)`` falls back the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

from rich.text import Text

from simulator.models import registry
from tui.fold import ViewState
from tui.views.picture import Picture

if TYPE_CHECKING:
    from simulator.scenario import Scenario

__all__ = [
    "DEFAULT_VIEW",
    "Picture",
    "PictureFn",
    "TopologyFn",
    "topology_for",
    "view_for",
    "view_problem",
]

PictureFn = Callable[[ViewState, int, str], Picture]
TopologyFn = Callable[["Scenario", dict[str, str], str], list[Text]]
DEFAULT_VIEW = "tui.views.default"

_resolved: dict[str, tuple[PictureFn, str | None]] = {}
_modules: dict[str, ModuleType | None] = {}


def _module(dotted: str) -> ModuleType | None:
    if dotted not in _modules:
        try:
            _modules[dotted] = importlib.import_module(dotted)
        except ImportError:
            _modules[dotted] = None
    return _modules[dotted]


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


def _dotted(broker: str) -> str:
    try:
        return registry.model(broker).view or DEFAULT_VIEW
    except registry.UnknownModel:
        return DEFAULT_VIEW


def topology_for(broker: str) -> TopologyFn:
    """How ``broker``'s view draws a lesson before it runs (the log's, if it has none)."""
    module = _module(_dotted(broker))
    fn = getattr(module, "topology", None) if module is not None else None
    if callable(fn):
        return fn  # type: ignore[no-any-return]
    from tui.views.log import topology

    return topology


def _resolve(broker: str) -> tuple[PictureFn, str | None]:
    known = _resolved.get(broker)
    if known is not None:
        return known
    found = _load(_dotted(broker))
    _resolved[broker] = found
    return found


def view_for(broker: str) -> PictureFn:
    """The picture function of ``broker``'s view (the default view if it has none)."""
    return _resolve(broker)[0]


def view_problem(broker: str) -> str | None:
    """Why ``broker`` is drawn by the default view although it names another, or None."""
    return _resolve(broker)[1]
