"""A replica's own rules: its leader-epoch cache, truncation, and what is on disk."""

from __future__ import annotations

from simulator.messages import Message
from simulator.models.log.partition import Entry
from simulator.models.log.replica import Replica


def entries(start: int, count: int) -> list[Entry]:
    offsets = range(start, start + count)
    return [Entry(o, Message(o + 1, "p", None, 0, f"v{o}", 0), 0, o) for o in offsets]


def leader_with_epochs() -> Replica:
    """Epoch 0 wrote offsets 0–2, epoch 2 wrote 3–4 (epoch 1 wrote nothing)."""
    r = Replica("broker-1")
    r.begin_epoch(0)
    r.log.extend(entries(0, 3))
    r.begin_epoch(1)
    r.begin_epoch(2)
    r.log.extend(entries(3, 2))
    return r


def test_an_epoch_in_which_a_leader_wrote_nothing_leaves_no_entry() -> None:
    assert leader_with_epochs().epochs == [(0, 0), (2, 3)]


def test_where_an_epoch_ends_is_where_the_next_one_begins() -> None:
    leader = leader_with_epochs()
    assert leader.end_offset_for(0) == (0, 3)
    assert leader.end_offset_for(1) == (0, 3)  # unknown here: the largest epoch not above it
    assert leader.end_offset_for(2) == (2, 5)  # the latest epoch ends at the log end
    assert leader.last_epoch() == 2


def test_a_follower_copies_records_with_their_epochs_and_batches() -> None:
    leader = leader_with_epochs()
    leader.record_batch(3, "p#1", 0, 2)
    follower = Replica("broker-2")
    follower.copy_from(leader, leader.log[0:4])
    assert follower.epochs == [(0, 0), (2, 3)]
    assert follower.producer_state == {"p#1": {0: 3, -1: 2}}
    follower.copy_from(leader, leader.log[4:5])
    assert follower.epochs == [(0, 0), (2, 3)]
    assert follower.last_epoch() == 2


def test_truncation_drops_records_epochs_and_batches_past_the_offset() -> None:
    leader = leader_with_epochs()
    leader.record_batch(3, "p#1", 0, 2)
    leader.high_watermark = 5
    removed = leader.truncate_to(3)
    assert [e.offset for e in removed] == [3, 4]
    assert leader.log_end_offset == 3 and leader.high_watermark == 3
    assert leader.epochs == [(0, 0)]
    assert leader.producer_state == {}


def test_only_fsynced_or_written_back_records_are_durable() -> None:
    r = Replica("broker-1")
    r.log.extend(entries(0, 2))
    r.wrote(0, None, 30_000)
    r.log.extend(entries(2, 2))
    r.wrote(20_000, None, 30_000)
    assert r.durable_offset(25_000, 30_000) == 0  # nothing is 30 s old yet
    assert r.durable_offset(35_000, 30_000) == 2  # the first write went back to disk
    assert r.durable_offset(60_000, 30_000) == 4


def test_flush_messages_fsyncs_every_n_records() -> None:
    r = Replica("broker-1")
    r.log.extend(entries(0, 1))
    r.wrote(0, 2, 30_000)
    assert r.durable_offset(0, 30_000) == 0
    r.log.extend(entries(1, 1))
    r.wrote(1, 2, 30_000)
    assert r.durable_offset(1, 30_000) == 2
