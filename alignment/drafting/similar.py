"""Vector look-ups of the draft stage: similar OKRs (pgvector neighbours) and team relevance.

OKRs are compared on the same whole text the score stage embeds
(`scoring.link_features.okr_text`), so the organization's stored vectors are reused; a drafted
OKR's own vector is computed but never stored. Neighbour search runs in PostgreSQL on
`text_embeddings` with the cosine operator.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from sqlalchemy.orm import Session

from alignment.drafting import sources
from alignment.embed import VectorCache
from alignment.embedder import Embedder
from alignment.models import content_hash
from alignment.scoring.documents import KeyResultDoc, OkrDoc
from alignment.scoring.link_features import objective_text, okr_text
from alignment.scoring.org_documents import OrgDocs, load_docs


def draft_text(title: str, description: str | None, key_results: list[str]) -> str:
    doc = OkrDoc(
        "__draft__",
        title,
        description,
        tuple(KeyResultDoc(f"KR{i}", t) for i, t in enumerate(key_results, 1)),
        (),
        None,
    )
    return okr_text(doc)


class OrgVectors:
    """One organization's OKR and objective vectors, stored ones reused, new ones stored."""

    def __init__(self, session: Session, org_id: str, embedder: Embedder) -> None:
        self.session, self.org_id, self.embedder = session, org_id, embedder
        self.docs: OrgDocs = load_docs(session, org_id)
        self.stored = VectorCache(session, org_id, embedder)
        self.preview = VectorCache(session, org_id, embedder, persist=False)
        self._okr_hashes: dict[str, list[str]] = defaultdict(list)
        self.team_of = {d.id: d.team for d in self.docs.okrs}
        texts = [okr_text(d) for d in self.docs.okrs]
        for doc, text in zip(self.docs.okrs, texts, strict=True):
            self._okr_hashes[content_hash(text)].append(doc.id)
        self.stored(texts)  # embeds only what scoring has not stored yet

    def nearest_okrs(
        self,
        text: str,
        *,
        exclude_team: str | None = None,
        only_team: str | None = None,
        limit: int = 5,
        draft: bool = False,
    ) -> list[tuple[str, float]]:
        """(okr id, cosine) of the OKRs closest to `text`, best first."""
        hashes = [
            h
            for h, ids in self._okr_hashes.items()
            if any(self._keep(i, exclude_team, only_team) for i in ids)
        ]
        vector = (self.preview if draft else self.stored)([text])[0]
        found = sources.nearest_texts(
            self.session,
            self.org_id,
            self.embedder.model_name,
            vector,
            hashes,
            limit=limit,
        )
        out = [
            (okr_id, cosine)
            for h, cosine in found
            for okr_id in self._okr_hashes[h]
            if self._keep(okr_id, exclude_team, only_team)
        ]
        return out[:limit]

    def _keep(self, okr_id: str, exclude_team: str | None, only_team: str | None) -> bool:
        team = self.team_of.get(okr_id)
        return (exclude_team is None or team != exclude_team) and (
            only_team is None or team == only_team
        )

    def objective_text(self, objective_id: str) -> str:
        for doc in self.docs.objectives:
            if doc.id == objective_id:
                return objective_text(doc)
        raise KeyError(objective_id)

    def mission_relevance(self, mission: str | None) -> dict[str, float]:
        """Cosine of the team mission with each objective's whole text (0 without a mission)."""
        if not mission or not self.docs.objectives:
            return {d.id: 0.0 for d in self.docs.objectives}
        texts = [objective_text(d) for d in self.docs.objectives]
        vectors = self.stored([mission, *texts])
        sims = vectors[1:] @ vectors[0]
        return {
            d.id: round(float(s), 4)
            for d, s in zip(self.docs.objectives, np.atleast_1d(sims), strict=True)
        }
