"""Errors a user can cause, as values with a file and a place in it.

Bad input — a malformed scenario, an unknown name, a corrupt trace — is not a
bug in evsim: it becomes an ``InputError`` carrying the file and a ``$.path``
(or a line), and the CLI prints it as one line and exits with status 2.
Internal bugs still raise ordinary exceptions.
"""

from __future__ import annotations

import unicodedata

__all__ = ["InputError", "control_character", "visible"]

_INVISIBLE = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))
"""Unicode categories that show nothing, or move the cursor: controls (an escape
sequence starts with one), format characters (zero-width spaces, bidi overrides),
lone surrogates (a file name that is not UTF-8), line and paragraph separators."""


def visible(text: str) -> str:
    """``text`` with every invisible character written as an escape (``\\x1b``, ``\\u202e``).

    For one line on a terminal: a user's string can neither move the cursor,
    colour the screen, reorder the line nor hide a character in a name.
    """
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch == " " or unicodedata.category(ch) not in _INVISIBLE:
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


def control_character(text: str, allowed: str = "\t\n") -> str | None:
    """The first control character in ``text`` that is not in ``allowed``, as ``U+001B``."""
    for ch in text:
        if ch not in allowed and unicodedata.category(ch) == "Cc":
            return f"U+{ord(ch):04X}"
    return None


class InputError(Exception):
    """A user-facing error: ``file: where: message`` on one line."""

    def __init__(self, file: str, where: str, message: str) -> None:
        self.file = file
        self.where = where
        self.message = " ".join(message.split())
        super().__init__(str(self))

    def __str__(self) -> str:
        # One line, whatever the file name or the message quotes: nothing in it can
        # reach the terminal as a control character.
        parts = [visible(p) for p in (self.file, self.where, self.message) if p]
        return ": ".join(parts)
