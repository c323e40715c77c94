"""Books per message id: an array by id, and any id still booked right."""

from __future__ import annotations

import random

from simulator.permessage import MessageFlags, PerMessage


def test_a_message_is_booked_once_and_keeps_its_first_number() -> None:
    books = PerMessage()
    assert books.add(3, 40) and not books.add(3, 99)
    assert books.get(3) == 40 and 3 in books and 2 not in books and books.get(2) == -1
    assert len(books) == 1


def test_ids_far_past_the_end_or_negative_are_booked_beside_the_array() -> None:
    books = PerMessage()
    for msg, seq in ((10**12, 1), (-5, 2), (1, 3)):
        assert books.add(msg, seq)
    assert not books.add(10**12, 7) and not books.add(-5, 8)
    assert [books.get(m) for m in (10**12, -5, 1)] == [1, 2, 3]
    assert len(books) == 3 and len(books.numbers) < 10**6


def test_in_seq_order_lists_the_messages_not_booked_elsewhere_by_their_seq() -> None:
    acked, processed = PerMessage(), PerMessage()
    for msg, seq in ((5, 10), (2, 11), (10**12, 12), (7, 13), (-1, 14)):
        acked.add(msg, seq)
    processed.add(7, 20)
    processed.add(-1, 21)
    assert acked.in_seq_order(processed) == [(5, 10), (2, 11), (10**12, 12)]


def test_a_small_producer_table_holds_indexes() -> None:
    producers = PerMessage("i")
    producers.add(4, 0)
    producers.add(70_000, 2)
    assert producers.get(4) == 0 and producers.get(70_000) == 2 and producers.get(5) == -1


def test_flags_hold_any_id_and_only_those_added() -> None:
    flags = MessageFlags()
    for msg in (1, 10**12, -3, 9000):
        flags.add(msg)
    flags.add(1)
    assert all(m in flags for m in (1, 10**12, -3, 9000))
    assert not any(m in flags for m in (0, 2, 8999, 10**12 + 1, -2))
    assert len(flags) == 4 and len(flags.flags) < 10**6


def test_set_replaces_what_a_message_had() -> None:
    books = PerMessage("i")
    books.set(2, 5)
    books.set(2, 6)
    books.set(10**12, 1)
    books.set(10**12, 3)
    assert books.get(2) == 6 and books.get(10**12) == 3 and len(books) == 2


def test_in_seq_order_matches_a_plain_scan_of_the_books() -> None:
    rng = random.Random(7)
    for _ in range(50):
        acked, processed = PerMessage(), PerMessage()
        seqs = rng.sample(range(10**6), 400)
        for seq in seqs:
            acked.add(rng.randrange(300), seq)
        for msg in rng.sample(range(320), rng.randrange(320)):
            processed.add(msg, 1)
        plain = sorted(
            (
                (seq, msg)
                for msg, seq in enumerate(acked.numbers)
                if seq >= 0 and msg not in processed
            )
        )
        assert acked.in_seq_order(processed) == [(msg, seq) for seq, msg in plain]


def test_room_reserved_for_the_run_s_messages_books_nothing_and_keeps_what_was_booked() -> None:
    books = PerMessage()
    books.add(3, 40)
    books.reserve(100_000)
    assert len(books.numbers) >= 100_000 and len(books) == 1 and books.get(3) == 40
    assert books.get(99_999) == -1 and books.add(99_999, 7) and books.get(99_999) == 7
    books.reserve(10)  # less than it has: nothing changes
    assert len(books.numbers) >= 100_000 and len(books) == 2
