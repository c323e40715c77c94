"""Workers inside one consumer, giving a message back at once, a deduplication id by hand."""

from __future__ import annotations

import pytest
from conftest import scenario_from

from simulator.errors import InputError
from simulator.lessons.summary import summarize
from simulator.simulation import Simulation
from simulator.trace import (
    DedupDropped,
    DeleteFailed,
    Delivered,
    LambdaInvoked,
    MessageDeleted,
    Processed,
    ScenarioStarted,
    VisibilityChanged,
)

HEAD = """
broker = "sqs"
[sqs]
duplicate_probability = 0.0
reorder_probability = 0.0
[[topics]]
name = "orders"
[[producers]]
name = "shop"
topic = "orders"
"""


def _messages(n: int, every_ms: int = 10) -> str:
    return "".join(
        f'[[workload.messages]]\nproducer = "shop"\nkey = "k"\nat_ms = {i * every_ms}\n'
        for i in range(n)
    )


def _group(sqs: str, consumers: int = 1, processing_ms: int = 100) -> str:
    return (
        f'[[groups]]\nname = "q"\ntopic = "orders"\nconsumers = {consumers}\n'
        f'processing_ms = {processing_ms}\ncommit_every = "message"\n[groups.sqs]\n{sqs}'
    )


def _sim(body: str) -> Simulation:
    sim = Simulation(scenario_from(HEAD + body))
    sim.run()
    return sim


# -- a worker pool inside one consumer -----------------------------------------------------


def test_workers_let_one_consumer_hold_several_messages_at_once() -> None:
    sim = _sim(_group("concurrency = 3\n") + _messages(3, every_ms=1))
    delivered = [r for r in sim.trace if isinstance(r, Delivered)]
    processed = [r for r in sim.trace if isinstance(r, Processed)]
    assert {r.consumer for r in delivered} == {"q-0"}
    # All three received before the first is done: processing overlaps, 100 ms each.
    assert max(r.at for r in delivered) < min(r.at for r in processed)
    assert max(r.at for r in processed) - min(r.at for r in processed) < 100


def test_one_worker_is_the_serial_loop() -> None:
    sim = _sim(_group("") + _messages(3, every_ms=1))
    processed = [r.at for r in sim.trace if isinstance(r, Processed)]
    assert processed == sorted(processed)
    assert processed[1] - processed[0] >= 100 and processed[2] - processed[1] >= 100


def test_a_stale_receipt_handle_arises_inside_one_consumer() -> None:
    # One consumer, two workers. Worker 1 stalls 1.5 s on m1; after 1 s m1 is visible again
    # and worker 2 of the *same* consumer receives it, processes and deletes it. Worker 1
    # then deletes with the receipt handle it got first: stale.
    body = _group("visibility_timeout_ms = 1000\nconcurrency = 2\n", processing_ms=10)
    body += '[[faults]]\nkind = "slow"\ntarget = "q-0"\nprocessing_ms = 1500\nto_ms = 50\n'
    sim = _sim(body + _messages(1))
    summary = summarize(sim)
    receives = [(r.consumer, r.redelivered) for r in sim.trace if isinstance(r, Delivered)]
    assert receives == [("q-0", False), ("q-0", True)]
    failed = [r for r in sim.trace if isinstance(r, DeleteFailed)]
    assert len(failed) == 1 and failed[0].consumer == "q-0"
    assert "stale receipt handle" in failed[0].reason
    deleted = [r for r in sim.trace if isinstance(r, MessageDeleted)]
    assert len(deleted) == 1 and deleted[0].receive_count == 2
    assert summary.duplicates == 1


def test_lambda_concurrency_runs_several_invocations_of_one_poller_at_once() -> None:
    body = _group('trigger = "lambda"\nbatch_size = 2\nconcurrency = 2\n', processing_ms=50)
    body = body.replace('commit_every = "message"', 'commit_every = "message"\nstart_ms = 100')
    sim = _sim(body + _messages(4, every_ms=1))
    invoked = [r for r in sim.trace if isinstance(r, LambdaInvoked)]
    assert [r.msgs for r in invoked] == [[1, 2], [3, 4]]
    assert {r.consumer for r in invoked} == {"q-0"}
    assert invoked[1].at - invoked[0].at < 50  # the second began before the first ended


