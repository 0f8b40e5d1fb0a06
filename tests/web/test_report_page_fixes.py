"""The report in Chromium after the browser review: the exported file chooses the filters its
address names (a card's link, a saved file opened with ?kind=), a keyboard reaches the filters
without tabbing through every coverage and heat-map link, and the served page's form keeps the
filters its address accepts (perspective, per_page, several kinds) when it is sent again."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.web.test_pages import sign_in


def _latest_number(page, org: str) -> int:
    page.goto(f"/orgs/{org}/report.html")  # builds the first run if there is none yet
    page.wait_for_selector("#findings", timeout=120_000)
    return page.request.get(f"/orgs/{org}/reports/latest").json()["id"]


def _shown_kinds(page) -> list[str]:
    return page.locator("#findings tbody tr:not([hidden])").evaluate_all(
        "rows => rows.map(r => r.dataset.kind)"
    )


def test_the_export_chooses_the_filters_its_address_names(
    page, role_keys, scored_sample, tmp_path
) -> None:
    sign_in(page, role_keys["strategy_office"])
    export = f"/orgs/{scored_sample}/reports/{_latest_number(page, scored_sample)}?format=html"
    page.goto(export)
    everything = len(_shown_kinds(page))
    orphans = page.locator("#findings tbody tr[data-kind=orphan_okr]").count()
    assert 0 < orphans < everything

    # Served with the card's query in its address, as a saved file opened with it.
    page.goto(export + "&kind=orphan_okr")
    assert page.locator("#f-kind").input_value() == "orphan_okr"
    assert _shown_kinds(page) == ["orphan_okr"] * orphans

    page.goto(export)
    page.locator("a.card.story-orphan_okr").click()
    page.wait_for_function("() => location.search.includes('kind=orphan_okr')")
    assert page.locator("#f-kind").input_value() == "orphan_okr"
    assert _shown_kinds(page) == ["orphan_okr"] * orphans
    # Filters chosen in the page move the address too: a reload shows what was chosen.
    page.locator("#f-kind").select_option("")
    page.get_by_role("button", name="Apply filters").click()
    assert "kind=" not in page.evaluate("location.search")
    assert "format=html" in page.evaluate("location.search")
    page.locator("#f-text").fill("O-11")
    assert "q=O-11" in page.evaluate("location.search")
    page.reload()
    assert page.locator("#f-text").input_value() == "O-11"
    assert 0 < len(_shown_kinds(page)) < everything

    # Two kinds: the list becomes a list box showing both chosen, as the served page's does.
    page.goto(export + "&kind=orphan_okr&kind=needs_review")
    chosen = page.locator("#f-kind option:checked").evaluate_all("os => os.map(o => o.value)")
    assert sorted(chosen) == ["needs_review", "orphan_okr"]
    assert set(_shown_kinds(page)) == {"orphan_okr", "needs_review"}

    # The file as saved, opened from the disk with a card's query.
    saved = tmp_path / "report.html"
    saved.write_bytes(page.request.get(export).body())
    page.unroute("**/*")  # the guard lets only the service through; the file asks for nothing

    def file_only(route):
        if not route.request.url.startswith("file:"):
            page.outside_requests.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", file_only)
    page.goto(saved.as_uri() + "?kind=orphan_okr")
    assert page.locator("#f-kind").input_value() == "orphan_okr"
    assert _shown_kinds(page) == ["orphan_okr"] * orphans
    page.goto(saved.as_uri())
    assert len(_shown_kinds(page)) == everything
    page.locator("a.card.story-orphan_okr").click()
    page.wait_for_function("() => location.search.includes('kind=orphan_okr')")
    assert _shown_kinds(page) == ["orphan_okr"] * orphans
    page.go_back()
    page.wait_for_function("() => !location.search")
    assert page.locator("#f-kind").input_value() == ""
    assert len(_shown_kinds(page)) == everything
    assert page.console_errors == [] and page.outside_requests == []


def test_the_first_tab_stop_skips_to_the_filters(page, role_keys, scored_sample) -> None:
    sign_in(page, role_keys["strategy_office"])
    _latest_number(page, scored_sample)
    skip = page.locator("a.skip")
    assert skip.bounding_box()["x"] < 0  # out of sight until focused
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    box = skip.bounding_box()
    assert box and box["width"] > 20 and box["y"] >= 0 and box["x"] >= 0  # shown on focus
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-severity"
    assert page.console_errors == []


def test_sending_the_form_again_keeps_every_filter_of_the_address(
    page, role_keys, scored_sample
) -> None:
    sign_in(page, role_keys["strategy_office"])
    _latest_number(page, scored_sample)
    page.goto(
        f"/orgs/{scored_sample}/report.html?kind=orphan_okr&kind=needs_review"
        "&perspective=Customer&per_page=7"  # the service reads it as "customer", so must the form
    )
    assert page.locator("#f-perspective").input_value() == "customer"
    with page.expect_navigation():
        page.get_by_role("button", name="Apply filters").click()
    sent = parse_qs(urlsplit(page.url).query)
    assert sorted(sent["kind"]) == ["needs_review", "orphan_okr"]
    assert sent["perspective"] == ["customer"] and sent["per_page"] == ["7"]

    # A perspective chosen in the form filters the served page.
    page.locator("#f-perspective").select_option("financial")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply filters").click()
    assert parse_qs(urlsplit(page.url).query)["perspective"] == ["financial"]
    assert page.console_errors == [] and page.outside_requests == []
