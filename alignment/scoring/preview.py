"""A draft OKR's ranked objectives, scored beside the organization's OKRs and stored nowhere."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from alignment.embed import VectorCache
from alignment.embedder import Embedder
from alignment.scoring.documents import KeyResultDoc, Link, OkrDoc
from alignment.scoring.link_scores import score_links
from alignment.scoring.org_documents import load_docs


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
