"""Duplicate effort and conflicting OKRs: pgvector neighbours among stored key-result vectors.

Reads the vectors the score stage stored in `text_embeddings` (nothing is embedded here): one
SQL query asks for each key result's and OKR title's nearest texts of the same organization (the
HNSW index for large organizations, an exact sort for small ones), then pairs owned by different
teams in the same cycle are judged. Two key results are the same effort when their texts are
near-identical, or close and committed to the same numbers (unit, baseline, target); they
conflict when they measure the same thing (close text, same unit and baseline) but their targets
point in opposite directions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import String

from alignment.report.config import ReportConfig
from alignment.report.facts import KrRow, OrgFacts, okr_title_hash
from alignment.report.findings import Finding, Records
from alignment.report.scope import Scope

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
# than k rows, so the index is only chosen when the expected visit stays well below.
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
        path = "hnsw" if use_index(len(hashes), _indexed(session, table), k) else "exact"
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


def _indexed(session: Session, table: str) -> float:
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


@dataclass(frozen=True)
class Pair:
    a: str  # key result (or OKR) id
    b: str
    similarity: float
    relation: str  # "duplicate" | "conflict"
    level: str  # "key_result" | "okr"


def _same_numbers(a: KrRow, b: KrRow) -> bool:
    return _same_metric(a, b) and a.target is not None and a.target == b.target


def _same_metric(a: KrRow, b: KrRow) -> bool:
    """Same unit and the same starting point: two teams measuring one thing."""
    return (
        a.unit is not None
        and b.unit is not None
        and a.unit.strip().lower() == b.unit.strip().lower()
        and a.baseline is not None
        and a.baseline == b.baseline
    )


def _opposite(a: KrRow, b: KrRow) -> bool:
    if not _same_metric(a, b) or a.target is None or b.target is None:
        return False
    return (a.target - a.baseline) * (b.target - b.baseline) < 0  # type: ignore[operator]


def _relation(a: KrRow, b: KrRow, sim: float, config: ReportConfig) -> str | None:
    if _opposite(a, b):
        return "conflict" if sim >= config.conflict_similarity else None
    if sim >= config.duplicate_similarity:
        return "duplicate"
    if sim >= config.duplicate_similarity_same_numbers and _same_numbers(a, b):
        return "duplicate"
    return None


Group = tuple[str, str, str]  # (relation, OKR id, OKR id)


def neighbour_pairs(
    session: Session, facts: OrgFacts, scope: Scope, config: ReportConfig
) -> dict[Group, list[Pair]]:
    """Close pairs of key results and of OKR titles (different teams, same cycle), judged and
    grouped by OKR pair, closest first; at most `max_duplicate_findings` groups per relation."""
    if facts.model is None or len(scope.okr_ids) < 2:
        return {}
    krs: dict[str, list[KrRow]] = defaultdict(list)
    titles: dict[str, list[str]] = defaultdict(list)
    for okr_id in scope.okr_ids:
        titles[okr_title_hash(facts.okrs[okr_id])].append(okr_id)
        for kr in facts.key_results.get(okr_id, ()):
            krs[kr.content_hash].append(kr)
    low = min(
        config.duplicate_similarity,
        config.duplicate_similarity_same_numbers,
        config.conflict_similarity,
    )
    found = neighbour_hashes(
        session, facts.org_id, facts.model, [*krs, *titles], k=config.duplicate_neighbours, low=low
    )
    # Records that share one text share one vector: they are each other's closest match.
    found += [(h, h, 1.0) for group in (krs, titles) for h, rows in group.items() if len(rows) > 1]
    found.sort(key=lambda row: -row[2])
    owner = {o: (facts.okrs[o].cycle_id, facts.okrs[o].team_id) for o in scope.okr_ids}
    groups: dict[Group, list[Pair]] = {}
    count: dict[str, int] = defaultdict(int)

    def add(relation: str, x_okr: str, y_okr: str, pair: Pair) -> None:
        (cx, tx), (cy, ty) = owner[x_okr], owner[y_okr]
        if cx != cy or tx == ty:
            return
        key = (relation, *sorted((x_okr, y_okr)))
        if key not in groups:
            if count[relation] >= config.max_duplicate_findings:
                return  # templated organizations: the closest pairs make the point
            count[relation] += 1
            groups[key] = []
        groups[key].append(pair)

    seen: set[tuple[str, str]] = set()
    for a_hash, b_hash, sim in found:
        key = (a_hash, b_hash) if a_hash <= b_hash else (b_hash, a_hash)
        if key in seen:
            continue
        seen.add(key)
        same_text = a_hash == b_hash  # then each unordered pair once
        for a in krs.get(a_hash, ()):
            for b in krs.get(b_hash, ()):
                if (same_text and a.id >= b.id) or a.okr_id == b.okr_id:
                    continue
                relation = _relation(a, b, sim, config)
                if relation:
                    x, y = (a.id, b.id) if a.id < b.id else (b.id, a.id)
                    add(relation, a.okr_id, b.okr_id, Pair(x, y, sim, relation, "key_result"))
        if sim >= config.duplicate_similarity:
            for x in titles.get(a_hash, ()):
                for y in titles.get(b_hash, ()):
                    if (x < y or not same_text) and x != y:
                        add("duplicate", x, y, Pair(*sorted((x, y)), sim, "duplicate", "okr"))
    return groups


def find_duplicates(
    session: Session, facts: OrgFacts, scope: Scope, config: ReportConfig, rec: Records
) -> list[Finding]:
    kinds = {"duplicate": "duplicate_effort", "conflict": "conflicting_okrs"}
    if not any(config.enabled(kind) for kind in kinds.values()):
        return []
    return [
        _finding(
            kinds[relation],
            "medium" if relation == "duplicate" else "high",
            x,
            y,
            pairs,
            facts,
            rec,
        )
        for (relation, x, y), pairs in neighbour_pairs(session, facts, scope, config).items()
        if config.enabled(kinds[relation])
    ]


def _finding(
    kind: str, severity: str, x: str, y: str, pairs: list[Pair], facts: OrgFacts, rec: Records
) -> Finding:
    ox, oy = facts.okrs[x], facts.okrs[y]
    krs = sorted({k for p in pairs if p.level == "key_result" for k in (p.a, p.b)})
    best = max(pairs, key=lambda p: p.similarity)
    evidence: dict[str, Any] = {
        "pairs": [
            {
                "level": p.level,
                "a": p.a,
                "b": p.b,
                "similarity": round(p.similarity, 4),
                **(_numbers(facts, p) if p.level == "key_result" else {}),
            }
            for p in pairs
        ]
    }
    what = (
        f"{best.a} and {best.b}, similarity {best.similarity:.2f}"
        if best.level == "key_result"
        else f"titles, similarity {best.similarity:.2f}"
    )
    if kind == "duplicate_effort":
        reason = (
            f"{facts.teams.get(ox.team_id, ox.team_id)} ({x}) and "
            f"{facts.teams.get(oy.team_id, oy.team_id)} ({y}) pursue the same result ({what})"
        )
    else:
        reason = f"{x} and {y} pull the same metric in opposite directions ({what})"
    finding = Finding(
        kind,
        severity,
        reason,
        [
            rec.okr(x),
            rec.okr(y),
            *(rec.key_result(k) for k in krs),
            rec.team(ox.team_id),
            rec.team(oy.team_id),
        ],
        evidence,
        (x, y),
    )
    return rec.okr_scope(finding, [x, y])


def _numbers(facts: OrgFacts, p: Pair) -> dict[str, Any]:
    a, b = facts.kr(p.a), facts.kr(p.b)
    assert a is not None and b is not None
    return {
        "a_numbers": {"unit": a.unit, "baseline": a.baseline, "target": a.target},
        "b_numbers": {"unit": b.unit, "baseline": b.baseline, "target": b.target},
    }
