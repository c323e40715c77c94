"""The sqs model's picture (``ModelSpec.view = "tui.views.sqs"``).

For now it is the default picture; the model's own drawing grows here.
"""

from __future__ import annotations

from tui.views.default import picture

__all__ = ["picture"]
