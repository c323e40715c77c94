"""The real RabbitMQ the live tests run lessons on, or one line saying why there is none.

(A fixture module the test modules import, as in ``tests/differential``: a
``conftest.py`` here would shadow the top-level one.)

The broker is the one ``make broker`` starts on 127.0.0.1:5672 (CI's
``.ci/run`` starts it too). Without it every test that needs it skips with the
line ``evsim live`` itself prints: how to install RabbitMQ, or how to start it.
Each lesson runs live once per test session (``live_run``) and its tests read
that one run; every live test is in the xdist group ``live``, so the runs
happen one after another in one worker rather than competing for the cores.
"""

from __future__ import annotations

import functools
import os

import pytest

from live.broker import DEFAULT_URL, BrokerAddress, unavailable
from live.run import LiveOptions, LiveResult, run_live
from simulator.lessons.summary import RunSummary, summarize
from simulator.scenario import Scenario, resolve_scenario
from simulator.simulation import Simulation
from simulator.trace import Record

SPEED = 0.5
"""Lessons run at half speed here: every race of a lesson keeps its shape (durations,
TTLs included, are all divided by it) with twice the margin on a busy 2-core machine.
A quarter speed was tried and dropped: it did not stop the TTL lesson's race (its third
order expired first once in CI); the lesson's margins were widened instead, to about
200 virtual ms either side of three orders (400 ms of wall clock here)."""

LIVE_LESSONS = (
    "rabbitmq-prefetch",
    "rabbitmq-consumer-crash",
    "rabbitmq-requeue-loop",
    "rabbitmq-dlx-delayed-retry",
    "rabbitmq-ttl-and-length-limits",
)


BROKER_URL = os.environ.get("EVSIM_LIVE_BROKER", DEFAULT_URL)
"""The broker the live tests use (``EVSIM_LIVE_BROKER`` names another one)."""


@pytest.fixture(scope="session", name="broker_url")
def broker_url_fixture() -> str:
    pytest.importorskip("pika", reason="pika is not installed: pip install -e '.[live]'")
    why = unavailable(BrokerAddress.parse(BROKER_URL))
    if why is not None:
        pytest.skip(why)
    return BROKER_URL


def live(scenario: Scenario, url: str = BROKER_URL) -> LiveResult:
    return run_live(scenario, LiveOptions(url, speed=SPEED, timeout_s=90))


@functools.cache
def live_run(name: str) -> LiveResult:
    """The lesson, run live once for the whole session."""
    return live(resolve_scenario(name))


@functools.cache
def model_run(name: str) -> tuple[list[Record], RunSummary]:
    """The same lesson on the model."""
    sim = Simulation(resolve_scenario(name))
    summary = summarize(sim)
    return sim.trace.records, summary
