"""What a broker model tells the rest of evsim about itself: its ``ModelSpec``.

Every model package exports one spec: its name in scenario files (``broker =
"rabbitmq"``), the real system and version it follows, how it is built on a
runtime, the tables it owns in scenario files (``[rabbitmq]``,
``[groups.rabbitmq]``), the settings it prints in the trace header, and what it
can and cannot do (``Capabilities``), and the knobs a teacher may turn while a
lesson plays (``Knob``: the TUI's settings dialog lists the lesson's own
model's, never another's). Validation, ``evsim compare``, the
benchmarks, the handout and the CLI read specs from ``simulator.models.registry``
instead of naming models, so a new model is a new package and one line there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from simulator.messages import Message
    from simulator.runtime import Runtime
    from simulator.scenario import Scenario
    from simulator.scenario.schema import Table

__all__ = ["BrokerModel", "Capabilities", "KeyOrder", "Knob", "KnobScope", "ModelSpec", "Sections"]


class BrokerModel(Protocol):
    """What ``Simulation`` asks of a broker model once it is built."""

    def send(self, msg: Message) -> None:
        """The workload hands ``msg`` to its producer."""

    def crash(self, target: str, point: str | None) -> int:
        """Crash component ``target``; return the seq of its ``Crashed`` record."""

    def restart(self, target: str, cause_seq: int | None) -> None:
        """Bring ``target`` back after a crash."""


KeyOrder = Literal["per-partition", "per-message-group", "none"]
"""What keeps one key's messages in order while consumers compete for a topic:

- ``per-partition``: a key's records share a partition, read by one consumer at
  a time (Kafka), whatever the delivery semantics;
- ``per-message-group``: a message group (the key) is locked while one batch of
  it is in flight (SQS FIFO) — so only while the delete comes after processing;
- ``none``: competing consumers take a key's messages in parallel (RabbitMQ
  queues, SQS standard queues).
"""


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """What a model can do, where the models differ; checks and comparisons read these."""

    transactions: bool = False
    """Consume-and-produce transactions (``commit = "transactional"``): exactly-once."""
    processors: bool = False
    """Stream processors and saga roles (``processor = …``, ``[saga]``) run on it."""
    partitions: bool = False
    """Topics are split into partitions (``[[topics]] partitions`` means something)."""
    key_order: KeyOrder = "none"
    """The per-key order guarantee under competing consumers."""
    idempotent_producer: bool = False
    """The producer numbers its batches and a retried one is not stored twice."""
    dedup_window_ms: int | None = None
    """A queue drops a send whose deduplication id it saw within this window."""
    dead_letter_headers: bool = False
    """Dead letters carry ``x-death`` headers and quorum deliveries ``x-delivery-count``
    (``DeadLettered.headers``, ``Delivered.delivery_count``): the header metrics work."""


@dataclass(frozen=True, kw_only=True)
class Sections:
    """The tables a model owns in scenario files, under its ``name``.

    ``broker`` is the broker-wide table (``[rabbitmq]``), ``group`` the one in
    each ``[[groups]]`` entry (``[groups.rabbitmq]``); either may be None. A
    file may hold the sections of every registered model whatever its
    ``broker`` says, so one lesson runs on every model. ``validate`` checks
    what the section's types cannot (it raises ``InputError``).
    """

    name: str
    broker: type[Table] | None = None
    group: type[Table] | None = None
    validate: Callable[[Scenario, str], None] | None = None
    machines: Callable[[Scenario], list[str]] | None = None
    """The machines the section adds to a scenario (``broker-1`` … of a cluster): faults
    may crash them, cut them off or cut their power, and narration may focus on them."""


KnobScope = Literal["scenario", "topic", "producer", "group", "handler", "projector", "store"]
"""Which table of a scenario a knob is in: the file itself, each ``[[topics]]`` entry, each
producer, group, command handler or projector, or ``[store]``."""


@dataclass(frozen=True, kw_only=True)
class Knob:
    """One setting worth turning while a lesson plays, and the values to offer.

    ``field`` is a field of the ``scope`` table (``prefetch``), or of the model's
    own section inside it when ``section`` names one (``[groups.rabbitmq]``:
    ``scope="group", section="rabbitmq"``). ``values`` are offered in turn; the
    changed scenario goes through the same validation as a file, so a value
    that does not fit the lesson is refused with its reason. A knob of a field
    that holds a list (named consumers) is not offered.
    """

    scope: KnobScope
    field: str
    values: tuple[object, ...]
    section: str | None = None
    label: str = ""
    """The name shown (default: ``field``), in the real system's words where it has one."""

    @property
    def name(self) -> str:
        return self.label or self.field


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """One broker model, as the registry knows it."""

    name: str
    """The value of ``broker = "…"`` in scenario files."""
    follows: str
    """The real system and version it follows (the lesson picker, the handout)."""
    follows_for: Callable[[Scenario], str] | None = None
    """What a given scenario's run follows, when that depends on the scenario (a cluster or
    one broker); the trace header shows it. None: ``follows``."""
    build: Callable[[Runtime], BrokerModel]
    """The broker model for a run, built on the run's runtime."""
    settings_for: Callable[[Scenario], dict[str, str]]
    """Every setting that shapes its behaviour, defaults included, for the trace header."""
    capabilities: Capabilities
    sections: Sections | None = None
    """Its scenario tables (two models may share them: ``sqs`` and ``sqs-fifo``)."""
    template: str | None = None
    """Its lesson template: a file name under ``scenarios/templates/`` (``evsim new``)."""
    compare_label: str | None = None
    """Its row in ``evsim compare --vary broker`` (default: its name)."""
    no_exactly_once: str = ""
    """Without transactions: why ``--vary semantics`` has no exactly-once variant here."""
    view: str = ""
    """The dotted name of the view module that draws it (resolved by the TUI, never the core)."""
    knobs: tuple[Knob, ...] = ()
    """The settings a teacher may turn while one of its lessons plays, in the order shown."""
    components: Callable[[Scenario], list[str]] | None = None
    """Named parts of the model a fault may crash or cut off and a beat may focus on, beyond
    ``broker`` (a cluster's nodes); None: just ``broker``."""
    bytes_per_message: int = 600
    """What a run of it keeps in memory per message of the workload, the trace aside: the
    message, the broker's copies and books, the checker's books. The memory budget
    (``simulator.scenario.validation.projected_memory_bytes``) prices a run with it, so it
    is a high guess from a measurement; a model that does not say is priced at 600."""

    def follows_in(self, scenario: Scenario) -> str:
        """The ``follows`` text for a run of ``scenario`` (its trace header)."""
        return self.follows if self.follows_for is None else self.follows_for(scenario)

    @property
    def label(self) -> str:
        """How comparisons name it."""
        return self.compare_label or self.name
