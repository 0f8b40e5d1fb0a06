"""A sweep of `alignment.verdicts.ORPHAN_SHARE_OF_MEDIAN` through the service: orphan
precision/recall, the review share and false orphans for each candidate value, per dataset
directory. (The shipped share is chosen by `python -m evals.fit`, evals/orphan_share.py; this
shows what nearby values would do to the report.)

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.verdicts evals/datasets/dev \\
        evals/datasets/holdout evals/datasets/real

Every directory is scored once by the service pipeline (rolled back); the sweep then only
re-reads the stored links. Pass only datasets the team may fit on: the independent ones stay
unseen.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy.orm import Session

from alignment import db, verdicts
from alignment.bundle.io import load_file
from alignment.embedder import get_embedder
from evals.runner import score_bundle

SWEEP = (0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3)


def okr_rows(directory: Path, embedder) -> list[dict]:
    rows = []
    for bundle in sorted(directory.glob("*.bundle.json")):
        labels = load_file(bundle.with_name(bundle.name.replace(".bundle.", ".labels.")))
        with Session(db.get_engine()) as session:
            scored = score_bundle(session, bundle, embedder=embedder)
            session.rollback()
        links = {
            okr: [SimpleNamespace(label=lk["label"], score=lk["score"]) for lk in rows_]
            for okr, rows_ in scored.engine.items()
        }
        best = verdicts.best_scores(links, scored.orphan_scores)  # what the orphan rule reads
        reference = verdicts.reference_score(links, scored.orphan_scores)
        for okr, okr_links in links.items():
            if okr in labels["links"]:
                rows.append(
                    {
                        "links": okr_links,
                        "best": best.get(okr, 0.0),
                        "reference": reference,
                        "orphan": not labels["links"][okr],
                    }
                )
    return rows


def sweep(rows: list[dict], share: float) -> str:
    original = verdicts.ORPHAN_SHARE_OF_MEDIAN
    verdicts.ORPHAN_SHARE_OF_MEDIAN = share
    try:
        said = [
            verdicts.okr_verdict(
                r["links"],
                r["reference"],
                far_below=verdicts.under_share(r["best"], r["reference"]),
            )
            for r in rows
        ]
    finally:
        verdicts.ORPHAN_SHARE_OF_MEDIAN = original
    flagged = [r for r, v in zip(rows, said, strict=True) if v == "orphan"]
    true = sum(r["orphan"] for r in flagged)
    positives = sum(r["orphan"] for r in rows)
    precision = f"{true / len(flagged):.2f}" if flagged else "-"
    recall = f"{true / positives:.2f}" if positives else "-"
    review = sum(v == "needs_review" for v in said) / len(rows)
    false_share = (len(flagged) - true) / len(rows)
    return f"P {precision:>4}  R {recall:>4}  review {review:.2f}  false orphans {false_share:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("datasets", nargs="+", type=Path, help="directories of bundle+labels")
    args = parser.parse_args(argv)
    missing = [str(d) for d in args.datasets if not any(d.glob("*.bundle.json"))]
    if missing:
        print(f"no bundles in: {', '.join(missing)}", file=sys.stderr)
        return 2
    db.upgrade(db.resolve_database().url)
    embedder = get_embedder()
    for directory in args.datasets:
        rows = okr_rows(directory, embedder)
        print(f"{directory} ({len(rows)} labelled OKRs)")
        for share in SWEEP:
            mark = " <- chosen" if share == verdicts.ORPHAN_SHARE_OF_MEDIAN else ""
            print(f"  {share:>4}: {sweep(rows, share)}{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
