"""Delivery guarantees at scale: random seeds, brokers, semantics and fault plans.

Each case builds a small scenario — one topic, a consumer group, a keyed
workload, consumer crashes at random times or named points with restarts, and
(on the log) lost producer acknowledgements — runs it, and checks what the
chosen semantics promise:

- at-least-once (process, then commit/ack/delete): nothing acknowledged is lost;
- at-most-once (commit/ack/delete first): nothing is processed twice;
- exactly-once (log only: transactions, plus a ``read_committed`` reader
  downstream): neither, in both groups;
- on the log, and on SQS FIFO when the delete follows processing: first
  processings of each key follow the key's order.

A failing case is shrunk (``simulator.lessons.shrink``) and written out as a scenario
file; the assertion message gives the ``evsim play`` command that replays it.
The last test runs cases in two processes with different ``PYTHONHASHSEED`` and
compares trace digests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reliability_support import ROOT, cases, hypothesis_settings, reproducer

from simulator.lessons.shrink import shrink
from simulator.lessons.summary import RunSummary, summarize
from simulator.models.registry import model, names
from simulator.scenario import Scenario, decode_scenario
from simulator.simulation import Simulation
from simulator.trace import Processed

pytestmark = pytest.mark.slow  # soak, fuzz and kill runs: deselect with -m 'not slow'

BROKERS = tuple(names())
SEMANTICS = ("at-least-once", "at-most-once", "exactly-once")
COMMIT = {
    "at-least-once": "after-process",
    "at-most-once": "before-process",
    "exactly-once": "transactional",
}
POINTS = ("after_poll", "after_process_before_commit", "after_commit_before_process")


@dataclass(frozen=True)
class Case:
    broker: str
    semantics: str
    seed: int
    partitions: int
    consumers: int
    count: int
    keys: int
    crashes: tuple[tuple[int, int | str, int], ...]
    ack_drop: float

    def toml(self) -> str:
        text = f"""
        title = {{ en = "reliability case", ko = "신뢰성 사례" }}
        summary = {{ en = "{self}", ko = "무작위 사례" }}
        broker = "{self.broker}"
        seed = {self.seed}
        settle_ms = 2000
        [[topics]]
        name = "orders"
        partitions = {self.partitions}
        [[producers]]
        name = "shop"
        topic = "orders"
        request_timeout_ms = 40
        retry_backoff_ms = 5
        [[groups]]
        name = "g"
        topic = "orders"
        consumers = {self.consumers}
        commit = "{COMMIT[self.semantics]}"
        auto_offset_reset = "earliest"
        processing_ms = 3
        max_poll_records = 4
        session_timeout_ms = 300
        heartbeat_interval_ms = 100
        [groups.rabbitmq]
        prefetch = 3
        [groups.sqs]
        visibility_timeout_ms = 500
        batch_size = 2
        [[workload.generators]]
        producer = "shop"
        count = {self.count}
        keys = {self.keys}
        rate_per_s = 200
        key_choice = "random"
        """
        if self.semantics == "exactly-once":
            text = text.replace(
                'commit = "transactional"', 'commit = "transactional"\noutput_topic = "ledger"'
            )
            text += """
            [[topics]]
            name = "ledger"
            partitions = 2
            [[groups]]
            name = "reader"
            topic = "ledger"
            isolation = "read_committed"
            auto_offset_reset = "earliest"
            """
        if self.broker == "sqs":
            # A standard queue's own rare second copy is documented behaviour, not a
            # consumer-side duplicate: switch it off so at-most-once can be judged.
            text += "[sqs]\nduplicate_probability = 0.0\n"
        if self.ack_drop:
            text += f"""
            [[faults]]
            kind = "network"
            source = "broker"
            destination = "shop"
            drop_probability = {self.ack_drop}
            """
        seen: set[tuple[int, str]] = set()
        for consumer, when, restart in self.crashes:
            if consumer >= self.consumers:
                continue
            if isinstance(when, str):
                if (consumer, when) in seen:
                    continue
                seen.add((consumer, when))
                moment = f'at = "{when}"'
            else:
                moment = f"at_ms = {when}"
            text += f"""
            [[faults]]
            kind = "crash"
            target = "g-{consumer}"
            {moment}
            restart_after_ms = {restart}
            """
        return textwrap.dedent(text)

    def scenario(self) -> Scenario:
        return decode_scenario(self.toml().encode(), "case.toml", "case")


def semantics_for(broker: str) -> tuple[str, ...]:
    """Exactly-once only where the model has transactions."""
    return SEMANTICS if model(broker).capabilities.transactions else SEMANTICS[:2]


@st.composite
def case_strategy(draw: st.DrawFn) -> Case:
    broker = draw(st.sampled_from(BROKERS))
    can = model(broker).capabilities
    semantics = draw(st.sampled_from(semantics_for(broker)))
    crash = st.tuples(
        st.integers(0, 2),
        st.one_of(st.integers(0, 400), st.sampled_from(POINTS)),
        st.integers(0, 300),
    )
    return Case(
        broker=broker,
        semantics=semantics,
        seed=draw(st.integers(0, 2**32)),
        partitions=draw(st.integers(1, 3)) if can.partitions else 1,
        consumers=draw(st.integers(1, 3)),
        count=draw(st.integers(5, 40)),
        keys=draw(st.integers(1, 5)),
        crashes=tuple(draw(st.lists(crash, max_size=3))),
        ack_drop=draw(st.sampled_from([0.0, 0.0, 0.1, 0.3])) if can.idempotent_producer else 0.0,
    )


def first_processings_out_of_key_order(scenario: Scenario) -> str | None:
    """The first first-processing that comes before an earlier message of its key, if any."""
    sim = Simulation(scenario)
    sim.run()
    latest: dict[tuple[str, str], int] = {}
    seen: set[tuple[str, int]] = set()
    for r in sim.trace:
        if type(r) is Processed and r.key is not None and (r.group, r.msg) not in seen:
            seen.add((r.group, r.msg))
            if r.key_seq <= latest.get((r.group, r.key), 0):
                return f"m{r.msg} ({r.key} #{r.key_seq}) first processed after a later one"
            latest[(r.group, r.key)] = r.key_seq
    return None


def violation(scenario: Scenario, semantics: str) -> str | None:
    """What the run breaks of its semantics' promise, or None."""
    s: RunSummary = summarize(Simulation(scenario))
    if semantics in ("at-least-once", "exactly-once") and s.lost:
        return f"{semantics}: lost {s.lost} ({s.groups})"
    if semantics in ("at-most-once", "exactly-once") and s.duplicates:
        return f"{semantics}: {s.duplicates} duplicates ({s.groups})"
    # On SQS FIFO, deleting before processing frees the message group at once, so
    # another consumer may take the next batch while the first is still processing:
    # ordering of processing is promised only when the delete comes after it.
    order = model(scenario.broker).capabilities.key_order
    if order == "per-partition" or (order == "per-message-group" and semantics != "at-most-once"):
        return first_processings_out_of_key_order(scenario)
    return None


