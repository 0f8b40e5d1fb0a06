"""Duplicate effort and conflicting OKRs: pgvector neighbours among stored key-result vectors.

Reads the vectors the score stage stored in `text_embeddings` (nothing is embedded here): one
SQL query asks the HNSW index for each key result's and OKR title's nearest texts of the same
organization, then pairs owned by different teams in the same cycle are judged. Two key results
are the same effort when their texts are near-identical, or close and committed to the same
numbers (unit, baseline, target); they conflict when they measure the same thing (close text,
same unit and baseline) but their targets point in opposite directions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import String

from alignment.report.config import ReportConfig
from alignment.report.facts import KrRow, OrgFacts, okr_title_hash
from alignment.report.findings import Finding, Records
from alignment.report.scope import Scope

# For each source text, its k nearest among the same texts (key results, OKR titles) of the
# organization and model. The HNSW index covers the `searchable` texts of all organizations (the
# score stage marks exactly these titles); pgvector >= 0.8 keeps scanning (iterative scan) until
# k rows pass the filters instead of returning fewer.
_NEIGHBOURS = text(
    """
    WITH source AS (
        SELECT te.content_hash, te.embedding
        FROM text_embeddings te
        WHERE te.org_id = :org AND te.model = :model AND te.content_hash = ANY(:hashes)
    )
    SELECT source.content_hash AS a, near.content_hash AS b, near.similarity
    FROM source
    CROSS JOIN LATERAL (
        SELECT t.content_hash, 1 - (t.embedding <=> source.embedding) AS similarity
        FROM text_embeddings t
        WHERE t.searchable AND t.org_id = :org AND t.model = :model
          AND t.content_hash <> source.content_hash AND t.content_hash = ANY(:hashes)
        ORDER BY t.embedding <=> source.embedding
        LIMIT :k
    ) AS near
    WHERE near.similarity >= :low
    """
).bindparams(bindparam("hashes", type_=ARRAY(String)))


@dataclass(frozen=True)
class Pair:
    a: str  # key result (or OKR) id
    b: str
    similarity: float
    relation: str  # "duplicate" | "conflict"
    level: str  # "key_result" | "okr"


def _tune_search(session: Session, k: int) -> None:
    """For this transaction: a candidate list sized to k, and (pgvector >= 0.8) iterative scans.

    Near-duplicates are each other's nearest neighbours, so a short candidate list loses
    nothing that matters and halves the time of the default one.
    """
    version = session.scalar(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'"))
    session.execute(
        text("SELECT set_config('hnsw.ef_search', :ef, true)"), {"ef": str(max(4 * k, 20))}
    )
    if version and tuple(int(p) for p in version.split(".")[:2]) >= (0, 8):
        session.execute(text("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)"))


def neighbour_hashes(
    session: Session, org_id: str, model: str, hashes: Iterable[str], *, k: int, low: float
) -> list[tuple[str, str, float]]:
    """(hash, neighbour hash, cosine) for each hash's k nearest stored texts above `low`."""
    hashes = sorted(set(hashes))
    if not hashes:
        return []
    _tune_search(session, k)
    rows = session.execute(
        _NEIGHBOURS, {"org": org_id, "model": model, "hashes": hashes, "k": k, "low": low}
    )
    return [(a, b, float(sim)) for a, b, sim in rows.tuples()]


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
