"""Grading on a Dask cluster (``--executor dask://HOST:PORT``) finds what the local pool finds.

One local cluster of two worker processes on 127.0.0.1 serves the module. The
same exercise is graded through it and through the local process pool: the
verdict, the runs explored, the failing case and its seed and the
counterexample file must be the same, byte for byte. Few runs keep it quick.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from evsim.cluster import scheduler_address
from evsim.grade import Grade, grade, grade_folder
from simulator.errors import InputError
from tests.exercises.test_exercises import ROOT, solve, start

distributed = pytest.importorskip("distributed", reason="the cluster extra: pip install .[cluster]")

pytestmark = [
    pytest.mark.xdist_group("dask-cluster"),  # one cluster for the whole module
    # its HTTP server moves to another port when 8787 is taken (by anyone on the machine)
    pytest.mark.filterwarnings("ignore:Port 8787 is already in use"),
]

RUNS = 12
NAME = "idempotent-consumer"


@pytest.fixture(scope="module")
def executor() -> Iterator[str]:
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    try:
        address = cluster.scheduler_address.removeprefix("tcp://")
        yield f"dask://{address}"
    finally:
        cluster.close()


def _same(g: Grade) -> dict[str, object]:
    out: dict[str, object] = msgspec.to_builtins(g)
    del out["seconds"], out["workers"], out["executor"]
    return out


def test_the_naive_starter_fails_on_the_cluster_with_the_local_counterexample(
    executor: str, tmp_path: Path
) -> None:
    folder = start(NAME, tmp_path)
    here = grade(folder, runs=RUNS, workers=2)
    written_here = (folder / "counterexample.toml").read_bytes()
    (folder / "counterexample.toml").unlink()
    there = grade(folder, runs=RUNS, workers=2, executor=executor)
    assert (there.verdict, there.executor, there.workers) == ("fail", executor, 2)
    assert here.counterexample is not None and there.counterexample is not None
    assert (there.runs, there.counterexample.run, there.counterexample.seed) == (
        here.runs,
        here.counterexample.run,
        here.counterexample.seed,
    )
    assert there.runs < RUNS  # the failure ended the exploration early: the rest was cancelled
    assert _same(there) == _same(here)
    assert (folder / "counterexample.toml").read_bytes() == written_here


def test_the_reference_passes_on_the_cluster_after_every_run(executor: str, tmp_path: Path) -> None:
    folder = start(NAME, tmp_path)
    solve(NAME, folder)
    here = grade(folder, runs=RUNS, workers=1)
    there = grade(folder, runs=RUNS, workers=1, executor=executor)
    assert (there.verdict, there.runs) == ("pass", RUNS)
    assert _same(there) == _same(here)
    assert not (folder / "counterexample.toml").exists()


def test_a_class_graded_on_the_cluster_gets_the_local_grades(executor: str, tmp_path: Path) -> None:
    root = tmp_path / "class"
    root.mkdir()
    for student in ("ana", "ben"):
        start(NAME, tmp_path / student).rename(root / student)
    solve(NAME, root / "ben")
    here = grade_folder(root, runs=RUNS, workers=1, write=False)
    there = grade_folder(root, runs=RUNS, workers=1, write=False, executor=executor)
    assert [g.verdict for g in there] == ["fail", "pass"]
    assert [_same(g) for g in there] == [_same(g) for g in here]


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_scheduler_is_one_line_and_exit_2(tmp_path: Path) -> None:
    folder = start(NAME, tmp_path)
    where = f"dask://127.0.0.1:{_closed_port()}"
    command = ["exercise", "grade", str(folder), "--runs", "2", "--executor", where]
    done = subprocess.run(
        [sys.executable, "-c", "import cli; cli.main()", *command],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            # how long distributed keeps trying to connect: no need to wait its default 30 s
            "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s",
        },
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(
        f"evsim: error: --executor {where}: cannot reach the scheduler"
    ), done.stderr


@pytest.mark.parametrize(
    "text",
    ["tcp://127.0.0.1:8786", "dask://127.0.0.1", "dask://:8786", "dask://h:x", "dask://h:1/p"],
)
def test_an_executor_that_is_not_local_or_dask_host_port_is_bad_input(text: str) -> None:
    with pytest.raises(InputError, match=r"^--executor .*: expected"):
        scheduler_address(text)


def test_the_dask_address_is_the_schedulers_tcp_address() -> None:
    assert scheduler_address("local") is None
    assert scheduler_address("dask://10.0.0.7:8786") == "tcp://10.0.0.7:8786"
    assert scheduler_address("dask://[::1]:8786") == "tcp://[::1]:8786"


def _fails_on_the_worker(task: int) -> int:
    raise RuntimeError(f"worker broke on case {task}")


def test_a_worker_that_fails_is_one_line_naming_the_executor(executor: str) -> None:
    from evsim.cluster import DaskCluster

    with DaskCluster(executor) as cluster, pytest.raises(InputError) as caught:
        list(cluster.map(_fails_on_the_worker, iter([1, 2, 3])))  # type: ignore[arg-type]
    message = str(caught.value)
    assert message.startswith(f"--executor {executor}") and "a worker failed" in message
    assert "\n" not in message
