"""Hub objectives in the undecided blocks: does a column correction rank them better? (DB-free)

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.hub_correction DEV_DIR...

An objective close to every OKR of a real page ("hub") takes rank 1 from the rest; full Sinkhorn
balancing (`evals.rank_fusion --sinkhorn`) helped the real pages but reordered aligned links and
cost other folders. Studied here, verdict-safe by construction: the engine's order (aligned, then
weak links by the fused lexical score, then "none" by score; lexical_rank.label_first_order)
with the "none" block, or the weak and "none" blocks, ordered instead by

    logit(p) / T - log sum over the organization's OKRs of exp(logit(p) / T)

(one Sinkhorn column step: an objective counts less the closer it is to everyone). Labels and
scores are untouched, so no verdict or report finding can move. Scores as `evals.rank_fusion`
makes them (fit organizations leave-one-org-out). The variant (block, T) applied to an
organization is chosen on the other organizations: the best worst-folder gain in pooled top1,
then the most OKRs right at rank 1. Development data only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import logit, logsumexp

from alignment.scoring import calibration, lexical_rank
from evals import rank_fusion, research

Variant = tuple[str, float]  # (blocks re-ordered: "", "none" or "weak+none"; T)
VARIANTS: tuple[Variant, ...] = (
    ("", 0.0),
    *((blocks, t) for blocks in ("none", "weak+none") for t in (0.5, 1.0, 2.0, 4.0)),
)


def hub_corrected(probs: np.ndarray, temperature: float) -> np.ndarray:
    """(n_okrs, n_objectives): each logit / T minus the log of its objective's column mass."""
    scaled = logit(np.clip(probs, 1e-6, 1 - 1e-6)) / temperature
    return scaled - logsumexp(scaled, axis=0, keepdims=True)


def gold_ranks(s: rank_fusion.Scored, variant: Variant) -> np.ndarray:
    """The rank (0 = first) of each labelled OKR's best gold objective in the variant's order."""
    blocks, temperature = variant
    codes = calibration.label_codes(s.probs, s.cal)
    fused = lexical_rank.fused(s.probs, s.signals["char_word"], lexical_rank.RANK_WEIGHT)
    hub = hub_corrected(s.probs, temperature) if blocks else s.probs
    weak = hub if "weak" in blocks else fused
    none = hub if blocks else s.probs
    within = np.where(codes == 2, -fused, np.where(codes == 1, -weak, -none))
    order = np.lexsort((within, -codes.astype(np.int64)), axis=-1)
    gold = s.org.labels.get("links") or {}
    ids = np.array([o.id for o in s.org.objectives])
    return np.array(
        [
            int(np.flatnonzero(np.isin(ids[order[k]], list(gold[okr.id])))[0])
            for k, okr in enumerate(s.org.okrs)
            if gold.get(okr.id)
        ]
    )


def criterion(ranks: dict, scored: Sequence[rank_fusion.Scored], variant: Variant) -> tuple:
    """(worst folder's top1 gain over the engine's order, OKRs right at rank 1) on `scored`."""
    folders: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for s in scored:
        hits = (ranks[s.org.name, variant] == 0, ranks[s.org.name, VARIANTS[0]] == 0)
        folders.setdefault(s.org.source, []).append(hits)
    gains = [np.concatenate([a for a, _ in f]).mean() - np.concatenate([b for _, b in f]).mean()
             for f in folders.values()]  # fmt: skip
    return round(float(min(gains)), 9), sum(int(a.sum()) for f in folders.values() for a, _ in f)


def main(argv: list[str] | None = None) -> None:
    orgs = research.organizations_from_argv(__doc__, argv)
    embed = research.CachedEmbedder()
    scored = rank_fusion.score_orgs(orgs, embed, ["char_word"])
    embed.save()
    ranks = {(s.org.name, v): gold_ranks(s, v) for s in scored for v in VARIANTS}
    sources = list(dict.fromkeys(s.org.source for s in scored))

    def pooled(rows: dict[str, list[np.ndarray]]) -> str:
        return " | ".join(f"{g} {np.concatenate(rows[g]).mean():.3f}" for g in sources if g in rows)

    print("pooled top1, every organization with each variant (in-sample choice view):")
    for v in VARIANTS:
        rows: dict[str, list[np.ndarray]] = {}
        for s in scored:
            rows.setdefault(s.org.source, []).append(ranks[s.org.name, v] == 0)
        print(f"  {v[0] or 'engine':<10} T {v[1]:<4} {pooled(rows)}")
    top1: dict[str, list[np.ndarray]] = {}
    mrr: dict[str, list[np.ndarray]] = {}
    picks = set()
    for s in scored:
        others = [t for t in scored if t is not s]
        v = max(VARIANTS, key=lambda v: criterion(ranks, others, v))
        picks.add(v)
        top1.setdefault(s.org.source, []).append(ranks[s.org.name, v] == 0)
        mrr.setdefault(s.org.source, []).append(1 / (ranks[s.org.name, v] + 1))
    print(f"leave-one-org-out (variants chosen: {sorted(picks)}):")
    print(f"  top1 {pooled(top1)}")
    print(f"  mrr  {pooled(mrr)}")
    engine = {g: [1 / (ranks[s.org.name, VARIANTS[0]] + 1) for s in scored if s.org.source == g]
              for g in sources}  # fmt: skip
    print(f"  mrr of the engine's order {pooled(engine)}")


if __name__ == "__main__":
    main()
