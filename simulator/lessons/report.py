"""Handouts: a lesson, its run and its findings as one Markdown or HTML page.

A teacher hands the class a page they can read after the demo: what the
lesson sets up (topology and faults), what the narration said at each beat and
when, what happened (the outcome table, and the broker comparison where the
lesson is about one), which expectations held, and every finding of the
checker with the chain of records that caused it — the same "why?" walk the
TUI offers, written down. The page is built from a ``RunSummary``, the
scenario and the trace, so the same seed always gives the same handout. This
module is pure: it returns text, and the CLI writes it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import msgspec
from markdown_it import MarkdownIt

from simulator.lessons.course import Course
from simulator.lessons.describe import describe, kind_of
from simulator.lessons.predict import PredictionResult
from simulator.lessons.summary import RunSummary
from simulator.lessons.words import word
from simulator.scenario import Beat, Scenario
from simulator.trace import FINDING_TYPES, Record, Trace

__all__ = ["build_handout", "render_html", "render_markdown"]

MAX_FINDINGS = 12
"""Findings explained in full (at least one of every kind); the rest are counted."""

MAX_CAUSES = 8

# -- a tiny document model, rendered to Markdown or HTML -------------------------------


class Heading(msgspec.Struct, frozen=True):
    level: int
    text: str


class Para(msgspec.Struct, frozen=True):
    text: str
    style: str = ""
    """``""``, ``"note"`` (quieter) or ``"quote"`` (narration)."""


class Table(msgspec.Struct, frozen=True):
    headers: list[str]
    rows: list[list[str]]


class Items(msgspec.Struct, frozen=True):
    items: list[str]
    ordered: bool = False


class Code(msgspec.Struct, frozen=True):
    text: str


class Image(msgspec.Struct, frozen=True):
    src: str
    alt: str
    svg: str | None = None
    """The SVG itself, for a self-contained HTML page (Markdown links to ``src``)."""


Block = Heading | Para | Table | Items | Code | Image


class Handout(msgspec.Struct, frozen=True):
    title: str
    lang: str
    blocks: list[Block]


# -- building ---------------------------------------------------------------------------


def _fires(beat: Beat, record: Record) -> bool:
    if beat.on is not None:
        return kind_of(record) == beat.on
    return beat.at_ms is not None and record.at >= beat.at_ms


def beat_records(scenario: Scenario, trace: Trace) -> list[Record | None]:
    """For each narration beat, the record that fires it (None if it never does)."""
    return [next((r for r in trace if _fires(beat, r)), None) for beat in scenario.narration]


def _fmt_ms(ms: int) -> str:
    return f"{ms / 1000:.3f} s"


def _setup(scenario: Scenario, follows: str, lang: str) -> list[Block]:
    items = [f"{word('broker', lang)}: `{scenario.broker}` — {word('follows', lang)} {follows}"]
    for t in scenario.topics:
        extra = f", {word('partitions', lang)} {t.partitions}" if scenario.broker == "log" else ""
        items.append(f"{word('topic', lang)} `{t.name}`{extra}")
    for p in scenario.producers:
        items.append(f"{word('producer', lang)} `{p.name}` → `{p.topic}`")
    for g in scenario.groups:
        names = ", ".join(f"`{c}`" for c in g.consumer_names()) or "—"
        items.append(
            f"{word('group', lang)} `{g.name}`: {word('reads_topic', lang)} `{g.topic}`, "
            f"{word('consumers', lang)} {names}, {word('commit', lang)} `{g.commit}`"
        )
    items += _model_section(scenario)
    items += _other_sections(scenario)
    blocks: list[Block] = [
        Heading(2, word("setup", lang)),
        Items(items),
        Heading(3, word("faults", lang)),
    ]
    if not scenario.faults:
        blocks.append(Para(word("no_faults", lang)))
        return blocks
    faults: list[str] = []
    for f in scenario.faults:
        fields = msgspec.to_builtins(f)
        kind = str(fields.pop("kind", "fault"))
        shown = ", ".join(f"{k}={v}" for k, v in fields.items() if v not in (None, [], 0.0))
        faults.append(f"`{kind}`: {shown}")
    blocks.append(Items(faults))
    return blocks


_BROKER_SECTIONS = frozenset(
    {
        "title", "summary", "tags", "broker", "seed", "until_ms", "settle_ms", "max_records",
        "network", "topics", "producers", "groups", "workload", "faults",
        "narration", "expect", "limits", "predict", "name",
    }
)  # fmt: skip
"""The core sections the setup lists itself; every broker model's own sections join them."""


def _compact(value: object) -> str:
    text = msgspec.json.encode(msgspec.to_builtins(value)).decode()
    return text[:400] + " …" if len(text) > 400 else text


