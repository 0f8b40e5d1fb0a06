"""Every page on a tablet: nothing wider than the screen, every control reachable by keyboard
with a visible label."""

from __future__ import annotations

import pytest

from tests.web.conftest import shot
from tests.web.test_pages import sign_in

TABLET = {"width": 768, "height": 1024}
PAGES = [
    "/",
    "/orgs/{org}/strategy-map",
    "/orgs/{org}/review",
    "/orgs/{org}/team/T-9",
    "/orgs/{org}/okr/O-30",
    "/orgs/{org}/objective/SO-9",
    "/orgs/{org}/report.html",
]


@pytest.fixture(scope="module")
def reported(scored_sample, engine, embedder) -> str:
    """The sample with a stored report, so its page shows the report (not "being built")."""
    from sqlalchemy.orm import Session

    from alignment.report import build_report

    with Session(engine) as s, s.begin():
        build_report(s, scored_sample, embedder=embedder)
    return scored_sample


@pytest.mark.parametrize("path", PAGES)
def test_pages_fit_a_tablet_and_label_their_controls(page, role_keys, reported, path):
    scored_sample = reported
    sign_in(page, role_keys["admin"])
    page.set_viewport_size(TABLET)
    response = page.goto(path.format(org=scored_sample))
    assert response.status == 200
    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= TABLET["width"] + 1, f"{path} is {overflow}px wide on a 768px screen"
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
              .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
              .map(el => el.name || el.id)"""
    )
    assert unlabelled == [], f"{path}: controls without a label: {unlabelled}"
    # Keyboard: the first Tab lands on a focusable control, and focus is visible (outline).
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement && document.activeElement.tagName")
    assert focused in ("A", "BUTTON", "INPUT", "SELECT", "TEXTAREA", "SUMMARY")
    assert page.console_errors == [] and page.outside_requests == []


PHONE = {"width": 390, "height": 844}
# No space or hyphen to break at, letters outside ASCII, and the kind of token a finding names.
LONG = "ÜnïcødéΖήταÜberschrift" * 12 + "key_result:O-30-KR1"


@pytest.mark.parametrize("path", PAGES)
def test_pages_fit_a_phone_even_with_long_titles(page, role_keys, reported, path):
    sign_in(page, role_keys["admin"])
    page.set_viewport_size(PHONE)
    response = page.goto(path.format(org=reported))
    assert response.status == 200
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{path} is {width}px wide on a 390px screen"
    # A long unbroken title in the heading, the first cell of every table, a list item and a
    # card: the page still fits (wide tables scroll inside their own box).
    width = page.evaluate(
        """long => {
            const cells = [...document.querySelectorAll('table')].map(t => t.querySelector('td'));
            const targets = [document.querySelector('h1'), ...cells,
                             document.querySelector('li'), document.querySelector('h3')];
            targets.filter(Boolean).forEach(el => el.append(' ' + long));
            return document.documentElement.scrollWidth;
        }""",
        LONG,
    )
    shot(page, "phone-" + (path.split("}")[-1].strip("/").replace("/", "-") or "home"))
    assert width <= PHONE["width"], f"{path} with a long title is {width}px wide"
    assert page.console_errors == [] and page.outside_requests == []


ORG_PAGES = [p for p in PAGES if p != "/"]


@pytest.mark.parametrize("path", ORG_PAGES)
def test_every_org_page_has_the_same_nav_as_the_role_allows(
    page, role_keys, reported, engine, path
) -> None:
    """The report, the strategy map, the review queue and the team pages, from every page of
    the organization, each one the role may open (this page marked, not linked), and who is
    signed in; a team lead's nav has only its own team and none of the office's pages."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from alignment.models import Team

    with Session(engine) as s:
        teams = s.scalar(select(func.count()).select_from(Team).where(Team.org_id == reported))
    base = f"/orgs/{reported}"
    sign_in(page, role_keys["admin"])
    page.goto(path.format(org=reported))
    nav = page.get_by_role("navigation", name="Golden Thread")
    assert nav.count() == 1
    wanted = {"report": "/report.html", "strategy map": "/strategy-map", "review queue": "/review"}
    for name, tail in wanted.items():
        here = path.endswith(tail)
        links = nav.get_by_role("link", name=name, exact=True)
        assert links.count() == (0 if here else 1), (path, name)
        if here:
            assert nav.locator("[aria-current=page]").inner_text() == name
        else:
            assert links.get_attribute("href") == base + tail
    team_links = nav.locator(f"a[href^='{base}/team/']")
    assert team_links.count() == teams - (1 if "/team/" in path else 0)
    assert "signed in as" in nav.inner_text()

    if path.endswith(("/report.html", "/review")):
        return  # not the team lead's pages
    page.goto("/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in")
    sign_in(page, role_keys["team_lead"])
    page.goto(path.format(org=reported))
    nav = page.get_by_role("navigation", name="Golden Thread")
    for name in ("report", "review queue"):
        assert nav.get_by_role("link", name=name, exact=True).count() == 0
    own = nav.locator(f"a[href^='{base}/team/'], [aria-current=page]")
    assert "T-9" in page.content() and own.count() >= 1
    hrefs = nav.locator(f"a[href^='{base}/team/']").evaluate_all(
        "n => n.map(a => a.getAttribute('href'))"
    )
    assert hrefs == ([] if "/team/" in path else [f"{base}/team/T-9"])
    assert page.console_errors == [] and page.outside_requests == []
