"""Messages: a plain one has no details, a detailed one keeps what it is given."""

from __future__ import annotations

import pytest

from simulator.messages import DetailedMessage, GeneratedMessage, Message


def test_a_plain_message_reads_as_no_tombstone_no_event_time_no_dedup_id() -> None:
    m = Message(7, "checkout", "k", 1, "hello", 40)
    assert (m.value, m.tombstone, m.event_time, m.dedup_id) == ("hello", False, None, None)
    assert m.event_time_ms == 40


def test_a_plain_message_refuses_a_detail_instead_of_dropping_it() -> None:
    m = Message(7, "checkout", "k", 1, "hello", 40)
    with pytest.raises(AttributeError, match="read-only"):
        m.tombstone = True
    with pytest.raises(AttributeError, match=r"m7 is a plain Message: .* an event time"):
        m.event_time_ms = 10
    with pytest.raises(AttributeError, match="a deduplication id"):
        m.dedup_id = "d-1"


def test_a_detailed_message_keeps_its_details() -> None:
    m = DetailedMessage(8, "checkout", "k", 2, "v", 50, True, 30, "d-1")
    assert (m.tombstone, m.event_time_ms, m.dedup_id) == (True, 30, "d-1")
    m.event_time_ms = 45
    m.tombstone = False
    assert (m.event_time, m.tombstone) == (45, False)


def test_a_generated_message_builds_its_value_from_its_prefix_and_number() -> None:
    m = GeneratedMessage(13, "checkout", "k", 1, "order-", 0)
    assert m.value == "order-12" and not m.tombstone and m.event_time_ms == 0
