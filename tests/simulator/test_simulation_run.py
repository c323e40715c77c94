"""``run()``'s fast loop, ``run_for`` slices and ``step()`` play exactly the same run.

``run()`` inlines the common case of ``step()`` and keeps the cyclic garbage
collector off what the run has built; ``run_for`` plays the same loop a slice
at a time. None of that may change a single record, nor how the run ends.
"""

from __future__ import annotations

import gc

import pytest

from simulator.scenario import builtin_names, builtin_path, load_scenario
from simulator.simulation import Simulation

SCENARIOS = builtin_names()


def _stepped(name: str, until_ms: int | None = None) -> Simulation:
    sim = Simulation(load_scenario(builtin_path(name)), until_ms=until_ms)
    while not sim.finished:
        sim.step()
    return sim


@pytest.mark.parametrize("name", SCENARIOS)
def test_run_and_step_write_the_same_trace_and_end_the_same_way(name: str) -> None:
    stepped = _stepped(name)
    ran = Simulation(load_scenario(builtin_path(name)))
    ran.run()
    assert ran.trace.digest() == stepped.trace.digest()
    assert (ran.finish_reason, ran.kernel.now_ms) == (stepped.finish_reason, stepped.kernel.now_ms)


@pytest.mark.parametrize("name", SCENARIOS[::5])
def test_a_run_played_in_slices_is_the_run_played_in_one_go(name: str) -> None:
    whole = Simulation(load_scenario(builtin_path(name)))
    whole.run()
    sliced = Simulation(load_scenario(builtin_path(name)))
    while not sliced.finished:
        before = len(sliced.trace)
        sliced.run_for(7)
        assert sliced.finished or len(sliced.trace) >= before + 7
    assert sliced.trace.digest() == whole.trace.digest()


def test_a_run_cut_by_until_ms_ends_where_stepping_ends() -> None:
    name = SCENARIOS[0]
    stepped = _stepped(name, until_ms=50)
    ran = Simulation(load_scenario(builtin_path(name)), until_ms=50)
    ran.run()
    assert ran.finish_reason == stepped.finish_reason == "until"
    assert ran.trace.digest() == stepped.trace.digest()


def test_nothing_stays_frozen_after_a_run_so_a_dropped_simulation_can_be_collected() -> None:
    sim = Simulation(load_scenario(builtin_path(SCENARIOS[0])))
    sim.run()
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()
