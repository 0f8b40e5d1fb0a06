"""A stored run as a `goldenthread.report/v1` JSON document, a CSV, or one self-contained HTML page.

Rendering reads only the stored run, so an old report renders the way it was built. The HTML
page needs nothing from the network: the stylesheet and script are inlined, the heat map and
bars are plain HTML coloured server-side (a heat-map cell by a class per shade, whose rules the
page's stylesheet carries). All user text goes through Jinja2 autoescaping, except the raw JSON,
element text escaped by `_content`; the page's Content-Security-Policy allows only its own
script (by hash), so even a text that got past escaping could not run.

What the page repeats per finding or per heat-map cell is kept short (docs/report.md, "Size":
a page of 500 findings stays under 2 MB): no style or indentation on each, no class where a
selector finds the element, and the team and perspective lists only where the exported file's
script filters by them.

The served page (`view` given) lists one page of findings chosen by the query string
(alignment/report/page.py); an exported file (no `view`) lists every finding and filters them in
the browser. Both open with cards that tell the story (orphans, uncovered objectives, drifting
check-ins, awaiting review), each linking to those findings.

The page spells each finding's evidence out as labelled lines ("own OKR similarity 0.64",
"matched key result O-47-KR1: ‹text›"), naming records by id and title where the document
knows the title; keys it does not know are shown generically, and the raw JSON stays one
click away.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from alignment.csvcells import neutralize
from alignment.report.evidence_text import (
    RECORD_TYPES,
    EvidenceText,
    flatten,
    kind_label,
    titles_of,
)
from alignment.report.findings import natural
from alignment.report.kinds import KINDS, SEVERITIES
from alignment.report.page import (
    PER_PAGE,
    SEARCH_MAX,
    FindingsPage,
    FindingsView,
    page_numbers,
    page_of,
)
from alignment.report.store import ReportRun
from alignment.vocabulary import PERSPECTIVES, perspective_name

TEMPLATES = Path(__file__).parent / "templates"
CSV_COLUMNS = (
    "key", "kind", "category", "severity", "reason", "records", "teams", "cycles",
    "perspectives", "evidence",
)  # fmt: skip
# The service's pages the report links to; a served page leaves out those its reader's role may
# not open (an exported file keeps them all: it is read wherever it was saved).
LINKED_PAGES = ("okr", "objective", "team", "map", "review")
# The cards at the top: (finding kind, what a count of one means, what any other count means).
STORY = (
    (
        "orphan_okr",
        "orphan OKR serves no strategic objective",
        "orphan OKRs serve no strategic objective",
    ),
    (
        "uncovered_objective",
        "strategic objective no OKR serves",
        "strategic objectives no OKR serves",
    ),
    ("checkin_drift", "check-in drifts from its OKR", "check-ins drift from their OKR"),
    (
        "needs_review",
        "OKR awaits a person's review of its link",
        "OKRs await a person's review of their link",
    ),
)


def to_document(run: ReportRun, findings: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The run as a document: every finding, or the given ones (a page of them)."""
    summary = dict(run.summary)
    organization = summary.pop("organization", {"id": run.org_id, "name": run.org_id})
    return {
        "format": run.schema_version,
        "id": run.number,
        "organization": organization,
        "created_at": run.created_at.isoformat(),
        "as_of": run.as_of.isoformat() if run.as_of else None,
        "model": run.model,
        "inputs_version": run.inputs_version,
        "filters": run.filters,
        "config": run.config,
        "summary": summary,
        "findings": run.findings if findings is None else findings,
    }


def page_document(run: ReportRun, shown: FindingsPage, view: FindingsView) -> dict[str, Any]:
    """The run's document listing one page of its findings, and `findings_page` saying which:
    `next` and `previous` are relative links (`?page=3&kind=...`) keeping the view's filters."""
    document = to_document(run, shown.items)
    document["findings_page"] = {
        "page": shown.page,
        "pages": shown.pages,
        "per_page": view.per_page,
        "matching": shown.matching,
        "total": run.summary["counts"]["findings"],
        "filters": view.filters(),
        "next": view.query(page=shown.page + 1) if shown.page < shown.pages else None,
        "previous": view.query(page=shown.page - 1) if shown.page > 1 else None,
    }
    return document


