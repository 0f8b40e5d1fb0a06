"""A stored run's findings as rows (migration 0013), so one page of them is one indexed query.

A 10,000-OKR organization's run holds tens of thousands of findings. Kept as one JSON array in
the run's row, every read of any page loaded, parsed and re-serialized all of them (about
5 s each), and under load those reads timed out (docs/scaling.md). As rows keyed by the run and
the finding's position, a page is a range of the primary key, and the page's filters (kind,
severity, category, team, text) are columns; a perspective is read from the finding's scope.
Each row keeps the finding exactly as JSONB, so a run reads back the same document, in the same
order, as it was built.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import array as pg_array
from sqlalchemy.orm import Mapped, Session, mapped_column

from alignment.models import Base
from alignment.report.page import FindingsPage, FindingsView, searchable_text, text_match

INSERT_ROWS = 1000  # rows per INSERT statement: one round trip each, well under the bind limit


class ReportFinding(Base):
    __tablename__ = "report_findings"
    org_id: Mapped[str] = mapped_column(String, primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String, nullable=False)
    category: Mapped[str] = mapped_column(String, nullable=False)
    severity: Mapped[str] = mapped_column(String, nullable=False)
    teams: Mapped[list[str]] = mapped_column(ARRAY(String), nullable=False)
    # What the page's text search looks in (page.searchable_text), lower-cased at write time.
    search: Mapped[str] = mapped_column(Text, nullable=False)
    body: Mapped[dict] = mapped_column(JSONB, nullable=False)
    __table_args__ = (
        ForeignKeyConstraint(
            ["org_id", "run_id"],
            ["report_runs.org_id", "report_runs.id"],
            ondelete="CASCADE",
            name="fk_report_findings_run",
        ),
    )


def row_values(finding: dict[str, Any]) -> dict[str, Any]:
    """The filter columns of one finding (tolerant of partial findings: they are stored as
    given, and simply match no filter on what they lack)."""
    scope = finding.get("scope") or {}
    return {
        "kind": str(finding.get("kind", "")),
        "category": str(finding.get("category", "")),
        "severity": str(finding.get("severity", "")),
        "teams": [str(t) for t in scope.get("teams", [])],
        "search": searchable_text(finding),
        "body": finding,
    }


def write(session: Session, org_id: str, run_id: int, findings: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(findings), INSERT_ROWS):
        rows = [
            {"org_id": org_id, "run_id": run_id, "position": start + i, **row_values(f)}
            for i, f in enumerate(findings[start : start + INSERT_ROWS])
        ]
        session.execute(insert(ReportFinding).values(rows))


def read_all(session: Session, org_id: str, run_id: int) -> list[dict[str, Any]]:
    return list(
        session.scalars(
            select(ReportFinding.body)
            .where(ReportFinding.org_id == org_id, ReportFinding.run_id == run_id)
            .order_by(ReportFinding.position)
        )
    )


def _filters(org_id: str, run_id: int, view: FindingsView) -> Iterator[Any]:
    yield ReportFinding.org_id == org_id
    yield ReportFinding.run_id == run_id
    for name in ("severity", "category", "kind"):
        if values := getattr(view, name):
            yield getattr(ReportFinding, name).in_(values)
    if view.team:
        # ARRAY's any(value); SQLAlchemy types a column's .any() as a relationship's any(criterion).
        yield or_(*(ReportFinding.teams.any(team) for team in view.team))  # type: ignore[arg-type]
    if view.perspective:
        # Not a column: a perspective filter is rare, and one run's rows are few enough to read.
        perspectives = ReportFinding.body["scope"]["perspectives"]
        yield perspectives.has_any(pg_array(view.perspective, type_=String))
    if view.q:
        how, needle = text_match(view.q)
        if how == "id":  # the id whole (page.text_match): PostgreSQL's `~`
            yield ReportFinding.search.regexp_match(needle)
        else:
            yield func.strpos(ReportFinding.search, needle) > 0


def read_page(session: Session, org_id: str, run_id: int, view: FindingsView) -> FindingsPage:
    """The findings that pass the view's filters, one page of them: what `page.page_of` gives
    for the whole list, read as a count and one range of rows."""
    where = list(_filters(org_id, run_id, view))
    matching = session.scalar(select(func.count()).select_from(ReportFinding).where(*where)) or 0
    pages = max(1, math.ceil(matching / view.per_page))
    page = min(view.page, pages)
    start = (page - 1) * view.per_page
    items = list(
        session.scalars(
            select(ReportFinding.body)
            .where(*where)
            .order_by(ReportFinding.position)
            .offset(start)
            .limit(view.per_page)
        )
    )
    return FindingsPage(items=items, matching=matching, page=page, pages=pages, first=start + 1)


def team_counts(session: Session, org_id: str, run_id: int) -> Counter[str]:
    """Findings per team over the whole run (the page's team filter shows them)."""
    team = func.unnest(ReportFinding.teams).label("team")
    inner = (
        select(team)
        .where(ReportFinding.org_id == org_id, ReportFinding.run_id == run_id)
        .subquery()
    )
    rows = session.execute(select(inner.c.team, func.count()).group_by(inner.c.team))
    return Counter({t: n for t, n in rows})