def _model_section(scenario: Scenario) -> list[str]:
    """The broker model's own table (a cluster's ``[log]`` …) where it differs from its defaults."""
    from simulator.models.registry import model

    owned = model(scenario.broker).sections
    value = None if owned is None else getattr(scenario, owned.name, None)
    if owned is None or owned.broker is None or not isinstance(value, owned.broker):
        return []
    ours, defaults = msgspec.structs.asdict(value), msgspec.structs.asdict(owned.broker())
    changed = {k: v for k, v in ours.items() if v != defaults[k]}
    return [f"`{owned.name}`: `{_compact(_set_only(changed))}`"] if changed else []


def _set_only(value: object) -> object:
    """``value`` as plain data without the fields left unset (None) in nested tables."""
    plain = msgspec.to_builtins(value)
    if isinstance(plain, dict):
        return {k: _set_only(v) for k, v in plain.items() if v is not None}
    if isinstance(plain, list):
        return [_set_only(v) for v in plain]
    return plain


def _other_sections(scenario: Scenario) -> list[str]:
    """Sections beyond the brokers' (event store, CQRS, streams, sagas), shown compactly."""
    from simulator.models.registry import sections

    shown = _BROKER_SECTIONS | {owned.name for owned in sections()}
    out: list[str] = []
    defaults = type(scenario).__struct_defaults__
    fields = type(scenario).__struct_fields__
    first_default = len(fields) - len(defaults)
    for i, field in enumerate(fields):
        if field in shown:
            continue
        value = getattr(scenario, field)
        default = defaults[i - first_default] if i >= first_default else msgspec.NODEFAULT
        if value is None or value == default or value in ([], {}):
            continue
        out.append(f"`{field}`: `{_compact(value)}`")
    return out


def _narration(
    scenario: Scenario,
    fired: Sequence[Record | None],
    snapshots: Sequence[str | None] | None,
    svgs: Sequence[str | None] | None,
    lang: str,
) -> list[Block]:
    blocks: list[Block] = [Heading(2, word("narration", lang))]
    for i, (beat, record) in enumerate(zip(scenario.narration, fired, strict=True)):
        when = (
            f"{_fmt_ms(record.at)} (#{record.seq} {kind_of(record)})"
            if record is not None
            else word("never", lang)
        )
        blocks.append(Heading(3, f"{i + 1}. {word('when', lang)}: {when}"))
        blocks.append(Para(beat.text.get(lang), "quote"))
        if beat.notice is not None:
            blocks.append(Para(f"{word('notice', lang)}: {beat.notice.get(lang)}", "note"))
        if snapshots is not None and i < len(snapshots) and snapshots[i]:
            svg = svgs[i] if svgs is not None and i < len(svgs) else None
            blocks.append(Image(str(snapshots[i]), f"{word('beat', lang)} {i + 1}", svg))
    if snapshots is None:
        blocks.append(Para(word("no_snapshots", lang, name=scenario.name), "note"))
    return blocks


def _outcome(summary: RunSummary, lang: str) -> list[Block]:
    columns = ("delivered", "processed", "lost", "duplicates", "out_of_order", "dead_lettered")
    rows = [
        [f"`{name}`", *(str(getattr(g, c)) for c in columns)] for name, g in summary.groups.items()
    ]
    totals = word(
        "totals",
        lang,
        produced=summary.produced,
        acked=summary.acked,
        retries=summary.retries,
        rebalances=summary.rebalances,
        virtual_ms=summary.virtual_ms,
        trace_records=summary.trace_records,
    )
    blocks: list[Block] = [Heading(2, word("outcome", lang))]
    if rows:
        blocks.append(Table([word("group", lang), *(word(c, lang) for c in columns)], rows))
    return [*blocks, Para(totals)]


def _compare(name: str, vary: str, variants: Sequence[object], lang: str) -> list[Block]:
    from simulator.lessons.compare import Variant

    columns = ("produced", "processed", "lost", "duplicates", "out_of_order", "dead_lettered")
    headers = [word(vary, lang), *(word(c, lang) for c in columns)]
    headers += [word("retries", lang), word("max_latency", lang)]
    rows: list[list[str]] = []
    notes: list[str] = []
    for v in variants:
        assert isinstance(v, Variant)
        label = f"{v.label} *" if v.baseline else v.label
        s = v.summary
        if s is None:
            rows.append([label, *([word("unsupported", lang)] + ["—"] * (len(headers) - 2))])
        else:
            latency = "—" if v.max_latency_ms is None else str(v.max_latency_ms)
            rows.append([label, *(str(getattr(s, c)) for c in columns), str(s.retries), latency])
        if v.note:
            notes.append(f"{v.label}: {v.note}")
    blocks: list[Block] = [
        Heading(3, word("compare", lang, vary=word(vary, lang))),
        Table(headers, rows),
        Para(word("compare_note", lang, vary=word(vary, lang), name=name, flag=vary), "note"),
    ]
    if notes:
        blocks.append(Items(notes))
    return blocks


