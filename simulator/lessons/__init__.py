"""Lesson-level services: what a teacher and a student see, built above the core.

The core (kernel, brokers, event store, checker) produces a trace; the services
here turn a run into something to read in a lesson — its words in both lesson
languages first, and later the run summary, the broker comparison, the
predictions and the handout (``simulator.summary``, ``compare``, ``predict`` and
``report`` will move here). They stay pure like the core: no UI library, no
wall clock, so the TUI, the headless player and a handout all say the same.
"""
