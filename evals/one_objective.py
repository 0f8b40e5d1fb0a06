"""Organizations with one strategic objective: which verdicts does the shipped engine give?
(DB-free)

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.one_objective DEV_DIR...

Each organization is cut into one organization per objective, with all of its OKRs; an OKR's
label for that objective says whether it serves it. Such an organization is scored with
`calibration.SMALL_ORG` (no per-organization z-scores with one objective), and its verdicts
follow `alignment.verdicts`. Prints, for the OKRs that serve the one objective and for those
that do not, the share of each verdict: how often a one-objective organization gets a false
orphan flag, and how much of it goes to review instead.
"""

from __future__ import annotations

from collections import Counter

from alignment import verdicts
from alignment.scoring import link_scores
from evals import research


def verdict_shares(orgs: list[research.Org], embed) -> dict[bool, Counter]:
    """serves the objective (gold) -> Counter of verdicts, over every (OKR, objective) cut."""
    out: dict[bool, Counter] = {True: Counter(), False: Counter()}
    for org in orgs:
        for objective in org.objectives:
            links = link_scores.score_links([objective], org.okrs, embed=embed)
            for okr, verdict in verdicts.verdicts(links).items():
                out[objective.id in org.labels["links"][okr]][verdict] += 1
    return out


def main(argv: list[str] | None = None) -> None:
    orgs = research.organizations_from_argv(__doc__, argv)
    embed = research.CachedEmbedder()
    shares = verdict_shares(orgs, embed)
    embed.save()
    for serves, counts in shares.items():
        n = sum(counts.values())
        shown = "  ".join(f"{v} {counts[v] / max(n, 1):.3f}" for v in verdicts.VERDICTS)
        print(f"{'serves it' if serves else 'does not ':10} {n:5}  {shown}")


if __name__ == "__main__":
    main()
