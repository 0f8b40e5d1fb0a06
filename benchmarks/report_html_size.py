"""Report page size for a 2,000-OKR organization: every finding on one page (how the page was
served before it paginated, and how `goldenthread report -o` still writes a file) against the
served page (100 findings a page, the cards, the filters). Goal: under 2 MB, meaning
2,000,000 bytes (decimal, the stricter reading; not 2 MiB = 2,097,152), for every page size up
to the largest a reader may ask for (`per_page=500`, page.MAX_PER_PAGE).

    python -m benchmarks.report_html_size [--okrs 2000] [--data-dir DIR]

After the sizes it prints where the bytes of the largest page are: its parts (the heat map,
the findings table, ...) and, inside them, what repeats per heat-map cell or per finding.

The organization is the one `benchmarks.report` builds (40 objectives, 150 teams, templated key
results that make thousands of near-duplicate findings). With --data-dir the embedded database
and the scored organization are kept, so a second run skips the minute of embedding.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alignment import db
from alignment.bundle import parse_bundle
from alignment.embedder import get_embedder
from alignment.ingest import import_bundle
from alignment.models import Okr, Organization
from alignment.report import build_report, to_html
from alignment.report.page import MAX_PER_PAGE, FindingsView, page_of
from alignment.scoring.stage import score_organization
from alignment.settings import get_settings
from benchmarks.harness import machine_load, print_table
from benchmarks.synthetic import make_bundle

ORG = "bench-report"  # the same organization as benchmarks.report, so a kept one serves both
GOAL = 2_000_000  # bytes: "2 MB" in benchmarks/README.md and docs/report.md

# The largest page's parts, in page order, each from its marker (looked for after the previous
# one's) to the next one's.
PARTS = (
    ("<head> (stylesheet)", "<!doctype html>"),
    ("header and cards", "<body>"),
    ("coverage tables", "<h2>Coverage per perspective"),
    ("heat map", "<h2>Teams × strategic objectives"),
    ("findings heading, filters, pager", '<h2 id="findings-title">'),
    ("findings table", '<table id="findings">'),
    ("bottom pager, script", "</table>"),
)
PRE = re.compile(r"<pre>.*?</pre>", re.S)


def _all(pattern: str) -> Callable[[str], list[str]]:
    return lambda text: re.findall(pattern, text, re.S)


# Inside a part, what repeats per heat-map cell or per finding: (part, what, its matches).
DETAILS: tuple[tuple[str, str, Callable[[str], list[str]]], ...] = (
    ("heat map", "cells' titles (team → objective)", _all(r'(?<=<td)[^>]*?( title="[^"]*")')),
    ("heat map", "cells' shades (style or class)", _all(r'<td( (?:style|class)="[^"]*")')),
    ("heat map", "links (href)", _all(r' href="[^"]*"')),
    ("findings table", "<tr> tags (data-* attributes)", _all(r"<tr [^>]*>")),
    ("findings table", "tooltips (title) of kinds and keys", _all(r' title="[^"]*"')),
    ("findings table", "records lists", _all(r'<ul class="records">.*?</ul>')),
    ("findings table", "  their links (href)", _all(r'<li>[^\n]*?( href="[^"]*")')),
    ("findings table", "evidence lines (<dl>)", _all(r'<dl class="ev">.*?</dl>')),
    ("findings table", "raw JSON (<details>)", _all(r'<details class="raw">.*?</details>')),
    ("findings table", "  its quotes as &#34;", lambda t: _all("&#34;")("".join(PRE.findall(t)))),
    ("findings table", "indentation outside <pre>", lambda t: _all(r"\n[ \t]+")(PRE.sub("", t))),
)  # fmt: skip


def size(text: str) -> int:
    return len(text.encode())


def parts_of(html: str) -> dict[str, str]:
    starts: list[tuple[int, str]] = []
    at = 0
    for name, marker in PARTS:
        found = html.find(marker, at)
        if found >= 0:
            starts.append((found, name))
            at = found
    ends = [a for a, _ in starts[1:]] + [len(html)]
    return {name: html[a:end] for (a, name), end in zip(starts, ends, strict=True)}


def where_the_bytes_are(html: str) -> list[tuple[str, str, str]]:
    """(part, bytes, share of the page): the page's parts, then what repeats inside them."""
    total = size(html)
    parts = parts_of(html)
    rows = [(name, f"{size(text):,}", f"{size(text) / total:.1%}") for name, text in parts.items()]
    for part, what, matches in DETAILS:
        n = sum(size(m) for m in matches(parts.get(part, "")))
        rows.append((f"{part}: {what}", f"{n:,}", f"{n / total:.1%}"))
    return rows


