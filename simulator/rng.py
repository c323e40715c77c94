"""Seeded randomness with named child streams.

A simulation owns exactly one root seed. Every component that needs chance (a
network that drops packets, a handler that fails transiently, a workload that
picks keys) asks for its own *named stream*, derived from the root seed and the
name by SHA-256. Streams are independent: adding a fault that draws numbers
does not shift the numbers another component sees, so a "what if" fork differs
from the original only where it must. Python's built-in string hashing is avoided because
it changes from process to process.
"""

from __future__ import annotations

import hashlib
import random

__all__ = ["SeedSequence", "derive_seed"]


def derive_seed(seed: int, name: str) -> int:
    """Return a 64-bit seed derived from ``seed`` and ``name``, stable in any process."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class SeedSequence:
    """The root of a simulation's randomness; hands out one stream per name."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._streams: dict[str, random.Random] = {}

    def stream(self, name: str) -> random.Random:
        """The stream called ``name``; asking twice returns the same stream."""
        stream = self._streams.get(name)
        if stream is None:
            stream = random.Random(derive_seed(self.seed, name))
            self._streams[name] = stream
        return stream
