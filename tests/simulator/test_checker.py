"""The checker's books mean what the JSON contract says, one definition per test."""

from __future__ import annotations

import pytest
from conftest import scenario_from
from typer.testing import CliRunner

from cli import app
from simulator.errors import InputError
from simulator.lessons.summary import summarize
from simulator.scenario import builtin_names, builtin_path, load_scenario
from simulator.simulation import Simulation
from simulator.trace import (
    Acked,
    MessageDropped,
    MessageLost,
    OrderViolated,
    Processed,
    ProcessingFailed,
    Produced,
    Record,
    RetryScheduled,
    SentUnacknowledged,
)


def of(sim: Simulation, kind: type[Record]) -> list[Record]:
    return [r for r in sim.trace.records if isinstance(r, kind)]


# -- out of order: per producer and key -------------------------------------------------------

TWO_WRITERS = """
[[topics]]
name = "orders"
partitions = 1
[[producers]]
name = "web"
topic = "orders"
[[producers]]
name = "mobile"
topic = "orders"
[[groups]]
name = "g"
topic = "orders"
auto_offset_reset = "earliest"
[[workload.messages]]
producer = "web"
at_ms = 0
key = "cart-1"
[[workload.messages]]
producer = "web"
at_ms = 10
key = "cart-1"
[[workload.messages]]
producer = "mobile"
at_ms = 20
key = "cart-1"
"""


def test_two_producers_writing_one_key_have_no_order_between_them() -> None:
    # web sends cart-1 first, but its request is lost and resent 500 ms later; mobile's
    # cart-1, sent 10 ms after web's, is processed first. Neither producer's own order
    # is broken, so nothing is out of order.
    body = TWO_WRITERS.replace(
        '[[workload.messages]]\nproducer = "web"\nat_ms = 10\nkey = "cart-1"\n', ""
    ).replace("at_ms = 20", "at_ms = 10")
    body = body.replace(
        'name = "web"\ntopic = "orders"', 'name = "web"\ntopic = "orders"\nrequest_timeout_ms = 500'
    )
    body += '[[faults]]\nkind = "network"\nsource = "web"\ndestination = "broker"\n'
    body += "drop_probability = 1.0\nto_ms = 5\n"
    sim = Simulation(scenario_from(body))
    summary = summarize(sim)
    processed = [(r.msg, r.key_seq) for r in of(sim, Processed) if isinstance(r, Processed)]
    assert processed == [(2, 1), (1, 1)]  # mobile's #1, then web's #1
    assert summary.out_of_order == 0 and not of(sim, OrderViolated)


def test_one_producer_going_back_in_time_is_out_of_order_and_names_its_producer() -> None:
    # One batch of web's three, processed, then a crash before the commit: the replay
    # processes web's #1 again after its #3.
    body = TWO_WRITERS.replace('producer = "mobile"\nat_ms = 20', 'producer = "web"\nat_ms = 20')
    body = body.replace(
        'auto_offset_reset = "earliest"',
        'auto_offset_reset = "earliest"\ncommit = "after-process"\nstart_ms = 100',
    )
    body += '[[faults]]\nkind = "crash"\ntarget = "g-0"\nat = "after_process_before_commit"\n'
    body += "occurrence = 1\nrestart_after_ms = 100\n"
    sim = Simulation(scenario_from(body))
    summary = summarize(sim)
    violations = of(sim, OrderViolated)
    assert summary.out_of_order == len(violations) >= 1
    assert all(isinstance(v, OrderViolated) and v.producer == "web" for v in violations)


SAGAS = [n for n in builtin_names() if n.startswith("saga-")]


@pytest.mark.parametrize("name", SAGAS)
def test_a_saga_lesson_reorders_nothing(name: str) -> None:
    # The saga services reply with their own messages for an order's key; they are
    # other producers than the storefront, so their replies are never compared with it.
    assert summarize(Simulation(load_scenario(builtin_path(name)))).out_of_order == 0


# -- producer counts agree with the records ----------------------------------------------------


@pytest.mark.parametrize("name", builtin_names())
def test_every_acknowledged_message_was_produced_by_the_producer_acknowledged(name: str) -> None:
    sim = Simulation(load_scenario(builtin_path(name)))
    sim.run()
    produced = {(r.producer, r.msg) for r in of(sim, Produced) if isinstance(r, Produced)}
    acked = {(r.producer, r.msg) for r in of(sim, Acked) if isinstance(r, Acked)}
    assert acked <= produced, f"{name}: acked, never produced: {sorted(acked - produced)[:5]}"


def test_saga_services_count_what_they_send_as_produced() -> None:
    sim = Simulation(load_scenario(builtin_path("saga-payment-fails")))
    summary = summarize(sim)
    stock = [r for r in of(sim, Produced) if isinstance(r, Produced) and r.producer == "stock-0"]
    stock_acked = [r for r in of(sim, Acked) if isinstance(r, Acked) and r.producer == "stock-0"]
    assert stock and len(stock) == len(stock_acked)
    assert summary.produced == len(of(sim, Produced)) >= summary.acked


