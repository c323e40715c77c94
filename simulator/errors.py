"""Errors a user can cause, as values with a file and a place in it.

Bad input — a malformed scenario, an unknown name, a corrupt trace — is not a
bug in evsim: it becomes an ``InputError`` carrying the file and a ``$.path``
(or a line), and the CLI prints it as one line and exits with status 2.
Internal bugs still raise ordinary exceptions.
"""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(Exception):
    """A user-facing error: ``file: where: message`` on one line."""

    def __init__(self, file: str, where: str, message: str) -> None:
        self.file = file
        self.where = where
        self.message = " ".join(message.split())
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [p for p in (self.file, self.where, self.message) if p]
        return ": ".join(parts)
