"""Play an SQS situation against moto's server mode with boto3 (127.0.0.1 only).

``MotoServer`` runs moto's HTTP server on a free loopback port for the test
session. ``play`` creates fresh queues per run and drives the consumers from
one thread, in a fixed order, so the interleaving is the one the situation
describes; every wait is a receive that long-polls for a condition, with a
deadline.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

import boto3
from moto.server import ThreadedMotoServer
from sqs_situation import SqsOutcome, SqsSituation, receive_mark

DEADLINE_S = 30.0
POLL_S = 1
"""WaitTimeSeconds of each receive: a short long poll, so the driver can turn to others."""
MARGIN_S = 1.5
"""How long past a visibility timeout ``past-visibility`` keeps looking (a loaded machine)."""


class MotoServer:
    """moto's server mode on 127.0.0.1, on a port the system picks."""

    def __init__(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

    def client(self) -> Any:
        return boto3.client(
            "sqs",
            region_name="us-east-1",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def stop(self) -> None:
        self._server.stop()


class _Consumer:
    def __init__(self, name: str) -> None:
        self.name = name
        self.receives: list[str] = []
        self.held: list[dict[str, Any]] = []
        self.held_since = 0.0
        self.holds_left = 1
        self.idle = False


class RealSqsRun:
    def __init__(self, situation: SqsSituation, sqs: Any) -> None:
        self.s = situation
        self.sqs = sqs
        suffix = ".fifo" if situation.fifo else ""
        prefix = f"evsim-diff-{uuid.uuid4().hex[:12]}-"
        self.queue_name = prefix + "work" + suffix
        self.dlq_name = prefix + "dead" + suffix
        self.outcome = SqsOutcome()
        self.counts: dict[str, int] = {}
        # Equal bodies (content-based dedup): the first one sent is the one stored.
        self.body_to_name: dict[str, str] = {}
        for m in situation.sends:
            self.body_to_name.setdefault(m.text, m.name)

    # -- setup -----------------------------------------------------------------------------

    def play(self) -> SqsOutcome:
        s = self.s
        attrs: dict[str, str] = {"VisibilityTimeout": str(s.visibility_timeout_s)}
        if s.fifo:
            attrs["FifoQueue"] = "true"
            if s.content_based_dedup:
                attrs["ContentBasedDeduplication"] = "true"
        self.dlq = None
        if s.max_receive_count is not None:
            dlq_attrs = {"FifoQueue": "true"} if s.fifo else {}
            self.dlq = self.sqs.create_queue(QueueName=self.dlq_name, Attributes=dlq_attrs)[
                "QueueUrl"
            ]
            arn = self.sqs.get_queue_attributes(QueueUrl=self.dlq, AttributeNames=["QueueArn"])
            attrs["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": arn["Attributes"]["QueueArn"],
                    "maxReceiveCount": s.max_receive_count,
                }
            )
        self.url = self.sqs.create_queue(QueueName=self.queue_name, Attributes=attrs)["QueueUrl"]
        try:
            self._send()
            self._consume()
            self._read_dlq()
        finally:
            self.sqs.delete_queue(QueueUrl=self.url)
            if self.dlq is not None:
                self.sqs.delete_queue(QueueUrl=self.dlq)
        return self.outcome

    def _send(self) -> None:
        for m in self.s.sends:
            kwargs: dict[str, Any] = {"QueueUrl": self.url, "MessageBody": m.text}
            if self.s.fifo:
                kwargs["MessageGroupId"] = m.group or "-"
                if not self.s.content_based_dedup:
                    # The model's deduplication id is the producer's message id.
                    kwargs["MessageDeduplicationId"] = m.dedup_id or m.name
            for _ in range(2 if m.resent else 1):
                self.sqs.send_message(**kwargs)

    # -- the consumers' loop ---------------------------------------------------------------

    def _consume(self) -> None:
        consumers = [_Consumer(n) for n in self.s.consumers]
        self.consumers = consumers
        deadline = time.monotonic() + DEADLINE_S
        while not self._finished():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.s.name}: waited {DEADLINE_S:.0f} s for the queue to empty; saw "
                    + repr({c.name: c.receives for c in consumers})
                )
            for c in consumers:
                if c.held:
                    if self._hold_over(c):
                        self._process(c, c.held)
                        c.held = []
                    continue
                got = self._receive(c)
                first = consumers[0] is c and c.holds_left and got
                if first and self.s.hold is not None:
                    c.holds_left = 0
                    c.held = got
                    c.held_since = time.monotonic()
                    if self.s.extend:
                        for m in got:
                            self.sqs.change_message_visibility(
                                QueueUrl=self.url,
                                ReceiptHandle=m["ReceiptHandle"],
                                VisibilityTimeout=self.s.visibility_timeout_s + 30,
                            )
                else:
                    self._process(c, got)
        for c in consumers:
            # A standard queue's order is best effort: compare what was received, sorted.
            marks = c.receives if self.s.fifo else sorted(c.receives)
            self.outcome.receives[c.name] = " ".join(marks)

    def _receive(self, c: _Consumer) -> list[dict[str, Any]]:
        reply = self.sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=self.s.batch_size,
            WaitTimeSeconds=POLL_S,
            MessageSystemAttributeNames=["ApproximateReceiveCount", "MessageGroupId"],
        )
        got: list[dict[str, Any]] = reply.get("Messages", [])
        c.idle = not got
        for m in got:
            name = self.body_to_name[m["Body"]]
            count = int(m["Attributes"]["ApproximateReceiveCount"])
            self.counts[name] = count
            c.receives.append(receive_mark(name, count))
            if self.s.fifo:
                group = m["Attributes"].get("MessageGroupId", "-")
                seen = self.outcome.groups.get(group)
                self.outcome.groups[group] = f"{seen} {name}" if seen else name
        return got

    def _hold_over(self, c: _Consumer) -> bool:
        held = {self.body_to_name[m["Body"]] for m in c.held}
        if self.s.hold == "until-redelivered":
            others = [o for o in self.consumers if o is not c]
            return any(r.split("#")[0] in held for o in others for r in o.receives)
        if self.s.hold == "until-others-idle":
            return all(o.idle for o in self.consumers if o is not c)
        elapsed = time.monotonic() - c.held_since
        return elapsed > self.s.visibility_timeout_s + MARGIN_S

    def _process(self, c: _Consumer, got: list[dict[str, Any]]) -> None:
        for m in got:
            name = self.body_to_name[m["Body"]]
            if name in self.s.poison:
                continue
            first = int(m["Attributes"]["ApproximateReceiveCount"]) == 1
            if self.s.fail_first_receive and first:
                continue
            if self.s.release_first_receive and first:
                self.sqs.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
                continue
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])

    def _finished(self) -> bool:
        if any(c.held for c in self.consumers):
            return False
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
            ],
        )["Attributes"]
        left = int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesNotVisible"]
        )
        return left == 0

    def _read_dlq(self) -> None:
        if self.dlq is None:
            return
        names: list[str] = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.dlq, MaxNumberOfMessages=10, VisibilityTimeout=60
            ).get("Messages", [])
            if not got:
                break
            names.extend(self.body_to_name[m["Body"]] for m in got)
        self.outcome.dead_letters = " ".join(sorted(names))