def _explained(found: list[Record]) -> list[Record]:
    """The findings a handout explains: the first of every kind, then the earliest others."""
    first: dict[type[Record], Record] = {}
    for r in found:
        first.setdefault(type(r), r)
    chosen = {r.seq for r in first.values()}
    for r in found:
        if len(chosen) >= max(MAX_FINDINGS, len(first)):
            break
        chosen.add(r.seq)
    return [r for r in found if r.seq in chosen]


def _findings(scenario: Scenario, trace: Trace, lang: str) -> list[Block]:
    """Every kind of finding the run has, counted, and the chain of causes of some of each."""
    blocks: list[Block] = [Heading(2, word("checker_findings", lang))]
    kinds = frozenset(FINDING_TYPES)
    found = [r for r in trace if type(r) in kinds]
    if not found:
        blocks.append(Para(word("checker_found_nothing", lang)))
        return blocks
    counts: dict[str, int] = {}
    for r in found:
        counts[kind_of(r)] = counts.get(kind_of(r), 0) + 1
    blocks.append(Items([f"`{kind}` × {n}" for kind, n in counts.items()]))
    explained = _explained(found)
    for r in explained:
        blocks.append(
            Para(f"**#{r.seq} {_fmt_ms(r.at)} {kind_of(r)}** — `{r.component}` {describe(r)}")
        )
        chain = trace.causes(r.seq)[:MAX_CAUSES]
        if chain:
            lines = [
                f"#{c.seq} {_fmt_ms(c.at)} {kind_of(c)} {c.component}: {describe(c)}" for c in chain
            ]
            blocks.append(Para(word("caused_by", lang), "note"))
            blocks.append(Code("\n".join(lines)))
    if len(found) > len(explained):
        more = word("more_findings", lang, n=len(found) - len(explained), name=scenario.name)
        blocks.append(Para(more, "note"))
    return blocks


def build_handout(
    scenario: Scenario,
    summary: RunSummary,
    trace: Trace,
    *,
    lang: str = "en",
    follows: str = "",
    course: Course | None = None,
    predictions: Sequence[PredictionResult] = (),
    compare: tuple[str, Sequence[object]] | None = None,
    snapshots: Sequence[str | None] | None = None,
    svgs: Sequence[str | None] | None = None,
) -> Handout:
    """Everything a handout says, as blocks; ``render_markdown``/``render_html`` print it.

    ``compare`` is ``(vary, variants)`` from ``simulator.lessons.compare.compare``;
    ``snapshots`` is one image path per narration beat (None: no snapshots, and
    the handout says how to get them); ``svgs`` their contents, for HTML.
    """
    title = scenario.title.get(lang)
    blocks: list[Block] = [Para(scenario.summary.get(lang))]
    chapter = course.chapter_of(scenario.name) if course is not None else None
    if course is not None and chapter is not None:
        step = next(s for s in course.steps() if s.lesson == scenario.name)
        where = (
            f"{word('course', lang)}: {word('step', lang)} {step.number}/{len(course.path())}, "
            f"{word('chapter', lang)} “{chapter.title.get(lang)}” "
            f"(docs/guide/{lang}/{chapter.guide})"
        )
        blocks.append(Para(where, "note"))
        topics = course.topics_of(scenario.name)
        if topics:
            blocks.append(
                Para(f"{word('topics', lang)}: " + "; ".join(t.study_guide for t in topics), "note")
            )
    if scenario.predict:
        blocks.append(Heading(2, word("predict", lang)))
        for i, p in enumerate(scenario.predict, 1):
            blocks.append(Para(f"**{i}. {p.question.get(lang)}**"))
            blocks.append(Items([c.get(lang) for c in p.choices], ordered=True))
        blocks.append(Para(word("predict_hint", lang), "note"))
    blocks += _setup(scenario, follows, lang)
    blocks += _narration(scenario, beat_records(scenario, trace), snapshots, svgs, lang)
    blocks += _outcome(summary, lang)
    if compare is not None:
        blocks += _compare(scenario.name, compare[0], compare[1], lang)
    blocks.append(Heading(2, word("expectations", lang)))
    blocks.append(
        Items([f"{'✓' if e.ok else '✗'} `{e.name}` ({e.detail})" for e in summary.expectations])
    )
    blocks += _findings(scenario, trace, lang)
    if predictions:
        blocks.append(Heading(2, word("answers", lang)))
        for r in predictions:
            p = r.predict
            verdict = word("confirmed", lang) if r.confirmed else word("unconfirmed", lang)
            blocks.append(
                Para(
                    f"**{r.number}. {word('answer', lang)}: {p.answer}) "
                    f"{p.choices[p.answer - 1].get(lang)}** — {verdict} (`{r.detail}`)"
                )
            )
            blocks.append(Para(p.explanation.get(lang)))
    blocks.append(Heading(2, word("reproduce", lang)))
    blocks.append(
        Para(word("reproduce_text", lang, seed=summary.seed, digest=summary.trace_digest[:16]))
    )
    blocks.append(Code(f"evsim play {scenario.name} --seed {summary.seed} --lang {lang}"))
    return Handout(title=title, lang=lang, blocks=blocks)


