"""The registry of built-in domains, and what every domain must satisfy."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
import pytest

from simulator.domain import (
    DOMAINS,
    Decider,
    Domain,
    Rejected,
    UnknownDomain,
    Upcaster,
    UpcasterChain,
    domain_names,
    event_tag,
    get_domain,
)


def test_every_built_in_domain_is_found_by_its_name() -> None:
    assert domain_names() == ("bank", "bank-v1", "orders", "rides", "viewing")
    for name in domain_names():
        assert get_domain(name).name == name


def test_an_unknown_name_is_an_error_value_listing_the_known_ones() -> None:
    with pytest.raises(UnknownDomain) as caught:
        get_domain("banks")
    assert str(caught.value) == (
        "unknown domain 'banks' (known: bank, bank-v1, orders, rides, viewing)"
    )
    assert caught.value.name == "banks"
    assert isinstance(caught.value, LookupError)


@pytest.mark.parametrize("name", list(DOMAINS))
def test_tags_are_stable_dotted_names_and_commands_differ_from_events(name: str) -> None:
    domain = get_domain(name)
    event_tags = [event_tag(t) for t in domain.event_types]
    command_tags = [event_tag(t) for t in domain.command_types]
    assert all("." in tag for tag in event_tags + command_tags)
    assert not set(event_tags) & set(command_tags)
    assert len(set(command_tags)) == len(command_tags)


@pytest.mark.parametrize("name", list(DOMAINS))
def test_the_initial_state_survives_a_snapshot_round_trip(name: str) -> None:
    domain = get_domain(name)
    encoded = msgspec.json.encode(domain.initial_state)
    assert msgspec.json.decode(encoded, type=domain.state_type) == domain.initial_state


# -- Domain checks its own consistency --------------------------------------------


class Noted(msgspec.Struct, frozen=True, kw_only=True, tag="test.noted"):
    SCHEMA_VERSION: ClassVar[int] = 3
    text: str


class AlsoNoted(msgspec.Struct, frozen=True, kw_only=True, tag="test.noted"):
    text: str


class Untagged(msgspec.Struct, frozen=True, kw_only=True):
    text: str


class Nothing(msgspec.Struct, frozen=True):
    pass


def _domain(event_types: tuple[type[Any], ...], upcasters: tuple[Upcaster, ...] = ()) -> None:
    Domain(
        name="t",
        summary="",
        decider=Decider(
            initial_state=Nothing(),
            decide=lambda command, state: Rejected(reason="no"),
            evolve=lambda state, event: state,
        ),
        command_types=(),
        event_types=event_types,
        state_type=Nothing,
        state_schema_version=1,
        stream_id=lambda command: "t",
        upcasters=upcasters,
    )


def _step(event_type: str, from_version: int) -> Upcaster:
    return Upcaster(event_type=event_type, from_version=from_version, upcast=dict)


def test_a_complete_upcaster_chain_is_accepted() -> None:
    _domain((Noted,), (_step("test.noted", 1), _step("test.noted", 2)))


@pytest.mark.parametrize(
    ("event_types", "upcasters", "message"),
    [
        ((Noted, AlsoNoted), (), "share a tag"),
        ((Untagged,), (), "explicit string tag"),
        ((Noted,), (_step("test.other", 1),), "unknown event type"),
        ((Noted,), (_step("test.noted", 1),), "stops at v2"),
        ((Noted,), (_step("test.noted", 3),), "goes past the current version"),
        ((Noted,), (_step("test.noted", 2), _step("test.noted", 2)), "two upcasters"),
    ],
)
def test_an_inconsistent_domain_is_refused_when_defined(
    event_types: tuple[type[Any], ...], upcasters: tuple[Upcaster, ...], message: str
) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        _domain(event_types, upcasters)


def test_a_missing_step_in_a_chain_is_reported_when_reading() -> None:
    chain = UpcasterChain((_step("test.noted", 2),))
    with pytest.raises(LookupError, match=r"no upcaster for test\.noted v1"):
        chain.upcast("test.noted", 1, {}, 3)
