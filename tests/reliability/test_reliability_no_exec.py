"""Nothing in a scenario or a trace is ever executed or unpickled.

Scenario files are TOML and traces are JSON Lines, decoded into plain msgspec
Structs. This test reads every module of ``simulator/``, ``tui/``, ``evsim/`` and
``cli.py`` as a syntax tree and fails on anything that could turn file content
into code: ``eval``, ``exec``, ``compile``, ``__import__``,
``importlib.import_module``, and the modules that deserialise objects
(``pickle``, ``marshal``, ``shelve``, ``dill``, ``yaml``). A module that really
needs one must be argued for here.
"""

from __future__ import annotations

import ast
from pathlib import Path

from reliability_support import ROOT

FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_ATTRIBUTES = {"import_module", "loads_unsafe", "load_module", "exec_module"}
ARGUED = {
    "tui/views/__init__.py": "imports the view module a registered ModelSpec names (code "
    "registers it; a trace's broker name only picks among registered models)",
}
"""Modules allowed ``import_module``, each with the reason no file content reaches it."""
ARGUED_EXEC = {
    "evsim/loader.py": (
        {"compile", "exec"},
        'runs the Python file a scenario\'s code field names (handler = "my_consumer.py:handle")'
        ": running a student's own code is what an exercise is for; it compiles exactly that"
        " file, never scenario or trace content, and nothing in simulator/ does it",
    ),
}
"""Modules allowed ``compile``/``exec`` of a file, each with what it runs and why."""
FORBIDDEN_MODULES = {
    "pickle",
    "cPickle",
    "_pickle",
    "marshal",
    "shelve",
    "dill",
    "cloudpickle",
    "yaml",
}


def _sources() -> list[Path]:
    files = [ROOT / "cli.py"]
    for folder in ("simulator", "tui", "evsim"):
        files += sorted((ROOT / folder).rglob("*.py"))
    return files


def _findings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    allowed = ARGUED_EXEC.get(str(name), (set(), ""))[0]
    for node in ast.walk(tree):
        where = f"{name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS - allowed:
                found.append(f"{where}: calls {func.id}()")
            forbidden = isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_ATTRIBUTES
            if forbidden and not (func.attr == "import_module" and str(name) in ARGUED):
                found.append(f"{where}: calls .{func.attr}()")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FORBIDDEN_MODULES:
                    found.append(f"{where}: imports {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"{where}: imports from {module}")
            if module == "importlib" and any(a.name == "import_module" for a in node.names):
                found.append(f"{where}: imports importlib.import_module")
        elif (
            isinstance(node, ast.Name)
            and node.id in (FORBIDDEN_CALLS - allowed) | {"__builtins__"}
            and not isinstance(node.ctx, ast.Store)
        ):
            found.append(f"{where}: refers to {node.id}")
    return found


def test_no_module_can_execute_or_unpickle_file_content() -> None:
    sources = _sources()
    assert len(sources) > 20, "the source tree was not found"
    findings = [f for path in sources for f in _findings(path)]
    assert not findings, "\n".join(findings)


def test_the_scan_catches_what_it_looks_for(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    code = (
        "import pickle\nfrom importlib import import_module\n"
        "eval('1')\nexec('x = 1')\n__import__('os')\n"
    )
    probe.write_text(code, encoding="utf-8")
    assert len(_findings(probe)) >= 5, _findings(probe)


def test_only_the_argued_modules_compile_or_exec_files() -> None:
    for module, (names, reason) in ARGUED_EXEC.items():
        path = ROOT / module
        assert path.exists(), f"{module} is argued for but does not exist"
        assert reason, f"{module} needs its reason"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        used = {
            n.id
            for n in ast.walk(tree)
            if isinstance(n, ast.Name) and n.id in FORBIDDEN_CALLS and n.id in names
        }
        assert used, f"{module} no longer needs {sorted(names)}: take it off ARGUED_EXEC"
    assert not any(m.startswith("simulator/") for m in ARGUED_EXEC), "the core executes nothing"
