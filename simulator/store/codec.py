"""Encoding events to bytes and back, upcasting old ones on the way in.

The store holds bytes; a domain works with classes. The codec sits between: it
writes each event as msgspec JSON with its stable tag and current schema
version, and reads a stored event back with one prepared decoder per type.
When a stored event's schema version is older than its class, the payload is
decoded as a plain object, lifted through the domain's upcaster chain
(v1 → v2 → …) and only then converted to the class — the stored bytes never
change. Snapshots of state go through the same codec.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import msgspec

from simulator.domain.decider import Domain, event_schema_version, event_tag
from simulator.domain.upcasting import UpcasterChain
from simulator.store.records import NewEvent, StoredEvent, StoreError

__all__ = ["EventCodec"]

C = TypeVar("C", bound=msgspec.Struct)
E = TypeVar("E", bound=msgspec.Struct)
S = TypeVar("S")


class EventCodec(Generic[C, E, S]):
    """Encodes a domain's events and state; decodes and upcasts stored ones."""

    def __init__(self, domain: Domain[C, E, S], *, file: str = "") -> None:
        self.domain = domain
        self._file = file
        self._encoder = msgspec.json.Encoder()
        self._tags: dict[type[E], tuple[str, int]] = {
            t: (event_tag(t), event_schema_version(t)) for t in domain.event_types
        }
        self._decoders: dict[str, tuple[int, msgspec.json.Decoder[E]]] = {
            event_tag(t): (event_schema_version(t), msgspec.json.Decoder(t))
            for t in domain.event_types
        }
        self._classes: dict[str, type[E]] = {event_tag(t): t for t in domain.event_types}
        self._chain = UpcasterChain(domain.upcasters)
        self._state_decoder: msgspec.json.Decoder[S] = msgspec.json.Decoder(domain.state_type)

    # -- events -----------------------------------------------------------------

    def encode(self, event: E) -> NewEvent:
        tag, version = self._tags[type(event)]
        return NewEvent(type=tag, schema_version=version, data=self._encoder.encode(event))

    def encode_all(self, events: Sequence[E]) -> list[NewEvent]:
        tags = self._tags
        encode = self._encoder.encode
        out = []
        for event in events:
            tag, version = tags[type(event)]
            out.append(NewEvent(type=tag, schema_version=version, data=encode(event)))
        return out

    def decode(self, stored: StoredEvent) -> E:
        """The stored event as its current class, upcast if it was written by older code."""
        entry = self._decoders.get(stored.type)
        if entry is not None and entry[0] == stored.schema_version:
            try:
                return entry[1].decode(stored.data)
            except msgspec.ValidationError as error:
                raise self._error(stored, stored.type, f"data does not fit: {error}") from None
        return self._decode_old(stored.type, stored.schema_version, stored.data, stored)

    def decode_data(
        self,
        event_type: str,
        schema_version: int,
        data: bytes,
        stored: StoredEvent | None = None,
    ) -> E:
        entry = self._decoders.get(event_type)
        if entry is not None and entry[0] == schema_version:
            try:
                return entry[1].decode(data)
            except msgspec.ValidationError as error:
                raise self._error(stored, event_type, f"data does not fit: {error}") from None
        return self._decode_old(event_type, schema_version, data, stored)

    def _decode_old(
        self, event_type: str, schema_version: int, data: bytes, stored: StoredEvent | None
    ) -> E:
        entry = self._decoders.get(event_type)
        if entry is None:
            raise self._error(
                stored, event_type, f"unknown event type for domain {self.domain.name!r}"
            )
        current = entry[0]
        if schema_version > current:
            raise self._error(
                stored,
                event_type,
                f"schema version {schema_version} is newer than domain "
                f"{self.domain.name!r} knows ({current})",
            )
        try:
            payload: dict[str, Any] = msgspec.json.decode(data, type=dict[str, Any])
            payload = self._chain.upcast(event_type, schema_version, payload, current)
            return msgspec.convert(payload, self._classes[event_type])
        except LookupError as error:
            raise self._error(stored, event_type, str(error)) from None
        except msgspec.MsgspecError as error:
            message = f"data does not fit after upcasting: {error}"
            raise self._error(stored, event_type, message) from None

    def _error(self, stored: StoredEvent | None, event_type: str, message: str) -> StoreError:
        where = (
            f"{stored.stream_id} v{stored.version} (position {stored.position})"
            if stored is not None
            else event_type
        )
        return StoreError(self._file, f"{event_type}: {message}", where=where)

    # -- state (snapshots) ------------------------------------------------------

    def encode_state(self, state: S) -> bytes:
        return self._encoder.encode(state)

    def decode_state(self, data: bytes) -> S:
        """Raises ``msgspec.MsgspecError`` when the bytes do not fit the state class."""
        return self._state_decoder.decode(data)
