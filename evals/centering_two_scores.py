"""Two scores: ranking and links from a centered fit, the orphan rule on the plain fit (DB-free)

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.centering_two_scores DEV_DIR...

Centering (evals/centering.py's A `obj_mean`, evals/centering_beside.py's E2 `beside_z`) ranks
and links better on the folders others wrote but moves the level of the best score, which the
orphan rule (alignment/verdicts.py) reads, and loses confident orphans on dev. Here each OKR
gets both fits' links, and one verdict:

    aligned       the centered fit labels some objective `aligned`;
    orphan        the plain fit's verdict is a confident orphan (no aligned or weak plain link,
                  plain best score under the share x the plain median best score) AND the
                  centered fit has no aligned link (`strict`: no weak centered link either);
    needs_review  otherwise.

top1, mrr and link F1 are the centered fit's; the review share and the orphan flags are the
combined verdict's. Both fits leave-one-org-out as evals/centering.py (the fit on all fit
organizations for the ranking-only folders); the orphan share shipped (0.12) and re-chosen per
organization by evals.fit's rule (evals/orphan_share.py) on the other organizations' combined
candidates (plain ratio, OKRs the combined rule could flag). Printed: centering.py's tables, the
flags the centered veto drops from plain's, and the worst-folder rule of centering_beside.
Research only: nothing here changes what the service runs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence

import numpy as np

from alignment import verdicts
from alignment.scoring import calibration, link_scores
from evals import centering, centering_beside, metrics, orphan_share, research

CENTERED = {"A": "obj_mean", "E2": "beside_z"}
TWO = {f"two_{c}{s}": (c, s == "_strict") for c in CENTERED for s in ("", "_strict")}


def combined_verdicts(
    centered: Mapping[str, Sequence[verdicts.Link]],
    plain: Mapping[str, Sequence[verdicts.Link]],
    *,
    strict: bool = False,
) -> dict[str, str]:
    """One verdict per OKR of `centered`: aligned from the centered links, orphan only when the
    plain verdict is a confident orphan and the centered links do not say aligned (`strict`:
    nor weak), needs_review otherwise. The share is verdicts.ORPHAN_SHARE_OF_MEDIAN."""
    said = verdicts.verdicts(plain)
    out = {}
    for okr, links in centered.items():
        labels = {lk.label for lk in links}
        if "aligned" in labels:
            out[okr] = "aligned"
        elif said.get(okr) == "orphan" and not (strict and "weak" in labels):
            out[okr] = "orphan"
        else:
            out[okr] = "needs_review"
    return out


def scored(orgs, embed, fit_orgs, name: str) -> dict:
    """Every organization's links under `name`, fitted as centering.run fits them."""
    centering_beside.use_variant(name)
    full_cal = research.fit_links(fit_orgs, embed, calibration.DEFAULT)
    preds = {}
    for org in orgs:
        cal = full_cal
        if org in fit_orgs and len(fit_orgs) > 1:
            cal = research.fit_links(
                [o for o in fit_orgs if o is not org], embed, calibration.DEFAULT
            )
        preds[org] = link_scores.score_links(org.objectives, org.okrs, embed=embed, calibration=cal)
    return preds


def _with_share(share: float, f, *args, **kw):
    shipped = verdicts.ORPHAN_SHARE_OF_MEDIAN
    verdicts.ORPHAN_SHARE_OF_MEDIAN = share
    try:
        return f(*args, **kw)
    finally:
        verdicts.ORPHAN_SHARE_OF_MEDIAN = shipped


def _evaluate(centered, plain, labels, share: float, strict: bool) -> dict:
    """The centered fit's ranking metrics, the combined verdict's review share and flags."""
    gold = labels["links"]
    m = metrics.evaluate(centered, labels)
    said = _with_share(
        share,
        combined_verdicts,
        {k: centered[k] for k in gold},
        {k: plain[k] for k in gold},
        strict=strict,
    )
    co = np.array([said[k] == "orphan" for k in gold])
    go = np.array([not gold[k] for k in gold])
    m["review_rate"] = float(np.mean([said[k] == "needs_review" for k in gold]))
    if go.any():
        m["confident_orphan_precision"] = float((co & go).sum() / co.sum()) if co.any() else 0.0
        m["confident_orphan_recall"] = float((co & go).sum() / go.sum())
    m.update(flags=int(co.sum()), flags_right=int((co & go).sum()), orphans=int(go.sum()))
    m["share"] = share
    m["flagged"] = {k for k in gold if said[k] == "orphan"}
    return m


