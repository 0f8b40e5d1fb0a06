"""A table wider than a phone scrolls inside its box and says so: a shadow at the edge with more
to see (pure CSS: white covers scroll with the content, shadows stay with the box). Measured in
Chromium's pixels: the median shade of the box's edge column, dark under a shadow, white without.
"""

from __future__ import annotations

import base64

import pytest

from tests.web.conftest import shot
from tests.web.test_layout import reported  # noqa: F401  (fixture: the sample with a report)
from tests.web.test_pages import sign_in

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}
TEAM_TABLE = "section[aria-labelledby=okrs-h] table"
FINDINGS_BOX = ".scroll:has(> table#findings)"
SHADOW = 235  # an edge's median shade below this: a shadow shows (white is 255)
CLEAR = 250  # above this: no shadow

# A screenshot (base64 PNG `b64`) drawn on a canvas `c` whose 2D context is `g`.
ON_CANVAS_JS = """
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width; c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
"""

# The screenshot's left and right edge columns (2px in, past any border), median shade each.
EDGES_JS = (
    """async b64 => {"""
    + ON_CANVAS_JS
    + """
    const median = x => {
        const d = g.getImageData(x, 0, 1, c.height).data, v = [];
        for (let i = 0; i < d.length; i += 4) v.push((d[i] + d[i + 1] + d[i + 2]) / 3);
        v.sort((a, b) => a - b);
        return v[Math.floor(v.length / 2)];
    };
    return [median(2), median(c.width - 3)];
}"""
)


def _edges(page, selector: str) -> tuple[float, float]:
    png = page.locator(selector).first.screenshot()
    blank = page.context.new_page()  # decoded off the app's pages: their CSP allows no data: image
    try:
        left, right = blank.evaluate(EDGES_JS, base64.b64encode(png).decode())
    finally:
        blank.close()
    return left, right


def _overflows(page, selector: str) -> bool:
    return page.eval_on_selector(selector, "el => el.scrollWidth > el.clientWidth + 1")


def _scroll_to_end(page, selector: str) -> None:
    page.eval_on_selector(selector, "el => { el.scrollLeft = el.scrollWidth; }")


def test_team_table_shows_a_scroll_cue_only_when_it_overflows(page, role_keys, scored_sample):
    sign_in(page, role_keys["admin"])
    page.set_viewport_size(PHONE)
    assert page.goto(f"/orgs/{scored_sample}/team/T-9").status == 200
    assert _overflows(page, TEAM_TABLE), "the OKR table should be wider than a phone"
    left, right = _edges(page, TEAM_TABLE)
    assert right < SHADOW and left > CLEAR, (left, right)  # more to the right, none to the left
    shot(page, "scroll-cue-team-phone")
    _scroll_to_end(page, TEAM_TABLE)
    left, right = _edges(page, TEAM_TABLE)
    assert left < SHADOW and right > CLEAR, (left, right)  # at the end: the cue turns round
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.set_viewport_size(DESKTOP)
    page.reload()
    assert not _overflows(page, TEAM_TABLE)
    left, right = _edges(page, TEAM_TABLE)
    assert left > CLEAR and right > CLEAR, (left, right)  # it fits: no cue
    assert page.console_errors == [] and page.outside_requests == []


@pytest.mark.usefixtures("reported")
def test_report_findings_show_a_scroll_cue_only_when_they_overflow(page, role_keys, scored_sample):
    sign_in(page, role_keys["admin"])
    page.set_viewport_size(PHONE)
    assert page.goto(f"/orgs/{scored_sample}/report.html").status == 200
    assert _overflows(page, FINDINGS_BOX), "the findings table should be wider than a phone"
    left, right = _edges(page, FINDINGS_BOX)
    assert right < SHADOW and left > CLEAR, (left, right)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.set_viewport_size(DESKTOP)
    page.reload()
    assert not _overflows(page, FINDINGS_BOX)
    left, right = _edges(page, FINDINGS_BOX)
    assert left > CLEAR and right > CLEAR, (left, right)


# The median shade of the right edge column (2px in) between two rows of the screenshot.
BAND_EDGE_JS = (
    """async ([b64, top, bottom]) => {"""
    + ON_CANVAS_JS
    + """
    const d = g.getImageData(c.width - 3, top, 1, bottom - top).data, v = [];
    for (let i = 0; i < d.length; i += 4) v.push((d[i] + d[i + 1] + d[i + 2]) / 3);
    v.sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)];
}"""
)
# The header row's top and bottom, in pixels from the top of its scrolling box.
HEADER_BAND_JS = """box => {
    const b = box.getBoundingClientRect(), h = box.querySelector('thead').getBoundingClientRect();
    return [Math.ceil(h.top - b.top) + 2, Math.floor(h.bottom - b.top) - 2];
}"""


def _header_right_edge(page, box) -> float:
    top, bottom = box.evaluate(HEADER_BAND_JS)
    png = box.screenshot()
    blank = page.context.new_page()  # as _edges: the app's CSP allows no data: image
    try:
        return blank.evaluate(BAND_EDGE_JS, [base64.b64encode(png).decode(), top, bottom])
    finally:
        blank.close()


@pytest.mark.usefixtures("reported")
def test_report_header_cells_show_the_scroll_shadow_as_the_rows_do(page, role_keys, scored_sample):
    """The grey header cells are see-through over the box, so the shadow at an edge with more
    to see darkens the header row as it does the body rows (an opaque grey hid it there), and
    goes once that edge is reached."""
    sign_in(page, role_keys["admin"])
    page.set_viewport_size(PHONE)
    assert page.goto(f"/orgs/{scored_sample}/report.html").status == 200
    boxes = page.locator(".scroll:has(> table > thead)")
    wide = [
        boxes.nth(i)
        for i in range(boxes.count())
        if boxes.nth(i).evaluate("el => el.scrollWidth > el.clientWidth + 1")
    ]
    assert len(wide) >= 2, "the heat map and the findings should be wider than a phone"
    for box in wide:
        shade = _header_right_edge(page, box)
        assert shade < SHADOW, (box.evaluate("el => el.outerHTML.slice(0, 60)"), shade)
        box.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
        at_end = _header_right_edge(page, box)
        assert at_end > SHADOW, (box.evaluate("el => el.outerHTML.slice(0, 60)"), at_end)