def check(case: Case) -> None:
    scenario = case.scenario()
    why = violation(scenario, case.semantics)
    if why is None:
        return

    def still_fails(candidate: Scenario) -> bool:
        return violation(candidate, case.semantics) is not None

    small: Scenario = shrink(scenario, still_fails, max_tries=60)
    raise AssertionError(reproducer(small, f"{case.broker}-{case.semantics}", small.seed, why))


@hypothesis_settings(250)
@given(case=case_strategy())
def test_delivery_guarantees_hold_under_random_faults(case: Case) -> None:
    check(case)


# -- the same seed, the same digest, in any process ------------------------------------

DIGESTS = """
import json, sys
from simulator.scenario import decode_scenario
from simulator.simulation import Simulation
texts = json.load(sys.stdin)
out = [Simulation(decode_scenario(t.encode(), "case.toml", "case")).run().digest() for t in texts]
print(json.dumps(out))
"""


def _digests(texts: list[str], hash_seed: str) -> list[str]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", DIGESTS],
        input=json.dumps(texts),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: list[str] = json.loads(out.stdout)
    return result


def test_the_same_seed_gives_the_same_digest_in_processes_with_different_hash_seeds() -> None:
    import random

    rng = random.Random(2024)
    moments: list[int | str] = list(POINTS)
    texts = []
    for _ in range(cases(24)):
        broker = rng.choice(BROKERS)
        can = model(broker).capabilities
        semantics = rng.choice(semantics_for(broker))
        crashes: tuple[tuple[int, int | str, int], ...] = tuple(
            (rng.randrange(3), rng.choice([rng.randrange(400), *moments]), rng.randrange(300))
            for _ in range(rng.randrange(3))
        )
        case = Case(
            broker,
            semantics,
            rng.randrange(2**32),
            rng.randint(1, 3) if can.partitions else 1,
            rng.randint(1, 3),
            rng.randint(5, 40),
            rng.randint(1, 5),
            crashes,
            rng.choice([0.0, 0.1]) if can.idempotent_producer else 0.0,
        )
        texts.append(case.toml())
    first, second = _digests(texts, "1"), _digests(texts, "987654")
    differing = [texts[i] for i, (a, b) in enumerate(zip(first, second, strict=True)) if a != b]
    assert not differing, f"{len(differing)} scenario(s) differ, first:\n{differing[:1]}"
