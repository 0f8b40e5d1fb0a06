"""Embed stage: vectors for an organization's texts, computed only when missing.

Texts are addressed by (organization, model, content hash), so an unchanged text is never
encoded twice and a different model re-embeds everything. `VectorCache` is the `embed`
callable the scoring math asks for vectors through.

Storing should cost little beside encoding (benchmarks/embedding.py measures it against bare
`model.encode`): each chunk is stored as soon as it is encoded, in pgvector's binary format.
Only the texts the report's duplicate search looks up through the index (`searchable`: OKR
titles and key results) enter the HNSW graph, whose upkeep costs the server about 1 ms of CPU
per vector. Other texts are read back by hash, or compared exactly within a short list of hashes
(the draft stage's similar OKRs): a query that adds `searchable` to find them would miss them.
(Writing from a helper thread while the model encodes the next chunk measured no faster on 2
cores: the model keeps both busy.)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from itertools import pairwise

import numpy as np
import psycopg
from pgvector.psycopg.vector import register_vector_info
from psycopg.types import TypeInfo
from sqlalchemy.orm import Session

from alignment.embedder import Embedder
from alignment.models import content_hash

EmbedProgress = Callable[[int, int], None]  # (done, total)

_SELECT = (
    "SELECT content_hash, embedding FROM text_embeddings"
    " WHERE org_id = %s AND model = %s AND content_hash = ANY(%s)"
)
# ON CONFLICT: a concurrent scoring run of the same organization may store the same text first;
# its vector is kept, and it becomes searchable if either run needs it to be.
_INSERT = (
    "INSERT INTO text_embeddings AS te (org_id, model, content_hash, embedding, searchable)"
    " VALUES (%s, %s, %s, %b, %s) ON CONFLICT (org_id, model, content_hash) DO UPDATE"
    " SET searchable = true WHERE excluded.searchable AND NOT te.searchable"
)
_MARK_SEARCHABLE = (
    "UPDATE text_embeddings SET searchable = true WHERE org_id = %s AND model = %s"
    " AND content_hash = ANY(%s) AND NOT searchable"
)


class VectorCache:
    """`embed(texts)` for one organization, backed by stored vectors.

    With `persist=False` (previews such as suggest-parent) new texts are encoded but not stored.
    `searchable` names the texts that similarity search must find (they go into the HNSW
    index, also when an earlier run stored them as plain cache entries). `encoded` counts texts
    that had to go through the model.
    """

    def __init__(
        self,
        session: Session,
        org_id: str,
        embedder: Embedder,
        *,
        persist: bool = True,
        progress: EmbedProgress | None = None,
        searchable: Collection[str] = (),
    ) -> None:
        self.session, self.org_id, self.embedder = session, org_id, embedder
        self.persist, self.progress = persist, progress
        self.searchable = {content_hash(t) for t in searchable}
        self.encoded = 0
        self._memo: dict[str, np.ndarray] = {}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        hashes = [content_hash(t) for t in texts]
        wanted = [h for h in dict.fromkeys(hashes) if h not in self._memo]
        if wanted:
            stored = load_vectors(self.session, self.org_id, self.embedder.model_name, wanted)
            self._memo.update(stored)
            if self.persist and self.searchable:
                self._mark_searchable([h for h in stored if h in self.searchable])
            missing = {h: t for h, t in zip(hashes, texts, strict=True) if h not in self._memo}
            if missing:
                self._memo.update(self._encode(missing))
        if not hashes:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.stack([self._memo[h] for h in hashes])

    def _encode(self, missing: dict[str, str]) -> dict[str, np.ndarray]:
        # Chunks of a length-sorted list pad as little as one call over all texts would.
        items = sorted(missing.items(), key=lambda item: len(item[1]))
        out: dict[str, np.ndarray] = {}
        for start, end in _chunks(len(items), getattr(self.embedder, "batch_size", 64)):
            part = items[start:end]
            vectors = self.embedder.encode([text for _, text in part])
            hashes = [h for h, _ in part]
            out.update(zip(hashes, vectors, strict=True))
            if self.persist:
                conn = _driver_connection(self.session)
                flags = [h in self.searchable for h in hashes]
                _store(conn, self.org_id, self.embedder.model_name, hashes, vectors, flags)
            if self.progress:
                # Counted over every call of this cache: scoring embeds in passes (the links'
                # texts, then the check-ins' own), and a count per pass would go back to zero.
                self.progress(self.encoded + end, self.encoded + len(items))
        self.encoded += len(items)
        return out

    def _mark_searchable(self, hashes: list[str]) -> None:
        if hashes:
            with _driver_connection(self.session).cursor() as cur:
                cur.execute(_MARK_SEARCHABLE, (self.org_id, self.embedder.model_name, hashes))


def _chunks(n: int, batch: int) -> list[tuple[int, int]]:
    """(start, end) of model calls: 4 batches each, so progress moves and memory stays flat."""
    size = max(256, batch * 4)
    return list(pairwise([*range(0, n, size), n]))


def load_vectors(
    session: Session, org_id: str, model: str, hashes: Sequence[str]
) -> dict[str, np.ndarray]:
    """Stored vectors among `hashes` (binary transfer: parsing text vectors costs seconds)."""
    session.flush()  # as SQLAlchemy's autoflush would before a query
    conn = _driver_connection(session)
    with conn.cursor(binary=True) as cur:
        _register_vector(conn, cur)
        cur.execute(_SELECT, (org_id, model, list(hashes)))
        return {h: v.to_numpy() for h, v in cur}


def store_vectors(
    session: Session,
    org_id: str,
    model: str,
    rows: Sequence[tuple[str, np.ndarray]],
    *,
    searchable: bool = False,
) -> None:
    if rows:
        session.flush()
        hashes, vectors = zip(*rows, strict=True)
        flags = [searchable] * len(hashes)
        _store(_driver_connection(session), org_id, model, list(hashes), np.asarray(vectors), flags)


def _store(
    conn: psycopg.Connection,
    org_id: str,
    model: str,
    hashes: list[str],
    vectors: np.ndarray,
    searchable: list[bool],
) -> None:
    vectors = np.asarray(vectors, dtype=np.float32)
    rows = zip(hashes, vectors, searchable, strict=True)
    with conn.cursor() as cur:
        _register_vector(conn, cur)
        cur.executemany(_INSERT, [(org_id, model, h, v, s) for h, v, s in rows])


def _driver_connection(session: Session) -> psycopg.Connection:
    """The psycopg connection under the session's transaction (joins it, never commits)."""
    # Optional to SQLAlchemy (a detached connection has none); a session's live one has it.
    return session.connection().connection.driver_connection  # type: ignore[return-value]


def _register_vector(conn: psycopg.Connection, cur: psycopg.Cursor) -> None:
    # On the cursor only: the pooled connection's adapters stay as SQLAlchemy expects them.
    info = TypeInfo.fetch(conn, "vector")
    if info is None:
        raise RuntimeError("the vector extension is not installed in this database")
    # pgvector types its context as a connection; it uses only `.adapters`, as a cursor has.
    register_vector_info(cur, info)  # type: ignore[arg-type]
