"""How far text can take ranking on the real pages: label each OKR like its nearest other OKR.

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.real_ceiling [DIR]

An optimistic bound for any method that spreads labels between similar OKRs: each OKR gets the
*gold* objective of its most similar other OKR of the page (whole-page neighbours, then only
teammates). If even that is low, the page's links follow its sections, not its words.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from evals.research import CachedEmbedder, load_all


def main() -> None:
    embed = CachedEmbedder()
    total = page_hits = team_hits = 0
    print(f"{'page':16} {'okrs':>5} {'nearest OKR':>12} {'nearest teammate':>17}")
    for org in load_all(sys.argv[1:] or ["evals/datasets/real"]):
        gold = [tuple(org.labels["links"][k.id]) for k in org.okrs]
        teams = np.asarray([k.team for k in org.okrs])
        vectors = embed([k.title for k in org.okrs])
        sim = vectors @ vectors.T
        np.fill_diagonal(sim, -np.inf)
        page = team = 0
        for i in range(len(gold)):
            page += gold[int(np.argmax(sim[i]))] == gold[i]
            mates = np.where(teams == teams[i])[0]
            mates = mates[mates != i]
            team += bool(mates.size) and gold[int(mates[np.argmax(sim[i, mates])])] == gold[i]
        n = len(gold)
        print(f"{Path(org.name).name:16} {n:5} {page / n:12.3f} {team / n:17.3f}")
        total, page_hits, team_hits = total + n, page_hits + page, team_hits + team
    print(f"{'pooled':16} {total:5} {page_hits / total:12.3f} {team_hits / total:17.3f}")
    embed.save()


if __name__ == "__main__":
    main()
