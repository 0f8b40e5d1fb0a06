"""Learning from decisions, measured through the service: database, score stage, feedback.

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.decisions_service DIR_OR_BUNDLE... \
        [--share 0.3] [--seeds 5] [--json]

`evals.decisions` simulates on the engine's probabilities; this runs what a user runs. Each
labelled bundle is imported into a scratch organization (declared links dropped: the evals
score from the text alone) and scored. Then, per seed, a share of its labelled OKRs is decided
as a reviewer would (`record_feedback` on each of the three best stored candidates: confirmed
when the labels link them, rejected otherwise, which queues the teammates' rescoring), the
organization is scored again, and the OKRs nobody decided are compared with the labels before
and after: top1 (rank 1 is a labelled objective, over OKRs with one) and link F1 (stored
`aligned` labels). Everything happens in one transaction that is rolled back.
"""

from __future__ import annotations

import argparse
import copy
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from evals import research


class _Stored(NamedTuple):
    objective_id: str
    label: str


def _plain(stored: dict[str, list]) -> dict[str, list[_Stored]]:
    return {
        okr: [_Stored(lk.objective_id, lk.label) for lk in rows] for okr, rows in stored.items()
    }


def _measure(stored: dict[str, list], gold: dict[str, list[str]], okrs: Sequence[str]) -> dict:
    hits = has = tp = predicted = wanted = 0
    for okr in okrs:
        links, truth = stored.get(okr, []), set(gold[okr])
        aligned = {lk.objective_id for lk in links if lk.label == "aligned"}
        if truth:
            has += 1
            hits += bool(links) and links[0].objective_id in truth
        tp += len(aligned & truth)
        predicted += len(aligned)
        wanted += len(truth)
    return {"okrs": len(okrs), "top1_hits": hits, "with_gold": has, "tp": tp,
            "predicted": predicted, "gold": wanted}  # fmt: skip


def _figures(c: dict) -> dict:
    return {
        "top1": round(c["top1_hits"] / c["with_gold"], 4) if c["with_gold"] else None,
        "link_f1": round(2 * c["tp"] / (c["predicted"] + c["gold"]), 4)
        if c["predicted"] + c["gold"]
        else None,
    }


def run(paths: Sequence[Path], share: float, seeds: int) -> list[dict]:
    from sqlalchemy.orm import Session

    from alignment import db
    from alignment.bundle.io import load_file
    from alignment.embedder import get_embedder
    from alignment.imports import import_document
    from alignment.scoring import feedback, reads
    from alignment.scoring.stage import score_organization

    db.upgrade(db.resolve_database().url)
    embedder = get_embedder()
    rows = []
    for bundle, labels_path in paths:
        gold = load_file(labels_path).get("links") or {}
        if not gold:
            continue
        document = copy.deepcopy(load_file(bundle))
        document["organization"]["id"] = org = f"decisions-{uuid.uuid4().hex[:12]}"
        for okr in document["okrs"]:
            okr["declared_links"] = []
        labelled = sorted(o["id"] for o in document["okrs"] if o["id"] in gold)
        before = after = None
        with Session(db.get_engine()) as session:
            import_document(session, document)
            score_organization(session, org, embedder=embedder)
            # Plain values: the ORM rows would be refreshed by later runs of the same session.
            first = _plain(reads.all_links(session, org))
            for seed in range(seeds):
                rng = np.random.default_rng(seed)
                decided = {k for k in labelled if rng.random() < share}
                rest = [k for k in labelled if k not in decided]
                with session.begin_nested() as savepoint:
                    for okr in sorted(decided):
                        for link in first.get(okr, [])[:3]:
                            verdict = "confirmed" if link.objective_id in gold[okr] else "rejected"
                            feedback.record_feedback(
                                session, org, okr, link.objective_id,
                                verdict=verdict, decided_by="eval",
                            )  # fmt: skip
                    score_organization(session, org, embedder=embedder)
                    now = _plain(reads.all_links(session, org))
                    b, a = _measure(first, gold, rest), _measure(now, gold, rest)
                    before = b if before is None else {k: before[k] + v for k, v in b.items()}
                    after = a if after is None else {k: after[k] + v for k, v in a.items()}
                    savepoint.rollback()
            session.rollback()
        rows.append(
            {"organization": bundle.name.split(".")[0], "folder": bundle.parent.name,
             "before": before, "after": after}
        )  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", help="dataset folders or bundle files (with labels)")
    ap.add_argument("--share", type=float, default=0.3, help="share of OKRs decided")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    paths = [
        (b, Path(str(b).replace(".bundle.", ".labels.")))
        for b in research.dataset_paths(args.sources)
    ]
    rows = run(paths, args.share, args.seeds)
    folders: dict[str, dict] = {}
    for r in rows:
        f = folders.setdefault(r["folder"], {"before": None, "after": None})
        for side in ("before", "after"):
            f[side] = (
                r[side] if f[side] is None else {k: f[side][k] + v for k, v in r[side].items()}
            )
    table = {name: {side: _figures(c) for side, c in f.items()} for name, f in folders.items()}
    if args.json:
        print(json.dumps({"folders": table, "organizations": rows}, indent=1))
        return
    print(f"{'folder':<14}{'top1 before':>14}{'after':>8}{'link F1 before':>17}{'after':>8}")
    for name, t in table.items():
        print(f"{name:<14}{t['before']['top1']!s:>14}{t['after']['top1']!s:>8}"
              f"{t['before']['link_f1']!s:>17}{t['after']['link_f1']!s:>8}")  # fmt: skip


if __name__ == "__main__":
    main()
