"""The slimmer report page in Chromium reads as it did: heat-map shades and a record's muted type
come from the stylesheet, not from a style or a class on every element, with JavaScript off as
well; the raw JSON is the evidence; and the exported file still filters by team, perspective
and text with its rows' lists (tests/service/test_report_html_size.py checks the markup)."""

from __future__ import annotations

import json

from alignment.report import to_html
from alignment.report.page import FindingsView
from tests.alignment.test_report_html import drift_finding, make_run, orphan_finding

TEAMS = [{"id": f"T-{n}", "name": f"Team {n}"} for n in range(1, 6)]
MUTED = "rgb(91, 100, 112)"  # report.css --muted


def _run():
    drift, orphan = drift_finding(), orphan_finding()
    drift["scope"]["perspectives"] = ["customer"]
    orphan["scope"]["perspectives"] = ["financial"]
    run = make_run([drift, orphan], TEAMS)
    run.summary["perspectives"] = [
        {"perspective": p, "objectives": [], "okrs": 0, "share_of_objectives": 0.5,
         "share_of_links": 0.5}
        for p in ("customer", "financial")
    ]  # fmt: skip
    run.summary["heatmap"]["aligned_okrs"] = [[n] for n in range(len(TEAMS))]  # 0 to 4
    return run


def _open(browser, tmp_path, html: str, *, javascript: bool):
    saved = tmp_path / "report.html"
    saved.write_text(html, encoding="utf-8")
    context = browser.new_context(java_script_enabled=javascript)
    tab = context.new_page()
    tab.errors = []
    tab.on("console", lambda m: m.type == "error" and tab.errors.append(m.text))
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    tab.goto(saved.as_uri())
    return context, tab


def _rgba(alpha: float) -> str:
    return "rgb(31, 94, 168)" if alpha >= 1 else f"rgba(31, 94, 168, {alpha:.2f})"


def test_shades_and_muted_types_come_from_the_stylesheet_without_javascript(
    browser, tmp_path
) -> None:
    for view in (FindingsView(), None):
        context, tab = _open(browser, tmp_path, to_html(_run(), view), javascript=False)
        try:
            cells = tab.locator("table.heat tbody td").evaluate_all(
                "tds => tds.map(td => [td.textContent, getComputedStyle(td).backgroundColor,"
                " getComputedStyle(td.querySelector('a') || td).color, td.title])"
            )
            assert cells[0][:2] == ["", "rgba(0, 0, 0, 0)"]  # 0: bare, the table's white
            for text, background, ink, title in cells[1:]:
                alpha = 0.15 + 0.85 * int(text) / 4
                assert background == _rgba(alpha), (text, background)
                assert ink == ("rgb(255, 255, 255)" if alpha > 0.55 else "rgb(17, 17, 17)")
                assert title == f"Team {int(text) + 1} → Objective one"
            check_in = tab.locator("#findings ul.records li").first
            assert check_in.inner_text().startswith("check-in C-4")
            kind = check_in.locator("span")
            assert kind.evaluate("s => getComputedStyle(s).color") == MUTED
            assert kind.evaluate("s => getComputedStyle(s).fontSize") == "11px"
            label = check_in.locator("b").evaluate("b => getComputedStyle(b).color")
            assert label != MUTED
            # Evidence lines: depth 0 flush, depth 1 indented, as with a class on each.
            tab.locator("#findings tbody tr").nth(1).get_by_text("evidence", exact=True).click()
            pads = (
                tab.locator("#findings tbody tr")
                .nth(1)
                .locator("dl.ev dt")
                .evaluate_all("dts => dts.map(dt => getComputedStyle(dt).paddingLeft)")
            )
            assert pads[0] == "0px" and "12px" in pads
        finally:
            context.close()


def test_the_export_shows_its_raw_json_and_filters_by_team_perspective_and_text(
    browser, tmp_path
) -> None:
    run = _run()
    context, tab = _open(browser, tmp_path, to_html(run), javascript=True)
    try:
        rows = tab.locator("#findings tbody tr")
        drift = rows.nth(0)
        drift.get_by_text("evidence", exact=True).click()
        drift.get_by_text("raw JSON", exact=True).click()
        shown = drift.locator("pre").inner_text()
        assert json.loads(shown) == run.findings[0]["evidence"]

        def visible() -> list[str]:
            return tab.locator("#findings tbody tr:not([hidden]) code.key").all_inner_texts()

        assert visible() == ["checkin_drift:C-4", "orphan_okr:O-47"]
        tab.locator("#f-team").select_option("T-2")
        assert visible() == ["orphan_okr:O-47"]
        tab.locator("#f-team").select_option("")
        tab.locator("#f-perspective").select_option("customer")
        assert visible() == ["checkin_drift:C-4"]
        tab.locator("#f-perspective").select_option("")
        tab.locator("#f-text").fill("bills right first")  # in the orphan's evidence only
        assert visible() == ["orphan_okr:O-47"]
        assert tab.locator("#f-shown").inner_text() == "1"
        assert tab.errors == []
    finally:
        context.close()
