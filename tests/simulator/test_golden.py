"""Golden trace digests: every shipped scenario replays byte for byte.

Each scenario in ``scenarios/`` is run with its own seed and the SHA-256 of its
trace (``Trace.digest()``, the ``trace_digest`` of ``evsim play --json``) is
compared with the one stored in ``golden_digests.json`` next to this file. A
mismatch means the simulation now behaves differently for that lesson: either
a bug, or an intended change to the core or to the lesson. After an intended
change — or after adding a scenario — regenerate every digest with::

    EVSIM_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -n 0 tests/simulator/test_golden.py

then play the affected lessons (``evsim play NAME``) to check that their
narration still matches what happens, and commit the new digests with the
change that caused them. The test covers whatever ``scenarios/`` contains, so a
new scenario without a stored digest fails until the digests are regenerated.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from simulator.scenario import builtin_names, builtin_path, load_scenario
from simulator.simulation import Simulation

GOLDEN = Path(__file__).with_name("golden_digests.json")
UPDATE = os.environ.get("EVSIM_UPDATE_GOLDEN") == "1"
REGENERATE = "EVSIM_UPDATE_GOLDEN=1 .venv/bin/python -m pytest -n 0 tests/simulator/test_golden.py"
SCENARIOS = builtin_names()


def _digest(name: str) -> str:
    scenario = load_scenario(builtin_path(name))
    return Simulation(scenario).run().digest()


def _write_atomically(path: Path, digests: dict[str, str]) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(digests, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


@pytest.fixture(scope="module")
def golden() -> dict[str, str]:
    """The stored digests; under EVSIM_UPDATE_GOLDEN=1, recomputed and written first."""
    if UPDATE:
        digests = {name: _digest(name) for name in SCENARIOS}
        _write_atomically(GOLDEN, digests)
        return digests
    if not GOLDEN.exists():
        return {}
    stored: dict[str, str] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return stored


@pytest.mark.parametrize("name", SCENARIOS)
def test_trace_digest_matches_golden(name: str, golden: dict[str, str]) -> None:
    expected = golden.get(name)
    assert expected is not None, (
        f"no golden digest stored for scenario {name!r} in {GOLDEN.name}; "
        f"generate it with: {REGENERATE}"
    )
    actual = _digest(name)
    assert actual == expected, (
        f"trace of {name!r} changed (digest {actual[:16]}…, golden {expected[:16]}…). "
        f"If the change is intended, replay the lesson (evsim play {name}), "
        f"then regenerate with: {REGENERATE}"
    )


def test_no_golden_digest_for_a_scenario_that_is_gone(golden: dict[str, str]) -> None:
    stale = sorted(set(golden) - set(SCENARIOS))
    assert not stale, (
        f"golden digests stored for scenarios that no longer exist: {stale}; "
        f"regenerate with: {REGENERATE}"
    )