# -- rendering ----------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(handout: Handout) -> str:
    """The handout as GitHub-flavoured Markdown."""
    out: list[str] = [f"# {handout.title}", ""]
    for b in handout.blocks:
        if isinstance(b, Heading):
            out += ["#" * b.level + " " + b.text, ""]
        elif isinstance(b, Para):
            if b.style == "quote":
                out += [f"> {b.text}", ""]
            elif b.style == "note":
                out += [f"*{b.text}*" if "*" not in b.text else b.text, ""]
            else:
                out += [b.text, ""]
        elif isinstance(b, Table):
            out.append("| " + " | ".join(_md_cell(h) for h in b.headers) + " |")
            out.append("| " + " | ".join("---" for _ in b.headers) + " |")
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            out.append("")
        elif isinstance(b, Items):
            out += [
                f"{i}. {item}" if b.ordered else f"- {item}" for i, item in enumerate(b.items, 1)
            ]
            out.append("")
        elif isinstance(b, Code):
            out += ["```", b.text, "```", ""]
        elif isinstance(b, Image):
            out += [f"![{b.alt}]({b.src})", ""]
    return "\n".join(out).rstrip("\n") + "\n"


_MARKS = MarkdownIt("zero").enable(["backticks", "emphasis"])
"""The inline Markdown a handout's text uses — `code`, *emphasis* and **bold** — and no
more: raw HTML, links and images in a lesson's text stay text, escaped."""


def _inline(text: str) -> str:
    rendered: str = _MARKS.renderInline(text)  # typed Any: its renderer is pluggable
    return rendered


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.5; color: #1b1b1b; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #bbb; padding: 0.2rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
blockquote { border-left: 4px solid #3a7; margin: 0.5rem 0; padding: 0.2rem 1rem;
             background: #f4faf6; }
.note { color: #555; font-style: italic; }
pre { background: #f5f5f5; padding: 0.5rem; overflow-x: auto; font-size: 0.85rem; }
figure { margin: 0.5rem 0 1rem; } figure svg { max-width: 100%; height: auto; }
"""


def render_html(handout: Handout) -> str:
    """The handout as one self-contained HTML page (SVG snapshots inlined)."""
    lang = "ko" if handout.lang == "ko" else "en"
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}">',
        '<head><meta charset="utf-8">',
        f"<title>{html.escape(handout.title)}</title>",
        f"<style>{_CSS}</style></head>",
        "<body>",
        f"<h1>{html.escape(handout.title)}</h1>",
    ]
    for b in handout.blocks:
        if isinstance(b, Heading):
            out.append(f"<h{b.level}>{_inline(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            if b.style == "quote":
                out.append(f"<blockquote>{_inline(b.text)}</blockquote>")
            else:
                cls = ' class="note"' if b.style == "note" else ""
                out.append(f"<p{cls}>{_inline(b.text)}</p>")
        elif isinstance(b, Table):
            out.append("<table><thead><tr>")
            out += [f"<th>{_inline(h)}</th>" for h in b.headers]
            out.append("</tr></thead><tbody>")
            for row in b.rows:
                out.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>")
            out.append("</tbody></table>")
        elif isinstance(b, Items):
            tag = "ol" if b.ordered else "ul"
            out.append(
                f"<{tag}>" + "".join(f"<li>{_inline(i)}</li>" for i in b.items) + f"</{tag}>"
            )
        elif isinstance(b, Code):
            out.append(f"<pre>{html.escape(b.text)}</pre>")
        elif isinstance(b, Image):
            if b.svg is not None:
                out.append(f'<figure aria-label="{html.escape(b.alt)}">{b.svg}</figure>')
            else:
                out.append(
                    f'<figure><img src="{html.escape(b.src)}" alt="{html.escape(b.alt)}"></figure>'
                )
    out += ["</body>", "</html>", ""]
    return "\n".join(out)
