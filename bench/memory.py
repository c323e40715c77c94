"""W7: bytes of memory per trace record, for the whole process and for the trace alone.

Each figure is measured in a fresh Python process (``python -m bench.memory``),
so nothing an earlier benchmark allocated, and no heap it left fragmented, is
billed to this one. The run is W1 at 0 ms processing (five records per message).

- **Whole process** — peak resident set size (``VmHWM``) at the end of the
  run minus the peak before it (imports and a ten-message warm-up done): every
  byte the run made the operating system hand over — trace, checker books,
  broker log, messages, kernel, allocator overhead and fragmentation —
  divided by the trace records.
- **Trace alone** — with ``tracemalloc`` (in a second fresh process, because
  tracing inflates the RSS): the Python memory released when the trace's
  record list is cleared, divided by its records. The same process reports the
  whole Python heap the run left allocated (``tracemalloc``'s view of
  everything, without the allocator's overhead).
- **Trace spilled to disk** — the same run with its trace spilled as it goes
  (``simulator.spill``, as ``evsim play`` runs a large lesson): peak RSS growth
  per record, what is left of the process once the trace is on disk, beside
  the CPU time per message and the bytes per record in the file.
  ``python -m bench.memory scaling 50000 200000 1000000`` prints the same
  figures at several sizes, each in its own process, and
  ``python -m bench.memory top MESSAGES`` the Python memory left at the end of
  a spilled run by source file (``tracemalloc``): what the remaining bytes are.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from bench.rows import BenchRow, at_most, bench_row

if TYPE_CHECKING:
    from simulator.scenario import Scenario

__all__ = [
    "MemoryFigures",
    "SpilledFigures",
    "measure_in_fresh_process",
    "measure_spilled_in_fresh_process",
    "w7_memory",
    "w7_spilled",
]

ROOT = Path(__file__).resolve().parents[1]


class MemoryFigures(NamedTuple):
    records: int
    process_bytes: int
    """Peak RSS growth over the run (mode ``rss``)."""
    heap_bytes: int
    """Python memory still allocated at the end of the run (mode ``tracemalloc``)."""
    trace_bytes: int
    """Python memory released by clearing the trace (mode ``tracemalloc``)."""


def _peak_rss_bytes() -> int:
    """This process's peak resident set size.

    Linux's ``VmHWM`` belongs to the process's own address space; ``ru_maxrss``
    would not do, because it carries the parent's peak across ``exec`` on Linux.
    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:  # no procfs (macOS): ru_maxrss, in bytes there
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # reported in kB
    raise RuntimeError("/proc/self/status has no VmHWM line")


def _warm_up() -> None:
    """A ten-message run first, so lazy imports and caches are not billed to the records."""
    from bench.broker_flow import w1_simulation

    w1_simulation(10, 0).run()
    gc.collect()


def _measure_rss(messages: int) -> dict[str, int]:
    from bench.broker_flow import w1_simulation

    _warm_up()
    before = _peak_rss_bytes()
    sim = w1_simulation(messages, 0)
    sim.run()
    return {"records": len(sim.trace), "process_bytes": _peak_rss_bytes() - before}


def _measure_tracemalloc(messages: int) -> dict[str, int]:
    from bench.broker_flow import w1_simulation

    _warm_up()
    tracemalloc.start()
    sim = w1_simulation(messages, 0)
    sim.run()
    gc.collect()
    heap, _ = tracemalloc.get_traced_memory()
    records = len(sim.trace)
    sim.trace.records.clear()
    gc.collect()
    without_trace, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"records": records, "heap_bytes": heap, "trace_bytes": heap - without_trace}


SPILLED_TARGET = 2 * 2**30 / 50_000_000
"""Issue 19: fifty million records (10M W1 messages) in 2 GiB, about 43 bytes a record."""


def w1_scenario(messages: int) -> Scenario:
    """W1 at 0 ms as ``bench.broker_flow.w1_simulation`` builds it, at any size.

    The scenario is decoded small and then given its size: a run this module
    measures may be held in memory, and the memory budget refuses a large
    one held so when it loads. ``max_records`` is raised to hold the whole
    trace (W1 at 10M messages writes 50,050,019 records).
    """
    import msgspec

    from bench.broker_flow import W1_TOML
    from simulator.scenario import decode_scenario

    text = W1_TOML.format(messages=min(messages, 1000), processing_ms=0)
    spec = decode_scenario(text.encode(), "w1.toml", "w1")
    generator = msgspec.structs.replace(spec.workload.generators[0], count=messages)
    workload = msgspec.structs.replace(spec.workload, generators=[generator])
    return msgspec.structs.replace(
        spec, workload=workload, max_records=max(spec.max_records, 6 * messages)
    )