def _candidates(centered, plain, labels, strict: bool) -> orphan_share.Candidates:
    """centering._candidates restricted to the OKRs the combined rule could flag."""
    c = centering._candidates(plain, labels)
    gold = labels["links"]
    plain_rows = [k for k in gold if not any(lk.label in ("aligned", "weak") for lk in plain[k])]
    veto = ("aligned", "weak") if strict else ("aligned",)
    keep = np.array([not any(lk.label in veto for lk in centered[k]) for k in plain_rows], bool)
    return orphan_share.Candidates(c.ratio[keep], c.orphan[keep], c.orphans)


def two_scores(orgs, centered_preds, plain_preds, strict: bool) -> tuple[dict, dict, dict]:
    """centering.run's (shipped rows, re-chosen rows, rank-1 hits) for the combined verdict."""
    found = {o: _candidates(centered_preds[o], plain_preds[o], o.labels, strict) for o in orgs}
    shipped: dict[str, list[dict]] = {}
    chosen: dict[str, list[dict]] = {}
    hits: dict[tuple, bool] = {}
    for org in orgs:
        args = (centered_preds[org], plain_preds[org], org.labels)
        share = orphan_share.choose([found[o] for o in orgs if o is not org])
        shipped.setdefault(org.source, []).append(
            _evaluate(*args, verdicts.ORPHAN_SHARE_OF_MEDIAN, strict)
        )
        chosen.setdefault(org.source, []).append(_evaluate(*args, share, strict))
        for okr_id, hit in centering._top1_hits(centered_preds[org], org.labels).items():
            hits[(org.source, org.name, okr_id)] = hit
    return shipped, chosen, hits


def reference(orgs, preds) -> tuple[dict, dict, dict]:
    """centering.run's results for one fit alone (its own verdicts)."""
    found = {o: centering._candidates(preds[o], o.labels) for o in orgs}
    shipped: dict[str, list[dict]] = {}
    chosen: dict[str, list[dict]] = {}
    hits: dict[tuple, bool] = {}
    for org in orgs:
        share = orphan_share.choose([found[o] for o in orgs if o is not org])
        for rows, s in ((shipped, verdicts.ORPHAN_SHARE_OF_MEDIAN), (chosen, share)):
            m = centering._evaluate(preds[org], org.labels, s)
            said = _with_share(
                s, verdicts.verdicts, {k: preds[org][k] for k in org.labels["links"]}
            )
            m["flagged"] = {k for k, v in said.items() if v == "orphan"}
            rows.setdefault(org.source, []).append(m)
        for okr_id, hit in centering._top1_hits(preds[org], org.labels).items():
            hits[(org.source, org.name, okr_id)] = hit
    return shipped, chosen, hits


def agreement(plain: tuple, other: tuple, orgs) -> str:
    """Flags plain makes that `other` drops / adds, pooled, per share (right ones in brackets)."""
    out = []
    for i, what in ((0, "shipped"), (1, "re-chosen")):
        lost = added = lost_right = added_right = 0
        for src, rows in plain[i].items():
            for org, p, o in zip(
                [g for g in orgs if g.source == src], rows, other[i][src], strict=True
            ):
                orphan = {k for k, v in org.labels["links"].items() if not v}
                lost += len(p["flagged"] - o["flagged"])
                lost_right += len((p["flagged"] - o["flagged"]) & orphan)
                added += len(o["flagged"] - p["flagged"])
                added_right += len((o["flagged"] - p["flagged"]) & orphan)
        out.append(f"{what}: -{lost} ({lost_right} right) +{added} ({added_right} right)")
    return "; ".join(out)


def main(argv: list[str] | None = None) -> None:
    t0 = time.perf_counter()
    orgs = research.organizations_from_argv(__doc__, argv)
    embed = research.CachedEmbedder()
    fit_orgs = [o for o in orgs if o.fit]
    preds = {}
    for name in ("plain", *CENTERED.values()):
        t = time.perf_counter()
        preds[name] = scored(orgs, embed, fit_orgs, name)
        print(f"{name:<12}{time.perf_counter() - t:>7.1f} s", flush=True)
    centering_beside.use_variant("plain")
    embed.save()
    results = {name: reference(orgs, p) for name, p in preds.items()}
    for name, (c, strict) in TWO.items():
        results[name] = two_scores(orgs, preds[CENTERED[c]], preds["plain"], strict)
    centering.report(orgs, results)
    print("\norphan flags against plain's, pooled: dropped / added (right ones)")
    for name in results:
        if name != "plain":
            print(f"{name:<14}{agreement(results['plain'], results[name], orgs)}")
    print("\nworst-folder rule against plain")
    for name in results:
        if name != "plain":
            ok, text = centering_beside.rule(results, name)
            print(f"{name:<14}{'PASS' if ok else 'fail'}  {text}")
    print(f"time: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
