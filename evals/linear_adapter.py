"""Can a learned map on the frozen MiniLM vectors rank better than plain cosine on other styles?

    HF_HUB_OFFLINE=1 .venv/bin/python -m evals.linear_adapter DEV_DIR... [--rank 64] [--steps 300]

A low-rank linear adapter x -> x + x U V^T is applied to both sides (the OKR's title,
description and key results; the objective's title, description and KPI names), and trained so
that each labelled OKR's cosine ranks its gold objectives first among its organization's
(softmax cross-entropy at temperature 0.05, L2 on U V^T). Every organization is scored with an
adapter trained without it, two ways: leave-one-org-out (the other organizations of every
folder) and leave-one-folder-out (only the other folders: a style the adapter never saw).
Prints pooled top1 per folder, plain cosine against adapted cosine. Torch ships with
sentence-transformers; training runs on the CPU (about 13 s per fold on 2 cores, so the two
protocols over 27 organizations take about 12 minutes). Development data only.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import torch

from evals import research


@dataclass(frozen=True)
class Labelled:
    name: str
    source: str
    okrs: torch.Tensor  # (n_okrs, d) unit vectors of the labelled OKRs that serve something
    objectives: torch.Tensor  # (n_objectives, d)
    gold: torch.Tensor  # (n_okrs, n_objectives) 1.0 where the OKR serves the objective


def okr_text(okr) -> str:
    return " ".join([okr.title, okr.description or "", *(r.title for r in okr.key_results)]).strip()


def objective_text(objective) -> str:
    return " ".join([objective.title, objective.description or "", *objective.kpis]).strip()


def labelled(org: research.Org, embed) -> Labelled | None:
    gold = org.labels.get("links") or {}
    okrs = [k for k in org.okrs if gold.get(k.id)]
    if not okrs:
        return None
    ids = [o.id for o in org.objectives]
    return Labelled(
        org.name,
        org.source,
        torch.tensor(embed([okr_text(k) for k in okrs])),
        torch.tensor(embed([objective_text(o) for o in org.objectives])),
        torch.tensor([[i in gold[k.id] for i in ids] for k in okrs], dtype=torch.float32),
    )


def adapted(x: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(x + x @ u @ v.T, dim=1)


def train(
    orgs: list[Labelled], *, rank: int = 64, steps: int = 300, l2: float = 1e-3, temp: float = 0.05
) -> tuple[torch.Tensor, torch.Tensor]:
    """U, V of the adapter; U starts at 0, so training starts from plain cosine."""
    torch.manual_seed(0)
    d = orgs[0].okrs.shape[1]
    u = torch.zeros(d, rank, requires_grad=True)
    v = (0.01 * torch.randn(d, rank)).requires_grad_()
    opt = torch.optim.Adam([u, v], lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        loss = sum(
            -(
                ((adapted(o.okrs, u, v) @ adapted(o.objectives, u, v).T / temp).log_softmax(1)
                * o.gold).sum(1) / o.gold.sum(1)
            ).mean()
            for o in orgs
        ) / len(orgs) + l2 * ((u @ v.T) ** 2).sum()  # fmt: skip
        loss.backward()
        opt.step()
    return u.detach(), v.detach()


def top1_hits(similarity: torch.Tensor, gold: torch.Tensor) -> np.ndarray:
    return (gold[torch.arange(len(gold)), similarity.argmax(1)] > 0).numpy()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", help="development dataset folders")
    ap.add_argument("--rank", type=int, default=64)
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args(argv)
    embed = research.CachedEmbedder()
    orgs = [x for o in research.load_all(args.sources) if (x := labelled(o, embed)) is not None]
    embed.save()
    protocols = {
        "leave-one-org-out": lambda o, x: x.name != o.name,
        "leave-one-folder-out": lambda o, x: x.source != o.source,
    }
    for protocol, keep in protocols.items():
        hits: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
        for org in orgs:
            u, v = train([x for x in orgs if keep(org, x)], rank=args.rank, steps=args.steps)
            plain = top1_hits(org.okrs @ org.objectives.T, org.gold)
            learned = top1_hits(adapted(org.okrs, u, v) @ adapted(org.objectives, u, v).T, org.gold)
            hits[org.source].append((plain, learned))
        print(protocol)
        for source, pairs in hits.items():
            plain, learned = (np.concatenate(h) for h in zip(*pairs, strict=True))
            print(
                f"  {source:<12} OKRs {len(plain):>4}  cosine top1 {plain.mean():.3f}  "
                f"adapted {learned.mean():.3f}"
            )


if __name__ == "__main__":
    main()