def to_json(run: ReportRun) -> str:
    return json.dumps(to_document(run), indent=2, ensure_ascii=False)


def _cell(value: str) -> str:
    return neutralize(value)


def to_csv(run: ReportRun) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for f in run.findings:
        writer.writerow(
            _cell(v)
            for v in (
                f["key"],
                f["kind"],
                f["category"],
                f["severity"],
                f["reason"],
                "; ".join(f"{r['type']} {r['id']}: {r['label']}" for r in f["records"]),
                " ".join(f["scope"]["teams"]),
                " ".join(f["scope"]["cycles"]),
                " ".join(f["scope"]["perspectives"]),
                json.dumps(f["evidence"], ensure_ascii=False, sort_keys=True),
            )
        )
    return buffer.getvalue()


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda x: "–" if x is None else f"{x:.0%}"
    env.filters["pretty"] = lambda x: json.dumps(x, indent=2, ensure_ascii=False, sort_keys=True)
    env.filters["content"] = _content
    # A plain str, so autoescaping still applies (Jinja's own `tojson` is marked safe and
    # would leave double quotes raw inside an attribute).
    env.filters["json"] = lambda x: json.dumps(x, ensure_ascii=False)
    env.filters["kind_label"] = kind_label
    env.filters["perspective"] = perspective_name
    env.filters["record_type"] = lambda t: RECORD_TYPES.get(t, t.replace("_", " "))
    return env