# -- lost, dropped unacknowledged, deduplicated ----------------------------------------------

RABBIT = """
broker = "rabbitmq"
[[topics]]
name = "orders"
[[producers]]
name = "checkout"
topic = "orders"
"""


def _messages(n: int) -> str:
    return "".join(
        f'[[workload.messages]]\nproducer = "checkout"\nat_ms = {i}\nkey = "k"\n' for i in range(n)
    )


def test_a_publish_without_confirms_is_sent_unacknowledged_never_acked() -> None:
    body = RABBIT + '[rabbitmq]\npublisher_confirms = false\n[[groups]]\nname = "billing"\n'
    body += 'topic = "orders"\n' + _messages(3)
    sim = Simulation(scenario_from(body))
    summary = summarize(sim)
    assert summary.acked == 0 and len(of(sim, SentUnacknowledged)) == 3
    assert summary.processed == 3 and summary.lost == 0 and summary.dropped_unacknowledged == 0


def test_fire_and_forget_messages_that_vanish_are_dropped_unacknowledged_not_lost() -> None:
    body = RABBIT + (
        "[rabbitmq]\npublisher_confirms = false\n"
        '[[groups]]\nname = "billing"\ntopic = "orders"\nstart_ms = 1000\n'
        '[groups.rabbitmq]\nmax_length = 2\noverflow = "reject-publish"\n'
    )
    sim = Simulation(scenario_from(body + _messages(5)))
    summary = summarize(sim)
    assert summary.lost == 0
    assert summary.dropped_unacknowledged == summary.groups["billing"].dropped_unacknowledged == 3
    dropped = of(sim, MessageDropped)
    assert len(dropped) == 3 and not of(sim, MessageLost)
    assert all(isinstance(d, MessageDropped) and "reject-publish" in d.reason for d in dropped)


def test_the_json_has_dropped_unacknowledged_in_flight_and_how_the_run_finished() -> None:
    result = CliRunner().invoke(app, ["play", "rabbitmq-requeue-loop", "--json"])
    import json

    out = json.loads(result.stdout)
    assert out["finished"] == "until"
    assert out["dropped_unacknowledged"] == 0 and out["in_flight"] == 1 and out["lost"] == 0
    assert out["groups"]["requeue-forever"]["in_flight"] == 1


FIFO_CONTENT = """
broker = "sqs-fifo"
[[topics]]
name = "orders"
[[producers]]
name = "checkout"
topic = "orders"
[[groups]]
name = "q"
topic = "orders"
[groups.sqs]
content_based_dedup = true
[[workload.messages]]
producer = "checkout"
at_ms = 0
key = "alice"
value = "one coffee"
[[workload.messages]]
producer = "checkout"
at_ms = 1000
key = "alice"
value = "one coffee"
"""


def test_a_fifo_send_dropped_by_deduplication_is_deduplicated_not_lost() -> None:
    sim = Simulation(scenario_from(FIFO_CONTENT))
    summary = summarize(sim)
    assert summary.acked == 2 and summary.processed == 1
    assert summary.lost == 0 and not of(sim, MessageLost)
    assert summary.deduplicated == summary.groups["q"].deduplicated == 1


def test_a_kafka_idempotent_producers_retried_batch_is_not_lost() -> None:
    body = """
[[topics]]
name = "orders"
partitions = 1
[[producers]]
name = "checkout"
topic = "orders"
request_timeout_ms = 200
[[groups]]
name = "g"
topic = "orders"
auto_offset_reset = "earliest"
[[workload.generators]]
producer = "checkout"
count = 10
keys = 1
rate_per_s = 100
[[faults]]
kind = "network"
source = "broker"
destination = "checkout"
drop_probability = 1.0
to_ms = 50
"""
    sim = Simulation(scenario_from(body))
    summary = summarize(sim)
    assert summary.retries >= 1 and summary.lost == 0 and summary.duplicates == 0


# -- retries performed, attempts that count up ---------------------------------------------

SQS_REDRIVE = """
broker = "sqs"
[sqs]
duplicate_probability = 0.0
reorder_probability = 0.0
[[topics]]
name = "orders"
[[topics]]
name = "orders-dlq"
[[producers]]
name = "checkout"
topic = "orders"
[[groups]]
name = "q"
topic = "orders"
dead_letter_topic = "orders-dlq"
[groups.sqs]
visibility_timeout_ms = 1000
max_receive_count = 3
[[workload.messages]]
producer = "checkout"
at_ms = 0
key = "k"
[[faults]]
kind = "poison"
group = "q"
msgs = [1]
"""


def test_retries_count_what_was_tried_again_not_what_was_scheduled() -> None:
    # Received 3 times, failed 3 times, dead-lettered instead of the 4th try: 2 retries ran.
    sim = Simulation(scenario_from(SQS_REDRIVE))
    summary = summarize(sim)
    assert len(of(sim, ProcessingFailed)) == 3 and len(of(sim, RetryScheduled)) == 3
    assert summary.dead_lettered == 1
    assert summary.retries == 2


