"""One page of a stored run's findings, for the served report page: the query string's filters
(severity, category, kind, team, perspective, text), then `per_page` findings of page `page`.

A run can hold thousands of findings (9,000 made a 13-17 MB page); the page shows one slice and
links to the others with the same filters, while an exported file (`goldenthread report -o`)
keeps every finding and filters in the browser. The filters mean what the page's client-side
filters mean, so a link works the same in both. Each filter but the text may be repeated
(`?kind=orphan_okr&kind=needs_review`), as the `POST /reports` body takes lists: a finding
passes a filter when it matches any of its values, and every filter given.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urlencode

from alignment.errors import Invalid
from alignment.report.config import snake_name
from alignment.report.kinds import KINDS, SEVERITIES
from alignment.vocabulary import PERSPECTIVES

PER_PAGE = 100
MAX_PER_PAGE = 500
SEARCH_MAX = 200  # the longest `q` the served page takes (its search box stops there first)
LIST_FILTERS = ("severity", "category", "kind", "team", "perspective")
FILTERS = (*LIST_FILTERS, "q")
CATEGORIES = tuple(sorted({k.category for k in KINDS.values()}))
# A text query that looks like one record id (O-11, SO-4, O-11-KR2, C-182: letters, then
# hyphenated parts, a digit somewhere) finds that id whole, not inside another: O-11 finds
# neither SO-11 nor O-110. Any other text is found anywhere, as typed. report.js says the same.
ID_QUERY = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+")
ID_EDGE = "[^a-z0-9_-]"  # what stands either side of a whole id in the searched text


def text_match(q: str) -> tuple[str, str]:
    """How the text filter `q` is applied to `searchable_text`: ("id", a regular expression
    that Python and PostgreSQL read alike) for an id, else ("text", the lower-cased text)."""
    needle = q.strip().lower()
    if ID_QUERY.fullmatch(needle) and any(c.isdigit() for c in needle):
        return "id", f"(^|{ID_EDGE}){needle}($|{ID_EDGE})"
    return "text", needle


def _values(given: str | Iterable[str]) -> tuple[str, ...]:
    """A filter's values: one string or several, blanks dropped, each once, in the order given."""
    items = [given] if isinstance(given, str) else list(given)
    return tuple(dict.fromkeys(v for v in items if v))


@dataclass(frozen=True)
class FindingsView:
    """Which findings the page lists; an empty filter means "all". A list filter may be given
    as one string (`kind="orphan_okr"`) and is kept as a tuple."""

    page: int = 1
    per_page: int = PER_PAGE
    severity: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    team: tuple[str, ...] = ()
    perspective: tuple[str, ...] = ()
    q: str = ""

    def __post_init__(self) -> None:
        for name in LIST_FILTERS:
            object.__setattr__(self, name, _values(getattr(self, name)))

    def filters(self) -> dict[str, Any]:
        """The filters given: each list filter as a list of its values, the text as a string."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in FILTERS and value:
                out[f.name] = list(value) if f.name in LIST_FILTERS else value
        return out

    def query(self, **changes: Any) -> str:
        """This view's query string with `changes`, leaving out defaults (`?` included); a
        filter with several values is repeated (`kind=a&kind=b`)."""
        view = replace(self, **changes)
        params: list[tuple[str, Any]] = []
        for name, value in view.filters().items():
            params += [(name, v) for v in value] if name in LIST_FILTERS else [(name, value)]
        if view.per_page != PER_PAGE:
            params.append(("per_page", view.per_page))
        if view.page != 1:
            params.append(("page", view.page))
        return "?" + urlencode(params) if params else "?"


def findings_view(
    *,
    page: int = 1,
    per_page: int = PER_PAGE,
    severity: str | Sequence[str] = (),
    category: str | Sequence[str] = (),
    kind: str | Sequence[str] = (),
    team: str | Sequence[str] = (),
    perspective: str | Sequence[str] = (),
    q: str = "",
) -> FindingsView:
    """A view from query parameters; an unknown severity, category, kind or perspective is a
    422 naming it (a team is the organization's to know: the routes check it)."""
    errors = []
    if page < 1:
        errors.append(("page", f"must be 1 or more, got {page}"))
    if not 1 <= per_page <= MAX_PER_PAGE:
        errors.append(("per_page", f"must be from 1 to {MAX_PER_PAGE}, got {per_page}"))
    named = {}
    for name, given, valid in (
        ("severity", severity, SEVERITIES),
        ("category", category, CATEGORIES),
        ("kind", kind, tuple(KINDS)),
        ("perspective", perspective, PERSPECTIVES),
    ):
        # People type "Customer" or "internal process", as a build's filters take them.
        named[name] = _values(snake_name(value) for value in _values(given))
        for value in _values(given):
            if snake_name(value) not in valid:
                errors.append((name, f"unknown {name} {value!r}; valid: {', '.join(valid)}"))
    if errors:
        raise Invalid(
            "the report page's query is not valid: " + "; ".join(f"{n} {m}" for n, m in errors),
            details=[{"path": f"query.{n}", "message": m} for n, m in errors],
        )
    return FindingsView(
        page=page,
        per_page=per_page,
        severity=named["severity"],
        category=named["category"],
        kind=named["kind"],
        team=_values(team),
        perspective=named["perspective"],
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
    how, needle = text_match(view.q)
    whole_id = re.compile(needle) if how == "id" else None

    def found(text: str) -> bool:
        return bool(whole_id.search(text)) if whole_id else needle in text

    matching = [
        f
        for f in findings
        if (not view.severity or f["severity"] in view.severity)
        and (not view.category or f["category"] in view.category)
        and (not view.kind or f["kind"] in view.kind)
        and (not view.team or not set(view.team).isdisjoint(f["scope"]["teams"]))
        and (
            not view.perspective
            or not set(view.perspective).isdisjoint(f["scope"].get("perspectives", ()))
        )
        and (not needle or found(searchable_text(f)))
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
