"""Projectors: the crash window, visibility gaps, and the fold the checker compares with."""

from __future__ import annotations

from conftest import scenario_from
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.cqrs.projections import PROJECTIONS, fold, table_digest
from simulator.domain import get_domain
from simulator.lessons.summary import summarize
from simulator.simulation import Simulation
from simulator.trace import (
    CheckpointSaved,
    GapSkipped,
    GapWaited,
    Projected,
    ProjectionSkipped,
    ReadModelMismatched,
)

BANK = """
settle_ms = 400

[store]
writers = "{writers}"

[[handlers]]
name = "teller"
decide_ms = 2

[[handlers]]
name = "slow"
decide_ms = 2
commit_ms = {commit_ms}

[[commands]]
handler = "teller"
domain = "bank"
type = "account.open"
fields = {{ account_id = "A", owner = "ana" }}

[[commands]]
handler = "teller"
domain = "bank"
type = "account.open"
fields = {{ account_id = "B", owner = "bo" }}

[[command_generators]]
handler = "teller"
domain = "bank"
type = "account.deposit"
count = {deposits}
start_ms = 10
rate_per_s = 200
fields = {{ account_id = "A", amount_cents = "{{i}}5" }}

[[commands]]
at_ms = 12
handler = "slow"
domain = "bank"
type = "account.deposit"
fields = {{ account_id = "B", amount_cents = 1000 }}
"""


def _bank(
    projectors: str,
    faults: str = "",
    *,
    commit_ms: int = 0,
    writers: str = "concurrent",
    deposits: int = 6,
) -> str:
    return (
        BANK.format(commit_ms=commit_ms, writers=writers, deposits=deposits) + projectors + faults
    )


def _projector(name: str, kind: str, extra: str = "") -> str:
    return f"""
[[projectors]]
name = "{name}"
projection = "balances"
kind = "{kind}"
batch = 3
{extra}
"""


def _crash(target: str, occurrence: int) -> str:
    return f"""
[[faults]]
kind = "crash"
target = "{target}"
at = "after_project_before_checkpoint"
occurrence = {occurrence}
restart_after_ms = 15
"""


def _run(toml: str) -> Simulation:
    sim = Simulation(scenario_from(toml))
    sim.run()
    return sim


def _truth(sim: Simulation) -> dict[str, int | str]:
    assert sim.cqrs is not None
    store = sim.cqrs.store
    codec = store.codec(get_domain("bank"))
    return fold(PROJECTIONS["balances"], [codec.decode(e) for e in store.read_all()])


def _table(sim: Simulation, name: str) -> dict[str, int | str]:
    assert sim.cqrs is not None
    return sim.cqrs.projectors[name].serving.table


def _mismatches(sim: Simulation, name: str) -> list[ReadModelMismatched]:
    return [r for r in sim.trace if isinstance(r, ReadModelMismatched) and r.projector == name]


def test_naive_projector_double_counts_after_a_crash_before_its_checkpoint() -> None:
    sim = _run(_bank(_projector("p", "naive"), _crash("p", 1)))
    truth = _truth(sim)
    assert _table(sim, "p")["A"] != truth["A"]
    (finding,) = _mismatches(sim, "p")
    assert finding.row == "A" and "more than once" in finding.reason
    crashed = sim.trace[finding.cause_seq or 0]
    assert type(crashed).__name__ == "Crashed" and crashed.component == "p"


def test_idempotent_projector_skips_the_versions_it_already_applied() -> None:
    sim = _run(_bank(_projector("p", "idempotent"), _crash("p", 1)))
    assert _table(sim, "p") == _truth(sim)
    assert any(isinstance(r, ProjectionSkipped) and r.projector == "p" for r in sim.trace)
    assert not _mismatches(sim, "p")


def test_atomic_projector_rolls_back_rows_written_before_the_crash() -> None:
    sim = _run(_bank(_projector("p", "atomic"), _crash("p", 1)))
    assert _table(sim, "p") == _truth(sim)
    projected = [r for r in sim.trace if isinstance(r, Projected) and r.projector == "p"]
    assert all(r.pending for r in projected)
    saved = [r for r in sim.trace if isinstance(r, CheckpointSaved) and r.projector == "p"]
    assert saved and all(r.atomic for r in saved)
    # the first batch was projected twice (rolled back once), and counted once
    assert sum(1 for r in projected if r.position == 1) == 2


