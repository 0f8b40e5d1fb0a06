"""Embed stage: vectors for an organization's texts, computed only when missing.

Texts are addressed by (organization, model, content hash), so an unchanged text is never
encoded twice and a different model re-embeds everything. `VectorCache` is the `embed`
callable the scoring math asks for vectors through.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from alignment.embedder import Embedder
from alignment.models import TextEmbedding, content_hash

Progress = Callable[[int, int], None]  # (done, total)
_LOOKUP_CHUNK = 5000


class VectorCache:
    """`embed(texts)` for one organization, backed by stored vectors.

    With `persist=False` (previews such as suggest-parent) new texts are encoded but not stored.
    `encoded` counts texts that had to go through the model.
    """

    def __init__(
        self,
        session: Session,
        org_id: str,
        embedder: Embedder,
        *,
        persist: bool = True,
        progress: Progress | None = None,
    ) -> None:
        self.session, self.org_id, self.embedder = session, org_id, embedder
        self.persist, self.progress = persist, progress
        self.encoded = 0
        self._memo: dict[str, np.ndarray] = {}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        hashes = [content_hash(t) for t in texts]
        wanted = [h for h in dict.fromkeys(hashes) if h not in self._memo]
        if wanted:
            self._memo.update(self._load(wanted))
            missing = {h: t for h, t in zip(hashes, texts, strict=True) if h not in self._memo}
            if missing:
                self._memo.update(self._encode(missing))
        if not hashes:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.stack([self._memo[h] for h in hashes])

    def _load(self, hashes: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), _LOOKUP_CHUNK):
            rows = self.session.execute(
                select(TextEmbedding.content_hash, TextEmbedding.embedding).where(
                    TextEmbedding.org_id == self.org_id,
                    TextEmbedding.model == self.embedder.model_name,
                    TextEmbedding.content_hash.in_(hashes[start : start + _LOOKUP_CHUNK]),
                )
            )
            found.update({h: np.asarray(v, dtype=np.float32) for h, v in rows})
        return found

    def _encode(self, missing: dict[str, str]) -> dict[str, np.ndarray]:
        items = list(missing.items())
        batch = max(256, getattr(self.embedder, "batch_size", 64) * 4)
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(items), batch):
            chunk = items[start : start + batch]
            vectors = self.embedder.encode([text for _, text in chunk])
            out.update({h: v for (h, _), v in zip(chunk, vectors, strict=True)})
            if self.persist:
                store_vectors(
                    self.session,
                    self.org_id,
                    self.embedder.model_name,
                    [(h, v) for (h, _), v in zip(chunk, vectors, strict=True)],
                )
            if self.progress:
                self.progress(min(start + batch, len(items)), len(items))
        self.encoded += len(items)
        return out


def store_vectors(
    session: Session, org_id: str, model: str, rows: Sequence[tuple[str, np.ndarray]]
) -> None:
    if not rows:
        return
    stmt = insert(TextEmbedding).on_conflict_do_nothing()
    session.execute(
        stmt,
        [{"org_id": org_id, "model": model, "content_hash": h, "embedding": v} for h, v in rows],
    )
