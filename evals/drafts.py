"""`goldenthread eval drafts`: how often drafted OKRs pass each gate, and how aligned they are.

For each bundle: import it into a scratch organization, score it, then for every strategic
objective draft OKRs for the team that works on it most (the team whose OKRs score highest
against it; by mission when no OKR comes close) with the configured drafter, for the cycle a
person gets by default (the current one, or the next once it is more than half over). Reported
per dataset and pooled: the share of drafts passing each gate, the share accepted (every gate
passed, after at most one repair), and the mean alignment score of accepted drafts to the
objectives they cite. Everything runs in one transaction the caller
rolls back.
"""

from __future__ import annotations

import copy
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from alignment.bundle.io import load_file
from alignment.drafting import sources
from alignment.drafting.draft import draft_suggestions
from alignment.drafting.drafters import Drafter
from alignment.drafting.gates import SUGGESTION_GATES
from alignment.drafting.offline_suggestions import NothingToSuggest
from alignment.drafting.schemas import SuggestionRequest
from alignment.drafting.similar import OrgVectors
from alignment.embedder import Embedder
from alignment.errors import Invalid, Unavailable
from alignment.imports import import_document
from alignment.scoring.stage import score_organization


def _import_scratch(session: Session, bundle_path: Path) -> str:
    document = copy.deepcopy(load_file(bundle_path))
    if not isinstance(document, dict) or not isinstance(document.get("organization"), dict):
        raise Invalid(f"{bundle_path}: not a goldenthread bundle (no organization object)")
    scratch = f"eval-{uuid.uuid4().hex[:12]}"
    document["organization"]["id"] = scratch
    import_document(session, document)
    return scratch


def owner_teams(session: Session, org_id: str, embedder: Embedder) -> dict[str, str]:
    """objective id -> the team to draft for: best-scoring OKR's team, else closest mission."""
    objectives = [o["id"] for o in sources.objectives(session, org_id)]
    best: dict[str, tuple[float, str]] = {}
    for okr in sources.okrs(session, org_id):
        for objective_id, score in okr["scores"].items():
            if objective_id not in best or score > best[objective_id][0]:
                best[objective_id] = (score, okr["team"])
    teams = sources.teams(session, org_id)
    vectors = OrgVectors(session, org_id, embedder)
    fit = {t["id"]: vectors.mission_relevance(t["mission"]) for t in teams}
    out = {}
    for objective_id in objectives:
        if objective_id in best and best[objective_id][0] >= 0.2:
            out[objective_id] = best[objective_id][1]
        elif teams:
            out[objective_id] = max(teams, key=lambda t: fit[t["id"]].get(objective_id, 0))["id"]
    return out


def eval_bundle(
    session: Session, bundle_path: Path, *, drafter: Drafter, embedder: Embedder
) -> dict[str, Any]:
    org_id = _import_scratch(session, bundle_path)
    score_organization(session, org_id, embedder=embedder)
    rows = []
    for objective_id, team_id in owner_teams(session, org_id, embedder).items():
        # The cycle a person would get by default: the current one, or the next past half.
        request = SuggestionRequest(team=team_id, objectives=[objective_id])
        started = time.perf_counter()
        try:
            draft = draft_suggestions(session, org_id, request, drafter=drafter, embedder=embedder)
        except Unavailable as exc:
            rows.append({"objective": objective_id, "team": team_id, "error": exc.message})
            continue
        except NothingToSuggest as exc:  # no draft made: counted apart, not as a failure
            rows.append({"objective": objective_id, "team": team_id, "declined": exc.message})
            continue
        gates = {g["name"]: g for g in draft.gates}
        scores = (gates.get("aligned") or {}).get("details", {}).get("scores", [])
        rows.append(
            {
                "objective": objective_id,
                "team": team_id,
                "status": draft.status,
                "passed": {
                    name: bool(gates.get(name, {}).get("passed")) for name in SUGGESTION_GATES
                },
                "first_attempt_passed": draft.attempts[0]["passed"],
                "attempts": len(draft.attempts),
                "alignment": [s for per in scores for s in per.values() if s is not None],
                "tokens": draft.total_tokens,
                "latency_ms": draft.latency_ms,
                "seconds": round(time.perf_counter() - started, 3),
                "problems": [p for a in draft.attempts[-1:] for p in a["problems"]][:5],
            }
        )
    name = bundle_path.name.removesuffix(".json").removesuffix(".bundle")
    return {"dataset": name, **_figures(rows), "items": rows}


def _figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    done = [r for r in rows if "error" not in r and "declined" not in r]
    n = len(done)
    accepted = [r for r in done if r["status"] == "pending"]
    scores = [s for r in accepted for s in r["alignment"]]

    def share(count: int) -> float | None:
        return round(count / n, 4) if n else None

    return {
        "drafts": n,
        "errors": sum(1 for r in rows if "error" in r),
        # The offline drafter's "nothing new to suggest": every key result it could ground
        # already exists in the organization (alignment/drafting/offline_suggestions.py).
        "declined": sum(1 for r in rows if "declined" in r),
        "gates": {g: share(sum(1 for r in done if r["passed"][g])) for g in SUGGESTION_GATES},
        "accepted": share(len(accepted)),
        "accepted_first_attempt": share(sum(1 for r in done if r["first_attempt_passed"])),
        "mean_alignment_score": round(statistics.fmean(scores), 4) if scores else None,
        "tokens": sum(r["tokens"] for r in done),
        "mean_latency_ms": round(statistics.fmean(r["latency_ms"] for r in done)) if n else None,
        # Wall clock per draft: context, drafter, every gate (scoring the draft included).
        "mean_seconds_per_draft": (
            round(statistics.fmean(r["seconds"] for r in done), 2) if n else None
        ),
    }


def run(
    session: Session,
    bundles: Sequence[Path],
    *,
    drafter: Drafter,
    embedder: Embedder,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    datasets = []
    for path in bundles:
        datasets.append(eval_bundle(session, path, drafter=drafter, embedder=embedder))
        if progress:  # after the bundle: the bar counts bundles done, not begun
            progress(path.name)
    pooled = _figures([r for d in datasets for r in d["items"]])
    return {
        "drafter": drafter.kind,
        "model": drafter.model,
        "embedding_model": embedder.model_name,
        **pooled,
        "datasets": datasets,
    }


def table(result: dict[str, Any]) -> str:
    cols = ("drafts", *SUGGESTION_GATES, "accepted", "mean_alignment_score")
    head = f"{'dataset':<30}" + "".join(f"{c[:12]:>13}" for c in cols)

    def cell(value: Any) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str("-" if value is None else value)

    def row(name: str, d: dict[str, Any]) -> str:
        values = [d["drafts"], *(d["gates"][g] for g in SUGGESTION_GATES), d["accepted"]]
        values.append(d["mean_alignment_score"])
        return f"{name[:29]:<30}" + "".join(f"{cell(v):>13}" for v in values)

    lines = [f"drafter: {result['drafter']} ({result['model']})", head]
    lines += [row(d["dataset"], d) for d in result["datasets"]]
    lines.append(row("ALL", result))
    return "\n".join(lines)
