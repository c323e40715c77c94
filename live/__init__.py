"""Live mode: a lesson's topology and workload on a real RabbitMQ, recorded as a trace.

The simulator plays a lesson in virtual time, deterministically. Live mode plays
the *same* lesson against a real broker: it declares the lesson's exchanges and
queues (under names unique to the run, deleted afterwards), runs its producers
and consumers as real operating-system processes — so a crash in the fault plan
is a real ``SIGKILL`` and the broker really requeues what the dead consumer had
not acknowledged — and writes what the clients observed as a trace in evsim's
own schema. The checker judges that trace, ``evsim view`` plays it, and
``evsim live --compare`` puts it beside the model's run of the same lesson.

A live trace is not deterministic (it reads the wall clock, and the broker
and the operating system schedule as they please); its header says so. This
package therefore never appears under ``simulator/``, which stays pure.

Read the modules in this order: ``broker`` (where the broker is and how to
reach it), ``topology`` (the lesson's exchanges and queues as broker objects),
``plan`` (what of a lesson can run live, and its pacing), ``handler`` (what a
consumer does with a message), ``events`` and ``worker`` (the processes and
what they write down), ``taps`` (what the broker shows a user about itself),
``run`` (the run itself), ``assemble`` and ``runtime`` (from observations to a
judged trace), ``outcome`` (the model beside the broker).
"""
