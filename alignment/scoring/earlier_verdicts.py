"""What earlier runs decided that still holds: the stored labels and comparisons with the
median of the OKRs whose text and context are unchanged (stability.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alignment.models import OkrVerdict, ScoredLink
from alignment.verdicts import Comparison


def _unchanged_rows(
    session: Session,
    model: type[ScoredLink] | type[OkrVerdict],
    org_id: str,
    columns: Sequence,
    fingerprints: dict[str, str],
    contexts: dict[str, str],
) -> list[tuple]:
    """`columns` of the stored rows whose OKR's text and context are what they were when the
    row was decided; the first column must be the OKR id."""
    rows = session.execute(
        select(*columns, model.okr_hash, model.context_hash).where(model.org_id == org_id)
    )
    return [
        tuple(row[:-2])
        for row in rows
        if fingerprints.get(row[0]) == row[-2] and contexts.get(row[0]) == row[-1]
    ]


def earlier_labels(
    session: Session, org_id: str, fingerprints: dict[str, str], contexts: dict[str, str]
) -> dict[tuple[str, str], str]:
    """The engine's stored labels (every one: "none" stays "none" too) of the OKRs whose text
    and context are unchanged. Where an LLM's opinion moved a label, the engine's own label
    is kept, not the moved one: the opinion applies to the run that asked for it, and a label
    an earlier version let a model raise must not stand as the engine's."""
    engine_label = func.coalesce(ScoredLink.adjudication["engine_label"].astext, ScoredLink.label)
    columns = (ScoredLink.okr_id, ScoredLink.objective_id, engine_label)
    rows = _unchanged_rows(session, ScoredLink, org_id, columns, fingerprints, contexts)
    return {(okr_id, objective_id): label for okr_id, objective_id, label in rows}


def earlier_comparisons(
    session: Session, org_id: str, fingerprints: dict[str, str], contexts: dict[str, str]
) -> dict[str, tuple[Comparison, datetime]]:
    """Stored comparisons with the median, and when they were decided, of the OKRs whose text
    and context are unchanged."""
    columns = (
        OkrVerdict.okr_id,
        OkrVerdict.best_score,
        OkrVerdict.reference,
        OkrVerdict.decided_at,
    )
    rows = _unchanged_rows(session, OkrVerdict, org_id, columns, fingerprints, contexts)
    return {
        okr_id: (Comparison.of(best, reference), decided_at)
        for okr_id, best, reference, decided_at in rows
    }
