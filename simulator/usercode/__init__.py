"""Your own code in the simulation: handlers, projectors, deciders and saga steps.

A lesson shows a system built from evsim's own parts; an exercise asks a
student to write one part — the consumer's message handler, a projector's
``apply``, a decider, a saga step with its compensation — and then runs it
under the same brokers and faults. Read the modules in this order: ``api``
(what user code sees: ``Message``, ``Event``, ``Context``, ``Store`` and the
role markers, re-exported as the ``evsim`` package), ``refs`` (how a scenario
names code, ``"my_consumer.py:handle"``, and the checks of its signature),
``port`` (how the core reaches code that ``evsim.loader`` imported, and the
run's books of stores, effects and publishes), ``store`` (the key-value store
and its transactions), then one module per role: ``consumer``, ``projection``,
``commands`` and ``saga``; ``properties`` are what an exercise asks of the code.

User code gets its clock and its randomness from the context, never from the
machine, so a run with user code is reproducible like any other run; the
loader catches the calls that would break that (``evsim.guard``).
"""
