"""Lesson-level services: what a teacher and a student see, built above the core.

The core (kernel, brokers, event store, checker) produces a trace; the modules
here turn runs into something to read in a lesson: the run summary and its
expectations (``summary``), one workload on every model (``compare``),
predict-then-run (``predict``), one line per record (``describe``), the course
path (``course``), handouts (``report``), lesson templates (``templates``),
shrinking a failing scenario into a small reproducer (``shrink``), and the
words of both lesson languages (``words``). They stay pure like the core: no UI
library, no wall clock, so the TUI, the headless player and a handout all say
the same.
"""
