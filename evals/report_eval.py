"""The report as people read it, against labels: are its orphan and drift findings right?

`goldenthread eval report BUNDLE LABELS [...] --json` imports each bundle into a scratch
organization (declarations kept: this is the service's report, not the ranking eval), scores
it, builds the report exactly as a report job does, and compares:
- `orphan_okr` findings with the labelled orphans (OKRs whose label list is empty);
- `checkin_drift` findings with the check-ins labelled as drifting;
- how many OKRs the report sends to review (`needs_review` findings), and how many check-ins
  (drift verdict `needs_review`: no finding, a person decides), with how many drifting
  check-ins the flag and that review together reach;
- on datasets whose labels have no orphans, the share of OKRs it calls orphans anyway.
Everything happens in one transaction the caller rolls back.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alignment.bundle.io import load_file
from alignment.embedder import Embedder
from alignment.errors import Invalid
from alignment.imports import import_document
from alignment.models import CheckInDrift
from alignment.report import build_report
from alignment.scoring.stage import score_organization
from evals.runner import read_labels


def _subject(finding: dict[str, Any]) -> str:
    """The OKR or check-in a finding is about: the first part of its key."""
    return finding["key"].split(":", 1)[1].split("|")[0]


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def counts(
    findings: list[dict[str, Any]], labels: dict[str, Any], check_in_review: set[str] = frozenset()
) -> dict[str, int]:
    gold_links = labels.get("links") or {}
    gold_drift = labels.get("drift") or {}
    orphans = {o for o, objectives in gold_links.items() if not objectives}
    drifting = {c for c, flag in gold_drift.items() if flag}
    flagged = {_subject(f) for f in findings if f["kind"] == "orphan_okr"} & set(gold_links)
    review = {_subject(f) for f in findings if f["kind"] == "needs_review"} & set(gold_links)
    drift_flags = {_subject(f) for f in findings if f["kind"] == "checkin_drift"} & set(gold_drift)
    return {
        "labelled_okrs": len(gold_links),
        "labelled_orphans": len(orphans),
        "orphan_findings": len(flagged),
        "true_orphan_findings": len(flagged & orphans),
        "needs_review": len(review),
        "labelled_check_ins": len(gold_drift),
        "labelled_drifting": len(drifting),
        "drift_findings": len(drift_flags),
        "true_drift_findings": len(drift_flags & drifting),
        "check_ins_in_review": len(check_in_review & set(gold_drift)),
        "drifting_in_review": len(check_in_review & drifting),
    }


def figures(c: dict[str, int]) -> dict[str, Any]:
    return {
        "orphan_precision": _ratio(c["true_orphan_findings"], c["orphan_findings"]),
        "orphan_recall": _ratio(c["true_orphan_findings"], c["labelled_orphans"]),
        "drift_precision": _ratio(c["true_drift_findings"], c["drift_findings"]),
        "drift_recall": _ratio(c["true_drift_findings"], c["labelled_drifting"]),
        "needs_review_share": _ratio(c["needs_review"], c["labelled_okrs"]),
        "check_in_review_share": _ratio(c["check_ins_in_review"], c["labelled_check_ins"]),
        "drift_recall_with_review": _ratio(
            c["true_drift_findings"] + c["drifting_in_review"], c["labelled_drifting"]
        ),
        # Only where the labels say nothing is an orphan (real goal pages: every goal has a
        # published parent): every orphan finding there is a false alarm.
        "false_orphan_share": _ratio(c["orphan_findings"], c["labelled_okrs"])
        if c["labelled_orphans"] == 0
        else None,
        **c,
    }


def report_findings(
    session: Session, bundle_path: Path, embedder: Embedder
) -> tuple[list[dict], set[str]]:
    """The report's findings, and the check-ins whose drift verdict is `needs_review`."""
    document = copy.deepcopy(load_file(bundle_path))
    if not isinstance(document, dict) or not isinstance(document.get("organization"), dict):
        raise Invalid(f"{bundle_path}: not a goldenthread bundle (no organization object)")
    scratch = f"eval-report-{uuid.uuid4().hex[:12]}"
    document["organization"]["id"] = scratch
    import_document(session, document)
    score_organization(session, scratch, embedder=embedder)
    run = build_report(session, scratch, embedder=embedder)
    unsure = session.scalars(
        select(CheckInDrift.check_in_id).where(
            CheckInDrift.org_id == scratch, CheckInDrift.verdict == "needs_review"
        )
    )
    return [f if isinstance(f, dict) else f.as_dict() for f in run.findings], set(unsure)


def run(
    session: Session,
    pairs: Sequence[tuple[Path, Path]],
    *,
    embedder: Embedder,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    datasets, pooled = [], None
    for (bundle_path, _), labels in zip(pairs, read_labels(pairs), strict=True):
        findings, unsure = report_findings(session, bundle_path, embedder)
        if progress:  # after the bundle's report: the bar counts bundles done, not begun
            progress(bundle_path.name)
        c = counts(findings, labels, unsure)
        name = bundle_path.name.removesuffix(".json").removesuffix(".bundle")
        datasets.append({"dataset": name, **figures(c)})
        pooled = c if pooled is None else {k: pooled[k] + v for k, v in c.items()}
    no_orphans = [d for d in datasets if d["labelled_orphans"] == 0]
    result = {**figures(pooled or {}), "datasets": datasets}
    if no_orphans:  # pooled over the datasets without labelled orphans only
        flagged = sum(d["orphan_findings"] for d in no_orphans)
        result["false_orphan_share"] = _ratio(flagged, sum(d["labelled_okrs"] for d in no_orphans))
    result["embedding_model"] = embedder.model_name
    return result
