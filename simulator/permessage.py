"""Books kept per message id, in arrays rather than dicts.

A long run has millions of messages, and whatever a component books for each
one stays for the whole run. A dict entry costs about 50 bytes, and a number
stored as an ``int`` object 28 more (kept alive after the trace itself no
longer needs it: written to disk, say). Message ids are small and dense
(``m1``, ``m2`` … in send order), so an array indexed by the id holds the same
books in a few raw bytes per message, with few holes. An id far past the end
(a live trace's foreign header) or negative goes to a dict or set beside the
array, so any id is booked right.
"""

from __future__ import annotations

from array import array
from sys import byteorder

__all__ = ["MessageFlags", "PerMessage"]

_SLACK = 4096
"""Ids the array grows by at least, and how far past its end an id may be and still
make it grow (more than twice its length plus this goes beside it)."""


def _dense(msg: int, have: int) -> bool:
    """Whether growing an array of ``have`` slots to index ``msg`` keeps it dense."""
    return 0 <= msg <= 2 * have + 16 * _SLACK


def _top_bytes(numbers: array[int]) -> bytes:
    """The most significant byte of every slot: 0xff where it holds a negative number."""
    size = numbers.itemsize
    raw = memoryview(numbers).cast("B")  # no copy of the whole array: a byte per slot
    return raw[size - 1 if byteorder == "little" else 0 :: size].tobytes()


def _growth(msg: int, have: int) -> int:
    """Slots to add so that ``msg`` fits: amortised, with little slack at the end."""
    return max(msg + 1 - have, have // 8 + _SLACK)


class PerMessage:
    """Message id → one number about it (a record's seq, a producer's index), or -1.

    ``typecode`` is the array's: ``q`` (8 bytes) for seqs, ``i`` (4) for small
    indexes. A hot path may read and write ``numbers`` itself when the id is
    within it, and call ``add`` otherwise (a method call per record costs time).
    """

    __slots__ = ("far", "numbers")

    def __init__(self, typecode: str = "q") -> None:
        self.numbers = array(typecode)
        """Indexed by message id; -1 where the message has no number."""
        self.far: dict[int, int] = {}
        """The ids the array does not reach."""

    def __len__(self) -> int:
        """Messages booked."""
        return len(self.numbers) - self.numbers.count(-1) + len(self.far)

    def __contains__(self, msg: int) -> bool:
        return self.get(msg) >= 0

    def get(self, msg: int) -> int:
        """The number booked for ``msg``; -1 if none."""
        numbers = self.numbers
        if 0 <= msg < len(numbers):
            return numbers[msg]
        return self.far.get(msg, -1)

    def add(self, msg: int, number: int) -> bool:
        """Book ``number`` for ``msg`` unless it has one already; whether it was new."""
        numbers = self.numbers
        if not 0 <= msg < len(numbers) and not self._reach(msg):
            if msg in self.far:
                return False
            self.far[msg] = number
        elif numbers[msg] >= 0:
            return False
        else:
            numbers[msg] = number
        return True

    def set(self, msg: int, number: int) -> None:
        """Book ``number`` for ``msg``, in place of any it had."""
        numbers = self.numbers
        if 0 <= msg < len(numbers) or self._reach(msg):
            numbers[msg] = number
        else:
            self.far[msg] = number

    def reserve(self, count: int) -> None:
        """Make room for ids below ``count`` at once (the run's messages are known up front):
        books for them then never grow the array on a hot path."""
        numbers = self.numbers
        if count > len(numbers):
            numbers.frombytes(b"\xff" * ((count - len(numbers)) * numbers.itemsize))  # -1s

    def _reach(self, msg: int) -> bool:
        """Grow the array to index ``msg`` if that keeps it dense; whether it does."""
        numbers = self.numbers
        if not _dense(msg, len(numbers)):
            return False
        numbers.frombytes(b"\xff" * (_growth(msg, len(numbers)) * numbers.itemsize))  # -1s
        return True

    def in_seq_order(self, unless: PerMessage) -> list[tuple[int, int]]:
        """(msg, number) for every message booked here and not in ``unless``, by number.

        For books of seqs, that is the order the messages were booked in (the
        trace's order), which a dict would have kept. It visits every message of
        the run, so it compares the two arrays a byte per message, in C: the most
        significant byte of a slot is 0xff for -1 and 0x00 for any number booked
        (a seq is far below 2**56), and two such byte strings, read as big
        integers, combine in one ``&``. Only the messages found are looked at.
        """
        mine = self.numbers
        n = len(mine)
        unbooked_mine = _top_bytes(mine)
        unbooked_theirs = _top_bytes(unless.numbers)[:n].ljust(n, b"\xff")
        missing = int.from_bytes(unbooked_theirs, "little") & ~int.from_bytes(
            unbooked_mine, "little"
        )
        left: list[tuple[int, int]] = []
        if missing:
            found = missing.to_bytes(n, "little")
            msg = found.find(0xFF)
            while msg >= 0:
                if msg not in unless.far:
                    left.append((mine[msg], msg))
                msg = found.find(0xFF, msg + 1)
        left.extend((number, msg) for msg, number in self.far.items() if msg not in unless)
        left.sort()
        return [(msg, number) for number, msg in left]


class MessageFlags:
    """The set of message ids that have happened to something (been received, say)."""

    __slots__ = ("far", "flags")

    def __init__(self) -> None:
        self.flags = bytearray()
        """Indexed by message id: 1 if the message is in the set."""
        self.far: set[int] = set()
        """The ids the array does not reach."""

    def __contains__(self, msg: int) -> bool:
        flags = self.flags
        if 0 <= msg < len(flags):
            return flags[msg] == 1
        return msg in self.far

    def __len__(self) -> int:
        return self.flags.count(1) + len(self.far)

    def add(self, msg: int) -> None:
        flags = self.flags
        if 0 <= msg < len(flags):
            flags[msg] = 1
        elif _dense(msg, len(flags)):
            flags.extend(bytes(_growth(msg, len(flags))))
            flags[msg] = 1
        else:
            self.far.add(msg)
