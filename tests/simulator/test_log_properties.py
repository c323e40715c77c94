"""Delivery guarantees as properties: random seeds, random crash and network plans."""

from __future__ import annotations

from conftest import scenario_from
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.lessons.summary import RunSummary, summarize
from simulator.simulation import Simulation

crashes = st.lists(
    st.tuples(
        st.sampled_from(["g-0", "g-1"]),
        st.integers(min_value=0, max_value=400),
        st.integers(min_value=0, max_value=300),
    ),
    max_size=3,
)
point_crashes = st.lists(
    st.tuples(
        st.sampled_from(["g-0", "g-1"]),
        st.sampled_from(
            ["after_poll", "after_process_before_commit", "after_commit_before_process"]
        ),
        st.integers(min_value=1, max_value=4),
    ),
    max_size=2,
)
drop = st.sampled_from([0.0, 0.1, 0.3])

SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def _scenario(
    commit: str,
    timed: list[tuple[str, int, int]],
    points: list[tuple[str, str, int]],
    ack_drop: float,
    extra: str = "",
) -> str:
    text = f"""
[[topics]]
name = "orders"
partitions = 3
[[producers]]
name = "checkout"
topic = "orders"
request_timeout_ms = 40
retry_backoff_ms = 5
[[groups]]
name = "g"
topic = "orders"
consumers = 2
commit = "{commit}"
auto_offset_reset = "earliest"
processing_ms = 3
max_poll_records = 4
session_timeout_ms = 300
heartbeat_interval_ms = 100
[[workload.generators]]
producer = "checkout"
count = 40
keys = 5
rate_per_s = 200
key_choice = "random"
[[faults]]
kind = "network"
source = "broker"
destination = "checkout"
drop_probability = {ack_drop}
"""
    for target, at_ms, restart in timed:
        text += f'[[faults]]\nkind = "crash"\ntarget = "{target}"\nat_ms = {at_ms}\n'
        text += f"restart_after_ms = {restart}\n"
    for target, point, occurrence in points:
        text += f'[[faults]]\nkind = "crash"\ntarget = "{target}"\nat = "{point}"\n'
        text += f"occurrence = {occurrence}\nrestart_after_ms = 50\n"
    return text + extra


def _run(text: str, seed: int) -> RunSummary:
    return summarize(Simulation(scenario_from(text), seed))


@SETTINGS
@given(seed=st.integers(0, 10_000), timed=crashes, points=point_crashes, ack_drop=drop)
def test_at_least_once_never_loses(
    seed: int,
    timed: list[tuple[str, int, int]],
    points: list[tuple[str, str, int]],
    ack_drop: float,
) -> None:
    s = _run(_scenario("after-process", timed, points, ack_drop), seed)
    assert s.lost == 0


@SETTINGS
@given(seed=st.integers(0, 10_000), timed=crashes, points=point_crashes, ack_drop=drop)
def test_at_most_once_never_duplicates(
    seed: int,
    timed: list[tuple[str, int, int]],
    points: list[tuple[str, str, int]],
    ack_drop: float,
) -> None:
    s = _run(_scenario("before-process", timed, points, ack_drop), seed)
    assert s.duplicates == 0


EOS_DOWNSTREAM = """
[[topics]]
name = "ledger"
partitions = 2
[[groups]]
name = "reader"
topic = "ledger"
isolation = "read_committed"
auto_offset_reset = "earliest"
"""


@SETTINGS
@given(seed=st.integers(0, 10_000), timed=crashes, ack_drop=drop)
def test_exactly_once_neither_loses_nor_duplicates(
    seed: int, timed: list[tuple[str, int, int]], ack_drop: float
) -> None:
    text = _scenario("transactional", timed, [], ack_drop, EOS_DOWNSTREAM)
    text = text.replace(
        'commit = "transactional"', 'commit = "transactional"\noutput_topic = "ledger"'
    )
    s = _run(text, seed)
    for name in ("g", "reader"):
        assert s.groups[name].lost == 0, name
        assert s.groups[name].duplicates == 0, name


@SETTINGS
@given(seed=st.integers(0, 10_000), request_drop=drop, ack_drop=drop, in_flight=st.integers(1, 5))
def test_keyed_records_from_an_idempotent_producer_are_never_reordered(
    seed: int, request_drop: float, ack_drop: float, in_flight: int
) -> None:
    text = _scenario("after-process", [], [], ack_drop)
    text = text.replace(
        "retry_backoff_ms = 5", f"retry_backoff_ms = 5\nmax_in_flight = {in_flight}"
    )
    text += (
        '[[faults]]\nkind = "network"\nsource = "checkout"\ndestination = "broker"\n'
        f"drop_probability = {request_drop}\n"
    )
    s = _run(text, seed)
    assert s.out_of_order == 0
    assert s.duplicates == 0
