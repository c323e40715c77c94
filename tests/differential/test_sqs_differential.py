"""evsim's SQS-style model against moto, with the SQS Developer Guide as the reference.

Each situation is described once (``sqs_situation``) and played on moto's
server mode through boto3 (``sqs_real``) and on the model through a scenario
(``sqs_model``). The reference under each one is what the *Amazon SQS
Developer Guide* and API Reference say must happen — not what moto does:
moto is a stand-in. Where moto disagrees with the guide, the moto test is a
strict expected failure naming the difference (and ``docs/brokers-queues.md``
lists it); where the model does, the model test is. moto 5.2 was used.

Guide statements relied on (Developer Guide unless said otherwise):

- visibility timeout: a received message stays in the queue, hidden; not
  deleted in time, it is received again and ``ApproximateReceiveCount`` goes
  up ("Amazon SQS visibility timeout");
- redrive policy: a message whose receive count *exceeds* ``maxReceiveCount``
  moves to the dead-letter queue ("Using dead-letter queues");
- FIFO: strict order within a message group; while a group has messages in
  flight no other message of that group is returned; a batch returns as many
  messages of one group as possible and may add other groups, each in order
  ("FIFO queue delivery logic");
- FIFO deduplication: a send with a deduplication id (or, content-based, a
  body) seen in the last 5 minutes is accepted but not delivered ("Exactly-once
  processing");
- ``ChangeMessageVisibility``: the new timeout counts from the call; 0 makes
  the message visible at once (API Reference, ChangeMessageVisibility);
- ``DeleteMessage`` with an older receipt handle "succeeds, but the message
  will not be deleted" (API Reference, DeleteMessage; older wording: "might
  not be").
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from differential_systems import sqs_fixture  # noqa: F401  (the fixture `sqs`)
from sqs_model import run_model
from sqs_situation import Send, SqsSituation

pytestmark = pytest.mark.differential

# No model gaps today. The last two — a MessageDeduplicationId set by hand, and
# ChangeMessageVisibility to 0 to give a message back — were closed in the model.


@dataclass(frozen=True)
class Case:
    situation: SqsSituation
    reference: dict[str, Any]
    moto_gaps: dict[str, str] = field(default_factory=dict)
    model_gaps: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.situation.name


def case(
    situation: SqsSituation,
    moto_gaps: dict[str, str] | None = None,
    model_gaps: dict[str, str] | None = None,
    **reference: Any,
) -> Case:
    return Case(situation, reference, moto_gaps or {}, model_gaps or {})


CASES: list[Case] = [
    # Not deleted after the first receive: back after the 1 s visibility timeout, count 2.
    case(
        SqsSituation("standard-visibility-timeout", (Send("m1"),), fail_first_receive=True),
        receives={"c0": "m1#1 m1#2"},
    ),
    # maxReceiveCount 2: the receive that would be the third moves m1 to the DLQ.
    # (Standard queues order best-effort: receives are compared sorted.)
    case(
        SqsSituation(
            "standard-redrive-at-max-receive-count",
            (Send("m1"), Send("m2")),
            max_receive_count=2,
            poison=("m1",),
        ),
        receives={"c0": "m1#1 m1#2 m2#1"},
        dead_letters="m1",
    ),
    # A consumer slower than the visibility timeout: the message is received again by
    # the other consumer — a duplicate.
    case(
        SqsSituation(
            "standard-slow-consumer-duplicate",
            (Send("m1"),),
            consumers=("c0", "c1"),
            hold="until-redelivered",
        ),
        receives={"c0": "m1#1", "c1": "m1#2"},
    ),
    # The same slow consumer, extending the timeout with ChangeMessageVisibility first:
    # nobody else receives it.
    case(
        SqsSituation(
            "standard-change-visibility-extends",
            (Send("m1"),),
            consumers=("c0", "c1"),
            hold="past-visibility",
            extend=True,
        ),
        receives={"c0": "m1#1", "c1": ""},
    ),
    # ChangeMessageVisibility(0) gives a message back at once.
    case(
        SqsSituation(
            "standard-change-visibility-to-zero",
            (Send("m1"),),
            visibility_timeout_s=30,
            release_first_receive=True,
        ),
        receives={"c0": "m1#1 m1#2"},
    ),
    # Group A is locked while c0 holds m1: c1 gets group B, and m2 only once m1 is deleted.
    case(
        SqsSituation(
            "fifo-group-locked-while-in-flight",
            (Send("m1", "A"), Send("m2", "A"), Send("m3", "B"), Send("m4", "B")),
            fifo=True,
            visibility_timeout_s=10,
            consumers=("c0", "c1"),
            hold="until-others-idle",
        ),
        receives={"c0": "m1#1", "c1": "m3#1 m4#1 m2#1"},
        groups={"A": "m1 m2", "B": "m3 m4"},
    ),
    # One batch of up to 10 from two groups: each group in order. (Across groups the
    # order inside the batch is not specified: moto returns m1 m2 m3 m4 m5, the model
    # m1 m2 m5 m3 m4 — one group first, as the guide describes.)
    case(
        SqsSituation(
            "fifo-batch-keeps-each-group-in-order",
            (Send("m1", "A"), Send("m2", "A"), Send("m3", "B"), Send("m4", "B"), Send("m5", "A")),
            fifo=True,
            batch_size=10,
        ),
        groups={"A": "m1 m2 m5", "B": "m3 m4"},
    ),
    # An SDK resend with the same deduplication id is accepted and not delivered.
    case(
        SqsSituation(
            "fifo-dedup-resend", (Send("m1", "A", resent=True), Send("m2", "A")), fifo=True
        ),
        receives={"c0": "m1#1 m2#1"},
    ),
    # Content-based deduplication: a second, genuine message with the same body is lost.
    case(
        SqsSituation(
            "fifo-content-based-dedup",
            (Send("m1", "A", "same"), Send("m2", "A", "same"), Send("m3", "A", "other")),
            fifo=True,
            content_based_dedup=True,
        ),
        receives={"c0": "m1#1 m3#1"},
    ),
    # A deduplication id set by hand, reused for a different body: that one is dropped.
    case(
        SqsSituation(
            "fifo-dedup-id-set-by-hand",
            (Send("m1", "A"), Send("m2", "A", dedup_id="m1"), Send("m3", "A")),
            fifo=True,
        ),
        receives={"c0": "m1#1 m3#1"},
    ),
]


def _params(gaps_of: str) -> list[Any]:
    params = []
    for c in CASES:
        for aspect in c.reference:
            reason = getattr(c, gaps_of).get(aspect)
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(c, aspect, marks=marks, id=f"{c.name}-{aspect}"))
    return params


_moto_outcomes: dict[str, Any] = {}


@pytest.mark.parametrize(("c", "aspect"), _params("moto_gaps"))
def test_moto_does_what_the_sqs_guide_says(c: Case, aspect: str, sqs: Any) -> None:
    from sqs_real import RealSqsRun

    if c.name not in _moto_outcomes:
        _moto_outcomes[c.name] = RealSqsRun(c.situation, sqs).play()
    got = _moto_outcomes[c.name].aspect(aspect)
    assert got == c.reference[aspect]


@functools.cache
def _model_outcome(name: str) -> Any:
    return run_model(next(c for c in CASES if c.name == name).situation)


@pytest.mark.parametrize(("c", "aspect"), _params("model_gaps"))
def test_model_does_what_the_sqs_guide_says(c: Case, aspect: str) -> None:
    got = _model_outcome(c.name).aspect(aspect)
    assert got == c.reference[aspect]


def test_every_sqs_situation_has_a_distinct_name() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))


def test_every_sqs_gap_names_an_aspect_the_situation_shows() -> None:
    for c in CASES:
        assert set(c.reference) <= {"receives", "dead_letters", "groups"}, c.name
        assert set(c.moto_gaps) | set(c.model_gaps) <= set(c.reference), c.name


# -- moto and the guide, where a situation says too little ------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="moto differs from the API Reference: DeleteMessage with an older receipt handle"
    " deletes the message (the guide: the call succeeds, the message is not deleted)",
)
def test_moto_delete_with_an_older_receipt_handle_keeps_the_message(sqs: Any) -> None:
    url = sqs.create_queue(
        QueueName=f"evsim-diff-stale-{time.monotonic_ns()}", Attributes={"VisibilityTimeout": "1"}
    )["QueueUrl"]
    try:
        sqs.send_message(QueueUrl=url, MessageBody="m1")
        first = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]
        # Received again once the visibility timeout has run out: a newer handle.
        again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"][0]
        assert again["ReceiptHandle"] != first["ReceiptHandle"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])  # succeeds
        attrs = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        assert attrs["ApproximateNumberOfMessagesNotVisible"] == "1"
    finally:
        sqs.delete_queue(QueueUrl=url)