def bundle(okrs: int) -> dict:
    document = make_bundle(org_id=ORG, okrs=okrs, objectives=40, teams=150, check_ins_per_okr=2)
    for n, okr in enumerate(document["okrs"], start=1):
        for kr in okr["key_results"]:
            kr["title"] = f"{kr['title']}, segment {n}"
    return document


def ensure_scored(session: Session, okrs: int) -> None:
    have = session.scalar(select(func.count()).select_from(Okr).where(Okr.org_id == ORG))
    if have != okrs:
        org = session.get(Organization, ORG)
        if org is not None:
            session.delete(org)
            session.flush()
        t0 = time.perf_counter()
        import_bundle(session, parse_bundle(bundle(okrs)))
        score_organization(session, ORG, embedder=get_embedder())
        print(f"imported and scored {okrs:,} OKRs in {time.perf_counter() - t0:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--okrs", type=int, default=2000)
    parser.add_argument("--data-dir", type=Path, help="Keep the database and the org here.")
    args = parser.parse_args()
    url = get_settings().database.database_url or db.start_embedded(
        args.data_dir or Path(tempfile.mkdtemp(prefix="gt-bench-"))
    )
    db.upgrade(url)
    engine = db.make_engine(url)
    print(f"machine: {machine_load()}")
    with Session(engine) as session, session.begin():
        ensure_scored(session, args.okrs)
    try:
        with Session(engine) as session, session.begin():
            run = build_report(session, ORG, embedder=get_embedder())
            findings, number = run.findings, run.number
            t0 = time.perf_counter()
            whole = len(to_html(run).encode())
            whole_s = time.perf_counter() - t0
            duplicates = FindingsView(kind="duplicate_effort")
            most = FindingsView(per_page=MAX_PER_PAGE)
            last = page_of(findings, FindingsView(page=10**6)).page
            views = [
                ("page 1 (default: 100 a page)", FindingsView()),
                (f"page {last} (the last)", FindingsView(page=last)),
                ("kind=duplicate_effort, page 1", duplicates),
                (f"per_page={MAX_PER_PAGE} (the most), page 1", most),
            ]
            rows = []
            for label, view in views:
                t0 = time.perf_counter()
                html = to_html(run, view)
                seconds = time.perf_counter() - t0
                n = size(html)
                rows.append(
                    (label, f"{whole:,}", f"{n:,}", f"{n / whole:.3f}",
                     f"{whole_s:.2f} / {seconds:.2f}", "yes" if n < GOAL else "NO")
                )  # fmt: skip
            largest = where_the_bytes_are(html)  # the last view: per_page=MAX_PER_PAGE
        print(
            f"\norganization: {args.okrs:,} OKRs, 40 objectives, 150 teams; report #{number}: "
            f"{len(findings):,} findings\n"
        )
        print_table(
            ("served page", "before: one page, bytes", "after: paginated, bytes", "after/before",
             "render s before / after", f"under 2 MB ({GOAL:,} bytes)"),
            rows,
        )  # fmt: skip
        print(f"\nwhere the bytes of the per_page={MAX_PER_PAGE} page are:\n")
        print_table(("part", "bytes", "share"), largest)
    finally:
        if not args.data_dir:
            with Session(engine) as session, session.begin():
                org = session.get(Organization, ORG)
                if org is not None:
                    session.delete(org)


if __name__ == "__main__":
    main()