def test_failure_attempts_count_up_across_receives_and_agree_with_the_retries() -> None:
    sim = Simulation(scenario_from(SQS_REDRIVE))
    sim.run()
    failed = [r.attempt for r in of(sim, ProcessingFailed) if isinstance(r, ProcessingFailed)]
    retried = [r.attempt for r in of(sim, RetryScheduled) if isinstance(r, RetryScheduled)]
    assert failed == [1, 2, 3]
    assert retried == [2, 3, 4]


def test_a_requeued_rabbitmq_message_fails_with_attempts_that_count_up() -> None:
    body = RABBIT + (
        '[[groups]]\nname = "q"\ntopic = "orders"\n[groups.rabbitmq]\nqueue_type = "quorum"\n'
        "requeue_on_failure = true\ndelivery_limit = 2\n"
        '[[faults]]\nkind = "poison"\ngroup = "q"\nmsgs = [1]\n'
    )
    sim = Simulation(scenario_from(body + _messages(1)))
    summary = summarize(sim)
    failed = [r.attempt for r in of(sim, ProcessingFailed) if isinstance(r, ProcessingFailed)]
    assert failed == [1, 2, 3]
    assert summary.retries == 2


# -- a run cut short ---------------------------------------------------------------------------

SLOW_LOG = """
[[topics]]
name = "orders"
partitions = 1
[[producers]]
name = "checkout"
topic = "orders"
[[groups]]
name = "g"
topic = "orders"
auto_offset_reset = "earliest"
processing_ms = 100
[[workload.generators]]
producer = "checkout"
count = 200
keys = 5
rate_per_s = 1000
"""


def test_messages_in_flight_at_a_time_limit_are_in_flight_not_lost() -> None:
    sim = Simulation(scenario_from(SLOW_LOG), until_ms=1000)
    summary = summarize(sim)
    assert summary.finished == "until"
    assert summary.lost == 0 and not of(sim, MessageLost)
    assert summary.in_flight == summary.groups["g"].in_flight == 200 - summary.processed > 0
    assert summary.ok


def test_messages_in_flight_at_the_record_cap_are_in_flight_and_the_run_fails() -> None:
    sim = Simulation(scenario_from("max_records = 300\n" + SLOW_LOG))
    summary = summarize(sim)
    assert summary.finished == "max_records"
    assert summary.lost == 0 and summary.in_flight > 0
    assert not summary.ok


def test_what_an_at_most_once_consumer_lost_in_a_crash_is_lost_even_in_a_cut_run() -> None:
    body = SLOW_LOG.replace("processing_ms = 100", 'processing_ms = 100\ncommit = "before-process"')
    body += '[[faults]]\nkind = "crash"\ntarget = "g-0"\nat = "after_commit_before_process"\n'
    body += "occurrence = 1\nrestart_after_ms = 10\n"
    sim = Simulation(scenario_from(body), until_ms=1000)
    summary = summarize(sim)
    assert summary.lost >= 1 and summary.in_flight >= 1


def test_a_max_records_cut_exits_1_with_one_line_saying_so(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "capped.toml"
    path.write_text(
        'title = { en = "t", ko = "t" }\nsummary = { en = "t", ko = "t" }\n'
        "max_records = 300\n" + SLOW_LOG,
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["play", str(path), "--json"])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "max_records" in lines[0] and "300" in lines[0]
    checked = CliRunner().invoke(app, ["check", str(path)])
    assert checked.exit_code == 1 and "max_records" in checked.stdout


def test_a_group_dead_lettering_to_its_own_topic_is_refused_with_the_path() -> None:
    body = SLOW_LOG.replace(
        'topic = "orders"\nauto', 'topic = "orders"\ndead_letter_topic = "orders"\nauto'
    )
    with pytest.raises(InputError) as err:
        scenario_from(body)
    assert err.value.where == "$.groups[0].dead_letter_topic"
    assert "loop" in err.value.message


# -- a crash stops the component's timers ----------------------------------------------------


@pytest.mark.parametrize(
    ("broker", "settings"),
    [
        ("log", "session_timeout_ms = 3000\nheartbeat_interval_ms = 1000\n"),
        ("rabbitmq", ""),
        ("sqs", "[groups.sqs]\nvisibility_timeout_ms = 1000\n"),
    ],
)
def test_a_crashed_consumers_processing_timer_does_not_keep_the_run_alive(
    broker: str, settings: str
) -> None:
    # One message whose handler takes 100 s; the consumer dies at 0.5 s and stays down.
    # The run ends once the broker has noticed and the settle period is over — not when
    # the dead process's handler would have finished.
    body = SLOW_LOG.replace("processing_ms = 100", "processing_ms = 100000\n" + settings)
    body = body.replace("count = 200", "count = 1")
    body += '[[faults]]\nkind = "crash"\ntarget = "g-0"\nat_ms = 500\n'
    sim = Simulation(scenario_from(f'broker = "{broker}"\nsettle_ms = 1000\n' + body))
    sim.run()
    assert sim.finish_reason == "quiescent"
    assert sim.kernel.now_ms < 500 + 3000 + 1000 + 100
