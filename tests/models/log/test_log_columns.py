"""A partition's log kept in columns reads exactly like the list of entries it stands for.

``Log`` keeps a record as a message pointer and three numbers, and builds an
``Entry`` when it is read. Each test drives it and a plain list of entries
through the same operations and compares every field a reader can see.
"""

from __future__ import annotations

import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.messages import DetailedMessage, Message
from simulator.models.log.partition import Entry, Log, Partition

FIELDS = ("offset", "msg", "timestamp_ms", "appended_seq", "txn", "due_ms", "level")


def seen(entries: object) -> list[tuple[object, ...]]:
    return [(*(getattr(e, f) for f in FIELDS), e.seen_by_cleaner) for e in entries]  # type: ignore[attr-defined]


def message(i: int, key: str | None = None, tombstone: bool = False) -> Message:
    if tombstone:
        return DetailedMessage(i, "p", key, 0, "", 0, True)
    return Message(i, "p", key, 0, f"v{i}", 0)


# One operation: a plain run of records, one record with rare fields, or a cut.
operations = st.lists(
    st.one_of(
        st.tuples(st.just("run"), st.integers(0, 5)),
        st.tuples(
            st.just("one"),
            st.sampled_from([None, "t1", "t2"]),
            st.integers(0, 3),
            st.integers(0, 2),
        ),
        st.tuples(st.just("gap"), st.integers(1, 3)),
        st.tuples(st.just("cut_front"), st.integers(0, 4)),
        st.tuples(st.just("cut_back"), st.integers(0, 4)),
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(operations)
def test_a_log_reads_like_its_list_of_entries_through_appends_and_cuts(ops: list[tuple]) -> None:  # type: ignore[type-arg]
    log, model = Log(), list[Entry]()
    offset = seq = 0
    for op in ops:
        if op[0] == "run":
            msgs = [message(offset + i) for i in range(op[1])]
            log.append_run(msgs, offset, 7, seq)
            model += [Entry(offset + i, m, 7, seq + i) for i, m in enumerate(msgs)]
            offset += op[1]
            seq += op[1]
        elif op[0] == "one":
            e = Entry(offset, message(offset), 9, seq, op[1], op[2], op[3])
            log.append(e)
            model.append(Entry(offset, e.msg, 9, seq, op[1], op[2], op[3]))
            offset += 1
            seq += 2
        elif op[0] == "gap":  # as compaction leaves: offsets no longer one after another
            offset += op[1]
        elif op[0] == "cut_front":
            del log[: op[1]]
            del model[: op[1]]
        else:
            del log[len(log) - op[1] :]
            del model[len(model) - op[1] :]
        assert len(log) == len(model)
        assert seen(log) == seen(model)
        assert seen(log[1:3]) == seen(model[1:3])
        if model:
            assert seen([log[-1], log[0]]) == seen([model[-1], model[0]])
        assert list(log.offsets) == sorted(e.offset for e in model)


def test_an_entry_read_is_a_snapshot_changing_it_leaves_the_log_alone() -> None:
    log = Log([Entry(0, message(1), 0, 5)])
    e = log[0]
    e.level = 3
    assert log[0].level == 0
    assert log[0] is not log[0]


def test_a_cut_drops_the_rare_fields_of_what_it_removed() -> None:
    """A replica truncated to an offset and written again must not inherit the old record's txn."""
    log = Log([Entry(0, message(1), 0, 0), Entry(1, message(2), 0, 1, "t1")])
    del log[1:]
    log.append(Entry(1, message(3), 0, 2))
    assert log[1].txn is None
    assert log.rare == {}


def test_compaction_keeps_the_latest_per_key_and_a_tombstone_survives_one_pass() -> None:
    part = Partition("t", 0)
    for i, (key, tombstone) in enumerate([("a", False), ("b", False), ("a", False), ("b", True)]):
        part.entries.append(Entry(i, message(i + 1, key, tombstone), 0, i))
    part.next_offset = 4
    assert part.compact(active_from=4) == (2, 0, [1, 2])
    assert [(e.offset, e.msg.key, e.seen_by_cleaner) for e in part.entries] == [
        (2, "a", False),
        (3, "b", True),
    ]
    assert part.index_of(3) == 1
    assert part.compact(active_from=4) == (1, 1, [4])
    assert [e.offset for e in part.entries] == [2]


def test_a_plain_record_costs_well_under_the_entry_it_is_read_as() -> None:
    """The point of the columns: a record kept is a pointer and three numbers, not objects."""
    log = Log()
    n = 10_000
    log.append_run([message(1)] * n, 0, 0, 0)
    kept = sum(sys.getsizeof(c) for c in (log.msgs, log.offsets, log.stamps, log.seqs)) / n
    one = log[0]
    as_objects = sys.getsizeof(one) + sys.getsizeof(10**6) + sys.getsizeof(10**7) + 8
    assert kept <= 40 < as_objects


def test_a_producer_under_steady_load_lets_each_answered_request_go() -> None:
    """Answered requests used to wait for the next timeout check (request.timeout.ms
    later), each holding its batches' messages: at 10M messages, all of them."""
    from bench.broker_flow import w1_simulation

    sim = w1_simulation(20_000, 0)
    (producer,) = sim.broker.producers.values()
    most = 0
    while not sim.finished:
        sim.run_for(5_000)
        in_flight = producer._in_flight
        most = max(most, len(in_flight))
        assert not in_flight or not in_flight[0].answered
    assert 0 < most <= producer.spec.max_in_flight
