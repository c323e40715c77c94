"""The domain and store modules stay inside the deterministic core's rules.

No wall clock, no random ids, no global random, no threads, no ``hash()``: the
same commands at the same virtual times must give byte-identical stores in any
process. Checked on the source, so a new module cannot slip past.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE_MODULES = sorted([*ROOT.glob("simulator/domain/*.py"), *ROOT.glob("simulator/store/*.py")])
FORBIDDEN_IMPORTS = {"time", "datetime", "uuid", "random", "secrets", "threading", "asyncio"}


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_module_uses_no_clock_randomness_threads_or_hash(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names = {(node.module or "").split(".")[0]}
        else:
            names = set()
        assert not names & FORBIDDEN_IMPORTS, f"{path.name} imports {names & FORBIDDEN_IMPORTS}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "hash", f"{path.name}:{node.lineno} calls hash()"


def test_the_core_modules_were_found() -> None:
    assert len(CORE_MODULES) >= 10


def test_same_commands_give_byte_identical_sqlite_logs(tmp_path: Path) -> None:
    from simulator.domain import get_domain
    from simulator.domain.rides import AssignDriver, ReportDriverLocation, RequestRide
    from simulator.store import SqliteEventStore, handle_command

    rides = get_domain("rides")
    commands = [
        ReportDriverLocation(zone_id="z", driver_id="d2", x_m=5, y_m=0),
        ReportDriverLocation(zone_id="z", driver_id="d1", x_m=0, y_m=5),
        RequestRide(zone_id="z", ride_id="r", rider_id="p", pickup_x_m=0, pickup_y_m=0),
        AssignDriver(zone_id="z", ride_id="r"),
    ]
    logs = []
    for run in ("one", "two"):
        with SqliteEventStore(tmp_path / f"{run}.sqlite3") as store:
            for at_ms, command in enumerate(commands):
                handle_command(store, rides, command, recorded_at_ms=at_ms * 100)
            logs.append(store.read_all())
    assert logs[0] == logs[1]
    assert b'"driver_id":"d1"' in logs[0][-1].data
