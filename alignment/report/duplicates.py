"""Duplicate effort and conflicting OKRs: pgvector neighbours among stored key-result vectors.

Each key result's and OKR title's nearest stored texts of the same organization come from
`neighbours.py`; pairs owned by different teams in the same cycle are judged here. Two key
results are the same effort when their texts are near-identical, or close and committed to the
same numbers (unit, baseline, target); they conflict when they measure the same thing (close
text, same unit and baseline) but their targets point in opposite directions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from alignment.report.config import ReportConfig
from alignment.report.facts import KrRow, OrgFacts, okr_title_hash
from alignment.report.findings import Finding, Records
from alignment.report.neighbours import neighbour_hashes
from alignment.report.scope import Scope


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
    """The pair's relation, or None. Opposite targets on one metric are a conflict or nothing:
    never a duplicate, however close the texts."""
    if _opposite(a, b):
        return "conflict" if sim >= config.conflict_similarity else None
    if sim >= config.duplicate_similarity:
        return "duplicate"
    if sim >= config.duplicate_similarity_same_numbers and _same_numbers(a, b):
        return "duplicate"
    return None


Group = tuple[str, str, str]  # (relation, OKR id, OKR id)
# What each relation is reported as, and at which severity.
RELATION_KINDS = {"duplicate": "duplicate_effort", "conflict": "conflicting_okrs"}
RELATION_SEVERITIES = {"duplicate": "medium", "conflict": "high"}


def neighbour_pairs(
    session: Session, facts: OrgFacts, scope: Scope, config: ReportConfig
) -> dict[Group, list[Pair]]:
    """Close pairs of key results and of OKR titles (different teams, same cycle), judged and
    grouped by OKR pair, closest first; at most `max_duplicate_findings` groups per relation."""
    if facts.model is None or len(scope.okr_ids) < 2:
        return {}
    krs, titles = _texts_by_hash(facts, scope)
    close = _close_texts(session, facts.org_id, facts.model, krs, titles, config)
    judged = _judged_pairs(close, krs, titles, config)
    return _group_by_okrs(judged, facts, scope, config.max_duplicate_findings)


def _texts_by_hash(
    facts: OrgFacts, scope: Scope
) -> tuple[dict[str, list[KrRow]], dict[str, list[str]]]:
    """The scope's key results and OKR ids (for their titles), by the hash of their text."""
    krs: dict[str, list[KrRow]] = defaultdict(list)
    titles: dict[str, list[str]] = defaultdict(list)
    for okr_id in scope.okr_ids:
        titles[okr_title_hash(facts.okrs[okr_id])].append(okr_id)
        for kr in facts.key_results.get(okr_id, ()):
            krs[kr.content_hash].append(kr)
    return krs, titles


def _close_texts(
    session: Session,
    org_id: str,
    model: str,
    krs: dict[str, list[KrRow]],
    titles: dict[str, list[str]],
    config: ReportConfig,
) -> list[tuple[str, str, float]]:
    """(hash, hash, similarity) of texts close enough for any relation, closest first."""
    low = min(
        config.duplicate_similarity,
        config.duplicate_similarity_same_numbers,
        config.conflict_similarity,
    )
    found = neighbour_hashes(
        session, org_id, model, [*krs, *titles], k=config.duplicate_neighbours, low=low
    )
    # Records that share one text share one vector: they are each other's closest match.
    found += [(h, h, 1.0) for group in (krs, titles) for h, rows in group.items() if len(rows) > 1]
    found.sort(key=lambda row: -row[2])
    return found


def _judged_pairs(
    close: list[tuple[str, str, float]],
    krs: dict[str, list[KrRow]],
    titles: dict[str, list[str]],
    config: ReportConfig,
) -> Iterator[tuple[str, str, Pair]]:
    """(OKR id, OKR id, pair) for every pair of records the close texts make a duplicate or a
    conflict; each pair of texts is judged once, at its highest similarity."""
    seen: set[tuple[str, str]] = set()
    for a_hash, b_hash, sim in close:
        key = (a_hash, b_hash) if a_hash <= b_hash else (b_hash, a_hash)
        if key in seen:
            continue
        seen.add(key)
        same_text = a_hash == b_hash
        a_krs, b_krs = krs.get(a_hash, []), krs.get(b_hash, [])
        yield from _key_result_pairs(a_krs, b_krs, sim, config, same_text=same_text)
        if sim >= config.duplicate_similarity:
            a_okrs, b_okrs = titles.get(a_hash, []), titles.get(b_hash, [])
            yield from _title_pairs(a_okrs, b_okrs, sim, same_text=same_text)


