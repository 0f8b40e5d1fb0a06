"""Click-through from the strategy map: an objective's page and an OKR's page, in Chromium."""

from __future__ import annotations

from sqlalchemy import select

from alignment.models import CheckIn, ScoredLink
from tests.web.conftest import shot
from tests.web.test_pages import sign_in


def test_strategy_map_clicks_through_to_objective_and_okr(
    page, role_keys, scored_sample, session
) -> None:
    sign_in(page, role_keys["strategy_office"])
    page.goto(f"/orgs/{scored_sample}/strategy-map")
    first = page.locator("article.objective:not(.uncovered)").first
    objective = first.get_attribute("data-objective")
    first.locator("h3 a").click()
    page.wait_for_url(f"**/objective/{objective}")
    serving = page.locator("tr[data-okr]").evaluate_all("n => n.map(x => x.dataset.okr)")
    stored = session.scalars(
        select(ScoredLink.okr_id)
        .where(
            ScoredLink.org_id == scored_sample,
            ScoredLink.objective_id == objective,
            ScoredLink.label.in_(("aligned", "weak")),
        )
        .order_by(ScoredLink.score.desc())
    ).all()
    assert serving == list(stored) and serving
    shot(page, "objective-page")

    okr = serving[0]
    page.locator(f"tr[data-okr='{okr}'] a").click()
    page.wait_for_url(f"**/okr/{okr}")
    ranked = page.locator("tr[data-objective]")
    assert ranked.count() >= 10  # the stored top links, best first
    assert objective in ranked.evaluate_all("n => n.map(x => x.dataset.objective)")
    assert "~" in ranked.first.inner_text()  # the closest texts, as evidence
    check_ins = session.scalars(
        select(CheckIn.id).where(CheckIn.org_id == scored_sample, CheckIn.okr_id == okr)
    ).all()
    shown = page.locator("tr[data-check-in]").evaluate_all("n => n.map(x => x.dataset.checkIn)")
    assert sorted(shown) == sorted(check_ins)
    shot(page, "okr-page")
    assert page.console_errors == [] and page.outside_requests == []
    assert page.goto(f"/orgs/{scored_sample}/okr/O-999").status == 404
