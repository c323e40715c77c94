"""Benchmarks: how fast evsim runs, beside an anchor measured in the same run.

They live outside the runtime packages because they read the wall clock and
import optional anchors (SimPy, the ``eventsourcing`` library); nothing in the
deterministic core depends on them. ``evsim bench`` runs them all
(``bench.run.run_all``); each module can also be run on its own.
"""