def _key_result_pairs(
    a_rows: Sequence[KrRow],
    b_rows: Sequence[KrRow],
    sim: float,
    config: ReportConfig,
    *,
    same_text: bool,
) -> Iterator[tuple[str, str, Pair]]:
    for a in a_rows:
        for b in b_rows:
            # One text on both sides: each unordered pair once. One OKR's own key results
            # are never duplicate effort.
            if (same_text and a.id >= b.id) or a.okr_id == b.okr_id:
                continue
            relation = _relation(a, b, sim, config)
            if relation:
                x, y = sorted((a.id, b.id))
                yield a.okr_id, b.okr_id, Pair(x, y, sim, relation, "key_result")


def _title_pairs(
    a_okrs: Sequence[str], b_okrs: Sequence[str], sim: float, *, same_text: bool
) -> Iterator[tuple[str, str, Pair]]:
    for x in a_okrs:
        for y in b_okrs:
            if (x < y or not same_text) and x != y:
                first, second = sorted((x, y))
                yield x, y, Pair(first, second, sim, "duplicate", "okr")


def _group_by_okrs(
    judged: Iterable[tuple[str, str, Pair]], facts: OrgFacts, scope: Scope, limit: int
) -> dict[Group, list[Pair]]:
    """The pairs of different teams' OKRs in one cycle, by relation and OKR pair, in the order
    judged (closest first); groups past `limit` per relation are dropped."""
    owner = {o: (facts.okrs[o].cycle_id, facts.okrs[o].team_id) for o in scope.okr_ids}
    groups: dict[Group, list[Pair]] = {}
    count: dict[str, int] = defaultdict(int)
    for x_okr, y_okr, pair in judged:
        (cx, tx), (cy, ty) = owner[x_okr], owner[y_okr]
        if cx != cy or tx == ty:
            continue
        first, second = sorted((x_okr, y_okr))
        key = (pair.relation, first, second)
        if key not in groups:
            if count[pair.relation] >= limit:
                continue  # templated organizations: the closest pairs make the point
            count[pair.relation] += 1
            groups[key] = []
        groups[key].append(pair)
    return groups


def find_duplicates(
    session: Session, facts: OrgFacts, scope: Scope, config: ReportConfig, rec: Records
) -> list[Finding]:
    """The scope's duplicate-effort and conflicting-OKR findings, one per pair of OKRs."""
    if not any(config.enabled(kind) for kind in RELATION_KINDS.values()):
        return []
    return [
        _finding(relation, x, y, pairs, facts, rec)
        for (relation, x, y), pairs in neighbour_pairs(session, facts, scope, config).items()
        if config.enabled(RELATION_KINDS[relation])
    ]


def _finding(
    relation: str, x: str, y: str, pairs: list[Pair], facts: OrgFacts, rec: Records
) -> Finding:
    ox, oy = facts.okrs[x], facts.okrs[y]
    krs = sorted({k for p in pairs if p.level == "key_result" for k in (p.a, p.b)})
    finding = Finding(
        RELATION_KINDS[relation],
        RELATION_SEVERITIES[relation],
        _reason(relation, x, y, pairs, facts),
        [
            rec.okr(x),
            rec.okr(y),
            *(rec.key_result(k) for k in krs),
            rec.team(ox.team_id),
            rec.team(oy.team_id),
        ],
        {"pairs": [_pair_evidence(p, facts) for p in pairs]},
        (x, y),
    )
    return rec.okr_scope(finding, [x, y])


def _reason(relation: str, x: str, y: str, pairs: list[Pair], facts: OrgFacts) -> str:
    """The finding's sentence, naming its closest pair."""
    best = max(pairs, key=lambda p: p.similarity)
    what = (
        f"{best.a} and {best.b}, similarity {best.similarity:.2f}"
        if best.level == "key_result"
        else f"titles, similarity {best.similarity:.2f}"
    )
    if relation == "conflict":
        return f"{x} and {y} pull the same metric in opposite directions ({what})"
    team_x, team_y = facts.okrs[x].team_id, facts.okrs[y].team_id
    return (
        f"{facts.teams.get(team_x, team_x)} ({x}) and "
        f"{facts.teams.get(team_y, team_y)} ({y}) pursue the same result ({what})"
    )


def _pair_evidence(p: Pair, facts: OrgFacts) -> dict[str, Any]:
    numbers = _numbers(facts, p) if p.level == "key_result" else {}
    return {"level": p.level, "a": p.a, "b": p.b, "similarity": round(p.similarity, 4), **numbers}


def _numbers(facts: OrgFacts, p: Pair) -> dict[str, Any]:
    a, b = facts.kr(p.a), facts.kr(p.b)
    assert a is not None and b is not None
    return {
        "a_numbers": {"unit": a.unit, "baseline": a.baseline, "target": a.target},
        "b_numbers": {"unit": b.unit, "baseline": b.baseline, "target": b.target},
    }
