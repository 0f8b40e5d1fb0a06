"""One page of a stored run's findings, for the served report page: the query string's filters
(severity, category, kind, team, text), then `per_page` findings of page `page`.

A run can hold thousands of findings (9,000 made a 13-17 MB page); the page shows one slice and
links to the others with the same filters, while an exported file (`goldenthread report -o`)
keeps every finding and filters in the browser. The filters mean what the page's client-side
filters mean, so a link works the same in both.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import urlencode

from alignment.errors import Invalid
from alignment.report.kinds import KINDS, SEVERITIES

PER_PAGE = 100
MAX_PER_PAGE = 500
FILTERS = ("severity", "category", "kind", "team", "q")
CATEGORIES = tuple(sorted({k.category for k in KINDS.values()}))


@dataclass(frozen=True)
class FindingsView:
    """Which findings the page lists; empty strings mean "all"."""

    page: int = 1
    per_page: int = PER_PAGE
    severity: str = ""
    category: str = ""
    kind: str = ""
    team: str = ""
    q: str = ""

    def filters(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if k in FILTERS and v}

    def query(self, **changes: Any) -> str:
        """This view's query string with `changes`, leaving out defaults (`?` included)."""
        view = replace(self, **changes)
        params: dict[str, Any] = dict(view.filters())
        if view.per_page != PER_PAGE:
            params["per_page"] = view.per_page
        if view.page != 1:
            params["page"] = view.page
        return "?" + urlencode(params) if params else "?"


def findings_view(
    *,
    page: int = 1,
    per_page: int = PER_PAGE,
    severity: str = "",
    category: str = "",
    kind: str = "",
    team: str = "",
    q: str = "",
) -> FindingsView:
    """A view from query parameters; an unknown severity, category or kind is a 422 naming it."""
    errors = []
    if page < 1:
        errors.append(("page", f"must be 1 or more, got {page}"))
    if not 1 <= per_page <= MAX_PER_PAGE:
        errors.append(("per_page", f"must be from 1 to {MAX_PER_PAGE}, got {per_page}"))
    for name, value, valid in (
        ("severity", severity, SEVERITIES),
        ("category", category, CATEGORIES),
        ("kind", kind, tuple(KINDS)),
    ):
        if value and value not in valid:
            errors.append((name, f"unknown {name} {value!r}; valid: {', '.join(valid)}"))
    if errors:
        raise Invalid(
            "the report page's query is not valid: " + "; ".join(f"{n} {m}" for n, m in errors),
            details=[{"path": f"query.{n}", "message": m} for n, m in errors],
        )
    return FindingsView(
        page=page,
        per_page=per_page,
        severity=severity,
        category=category,
        kind=kind,
        team=team,
        q=q.strip(),
    )


@dataclass(frozen=True)
class FindingsPage:
    items: list[dict[str, Any]]
    matching: int  # findings that pass the filters, on every page
    page: int  # clamped to the last page
    pages: int
    first: int  # 1-based position of items[0] among the matching findings

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1


def page_of(findings: Sequence[dict[str, Any]], view: FindingsView) -> FindingsPage:
    """The findings that pass the view's filters, one page of them (a page past the end shows
    the last page: a filter may have shortened the list the link was made for)."""
    needle = view.q.lower()
    matching = [
        f
        for f in findings
        if (not view.severity or f["severity"] == view.severity)
        and (not view.category or f["category"] == view.category)
        and (not view.kind or f["kind"] == view.kind)
        and (not view.team or view.team in f["scope"]["teams"])
        and (not needle or needle in searchable_text(f))
    ]
    pages = max(1, math.ceil(len(matching) / view.per_page))
    page = min(view.page, pages)
    start = (page - 1) * view.per_page
    items = matching[start : start + view.per_page]
    return FindingsPage(
        items=items, matching=len(matching), page=page, pages=pages, first=start + 1
    )


def searchable_text(finding: dict[str, Any]) -> str:
    """What the text search looks in: key, kind, reason, records and evidence, lower-cased."""
    parts = [str(finding.get(k, "")) for k in ("key", "kind", "reason")]
    parts += [f"{r['type']} {r['id']} {r['label']}" for r in finding.get("records", [])]
    parts.append(json.dumps(finding.get("evidence", {}), ensure_ascii=False))
    return " ".join(parts).lower()


def page_numbers(current: int, pages: int, *, around: int = 2) -> list[int | None]:
    """Page links to show: the first, the last and `around` either side of the current page,
    with None where pages are left out."""
    shown = {1, pages, *range(current - around, current + around + 1)}
    out: list[int | None] = []
    for n in sorted(p for p in shown if 1 <= p <= pages):
        if out and out[-1] is not None and n > out[-1] + 1:
            out.append(None)
        out.append(n)
    return out
