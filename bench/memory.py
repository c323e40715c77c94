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
"""

from __future__ import annotations

import gc
import json
import resource
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import NamedTuple

from bench.rows import BenchRow, at_most, bench_row

__all__ = ["MemoryFigures", "measure_in_fresh_process", "w7_memory"]

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


def _child(mode: str, messages: int) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory", mode, str(messages)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, int] = json.loads(done.stdout)
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


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.memory rss|tracemalloc MESSAGES``: one measurement, as JSON."""
    mode, messages = argv if argv is not None else sys.argv[1:]
    measure = _measure_rss if mode == "rss" else _measure_tracemalloc
    sys.stdout.write(json.dumps(measure(int(messages))) + "\n")


if __name__ == "__main__":
    main()
