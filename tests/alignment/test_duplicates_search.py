"""The duplicate search's plan: the HNSW index for a large organization, an exact sort for a
small one, and the same neighbours either way on clustered vectors."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from alignment.models import EMBEDDING_DIM, Organization
from alignment.report import neighbours
from alignment.settings import get_settings
from alignment.tenancy import set_tenant

MODEL = "test-model"
K = 5  # the report's duplicate_neighbours


def _clustered(n: int, seed: int) -> np.ndarray:
    """Unit vectors around 60 topics: texts of one topic near each other, like OKR wordings."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((60, EMBEDDING_DIM))
    x = centres[rng.integers(0, 60, n)] + 0.7 * rng.standard_normal((n, EMBEDDING_DIM))
    # Rounded as stored (COPY text below), so NumPy ranks what PostgreSQL holds.
    return np.round(x / np.linalg.norm(x, axis=1, keepdims=True), 6)


def _store(session: Session, org_id: str, vectors: np.ndarray) -> list[str]:
    session.add(Organization(id=org_id, name=org_id))
    session.flush()
    hashes = [f"{org_id}-{i:05d}" for i in range(len(vectors))]
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cur:
        columns = "(org_id, model, content_hash, embedding, searchable)"
        with cur.copy(f"COPY text_embeddings {columns} FROM STDIN") as copy:
            for h, v in zip(hashes, vectors, strict=True):
                copy.write_row(
                    (org_id, MODEL, h, "[" + ",".join(f"{x:.6f}" for x in v) + "]", True)
                )
    # The switch reads the index's row count from the statistics, as after autovacuum.
    session.execute(text("ANALYZE text_embeddings"))
    return hashes


def _plan(session: Session, search: neighbours.Search) -> str:
    with neighbours.planned(session, search):
        rows = session.execute(text("EXPLAIN " + str(search.statement)), search.params)
        return "\n".join(rows.scalars())


@pytest.fixture
def large(session: Session) -> tuple[list[str], np.ndarray]:
    vectors = _clustered(3500, seed=1)
    return _store(session, "dup-large", vectors), vectors


def test_a_large_organization_is_searched_through_the_hnsw_index(session, large) -> None:
    hashes, vectors = large
    search = neighbours.prepare_search(session, "dup-large", MODEL, hashes, k=K, low=0.6)
    assert search.path == "hnsw"
    plan = _plan(session, search)
    assert "Index Scan using ix_text_embeddings_hnsw" in plan, plan
    assert "Sort" not in plan, plan
    # Only that statement went without sorts.
    assert session.scalar(text("SELECT current_setting('enable_sort')")) == "on"

    # The index finds (nearly) what an exact search finds, for a sample of sources.
    sources = hashes[:40]
    found: dict[str, set[str]] = {}
    for path in ("hnsw", "exact"):
        s = neighbours.prepare_search(
            session, "dup-large", MODEL, hashes, k=K, low=-1.0, sources=sources, path=path
        )
        with neighbours.planned(session, s):
            rows = session.execute(s.statement, s.params).all()
        found[path] = {(a, b) for a, b, _ in rows}
    assert len(found["exact"]) == K * len(sources)
    truth = set()
    for i in range(len(sources)):
        sims = vectors @ vectors[i]
        sims[i] = -2
        truth |= {(hashes[i], hashes[j]) for j in np.argsort(-sims)[:K]}
    assert found["exact"] == truth
    assert len(found["hnsw"] & truth) / len(truth) >= 0.9

    # As the service runs it: the application role, under row-level security (last: the role
    # stays until the test's transaction is rolled back).
    session.execute(text(f'SET LOCAL ROLE "{get_settings().database.app_db_user}"'))
    set_tenant(session, "dup-large")
    search = neighbours.prepare_search(session, "dup-large", MODEL, hashes, k=K, low=0.6)
    assert search.path == "hnsw"
    plan = _plan(session, search)
    assert "Index Scan using ix_text_embeddings_hnsw" in plan, plan


def test_a_small_organization_keeps_the_exact_path(session) -> None:
    hashes = _store(session, "dup-small", _clustered(300, seed=2))
    search = neighbours.prepare_search(session, "dup-small", MODEL, hashes, k=K, low=0.6)
    assert search.path == "exact"
    plan = _plan(session, search)
    assert "ix_text_embeddings_hnsw" not in plan and "Sort" in plan, plan


def test_the_switch_weighs_candidates_against_how_rare_they_are_in_the_index() -> None:
    assert neighbours.use_index(20_000, 100_000, 10)
    assert not neighbours.use_index(300, 300, 10)
    # The same organization alone is served by the index, among many it is not.
    assert neighbours.use_index(3_000, 3_000, 10)
    assert not neighbours.use_index(3_000, 1_000_000, 10)
    assert not neighbours.use_index(1, 1, 10)
