"""Verdict stability: does adding OKRs flip the verdicts of the OKRs that did not change?

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.stability DIR_OR_BUNDLE... [--add 5]

For every organization, score it, then add `--add` OKRs taken from the next organization in
the list (their own team, so no teammate signal is borrowed) and score again. An original
OKR's verdict is its label set: which objectives are `aligned` (none = orphan). Prints, per
organization, how many original OKRs changed verdict, and the total (target: 0): `flipped` by the
engine's scores alone (every flip comes from organization-wide statistics: z-scores across OKRs,
teammates), and `flipped_as_stored` after the score stage's rule that an OKR whose text and
context did not change keeps its stored labels (alignment/scoring/stability.py).
`verdicts_flipped` counts changes of the report's three-way verdict (aligned / needs_review /
orphan, alignment/verdicts.py) as stored (the labels and each OKR's comparison with the
organization's median kept), `new_orphans` those that became orphans, and `labels_kept_only`
the changes when only the labels are kept (as before migration 0015). In this DB-free
simulation the kept labels and comparisons are applied by hand, so `verdicts_flipped` is 0 by
construction once both are kept; what it measures is that nothing else moves a verdict.

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.stability --service DIR_OR_BUNDLE...

measures the service instead: each bundle is imported into a scratch organization on the
database, scored by the score stage, extended by `--add` OKRs of the next bundle (a bundle
re-import, as a client would send it), scored again, and the verdicts every reader shows
(`scoring.reads.stored_verdicts`) compared; one transaction per bundle, rolled back.
"""

from __future__ import annotations

import argparse
import copy
import json
import uuid
from dataclasses import replace
from pathlib import Path

from alignment import verdicts as three_way
from alignment.scoring.link_scores import score_okrs
from alignment.scoring.stability import keep_earlier_labels
from evals import research


def verdicts(ranked) -> dict[str, frozenset[str]]:
    return {k: frozenset(lk.objective_id for lk in links if lk.label == "aligned")
            for k, links in ranked.items()}  # fmt: skip


def flips(orgs, embed, add: int) -> list[dict]:
    rows = []
    for i, org in enumerate(orgs):
        donor = orgs[(i + 1) % len(orgs)]
        extra = [
            replace(k, id=f"added-{n}", team="added-team", team_mission=None, checkins=())
            for n, k in enumerate(donor.okrs[:add])
        ]
        scored = score_okrs(org.objectives, org.okrs, embed=embed)
        rescored = score_okrs(org.objectives, [*org.okrs, *extra], embed=embed)
        first, again = scored.links, rescored.links
        # As the score stage stores it: the originals' text and context did not change.
        earlier = {(k, lk.objective_id): lk.label for k, links in first.items() for lk in links}
        stored = keep_earlier_labels(again, earlier)
        before, engine, after = verdicts(first), verdicts(again), verdicts(stored)
        changed = [k for k in before if before[k] != engine[k]]
        # The report's verdicts (aligned / needs_review / orphan) of the originals, as stored:
        # each keeps its comparison with the median too (alignment/verdicts.py).
        compared = three_way.compare_with_median(first, {}, scored.orphan_scores)
        kept = three_way.compare_with_median(stored, compared, rescored.orphan_scores)
        was = three_way.verdicts(first, (), {k: c.far_below for k, c in compared.items()})
        now = three_way.verdicts(stored, (), {k: c.far_below for k, c in kept.items()})
        # Before the comparisons were stored too:
        labels_only = three_way.verdicts(stored, orphan_scores=rescored.orphan_scores)
        rows.append(
            {"organization": org.name, "okrs": len(before), "added": len(extra),
             "flipped": len(changed),
             "orphan_flips": sum(1 for k in changed if not before[k] or not engine[k]),
             "flipped_as_stored": sum(1 for k in before if before[k] != after[k]),
             "verdicts_flipped": sum(1 for k in before if was[k] != now[k]),
             "labels_kept_only": sum(1 for k in before if was[k] != labels_only[k]),
             "new_orphans": sum(1 for k in before if was[k] != now[k] == "orphan")}
        )  # fmt: skip
    return rows


