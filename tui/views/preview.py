"""A lesson drawn before it runs: the lesson picker's topology, in the model's own terms.

The broker part comes from the model's view (``topology_for``: partitions for
the log, exchanges and bindings for RabbitMQ, topics, queues and dead-letter
queues for SQS), from the settings the run's header would carry
(``ModelSpec.settings_for``) so it says what the run will. The event store
(handlers, projectors, queries, rebuilds), stream processors and the saga are
the same for every model and are drawn here.
"""

from __future__ import annotations

from rich.text import Text

from simulator.errors import InputError
from simulator.lessons.words import word
from simulator.models.registry import UnknownModel, model
from simulator.scenario import SagaServiceSpec, Scenario, StreamProcessorSpec
from tui.views import topology_for
from tui.views.parts import line, secs

__all__ = ["topology_lines"]


def _settings(s: Scenario) -> dict[str, str]:
    try:
        return model(s.broker).settings_for(s)
    except (UnknownModel, InputError, KeyError, ValueError):
        return {}


def _store_lines(s: Scenario, lang: str) -> list[Text]:
    if s.store is None:
        return []
    rows: list[Text] = []
    store = line()
    store.append(f" ▤ {word('event_store', lang)}", style="bold cyan")
    store.append(f" ({s.store.backend}, {s.store.writers} writers", style="dim")
    if s.store.publish != "none":
        store.append(f", {s.store.publish}", style="dim")
    store.append(")", style="dim")
    rows.append(store)
    for h in s.handlers:
        row = line()
        row.append(f" ⚙ {h.name}", style="cyan")
        row.append(f" → {word('event_store', lang)} ({h.concurrency})", style="dim")
        if h.snapshot_every:
            row.append(f" · ◇ {word('snapshot', lang)} /{h.snapshot_every}", style="magenta")
        if h.publish:
            row.append(f" · {h.publish}", style="dim")
        rows.append(row)
    for p in s.projectors:
        row = line()
        row.append(f" ▦ {p.name}", style="magenta")
        source = word("event_store", lang) if p.source == "store" else f"◉ {p.group}"
        row.append(f" ← {source}: {p.projection} ({p.kind}", style="")
        if p.gap != "naive":
            row.append(f", {p.gap}")
        row.append(")")
        rows.append(row)
    for q in s.queries[:3]:
        row = line()
        row.append(f" ? {word('query', lang)} {q.key} @ {secs(q.at_ms)}", style="dim")
        rows.append(row)
    for r in s.rebuilds:
        row = line()
        start = (
            word("from_snapshot", lang, position="…")
            if r.start == "snapshot"
            else word("from_zero", lang)
        )
        row.append(f" ⟲ {word('rebuild', lang)} {r.projector}: {r.mode}, {start}", style="yellow")
        row.append(f" @ {secs(r.at_ms)}", style="dim")
        rows.append(row)
    return rows


def _processor_lines(s: Scenario, lang: str) -> list[Text]:
    rows: list[Text] = []
    for p in s.processors:
        if isinstance(p, StreamProcessorSpec):
            row = line()
            row.append(f" ⧉ {p.name}", style="bold")
            kind: str = p.window
            if kind == "session":
                kind += f" gap {secs(p.gap_ms)}"
            elif kind == "hopping":
                kind += f" {secs(p.size_ms)}/{secs(p.advance_ms or p.size_ms)}"
            elif kind != "none":
                kind += f" {secs(p.size_ms)}"
            row.append(f": {kind}, {p.time} time", style="")
            if p.time == "event":
                row.append(f", {word('watermark', lang)} max − {secs(p.max_out_of_orderness_ms)}")
            row.append(f", late → {p.late}", style="dim")
            rows.append(row)
    if s.saga is not None:
        row = line()
        row.append(f" ↯ {word('sagas', lang)} ({s.saga.mode})", style="bold")
        row.append(": " + " → ".join(s.saga.steps), style="")
        row.append(f" · timeout {secs(s.saga.step_timeout_ms)}", style="dim")
        rows.append(row)
        services = [p for p in s.processors if isinstance(p, SagaServiceSpec)]
        for p in services:
            if p.decline_keys or not p.idempotent:
                row = line()
                row.append(f"   {p.name} ({p.step})", style="dim")
                if p.decline_keys:
                    row.append(f" declines {', '.join(p.decline_keys[:3])}", style="red")
                if not p.idempotent:
                    row.append(" · not idempotent", style="yellow")
                rows.append(row)
    return rows


def topology_lines(s: Scenario, lang: str) -> list[Text]:
    """The lesson's topology, before anything runs."""
    rows = _store_lines(s, lang)
    if s.producers or s.topics or s.groups:
        rows += topology_for(s.broker)(s, _settings(s), lang)
    rows += _processor_lines(s, lang)
    return rows
