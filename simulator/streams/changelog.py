"""The state store's changelog: every change to a store entry, as a record of a topic.

Kafka Streams backs each state store with a compacted *changelog topic*: every
put writes the new value under the entry's key, every delete a tombstone. A
task that lost its local store (a crash, a move to another instance) replays the
changelog from the start and gets the store back. Under exactly-once the
changelog writes are part of the task's transaction, so a restore never sees a
change whose input offsets were not committed; under at-least-once it can —
and the replayed input is then counted twice.

Values are JSON; ``__stream_time__`` holds the highest event time seen (Kafka
Streams keeps that in the offset commit's metadata instead).
"""

from __future__ import annotations

import msgspec

from simulator.streams.operator import WindowState

__all__ = ["STREAM_TIME_KEY", "decode_state", "encode_state", "encode_stream_time"]

STREAM_TIME_KEY = "__stream_time__"


class _Entry(msgspec.Struct, frozen=True, array_like=True):
    key: str
    start: int
    end: int | None
    value: int
    records: int
    emitted: bool
    revision: int
    last_msg: int


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(_Entry)


def encode_state(s: WindowState) -> str:
    return _encoder.encode(
        _Entry(s.key, s.start, s.end, s.value, s.records, s.emitted, s.revision, s.last_msg)
    ).decode()


def decode_state(text: str) -> WindowState:
    e = _decoder.decode(text)
    s = WindowState(e.key, e.start, e.end)
    s.value, s.records, s.emitted = e.value, e.records, e.emitted
    s.revision, s.last_msg = e.revision, e.last_msg
    return s


def encode_stream_time(max_event_ms: int) -> str:
    return str(max_event_ms)
