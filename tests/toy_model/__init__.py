"""A toy broker model, registered from outside the core: the worked example of a new model.

Everything a model needs lives in this package — the broker (``broker``), its
scenario sections, their checks and its trace-header settings (``settings``)
and the spec the registry reads (``spec``) — and nothing outside it names the
model: ``simulator.models.registry.register(TOY)`` (or ``registered(TOY)`` for
a while) is all it takes for ``broker = "toy"`` to validate, run, compare and
play from the CLI. ``docs/architecture.md`` walks through it.
"""

from toy_model.spec import TOY

__all__ = ["TOY"]