def test_naive_catch_up_reader_skips_a_position_committed_late_forever() -> None:
    sim = _run(_bank(_projector("p", "naive", 'gap = "naive"'), commit_ms=100))
    (skip,) = [r for r in sim.trace if isinstance(r, GapSkipped)]
    (finding,) = _mismatches(sim, "p")
    assert finding.row == "B" and finding.cause_seq == skip.seq
    assert "visibility gap" in finding.reason


def test_gap_aware_reader_waits_for_the_late_commit() -> None:
    sim = _run(_bank(_projector("p", "naive", 'gap = "gap-aware"'), commit_ms=100))
    assert any(isinstance(r, GapWaited) for r in sim.trace)
    assert not any(isinstance(r, GapSkipped) for r in sim.trace)
    assert _table(sim, "p") == _truth(sim)


def test_high_water_reader_gives_up_only_after_its_stale_threshold() -> None:
    patient = _run(
        _bank(_projector("p", "naive", 'gap = "high-water"\nstale_ms = 300'), commit_ms=100)
    )
    assert _table(patient, "p") == _truth(patient)
    hasty = _run(
        _bank(_projector("p", "naive", 'gap = "high-water"\nstale_ms = 30'), commit_ms=100)
    )
    (skip,) = [r for r in hasty.trace if isinstance(r, GapSkipped)]
    assert "30 ms" in skip.reason
    assert _mismatches(hasty, "p")


def test_a_single_writer_commits_positions_in_order_so_no_gap_opens() -> None:
    sim = _run(_bank(_projector("p", "naive", 'gap = "naive"'), commit_ms=100, writers="single"))
    assert not any(isinstance(r, GapSkipped | GapWaited) for r in sim.trace)
    assert _table(sim, "p") == _truth(sim)


def test_read_model_digest_is_stable_and_order_free() -> None:
    assert table_digest({"p": {"a": 1, "b": 2}}) == table_digest({"p": {"b": 2, "a": 1}})
    assert table_digest({"p": {"a": 1}}) != table_digest({"p": {"a": 2}})
    one = summarize(Simulation(scenario_from(_bank(_projector("p", "atomic")))))
    two = summarize(Simulation(scenario_from(_bank(_projector("p", "idempotent")))))
    assert one.read_model_digest is not None
    assert one.read_model_digest == two.read_model_digest  # same rows, same digest
    assert one.trace_digest != two.trace_digest


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    crashes=st.lists(st.integers(min_value=1, max_value=5), max_size=3, unique=True),
    deposits=st.integers(min_value=3, max_value=12),
    commit_ms=st.sampled_from([0, 40]),
)
def test_idempotent_and_atomic_projectors_equal_a_fresh_fold_under_any_crash_plan(
    crashes: list[int], deposits: int, commit_ms: int
) -> None:
    projectors = "".join(
        _projector(k, k, 'gap = "gap-aware"') for k in ("naive", "idempotent", "atomic")
    )
    faults = "".join(_crash(k, n) for k in ("naive", "idempotent", "atomic") for n in crashes)
    sim = _run(_bank(projectors, faults, commit_ms=commit_ms, deposits=deposits))
    truth = _truth(sim)
    assert _table(sim, "idempotent") == truth
    assert _table(sim, "atomic") == truth
    crashed_in_window = any(
        type(r).__name__ == "Crashed" and r.component == "naive" for r in sim.trace
    )
    if not crashed_in_window:
        assert _table(sim, "naive") == truth
    # and the checker agrees with this test about every projector
    for name in ("naive", "idempotent", "atomic"):
        assert bool(_mismatches(sim, name)) == (_table(sim, name) != truth)


def test_naive_projector_differs_from_the_fold_for_some_crash_plan() -> None:
    projectors = _projector("naive", "naive")
    sim = _run(_bank(projectors, _crash("naive", 2)))
    assert _table(sim, "naive") != _truth(sim)
