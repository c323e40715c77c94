"""The dependency rule of the core: components see the Runtime port, never the Simulation.

Brokers, consumers, the network, the fault plan, the checker, stream
processors and saga roles are built on ``simulator.runtime.Runtime``; only the
services above the core (summary, compare, views) hold a ``Simulation``. Two
checks keep it that way: no component module names ``simulator.simulation`` in
any import (``TYPE_CHECKING`` blocks included, read with ``ast``), and
importing a component in a fresh interpreter does not load it either.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.runtime import Runtime
from simulator.scenario import decode_scenario
from simulator.simulation import Simulation

ROOT = Path(__file__).resolve().parents[2]
SIMULATOR = ROOT / "simulator"


def _component_files() -> list[Path]:
    files: list[Path] = []
    for package in ("models", "streams", "sagas"):
        files += sorted((SIMULATOR / package).rglob("*.py"))
    files += [SIMULATOR / name for name in ("network.py", "faults.py", "checker.py", "runtime.py")]
    return files


COMPONENTS = _component_files()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_modules(path: Path) -> list[str]:
    """Every module an ``import`` or ``from … import`` names, anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def test_the_component_list_covers_the_model_packages() -> None:
    covered = {_module_name(p) for p in COMPONENTS}
    for module in (
        "simulator.models.handling",
        "simulator.models.log.consumer",
        "simulator.models.queues.broker",
        "simulator.models.rabbitmq.queue",
        "simulator.models.sqs.queue",
        "simulator.streams.processor",
        "simulator.sagas.manager",
        "simulator.network",
        "simulator.faults",
        "simulator.checker",
    ):
        assert module in covered


@pytest.mark.parametrize("path", COMPONENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_component_imports_the_simulation(path: Path) -> None:
    bad = [m for m in _imported_modules(path) if m.startswith("simulator.simulation")]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}: take a Runtime instead"


def test_the_runtime_port_imports_only_the_kernel_trace_rng_and_messages() -> None:
    tree = ast.parse((SIMULATOR / "runtime.py").read_text(encoding="utf-8"))
    at_import: list[str] = []
    for node in tree.body:  # module level only: TYPE_CHECKING blocks are ``if`` statements
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("simulator"):
            at_import.append(node.module)
    assert sorted(at_import) == [
        "simulator.kernel",
        "simulator.messages",
        "simulator.rng",
        "simulator.trace",
    ]


IMPORT_ALONE = """
import importlib, sys
importlib.import_module(sys.argv[1])
print("simulator.simulation" in sys.modules)
"""


@pytest.mark.parametrize(
    "module", [_module_name(p) for p in COMPONENTS], ids=lambda m: m.removeprefix("simulator.")
)
def test_importing_a_component_alone_does_not_load_the_simulation(module: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_ALONE, module],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert out.stdout.strip() == "False", f"importing {module} loads simulator.simulation"


def test_a_simulation_is_a_runtime() -> None:
    text = b'title = { en = "t", ko = "t" }\nsummary = { en = "s", ko = "s" }\n'
    sim = Simulation(decode_scenario(text, "empty.toml", "empty"))
    assert isinstance(sim, Runtime)
    runtime: Runtime = sim
    assert runtime.records[0].seq == 0 and runtime.next_seq == len(sim.trace)
    assert runtime.publisher() is sim.broker