def _measure_spilled(messages: int, folder: str | None) -> dict[str, Any]:
    """W1 with its trace spilled to an anonymous file in ``folder``: RSS, CPU, file size."""
    from simulator.simulation import Simulation
    from simulator.spill import SpillFile

    _warm_up()
    scenario = w1_scenario(messages)
    gc.collect()
    before = _peak_rss_bytes()
    with tempfile.TemporaryFile(dir=folder) as out:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        wall, cpu = time.perf_counter(), time.process_time()
        sim = Simulation(scenario, 1, spill=SpillFile(out))
        sim.run()
        cpu_run = time.process_time() - cpu
        digest = sim.trace.digest()
        sim.trace.finish_file()
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
        after = resource.getrusage(resource.RUSAGE_SELF)
        file_bytes = os.fstat(out.fileno()).st_size
        books = list(sim.checker.groups.values())
        return {
            "messages": messages,
            "records": len(sim.trace),
            "process_bytes": _peak_rss_bytes() - before,
            "peak_rss_bytes": _peak_rss_bytes(),
            "file_bytes": file_bytes,
            "cpu_run_seconds": cpu_run,
            "cpu_seconds": cpu,
            "system_seconds": after.ru_stime - usage.ru_stime,
            "wall_seconds": wall,
            "processed": sum(len(b.first_processed) for b in books),
            "digest": digest,
        }


def _measure_top(messages: int, folder: str | None) -> dict[str, Any]:
    """The Python memory a spilled W1 run leaves allocated, by source file (``tracemalloc``)."""
    from simulator.simulation import Simulation
    from simulator.spill import SpillFile

    _warm_up()
    scenario = w1_scenario(messages)
    gc.collect()
    tracemalloc.start()
    with tempfile.TemporaryFile(dir=folder) as out:
        sim = Simulation(scenario, 1, spill=SpillFile(out))
        sim.run()
        gc.collect()
        snapshot = tracemalloc.take_snapshot()
        records = len(sim.trace)
    tracemalloc.stop()
    root = str(ROOT) + os.sep
    top = [
        {
            "file": stat.traceback[0].filename.removeprefix(root),
            "bytes": stat.size,
            "blocks": stat.count,
        }
        for stat in snapshot.statistics("filename")[:12]
    ]
    lines = [
        {
            "line": f"{stat.traceback[0].filename.removeprefix(root)}:{stat.traceback[0].lineno}",
            "bytes": stat.size,
            "blocks": stat.count,
        }
        for stat in snapshot.statistics("lineno")[:12]
    ]
    total = sum(stat.size for stat in snapshot.statistics("filename"))
    return {
        "messages": messages,
        "records": records,
        "heap_bytes": total,
        "top": top,
        "lines": lines,
    }