def test_the_header_shows_the_workers_per_consumer() -> None:
    sim = Simulation(scenario_from(HEAD + _group("concurrency = 4\n") + _messages(1)))
    header = next(r for r in sim.run() if isinstance(r, ScenarioStarted))
    assert header.settings["queue.q.concurrency"] == "4 workers per consumer"


def test_concurrency_is_capped_naming_the_path() -> None:
    with pytest.raises(InputError) as err:
        scenario_from(HEAD + _group("concurrency = 101\n"))
    assert err.value.where == "$.groups[0].sqs.concurrency"


# -- ChangeMessageVisibility to 0: give a failed message back at once -----------------------


def test_a_failed_message_given_back_is_received_again_at_once() -> None:
    body = _group("visibility_timeout_ms = 30000\nvisibility_on_failure_ms = 0\n", processing_ms=1)
    body += '[[faults]]\nkind = "handler-error"\ngroup = "q"\nprobability = 1.0\nto_ms = 4\n'
    sim = _sim(body + _messages(1))
    changed = [r for r in sim.trace if isinstance(r, VisibilityChanged)]
    assert [r.timeout_ms for r in changed] == [0]
    receives = [r.at for r in sim.trace if isinstance(r, Delivered)]
    assert len(receives) == 2 and receives[1] - receives[0] < 10  # not 30 s later
    assert summarize(sim).retries == 1


def test_without_giving_back_a_failed_message_waits_out_its_visibility_timeout() -> None:
    body = _group("visibility_timeout_ms = 30000\n", processing_ms=1)
    body += '[[faults]]\nkind = "handler-error"\ngroup = "q"\nprobability = 1.0\nto_ms = 4\n'
    sim = _sim(body + _messages(1))
    receives = [r.at for r in sim.trace if isinstance(r, Delivered)]
    assert len(receives) == 2 and receives[1] - receives[0] >= 29_000


def test_giving_back_early_is_not_a_lambda_setting() -> None:
    with pytest.raises(InputError) as err:
        scenario_from(HEAD + _group('trigger = "lambda"\nvisibility_on_failure_ms = 0\n'))
    assert err.value.where == "$.groups[0].sqs.visibility_on_failure_ms"


# -- a MessageDeduplicationId set by hand ---------------------------------------------------

FIFO = HEAD.replace('broker = "sqs"', 'broker = "sqs-fifo"')


def test_a_deduplication_id_set_by_hand_drops_a_different_message_that_reuses_it() -> None:
    body = _group("") + (
        '[[workload.messages]]\nproducer = "shop"\nat_ms = 0\nkey = "A"\nvalue = "one"\n'
        'dedup_id = "order-7"\n'
        '[[workload.messages]]\nproducer = "shop"\nat_ms = 10\nkey = "A"\nvalue = "two"\n'
        'dedup_id = "order-7"\n'
        '[[workload.messages]]\nproducer = "shop"\nat_ms = 20\nkey = "A"\nvalue = "three"\n'
    )
    sim = Simulation(scenario_from(FIFO + body))
    summary = summarize(sim)
    dropped = [r for r in sim.trace if isinstance(r, DedupDropped)]
    assert [(r.msg, r.dedup_id, r.first_msg) for r in dropped] == [(2, "order-7", 1)]
    assert [r.msg for r in sim.trace if isinstance(r, Processed)] == [1, 3]
    assert summary.deduplicated == 1 and summary.lost == 0


def test_a_deduplication_id_set_by_hand_wins_over_content_based_deduplication() -> None:
    body = _group("content_based_dedup = true\n") + (
        '[[workload.messages]]\nproducer = "shop"\nat_ms = 0\nkey = "A"\nvalue = "same"\n'
        'dedup_id = "a"\n'
        '[[workload.messages]]\nproducer = "shop"\nat_ms = 10\nkey = "A"\nvalue = "same"\n'
        'dedup_id = "b"\n'
    )
    sim = Simulation(scenario_from(FIFO + body))
    sim.run()
    assert not [r for r in sim.trace if isinstance(r, DedupDropped)]
    assert [r.msg for r in sim.trace if isinstance(r, Processed)] == [1, 2]
