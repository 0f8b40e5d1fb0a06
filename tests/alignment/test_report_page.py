"""The served report page: cards that tell the story first, findings filtered and paginated on
the server with the filters kept across pages, and the query's text escaped like any other."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from alignment.errors import Invalid
from alignment.report import to_html
from alignment.report.page import FindingsView, findings_view, page_numbers, page_of
from tests.alignment.test_report_html import IMG, SCRIPT, drift_finding, finding, make_run


def orphan(n: int, team: str = "T-1") -> dict:
    return finding(
        "orphan_okr",
        f"O-{n}",
        [{"type": "okr", "id": f"O-{n}", "label": f"OKR number {n}"}],
        {"best_link": None},
        teams=[team],
    )


def rows(page: str) -> list[str]:
    """Finding keys of the listed rows, in order."""
    return re.findall(r'<code class="key"[^>]*>([^<]+)</code>', page)


def links(page: str, label: str) -> list[str]:
    nav = re.search(rf'<nav class="pager" aria-label="Findings pages \({label}\)">(.*?)</nav>',
                    page, re.S)  # fmt: skip
    assert nav, f"no {label} pager"
    return [html_lib.unescape(h) for h in re.findall(r'href="([^"]+)"', nav.group(1))]


def test_page_of_filters_then_slices_and_clamps() -> None:
    findings = [orphan(n, team="T-1" if n % 2 else "T-2") for n in range(1, 26)]
    findings.append(drift_finding())
    whole = page_of(findings, FindingsView(per_page=10))
    assert (whole.matching, whole.pages, whole.first, whole.last) == (26, 3, 1, 10)
    team = page_of(findings, FindingsView(team="T-2", per_page=10, page=2))
    assert team.matching == 12 and [f["key"] for f in team.items] == [
        "orphan_okr:O-22", "orphan_okr:O-24"
    ]  # fmt: skip
    past_the_end = page_of(findings, FindingsView(per_page=10, page=99))
    assert past_the_end.page == 3 and len(past_the_end.items) == 6
    assert page_of(findings, FindingsView(q="o-47")).matching == 1  # the drift's OKR, any case
    assert page_of(findings, FindingsView(kind="needs_review")).items == []
    assert page_numbers(7, 20) == [1, None, 5, 6, 7, 8, 9, None, 20]
    assert page_numbers(1, 3) == [1, 2, 3]


def test_a_bad_query_is_422_naming_each_parameter() -> None:
    with pytest.raises(Invalid) as caught:
        findings_view(page=0, per_page=501, kind="orphan", severity="urgent")
    paths = [d["path"] for d in caught.value.details]
    assert paths == ["query.page", "query.per_page", "query.severity", "query.kind"]
    assert "unknown kind 'orphan'; valid: orphan_okr" in caught.value.message


def test_served_page_lists_one_page_and_keeps_filters_in_its_links() -> None:
    findings = [orphan(n) for n in range(1, 251)] + [drift_finding()]
    run = make_run(findings, [{"id": "T-1", "name": "Ops"}])
    page = to_html(run, FindingsView(kind="orphan_okr", per_page=50, page=2))
    assert rows(page) == [f"orphan_okr:O-{n}" for n in range(51, 101)]
    assert "51–100 of 250 matching" in page and "(251 in this run)" in page
    top = links(page, "top")
    assert top[0] == "?kind=orphan_okr&per_page=50#findings-title"  # previous: page 1
    assert "?kind=orphan_okr&per_page=50&page=5#findings-title" in top
    assert all("kind=orphan_okr" in h and "per_page=50" in h for h in top)
    assert links(page, "bottom") == top
    assert 'aria-current="page" href="?kind=orphan_okr&amp;per_page=50&amp;page=2' in page
    # The form shows the filters in force and carries per_page, not the page.
    assert re.search(r'<option value="orphan_okr" title="[^"]*" selected>orphan OKR', page)
    assert '<input type="hidden" name="per_page" value="50">' in page
    assert 'name="page"' not in page
    # The whole file (no view) still lists everything and filters in the browser.
    assert len(rows(to_html(run))) == 251 and 'data-mode="client"' in to_html(run)


def test_cards_count_and_link_to_their_findings() -> None:
    findings = [orphan(n) for n in range(1, 4)] + [drift_finding()]
    page = to_html(make_run(findings, [{"id": "T-1", "name": "Ops"}]), FindingsView(page=1))
    cards = re.search(r'<section class="cards story"[^>]*>(.*?)</section>', page, re.S).group(1)
    found = re.findall(r'<a class="card story-(\w+)[^"]*" href="([^"]+)"><div class="big">(\d+)',
                       cards)  # fmt: skip
    assert [(k, html_lib.unescape(h), int(n)) for k, h, n in found] == [
        ("orphan_okr", "?kind=orphan_okr#findings-title", 3),
        ("uncovered_objective", "?kind=uncovered_objective#findings-title", 0),
        ("checkin_drift", "?kind=checkin_drift#findings-title", 1),
        ("needs_review", "?kind=needs_review#findings-title", 0),
    ]
    assert page.index("What needs attention") < page.index("Coverage per perspective")
    # The drift count is the story card's; the summary says the share, not the count again.
    share = re.search(r"<div class=\"card\" data-drift-share>(.*?)</div></div>", page, re.S)
    assert share and re.sub(r"<[^>]+>|\s+", " ", share.group(1)).split() == [
        "25%", "of", "the", "4", "check-ins", "drift", "from", "their", "OKR"
    ]  # fmt: skip


def test_hostile_filter_values_come_back_escaped() -> None:
    run = make_run([orphan(1, team=IMG)], [{"id": IMG, "name": SCRIPT}])
    page = to_html(run, FindingsView(q=SCRIPT + IMG, team=IMG))
    assert SCRIPT not in page and "<img" not in page
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img' in page
    assert "No findings match these filters" in page
