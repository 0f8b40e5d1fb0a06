"""The team and OKR pages at a phone's width (390 px): the page itself never scrolls sideways,
each wide table scrolls inside its own box with a shadow at the edge with more to see, from the
top of the table (the part a phone shows first) down, and long ids wrap only between words."""

from __future__ import annotations

from tests.web.test_pages import sign_in
from tests.web.test_scroll_cue import PHONE, SHADOW, _header_right_edge

TEAM_TABLE = "section[aria-labelledby=okrs-h] table"
# Client rects of the text "O-11-KR2" inside the OKR page's evidence: one per line it is on.
TOKEN_LINES_JS = """token => {
    const found = [];
    for (const quote of document.querySelectorAll('blockquote')) {
        const walker = document.createTreeWalker(quote, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const at = n.textContent.indexOf(token);
            if (at < 0) continue;
            const range = document.createRange();
            range.setStart(n, at); range.setEnd(n, at + token.length);
            const tops = Array.from(range.getClientRects()).map(r => Math.round(r.top));
            found.push(new Set(tops).size);
        }
    }
    return found;
}"""


def _page_fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_team_table_scrolls_in_its_box_and_says_so_at_its_top(page, role_keys, scored_sample):
    sign_in(page, role_keys["admin"])
    page.set_viewport_size(PHONE)
    assert page.goto(f"/orgs/{scored_sample}/team/T-9").status == 200
    assert _page_fits(page)
    box = page.locator(TEAM_TABLE)
    # The header row, the first a phone shows, has the shadow saying more lies to the right.
    assert _header_right_edge(page, box) < SHADOW
    box.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    for name in ("Progress", "Check-ins"):  # reachable: in view once the box is scrolled
        right = page.locator(f"{TEAM_TABLE} th", has_text=name).evaluate(
            "th => th.getBoundingClientRect().right"
        )
        assert right <= PHONE["width"], (name, right)
    assert _page_fits(page)
    assert page.console_errors == [] and page.outside_requests == []


def test_the_okr_page_fits_and_keeps_ids_whole(page, role_keys, scored_sample):
    sign_in(page, role_keys["admin"])
    page.set_viewport_size(PHONE)
    assert page.goto(f"/orgs/{scored_sample}/okr/O-11").status == 200
    assert _page_fits(page)
    lines = page.evaluate(TOKEN_LINES_JS, "O-11-KR2")
    assert lines and all(n == 1 for n in lines), lines  # never "O-11-" then "KR2" below
    for table in page.locator("main table").all():
        table.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
        right = table.locator("th").last.evaluate("th => th.getBoundingClientRect().right")
        assert right <= PHONE["width"], right
    assert _page_fits(page)
    assert page.console_errors == [] and page.outside_requests == []