def _child(mode: str, messages: int, *more: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory", mode, str(messages), *more],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def measure_in_fresh_process(messages: int) -> MemoryFigures:
    """The three figures, each from its own fresh process."""
    rss = _child("rss", messages)
    traced = _child("tracemalloc", messages)
    if rss["records"] != traced["records"]:  # the run is deterministic: same records
        raise RuntimeError(f"W7 runs disagree: {rss['records']} vs {traced['records']} records")
    return MemoryFigures(
        records=rss["records"],
        process_bytes=rss["process_bytes"],
        heap_bytes=traced["heap_bytes"],
        trace_bytes=traced["trace_bytes"],
    )


def w7_memory(messages: int = 200_000) -> list[BenchRow]:
    figures = measure_in_fresh_process(messages)
    n = max(figures.records, 1)
    label = f"({figures.records:,} records, fresh process)"
    return [
        bench_row(
            key="w7.process",
            workload=f"W7 memory per record, whole process: peak RSS growth {label}",
            unit="bytes/record",
            ours=figures.process_bytes / n,
            targets=(at_most(150, source="issue 19"),),
            note=(
                f"peak RSS +{figures.process_bytes / 2**20:,.0f} MiB; the Python heap "
                f"(tracemalloc) holds {figures.heap_bytes / n:,.0f} B/record at the end"
            ),
        ),
        bench_row(
            key="w7.trace",
            workload=f"W7 memory per record, the trace alone: tracemalloc {label}",
            unit="bytes/record",
            ours=figures.trace_bytes / n,
            targets=(at_most(150, source="issue 8"),),
        ),
    ]


class SpilledFigures(NamedTuple):
    messages: int
    records: int
    process_bytes: int
    """Peak RSS growth over the run, the trace spilled as it goes."""
    peak_rss_bytes: int
    """The process's peak RSS, imports and all."""
    file_bytes: int
    """The spill file at the end: the whole export."""
    cpu_seconds: float
    """Building and running the simulation, the digest and the end of the file."""
    system_seconds: float
    """The operating system's part of ``cpu_seconds``: the file's writes, fresh pages."""
    wall_seconds: float
    processed: int
    digest: str


def measure_spilled_in_fresh_process(messages: int, folder: str | None = None) -> SpilledFigures:
    """W1 at 0 ms with its trace spilled to a temporary file (in ``folder``), in its own process."""
    figures = _child("spilled", messages, *([folder] if folder else []))
    figures.pop("cpu_run_seconds")
    return SpilledFigures(**figures)


def w7_spilled(messages: int = 200_000) -> list[BenchRow]:
    figures = measure_spilled_in_fresh_process(messages)
    n = max(figures.records, 1)
    return [
        bench_row(
            key="w7.spilled",
            workload=(
                f"W7 memory per record, trace spilled to disk: peak RSS growth "
                f"({figures.records:,} records, fresh process)"
            ),
            unit="bytes/record",
            ours=figures.process_bytes / n,
            targets=(at_most(round(SPILLED_TARGET, 1), source="issue 19: 50M records in 2 GiB"),),
            note=(
                f"peak RSS +{figures.process_bytes / 2**20:,.0f} MiB; the file "
                f"{figures.file_bytes / n:,.0f} B/record; CPU "
                f"{figures.cpu_seconds / max(figures.messages, 1) * 1e6:.2f} us/msg with the digest"
            ),
        )
    ]


def _scaling(sizes: list[int], folder: str | None) -> None:
    """``scaling``: the spilled figures at each size, each in a fresh process, as a table."""
    print(
        f"{'messages':>11} {'records':>11} {'cpu s':>8} {'us/msg':>7} {'sys us':>7} "
        f"{'wall s':>8} {'RSS MiB':>8} {'+MiB':>7} {'B/rec':>6} {'file B/rec':>10}"
    )
    for messages in sizes:
        f = measure_spilled_in_fresh_process(messages, folder)
        if f.processed != messages:
            raise RuntimeError(f"W1 spilled: {f.processed:,} of {messages:,} messages processed")
        print(
            f"{messages:>11,} {f.records:>11,} {f.cpu_seconds:>8.2f} "
            f"{f.cpu_seconds / messages * 1e6:>7.2f} {f.system_seconds / messages * 1e6:>7.2f} "
            f"{f.wall_seconds:>8.2f} "
            f"{f.peak_rss_bytes / 2**20:>8,.0f} {f.process_bytes / 2**20:>7,.0f} "
            f"{f.process_bytes / f.records:>6.1f} {f.file_bytes / f.records:>10.1f}",
            flush=True,
        )


def main(argv: list[str] | None = None) -> None:
    """One measurement as JSON, in this process:

    ``python -m bench.memory rss|tracemalloc MESSAGES``, ``spilled|top MESSAGES [FOLDER]``;
    or ``scaling SIZE… [--dir FOLDER]``: the spilled figures at each size, as a table.
    """
    args = argv if argv is not None else sys.argv[1:]
    mode, rest = args[0], args[1:]
    if mode == "scaling":
        folder = rest[rest.index("--dir") + 1] if "--dir" in rest else None
        _scaling([int(a) for a in rest if a.isdigit()], folder)
        return
    messages = int(rest[0])
    folder = rest[1] if len(rest) > 1 else None
    figures: dict[str, Any]
    if mode == "spilled":
        figures = _measure_spilled(messages, folder)
    elif mode == "top":
        figures = _measure_top(messages, folder)
    else:
        figures = _measure_rss(messages) if mode == "rss" else _measure_tracemalloc(messages)
    sys.stdout.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
