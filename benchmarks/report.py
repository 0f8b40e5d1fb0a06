"""Report benchmark: an organization of 2,000 OKRs, scored once, then report generation timed.

    python -m benchmarks.report [--okrs 2000] [--repeat 3]

Key-result titles get the OKR's segment number so each has its own vector (about 6,000 key
results, as a real organization of this size would have); their templated wording also makes
thousands of near-duplicate pairs, the worst case for the duplicate-effort search. Runs on a
fresh embedded PostgreSQL (or DATABASE_URL) and deletes its organization afterwards.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from alignment import db
from alignment.bundle import parse_bundle
from alignment.embedder import get_embedder
from alignment.ingest import import_bundle
from alignment.models import Organization
from alignment.report import build_report, to_csv, to_html, to_json
from alignment.scoring.stage import score_organization
from alignment.settings import get_settings
from benchmarks.synthetic import make_bundle

ORG = "bench-report"


def measure(engine: Engine, document: dict, repeat: int) -> dict:
    embedder = get_embedder()
    out: dict = {"builds": [], "renders": []}
    with Session(engine) as session, session.begin():
        t0 = time.perf_counter()
        import_bundle(session, parse_bundle(document))
        out["import"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        out["embedded"] = score_organization(session, ORG, embedder=embedder).texts_embedded
        out["score"] = time.perf_counter() - t0
    print(f"imported in {out['import']:.1f} s, scored in {out['score']:.1f} s", flush=True)
    for _ in range(repeat):
        with Session(engine) as session, session.begin():
            t0 = time.perf_counter()
            run = build_report(session, ORG, embedder=embedder)
            out["builds"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            out["sizes"] = [len(render(run)) for render in (to_json, to_csv, to_html)]
            out["renders"].append(time.perf_counter() - t0)
            out["findings"], out["by_kind"] = len(run.findings), run.summary["counts"]["by_kind"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--okrs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--data-dir", type=Path, help="Keep the embedded database and the scored org here."
    )
    args = parser.parse_args()

    url = get_settings().database.database_url or db.start_embedded(
        args.data_dir or Path(tempfile.mkdtemp(prefix="gt-bench-"))
    )
    db.upgrade(url)
    engine = db.make_engine(url)
    document = make_bundle(
        org_id=ORG, okrs=args.okrs, objectives=40, teams=150, check_ins_per_okr=2
    )
    for n, okr in enumerate(document["okrs"], start=1):
        for kr in okr["key_results"]:
            kr["title"] = f"{kr['title']}, segment {n}"
    try:
        r = measure(engine, document, args.repeat)
    finally:
        if not args.data_dir:  # a kept org makes the next run's scoring instant
            with Session(engine) as session, session.begin():
                org = session.get(Organization, ORG)
                if org is not None:
                    session.delete(org)

    krs = sum(len(o["key_results"]) for o in document["okrs"])
    print(
        f"organization: {args.okrs:,} OKRs, {krs:,} key results, "
        f"{len(document['check_ins']):,} check-ins, {len(document['strategic_objectives'])} "
        f"objectives, {len(document['teams'])} teams"
    )
    print(f"import:                    {r['import']:7.2f} s")
    print(f"score (embedded {r['embedded']:,} texts): {r['score']:7.2f} s")
    print(
        f"report build + store:      {statistics.median(r['builds']):7.2f} s median "
        f"(min {min(r['builds']):.2f}, {args.repeat} runs, verdicts already fresh)"
    )
    sizes = " / ".join(f"{n / 1e6:.1f}" for n in r["sizes"])
    print(
        f"render JSON + CSV + HTML:  {statistics.median(r['renders']):7.2f} s median ({sizes} MB)"
    )
    print(f"findings: {r['findings']:,}  {r['by_kind']}")


if __name__ == "__main__":
    main()
