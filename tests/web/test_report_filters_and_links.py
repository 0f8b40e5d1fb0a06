"""The report page in Chromium: filters apply when the form is sent, not while a keyboard user
arrows through a list; and it links only the pages its reader's role may open."""

from __future__ import annotations

from tests.web.test_pages import _broken, _links, sign_in


def test_arrowing_through_a_filter_list_does_not_reload_the_page(
    page, role_keys, scored_sample
) -> None:
    sign_in(page, role_keys["strategy_office"])
    page.goto(f"/orgs/{scored_sample}/report.html")
    page.wait_for_selector("#findings")
    url = page.url
    page.evaluate("window.notReloaded = true")
    kind = page.locator("#f-kind")
    kind.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(700)  # a reload the change asked for would have begun by now
    chosen = kind.input_value()
    assert chosen  # the keys moved through the list
    assert page.url == url and page.evaluate("window.notReloaded === true")
    assert page.evaluate("document.activeElement.id") == "f-kind"  # focus stays in the list
    page.keyboard.press("Tab")  # on through the form to its button, and send it
    for _ in range(4):
        if page.evaluate("document.activeElement.type") == "submit":
            break
        page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"kind={chosen}" in page.url
    assert page.locator("#f-kind").input_value() == chosen
    kinds = set(page.locator("#findings tbody tr").evaluate_all("n => n.map(r => r.dataset.kind)"))
    assert kinds == {chosen}
    assert page.console_errors == [] and page.outside_requests == []


def test_the_integration_role_gets_no_link_it_may_not_follow(
    page, role_keys, scored_sample, live_url
) -> None:
    sign_in(page, role_keys["integration"])
    page.goto(f"/orgs/{scored_sample}/report.html")
    page.wait_for_selector("#findings")
    links = _links(page, live_url)
    assert _broken(page, links) == []
    assert not any(part in u for u in links for part in ("/okr/", "/objective/", "/team/"))
    nav = page.get_by_role("navigation", name="Golden Thread")
    assert nav.get_by_role("link", name="review queue").count() == 0
    assert nav.get_by_role("link", name="strategy map").count() == 1
    # The records are still named, as text.
    assert page.locator("#findings ul.records b").count() > 0
    assert page.console_errors == [] and page.outside_requests == []
