"""Report page size for a 2,000-OKR organization: every finding on one page (how the page was
served before it paginated, and how `goldenthread report -o` still writes a file) against the
served page (100 findings a page, the cards, the filters). Goal: under 2 MB.

    python -m benchmarks.report_html_size [--okrs 2000] [--data-dir DIR]

The organization is the one `benchmarks.report` builds (40 objectives, 150 teams, templated key
results that make thousands of near-duplicate findings). With --data-dir the embedded database
and the scored organization are kept, so a second run skips the minute of embedding.
"""

from __future__ import annotations

import argparse
import tempfile
import time
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
GOAL = 2_000_000


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
                size = len(to_html(run, view).encode())
                seconds = time.perf_counter() - t0
                rows.append(
                    (label, f"{whole:,}", f"{size:,}", f"{size / whole:.3f}",
                     f"{whole_s:.2f} / {seconds:.2f}", "yes" if size < GOAL else "NO")
                )  # fmt: skip
        print(
            f"\norganization: {args.okrs:,} OKRs, 40 objectives, 150 teams; report #{number}: "
            f"{len(findings):,} findings\n"
        )
        print_table(
            ("served page", "before: one page, bytes", "after: paginated, bytes", "after/before",
             "render s before / after", "under 2 MB"),
            rows,
        )  # fmt: skip
    finally:
        if not args.data_dir:
            with Session(engine) as session, session.begin():
                org = session.get(Organization, ORG)
                if org is not None:
                    session.delete(org)


if __name__ == "__main__":
    main()
