"""Verdict stability: does adding OKRs flip the verdicts of the OKRs that did not change?

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.stability DIR_OR_BUNDLE... [--add 5]

For every organization, score it, then add `--add` OKRs taken from the next organization in
the list (their own team, so no teammate signal is borrowed) and score again. An original
OKR's verdict is its label set: which objectives are `aligned` (none = orphan). Prints, per
organization, how many original OKRs changed verdict, and the total (target: 0). The added
OKRs and their candidates are new text; the originals' text and objectives are unchanged, so
every flip comes from organization-wide statistics (z-scores across OKRs, teammates).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from alignment.scoring.link_scores import score_links
from evals import research


def verdicts(objectives, okrs, embed) -> dict[str, frozenset[str]]:
    ranked = score_links(objectives, okrs, embed=embed)
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
        before = verdicts(org.objectives, org.okrs, embed)
        after = verdicts(org.objectives, [*org.okrs, *extra], embed)
        changed = [k for k in before if before[k] != after[k]]
        orphan_flips = sum(1 for k in changed if not before[k] or not after[k])
        rows.append(
            {"organization": org.name, "okrs": len(before), "added": len(extra),
             "flipped": len(changed), "orphan_flips": orphan_flips}
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
    total = {k: sum(r[k] for r in rows) for k in ("okrs", "added", "flipped", "orphan_flips")}
    if args.json:
        print(json.dumps({"organizations": rows, "total": total}, indent=1))
        return
    for r in [*rows, {"organization": "TOTAL", **total}]:
        print(
            f"{r['organization']:<34}{r['okrs']:>6}{r['added']:>6}{r['flipped']:>8}{r['orphan_flips']:>8}"
        )


if __name__ == "__main__":
    main()
