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

The cases and the judge live in ``simulator.lessons.explore`` (the exercise
grader explores with them too). A failing case is shrunk
(``simulator.lessons.shrink``) and written out as a scenario file; the
assertion message gives the ``evsim play`` command that replays it.
The last test runs cases in two processes with different ``PYTHONHASHSEED`` and
compares trace digests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reliability_support import ROOT, cases, hypothesis_settings, reproducer

from simulator.lessons.explore import BROKERS, POINTS, Case, semantics_for, violation
from simulator.lessons.shrink import shrink
from simulator.models.registry import model
from simulator.scenario import Scenario

pytestmark = pytest.mark.slow  # soak, fuzz and kill runs: deselect with -m 'not slow'


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
