"""A draft OKR's ranked objectives, scored beside the organization's OKRs and stored nowhere."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alignment.embed import VectorCache
from alignment.embedder import Embedder
from alignment.errors import Invalid
from alignment.models import StrategicObjective
from alignment.repository import require_org
from alignment.scoring.documents import KeyResultDoc, Link, OkrDoc
from alignment.scoring.link_scores import score_links
from alignment.scoring.org_documents import load_docs


def require_objectives(session: Session, org_id: str) -> None:
    """Refuse a preview with nothing to rank, before anything slow (loading the model): the
    organization exists and has strategic objectives."""
    require_org(session, org_id)
    count = session.scalar(
        select(func.count())
        .select_from(StrategicObjective)
        .where(StrategicObjective.org_id == org_id)
    )
    if not count:
        raise Invalid(
            f"organization {org_id!r} has no strategic objectives to rank a draft OKR against: "
            "import some first (a bundle, or POST /orgs/{org}/objectives)",
            details=[{"path": "path.org_id", "message": "no strategic objectives"}],
        )


def preview_links(
    session: Session,
    org_id: str,
    *,
    title: str,
    description: str | None,
    key_results: Sequence[str],
    embedder: Embedder,
) -> list[Link]:
    """Rank objectives for a draft OKR without storing anything (not even its vectors).

    The draft is scored beside the organization's OKRs so per-organization normalization sees
    the same population as a stored OKR would.
    """
    require_objectives(session, org_id)
    docs = load_docs(session, org_id)
    draft = OkrDoc(
        "__draft__",
        title,
        description,
        tuple(KeyResultDoc(f"KR{i}", t) for i, t in enumerate(key_results, start=1)),
        (),
        None,
    )
    cache = VectorCache(session, org_id, embedder, persist=False)
    return score_links(docs.objectives, [*docs.okrs, draft], embed=cache)[draft.id]