def _content(text: str) -> Markup:
    """`text` escaped for an element's content (`<pre>`), never an attribute: `&`, `<` and `>`
    only. Autoescaping also spells every `"` as `&#34;`, which the raw JSON is full of (a
    fifth of a finding's bytes); between tags a quote is just text."""
    return Markup(str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def _heat_classes(counts: Sequence[Sequence[int]], top: int) -> tuple[dict[int, str], str]:
    """A heat-map cell's colour, by its count: white at 0 (a bare cell), deep blue at the
    busiest cell. As a class per shade and one stylesheet rule each, not a style on every cell
    (150 teams x 40 objectives repeated 3,000 styles of a handful of shades)."""
    classes: dict[int, str] = {}
    rules: dict[str, str] = {}
    for count in sorted({c for row in counts for c in row if c}):
        if count < 0:  # not a count: no shade, the table's white
            classes[count] = ""
            continue
        alpha = 0.15 + 0.85 * min(count / top, 1.0)
        ink = "#fff" if alpha > 0.55 else "#111"
        shade = f"{alpha:.2f}"
        name = "h" + shade.replace(".", "")
        classes[count] = name
        rules[name] = f".heat td.{name}{{background:rgba(31,94,168,{shade});color:{ink}}}"
    return classes, "\n".join(rules.values())


@lru_cache(maxsize=1)
def _assets() -> tuple[str, str, str]:
    script = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    style = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    return script, style, f"'sha256-{digest}'"


def to_html(
    run: ReportRun,
    view: FindingsView | None = None,
    *,
    shown: FindingsPage | None = None,
    team_counts: Counter[str] | None = None,
    may: Mapping[str, bool] | None = None,
    team_pages: Sequence[Mapping[str, str]] = (),
    signed_in: str | None = None,
    site: str | None = None,
) -> str:
    """The run as one page: with `view`, the served page listing that page of findings
    (`shown` and `team_counts` read from the stored rows, or worked out here from the whole
    list); without, a self-contained file listing all of them. `may`: which of
    `LINKED_PAGES` to link (the others are named as text), every one when not given;
    `team_pages` and `signed_in`: the served page's nav (the team pages the reader may open,
    who is signed in). `site`: the service's address (`https://host/prefix/`) the links to its
    pages start from, for an export read away from the service (a saved file); without it they
    are absolute paths, which only the service's own pages can follow."""
    if view is not None and shown is None:
        shown = page_of(run.findings, view)
    listed = shown.items if shown is not None else run.findings
    if team_counts is None:
        team_counts = Counter(t for f in run.findings for t in f["scope"]["teams"])
    # Titles come from what the page lists and the summary: a page need not read every finding.
    document = to_document(run, listed)
    script, style, script_hash = _assets()
    summary = document["summary"]
    heat = summary["heatmap"]
    titles = titles_of(document)
    evidence = EvidenceText(titles)
    kind_counts = summary["counts"]["by_kind"]
    total = summary["counts"]["findings"] if shown is not None else len(listed)
    # Card links start from the whole list: a card answers its own question.
    fresh = view or FindingsView()
    # A value the address chose stays a choice of the form even with no finding of it here,
    # so sending the form again does not drop it.
    kind_choices = {**{k: 0 for k in fresh.kind}, **kind_counts}
    category_counts = _category_counts(kind_counts)
    served = {row["perspective"] for row in summary.get("perspectives", [])}
    heat_top = max((max(row, default=0) for row in heat["aligned_okrs"]), default=0)
    heat_class, heat_style = _heat_classes(heat["aligned_okrs"], heat_top)
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            report=document,
            summary=summary,
            findings=[
                {**f, "evidence_lines": flatten(evidence.lines(f["kind"], f["evidence"]))}
                for f in listed
            ],
            total=total,
            view=view,
            default_per_page=PER_PAGE,
            search_max=SEARCH_MAX,
            shown=shown,
            page_links=_page_links(fresh, shown.page, shown.pages) if shown else [],
            story=[
                (kind, n, one if n == 1 else many, _card_link(fresh, kind))
                for kind, one, many in STORY
                for n in [kind_counts.get(kind, 0)]
            ],
            heat_class=heat_class,
            heat_style=heat_style,
            kinds=[(k, kind_choices[k]) for k in KINDS if k in kind_choices],
            kind_descriptions={k: v.description for k, v in KINDS.items()},
            categories=sorted({**{c: 0 for c in fresh.category}, **category_counts}.items()),
            severities=SEVERITIES,
            teams=[
                (t, titles.get(("team", t), t), team_counts[t])
                for t in sorted({*team_counts, *fresh.team}, key=natural)
            ],
            perspectives=[p for p in PERSPECTIVES if p in served or p in fresh.perspective],
            team_names={t: name for (kind, t), name in titles.items() if kind == "team"},
            may={p: True if may is None else bool(may.get(p)) for p in LINKED_PAGES},
            team_pages=list(team_pages),
            signed_in=signed_in,
            site=(site or "").rstrip("/"),
            script=script,
            style=style,
            csp=_policy(script_hash, served=view is not None),
        )
    )


def _page_links(view: FindingsView, page: int, pages: int) -> list[tuple[int | None, str]]:
    return [(n, view.query(page=n) if n else "") for n in page_numbers(page, pages)]


def _card_link(view: FindingsView, kind: str) -> str:
    return FindingsView(per_page=view.per_page).query(kind=kind) + "#findings-title"


def _category_counts(kind_counts: dict[str, int]) -> Counter[str]:
    out: Counter[str] = Counter()
    for kind, n in kind_counts.items():
        out[KINDS[kind].category] += n
    return out


def _policy(script_hash: str, *, served: bool) -> str:
    """The page's policy: only its own script (by hash), images only inline. The served page
    may also ask its own address again, to learn whether a report being rebuilt is in without
    reloading over what the reader is typing; an exported file asks nothing of any network."""
    connect = "connect-src 'self'; " if served else ""
    return (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"{connect}script-src {script_hash}; base-uri 'none'; form-action 'self'"
    )


def content_security_policy() -> str:
    """The served page's meta-tag policy for an HTTP header, which alone can forbid framing."""
    return f"{_policy(_assets()[2], served=True)}; frame-ancestors 'none'"
