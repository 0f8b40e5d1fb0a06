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
the changes when only the labels are kept (as before migration 0015).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from alignment import verdicts as three_way
from alignment.scoring.link_scores import score_links
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
        first = score_links(org.objectives, org.okrs, embed=embed)
        again = score_links(org.objectives, [*org.okrs, *extra], embed=embed)
        # As the score stage stores it: the originals' text and context did not change.
        earlier = {(k, lk.objective_id): lk.label for k, links in first.items() for lk in links}
        stored = keep_earlier_labels(again, earlier)
        before, engine, after = verdicts(first), verdicts(again), verdicts(stored)
        changed = [k for k in before if before[k] != engine[k]]
        # The report's verdicts (aligned / needs_review / orphan) of the originals, as stored:
        # each keeps its comparison with the median too (alignment/verdicts.py).
        compared = three_way.compare_with_median(first, {})
        kept = three_way.compare_with_median(stored, compared)
        was = three_way.verdicts(first, (), {k: c.far_below for k, c in compared.items()})
        now = three_way.verdicts(stored, (), {k: c.far_below for k, c in kept.items()})
        labels_only = three_way.verdicts(stored)  # before the comparisons were stored too
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


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", help="dataset folders or bundle files")
    ap.add_argument("--add", type=int, default=5, help="OKRs added to each organization")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    orgs = research.load_all(args.sources)
    embed = research.CachedEmbedder()
    rows = flips(orgs, embed, args.add)
    embed.save()
    keys = ("okrs", "added", "flipped", "orphan_flips", "flipped_as_stored")
    keys += ("verdicts_flipped", "new_orphans", "labels_kept_only")
    total = {k: sum(r[k] for r in rows) for k in keys}
    if args.json:
        print(json.dumps({"organizations": rows, "total": total}, indent=1))
        return
    for r in [*rows, {"organization": "TOTAL", **total}]:
        print(f"{r['organization']:<34}" + "".join(f"{r[k]:>8}" for k in keys))


if __name__ == "__main__":
    main()
