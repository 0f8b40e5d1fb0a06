"""Nearest stored texts of one organization: the pgvector query behind the duplicate findings.

Reads the vectors the score stage stored in `text_embeddings` (nothing is embedded here). One
statement asks for each source text's k nearest candidate texts, on the HNSW index for large
organizations or by an exact sort for small ones (`use_index`, costs measured by
`python -m benchmarks.ann_filtered`, docs/scaling.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import String

# For each source text, its k nearest among the candidate texts (key results, OKR titles of the
# report's scope) of the organization and model. Two orderings of one query: by the distance
# operator, which the HNSW index (migration 0005, over `searchable` texts of all organizations)
# can serve, or by the similarity expression, which it cannot (then the primary key narrows to
# the organization's candidates and they are sorted exactly).
_NEIGHBOURS = """
    WITH source AS (
        SELECT te.content_hash, te.embedding
        FROM {table} te
        WHERE te.org_id = :org AND te.model = :model AND te.content_hash = ANY(:sources)
    )
    SELECT source.content_hash AS a, near.content_hash AS b, near.similarity
    FROM source
    CROSS JOIN LATERAL (
        SELECT t.content_hash, 1 - (t.embedding <=> source.embedding) AS similarity
        FROM {table} t
        WHERE t.searchable AND t.org_id = :org AND t.model = :model
          AND t.content_hash <> source.content_hash AND t.content_hash = ANY(:hashes)
        ORDER BY {order}
        LIMIT :k
    ) AS near
    WHERE near.similarity >= :low
"""
_ORDER = {"hnsw": "t.embedding <=> source.embedding", "exact": "similarity DESC"}

# What one source text costs on each path, measured by `python -m benchmarks.ann_filtered`
# (100,000 vectors, 50 organizations, ef_search 160, this 2-core machine; the mean of runs at k=5
# and k=10, which vary by about a third under load; figures in docs/scaling.md). Exact:
# every candidate is compared. HNSW with a filter: one graph search of `ef_search`, then the
# iterative scan visits about k * searchable / candidates more tuples until k pass the filter
# (most fail it: they belong to other organizations or lie outside the scope).
EXACT_US_PER_CANDIDATE = 1.7
HNSW_US_PER_QUERY = 4300.0
HNSW_US_PER_VISITED = 8.0
# pgvector's default cap on tuples an iterative scan visits; past it a search returns fewer
# than k rows, so the index is only chosen when the expected visit stays below a quarter of it.
MAX_SCAN_TUPLES = 20_000
# The smallest candidate list with recall@10 >= 0.95 in every run of the filtered benchmark's
# sweep (40: 0.92-0.95, 80: 0.94-0.96 with some queries at 0, 160: 0.976-0.982 with none below
# 0.8, on the organizations it serves: synthetic topics are tight clusters a short list can miss
# entirely); iterative scans extend it as far as the filter needs.
EF_SEARCH = 160


def use_index(candidates: int, searchable: float, k: int) -> bool:
    """Whether the HNSW path is cheaper than the exact one for this many candidate texts.

    Exact costs grow with the candidates (per source); the filtered HNSW scan's with how
    rare the candidates are in the index: a large organization, or the only one, is best
    served by the index, a small one among many by its primary key.
    """
    if candidates < 2:
        return False
    visited = k * max(searchable, candidates) / candidates
    if visited > MAX_SCAN_TUPLES / 4:
        return False
    hnsw = HNSW_US_PER_QUERY + HNSW_US_PER_VISITED * visited
    return hnsw < EXACT_US_PER_CANDIDATE * candidates


@dataclass(frozen=True)
class Search:
    """One prepared neighbour search: its statement and parameters, and the path it takes."""

    statement: TextClause
    params: dict[str, Any]
    path: str  # "hnsw" | "exact"


def prepare_search(
    session: Session,
    org_id: str,
    model: str,
    hashes: Sequence[str],
    *,
    k: int,
    low: float,
    sources: Sequence[str] | None = None,
    path: str | None = None,
    table: str = "text_embeddings",
) -> Search:
    """The statement for each source's (default: every candidate's) k nearest candidates, its
    path chosen by `use_index` unless `path` is given, with this transaction's HNSW settings.

    `table` exists for the benchmark's scratch copy of `text_embeddings` (same columns, same
    index definition, named `ix_<table>_hnsw`).
    """
    if path is None:
        path = "hnsw" if use_index(len(hashes), _texts_in_index(session, table), k) else "exact"
    if path == "hnsw":
        # pgvector >= 0.8 (README, "Iterative Index Scans"): with a filter, an HNSW scan keeps
        # going until k rows pass it (or hnsw.max_scan_tuples) instead of returning fewer;
        # relaxed_order gives better recall than strict_order, and the LATERAL's LIMIT takes the
        # k first rows it yields, nearly in distance order.
        session.execute(
            text("SELECT set_config('hnsw.ef_search', :ef, true)"), {"ef": str(EF_SEARCH)}
        )
        session.execute(text("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)"))
    statement = text(_NEIGHBOURS.format(table=table, order=_ORDER[path])).bindparams(
        bindparam("sources", type_=ARRAY(String)), bindparam("hashes", type_=ARRAY(String))
    )
    params = {
        "org": org_id,
        "model": model,
        "sources": list(hashes if sources is None else sources),
        "hashes": list(hashes),
        "k": k,
        "low": low,
    }
    return Search(statement, params, path)


@contextmanager
def planned(session: Session, search: Search) -> Iterator[None]:
    """Run `search` inside this block with the plan its path needs.

    The planner estimates `content_hash = ANY(:hashes)` at a few dozen rows (it keeps no
    statistics for a list of thousands of hashes), so it always prefers the primary key and
    a sort, which is right for small organizations and ruinous for large ones (each source
    sorts all candidates). On the HNSW path the sort is disabled for this one statement: the
    only plan left that yields rows in distance order is the HNSW index scan (pgvector issue
    #721 discusses the same bypass). The setting is transaction-local and put back at once,
    so no other statement of the transaction is planned without sorts.
    """
    if search.path != "hnsw":
        yield
        return
    before = session.scalar(text("SELECT current_setting('enable_sort')"))
    session.execute(text("SELECT set_config('enable_sort', 'off', true)"))
    yield
    # Not on an error: the transaction is then aborted, and rolling it back undoes the setting.
    session.execute(text("SELECT set_config('enable_sort', :v, true)"), {"v": before})


def _texts_in_index(session: Session, table: str) -> float:
    """Texts in the HNSW index, as the statistics last counted them (0 when never counted)."""
    rows = session.scalar(
        text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:index)"),
        {"index": f"ix_{table}_hnsw"},
    )
    return max(float(rows or 0), 0.0)


def neighbour_hashes(
    session: Session, org_id: str, model: str, hashes: Iterable[str], *, k: int, low: float
) -> list[tuple[str, str, float]]:
    """(hash, neighbour hash, cosine) for each hash's k nearest stored texts above `low`."""
    hashes = sorted(set(hashes))
    if not hashes:
        return []
    search = prepare_search(session, org_id, model, hashes, k=k, low=low)
    with planned(session, search):
        rows = session.execute(search.statement, search.params).tuples().all()
    return [(a, b, float(sim)) for a, b, sim in rows]