def _grown(document: dict, donor: dict, add: int) -> dict:
    """`document` with `add` of the donor's OKRs in a team of their own (no check-ins)."""
    grown = copy.deepcopy(document)
    cycle = grown["cycles"][0]["id"]
    grown["teams"].append({"id": "added-team", "name": "Added team", "parent": None})
    for n, okr in enumerate(donor["okrs"][:add]):
        grown["okrs"].append(
            {**copy.deepcopy(okr), "id": f"added-{n}", "team": "added-team", "cycle": cycle,
             "declared_links": [],
             "key_results": [{**kr, "id": f"added-{n}-KR{j}"}
                             for j, kr in enumerate(okr.get("key_results") or [], start=1)]}
        )  # fmt: skip
    return grown


def service_flips(paths: list[Path], add: int) -> list[dict]:
    from sqlalchemy.orm import Session

    from alignment import db
    from alignment.bundle.io import load_file
    from alignment.embedder import get_embedder
    from alignment.imports import import_document
    from alignment.scoring.reads import stored_verdicts
    from alignment.scoring.stage import score_organization

    db.upgrade(db.resolve_database().url)
    embedder = get_embedder()
    rows = []
    for i, path in enumerate(paths):
        document = copy.deepcopy(load_file(path))
        donor = load_file(paths[(i + 1) % len(paths)])
        document["organization"]["id"] = org = f"stability-{uuid.uuid4().hex[:12]}"
        for okr in document["okrs"]:
            okr["declared_links"] = []  # as the evals score: from the text alone
        with Session(db.get_engine()) as session:
            import_document(session, document)
            score_organization(session, org, embedder=embedder)
            was, checked = stored_verdicts(session, org), _check_in_verdicts(session, org)
            import_document(session, _grown(document, donor, add))
            score_organization(session, org, embedder=embedder)
            now, rechecked = stored_verdicts(session, org), _check_in_verdicts(session, org)
            session.rollback()
        rows.append(
            {"organization": path.name.split(".")[0], "okrs": len(was),
             "added": len(now) - len(was),
             "verdicts_flipped": sum(1 for k in was if was[k] != now[k]),
             "new_orphans": sum(1 for k in was if was[k] != now[k] == "orphan"),
             "check_ins": len(checked),
             "check_in_verdicts_flipped": sum(1 for c in checked if checked[c] != rechecked[c])}
        )  # fmt: skip
    return rows


def _check_in_verdicts(session, org: str) -> dict[str, str]:
    """Each check-in's drift verdict as stored: drifting, needs_review or on_topic."""
    from sqlalchemy import select

    from alignment.models import CheckInDrift

    query = select(CheckInDrift.check_in_id, CheckInDrift.verdict).where(CheckInDrift.org_id == org)
    return dict(session.execute(query).tuples().all())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", help="dataset folders or bundle files")
    ap.add_argument("--add", type=int, default=5, help="OKRs added to each organization")
    ap.add_argument("--service", action="store_true", help="through the database and the stage")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.service:
        rows = service_flips(research.dataset_paths(args.sources), args.add)
        keys = ("okrs", "added", "verdicts_flipped", "new_orphans", "check_ins")
        _print(rows, (*keys, "check_in_verdicts_flipped"), args.json)
        return
    orgs = research.load_all(args.sources)
    embed = research.CachedEmbedder()
    rows = flips(orgs, embed, args.add)
    embed.save()
    keys = ("okrs", "added", "flipped", "orphan_flips", "flipped_as_stored")
    keys += ("verdicts_flipped", "new_orphans", "labels_kept_only")
    _print(rows, keys, args.json)


def _print(rows: list[dict], keys: tuple[str, ...], as_json: bool) -> None:
    total = {k: sum(r[k] for r in rows) for k in keys}
    if as_json:
        print(json.dumps({"organizations": rows, "total": total}, indent=1))
        return
    print(f"{'':<34}" + "".join(f"{k[:16]:>18}" for k in keys))
    for r in [*rows, {"organization": "TOTAL", **total}]:
        print(f"{r['organization']:<34}" + "".join(f"{r[k]:>18}" for k in keys))


if __name__ == "__main__":
    main()
