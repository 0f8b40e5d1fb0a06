"""The pages in Chromium: sign-in, organizations, the report with its filters, offline API docs."""

from __future__ import annotations

import time

from tests.web.conftest import decisions_undone, shot


def sign_in(page, key: str) -> None:
    page.goto("/")
    assert page.url.endswith("/sign-in")  # a browser without a key is sent to sign in
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def test_each_role_signs_in_and_sees_its_organization(page, role_keys, scored_sample) -> None:
    for role, key in role_keys.items():
        sign_in(page, key)
        assert scored_sample in page.content()
        assert "Signed in as" in page.inner_text("body")
        shot(page, f"index-{role}")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/sign-in")
    assert page.console_errors == [] and page.outside_requests == []


def test_a_wrong_key_is_refused_on_the_page(page) -> None:
    page.goto("/sign-in")
    page.get_by_label("API key").fill("gt_00000000_" + "x" * 43)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That key is not valid")
    shot(page, "sign-in-refused")


def test_the_report_page_filters_findings(page, role_keys, scored_sample) -> None:
    sign_in(page, role_keys["strategy_office"])
    page.get_by_role("link", name="report").first.click()
    page.wait_for_selector("#findings")
    total = page.locator("#findings tbody tr").count()
    assert total > 10
    # The served page filters on the server: applying a kind reloads it with ?kind=...
    page.select_option("#f-kind", "orphan_okr")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply filters").click()
    assert "kind=orphan_okr" in page.url
    visible = page.locator("#findings tbody tr:visible")
    assert 0 < visible.count() < total
    assert all("orphan" in visible.nth(i).inner_text() for i in range(visible.count()))
    shot(page, "report-orphans")
    assert page.console_errors == [] and page.outside_requests == []


def test_the_report_page_opens_with_cards_and_pages_its_findings(
    page, role_keys, scored_sample
) -> None:
    sign_in(page, role_keys["strategy_office"])
    page.goto(f"/orgs/{scored_sample}/report.html?per_page=2")
    page.wait_for_selector("#findings")
    cards = page.locator("section.story a.card")
    assert cards.count() == 4
    assert "orphan OKRs" in cards.nth(0).inner_text()
    orphans = int(page.locator("a.story-orphan_okr .big").inner_text())
    assert orphans > 2  # more than one page of two
    shot(page, "report-cards")
    # A card is a link to its findings, reachable from the keyboard.
    page.locator("a.story-orphan_okr").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "kind=orphan_okr" in page.url and "per_page=2" in page.url
    first = page.locator("#findings tbody tr")
    assert first.count() == 2
    assert all("orphan" in first.nth(i).inner_text() for i in range(2))
    assert f"1–2 of {orphans} matching" in page.inner_text("#findings-title")
    seen = set(page.locator("#findings code.key").all_inner_texts())
    # Next page: other findings, the filter kept.
    page.get_by_role("navigation", name="Findings pages (top)").get_by_role(
        "link", name="next ›"
    ).click()
    page.wait_for_url("**page=2**")
    assert "kind=orphan_okr" in page.url
    assert page.locator("#f-kind").input_value() == "orphan_okr"
    second = set(page.locator("#findings code.key").all_inner_texts())
    assert second and not (second & seen)
    assert all("orphan" in t for t in page.locator("#findings tbody tr").all_inner_texts())
    assert page.locator('.pager a[aria-current="page"]').first.inner_text() == "2"
    shot(page, "report-page-2")
    # A new filter starts again on page 1.
    page.select_option("#f-severity", "high")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply filters").click()
    assert "?severity=high&kind=orphan_okr&per_page=2#" in page.url  # no page, no empty filter
    assert page.console_errors == [] and page.outside_requests == []


def test_a_team_lead_gets_no_report_page(page, role_keys, scored_sample, live_url) -> None:
    sign_in(page, role_keys["team_lead"])
    response = page.goto(f"/orgs/{scored_sample}/report.html")
    assert response.status == 403
    other = page.goto("/orgs/someone-else/report.html")
    assert other.status == 404


def test_api_docs_render_offline(page) -> None:
    page.goto("/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert "Golden Thread" in page.inner_text(".swagger-ui .info .title")
    assert page.locator(".opblock").count() > 40  # every operation is listed
    shot(page, "api-docs")
    assert page.outside_requests == []  # nothing from a CDN
    assert page.console_errors == []
    page.goto("/redoc")
    page.wait_for_selector("h1", timeout=15000)
    assert "Golden Thread" in page.inner_text("h1")
    # The sidebar's credit shows its logo from this site: nothing refused by the policy.
    logo = page.locator("img[alt='redocly logo']")
    logo.wait_for(timeout=15000)
    assert logo.get_attribute("src") == "/static/app/redoc-logo-mini.svg"
    assert logo.evaluate("img => img.complete && img.naturalWidth > 0")
    shot(page, "api-redoc")
    assert page.outside_requests == []
    assert page.console_errors == []


def test_the_strategy_map_shows_every_objective_and_the_orphans(
    page, role_keys, scored_sample, session
) -> None:
    from sqlalchemy import select

    from alignment.models import StrategicObjective
    from alignment.strategy_map import strategy_map

    sign_in(page, role_keys["team_lead"])  # every role of the organization reads the map
    page.get_by_role("link", name="strategy map").first.click()
    page.wait_for_selector("article.objective")
    objectives = session.scalars(
        select(StrategicObjective.id).where(StrategicObjective.org_id == scored_sample)
    ).all()
    shown = page.locator("article.objective").evaluate_all(
        "nodes => nodes.map(n => n.dataset.objective)"
    )
    assert sorted(shown) == sorted(objectives)
    expected = strategy_map(session, scored_sample)
    orphans = page.locator("tr[data-orphan]").evaluate_all("n => n.map(x => x.dataset.orphan)")
    assert orphans == [o["id"] for o in expected["orphans"]] and orphans
    assert page.locator("tr[data-review]").count() == len(expected["needs_review"])
    assert page.locator("article.uncovered").count() == expected["uncovered"]
    shot(page, "strategy-map")
    assert page.console_errors == [] and page.outside_requests == []


def test_hostile_text_renders_as_text(page, role_keys, scored_sample, engine) -> None:
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from alignment.models import Okr

    hostile = "<img src=x onerror=\"document.title='owned'\">Grow <b>revenue</b>"
    with Session(engine) as s, s.begin():
        original = s.get(Okr, {"org_id": scored_sample, "id": "O-11"}).title
        s.execute(
            update(Okr).where(Okr.org_id == scored_sample, Okr.id == "O-11").values(title=hostile)
        )
    try:
        sign_in(page, role_keys["strategy_office"])
        page.goto(f"/orgs/{scored_sample}/strategy-map")
        assert hostile in page.inner_text("body")  # shown as the characters it is
        assert page.title() != "owned" and page.locator("main img").count() == 0
    finally:
        with Session(engine) as s, s.begin():
            s.execute(
                update(Okr)
                .where(Okr.org_id == scored_sample, Okr.id == "O-11")
                .values(title=original)
            )


def _wait_for_jobs(engine, org_id: str, timeout: float = 120.0) -> None:
    import time

    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from alignment.models import Job

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as s:
            busy = s.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.org_id == org_id, Job.status.in_(("queued", "running", "retrying")))
            )
        if not busy:
            return
        time.sleep(0.2)
    raise AssertionError(f"jobs of {org_id} still running after {timeout:.0f} s")


def test_the_strategy_office_decides_in_the_review_queue(
    page, role_keys, scored_sample, engine, embedder
) -> None:
    from sqlalchemy.orm import Session

    from alignment.models import LinkFeedback

    with decisions_undone(engine, scored_sample, embedder):
        sign_in(page, role_keys["strategy_office"])
        page.goto(f"/orgs/{scored_sample}/review")
        items = page.locator("article[data-okr]")
        waiting = items.evaluate_all("n => n.map(x => x.dataset.okr)")
        assert waiting, "the sample has OKRs awaiting review"
        shot(page, "review-queue")
        first = items.first
        okr = waiting[0]
        # The control starts on no objective: the engine's best candidate, chosen.
        objective = first.locator("select option[value^='SO-']").first.get_attribute("value")
        first.locator("select").select_option(objective)
        first.get_by_role("button", name="Confirm").click()
        page.wait_for_url("**/review?decided=okr*")
        said = page.get_by_role("status").inner_text()
        assert said.startswith(f"Recorded: {okr} confirmed as serving {objective} (by you at ")
        left = page.locator("article[data-okr]").evaluate_all("n => n.map(x => x.dataset.okr)")
        assert okr not in left
        with Session(engine) as s:
            decided = s.get(
                LinkFeedback, {"org_id": scored_sample, "okr_id": okr, "objective_id": objective}
            )
            assert decided.verdict == "confirmed"
            assert decided.decided_by.startswith("strategy_office-")  # the signed-in key
        # The same form without the page's token (as a cross-site form would send it): refused.
        forged = page.request.post(
            f"/orgs/{scored_sample}/review/{left[0] if left else okr}/reject", form={"note": "x"}
        )
        assert forged.status == 401
        assert page.console_errors == [] and page.outside_requests == []


def test_a_team_lead_has_no_review_queue(page, role_keys, scored_sample) -> None:
    sign_in(page, role_keys["team_lead"])
    assert page.goto(f"/orgs/{scored_sample}/review").status == 403


def test_the_strategy_office_decides_an_unsure_check_in(
    page, role_keys, scored_sample, engine, restore_check_in_verdicts
) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from alignment.models import CheckInDrift, CheckInFeedback

    with Session(engine) as s:
        unsure = s.scalars(
            select(CheckInDrift.check_in_id).where(
                CheckInDrift.org_id == scored_sample, CheckInDrift.verdict == "needs_review"
            )
        ).all()
    sign_in(page, role_keys["strategy_office"])
    page.goto(f"/orgs/{scored_sample}/review")
    items = page.locator("article[data-check-in]")
    waiting = items.evaluate_all("n => n.map(x => x.dataset.checkIn)")
    assert waiting and sorted(waiting) == sorted(unsure)
    first = waiting[0]
    items.first.get_by_role("button", name="About other work").click()
    page.wait_for_url("**/review?decided=check-in*")
    said = page.get_by_role("status").inner_text()
    assert said.startswith(f"Recorded: check-in {first} called about other work, not its OKR ")
    left = page.locator("article[data-check-in]").evaluate_all("n => n.map(x => x.dataset.checkIn)")
    assert first not in left and len(left) == len(waiting) - 1
    with Session(engine) as s:
        decided = s.get(CheckInFeedback, {"org_id": scored_sample, "check_in_id": first})
        assert decided.verdict == "drifting"
        assert decided.decided_by.startswith("strategy_office-")  # the signed-in key
    assert page.console_errors == [] and page.outside_requests == []


def _links(page, live_url: str) -> list[str]:
    """Every distinct link on the page to this service, without its fragment."""
    hrefs = page.eval_on_selector_all("a[href]", "as => as.map(a => a.href.split('#')[0])")
    return sorted({h for h in hrefs if h.startswith(live_url)})


def _broken(page, urls: list[str]) -> list[tuple[str, int]]:
    """The links that do not answer 200 to this browser's session."""
    statuses = ((url, page.request.get(url, max_redirects=0).status) for url in urls)
    return [(url, status) for url, status in statuses if status != 200]


def test_each_role_sees_only_links_it_may_follow(page, role_keys, scored_sample, live_url):
    """The home page and the strategy map link only what the signed-in role may open: no
    link answers 403 (a team lead gets its team pages, not the report or the downloads)."""
    for role, key in role_keys.items():
        sign_in(page, key)
        home = _links(page, live_url)
        page.goto(f"/orgs/{scored_sample}/strategy-map")
        on_map = _links(page, live_url)
        assert _broken(page, sorted(set(home + on_map))) == [], role
        if role == "team_lead":
            assert any(u.endswith(f"/orgs/{scored_sample}/team/T-9") for u in home)
            assert not any("report" in u for u in home + on_map)
        else:
            assert any(u.endswith("/report.html") for u in home), role
        page.goto("/")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/sign-in")
    assert page.console_errors == [] and page.outside_requests == []


def test_home_lists_team_pages_in_natural_order(page, role_keys, scored_sample) -> None:
    from alignment.report.findings import natural

    sign_in(page, role_keys["admin"])
    teams = page.locator(f"a[href^='/orgs/{scored_sample}/team/']").evaluate_all(
        "as => as.map(a => decodeURIComponent(a.pathname.split('/').pop()))"
    )
    assert len(teams) > 10 and teams == sorted(teams, key=natural)


def test_report_links_to_the_pages_it_names(page, role_keys, scored_sample, live_url) -> None:
    """Back to the organizations, the map and the review queue; each finding's OKRs,
    objectives and teams, the coverage rows and the heat map open their pages."""
    sign_in(page, role_keys["admin"])
    page.goto(f"/orgs/{scored_sample}/report.html")
    page.wait_for_selector("#findings")
    nav = page.get_by_role("navigation", name="Golden Thread")
    for name in ("Organizations", "strategy map", "review queue"):
        assert nav.get_by_role("link", name=name).count() == 1
    for selector in (
        "#findings ul.records a[href*='/okr/']",
        "#findings ul.records a[href*='/objective/']",
        "table.heat td a[href*='/objective/']",
        "table.heat th a[href*='/team/']",
    ):
        assert page.locator(selector).count() > 0, selector
    if page.locator("[data-check-ins-review]").count():
        assert (
            page.locator("a[data-check-ins-review]")
            .get_attribute("href")
            .endswith("/review#check-ins")
        )
    # A perspective is named once ("learning growth"), not by its id and its label.
    perspective = page.goto(f"/orgs/{scored_sample}/report.html?kind=perspective_imbalance")
    assert perspective.status == 200
    records = page.locator("#findings ul.records li").all_inner_texts()
    for text in records:
        assert not text.startswith("perspective ") or "_" not in text, text
    page.goto(f"/orgs/{scored_sample}/report.html")
    links = [u for u in _links(page, live_url) if "/report.html" not in u]
    assert len(links) > 10
    assert _broken(page, links) == []
    assert page.console_errors == [] and page.outside_requests == []


def test_report_filters_follow_the_url_after_back(page, role_keys, scored_sample) -> None:
    sign_in(page, role_keys["strategy_office"])
    page.goto(f"/orgs/{scored_sample}/report.html")
    team = page.locator("#f-team option").nth(1).get_attribute("value")
    page.select_option("#f-team", team)
    with page.expect_navigation():
        page.get_by_role("button", name="Apply filters").click()
    assert "team=" in page.url and page.locator("#f-team").input_value() == team
    page.go_back()
    page.wait_for_load_state()
    assert "team=" not in page.url
    assert page.locator("#f-team").input_value() == ""  # says what the list shows: all
    page.go_forward()
    page.wait_for_load_state()
    assert page.locator("#f-team").input_value() == team
    assert page.console_errors == []


def test_a_recomputing_report_reloads_itself_and_links_no_raw_json(
    page, role_keys, scored_sample, live_url
) -> None:
    """The banner of a report being recomputed: the page reloads itself (until the new run
    is in and the banner is gone) and offers no raw-JSON job link as if it were a page."""
    from fastapi.responses import HTMLResponse

    from service.routes.report_job import notice
    from service.routes.report_pages import _with_notice

    sign_in(page, role_keys["admin"])
    served = page.request.get(f"{live_url}/orgs/{scored_sample}/report.html")
    policy = {"Content-Security-Policy": served.headers["content-security-policy"]}
    building = notice(scored_sample, {"id": 7, "status": "queued", "pending": True}, changed=True)
    stale = _with_notice(HTMLResponse(served.text(), headers=policy), building, waiting=True)
    loads: list[str] = []

    def serve(route) -> None:
        loads.append(route.request.url)
        route.fulfill(status=200, headers=dict(stale.headers), body=stale.body)

    page.route(f"{live_url}/stale-report", serve)  # the app's page, as a stale run shows it
    page.goto("/stale-report")
    assert "Recomputing" in page.get_by_role("status").first.inner_text()
    assert page.locator("a[href^='/jobs/']").count() == 0
    deadline = time.monotonic() + 15
    while len(loads) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    assert len(loads) >= 2, "the recomputing page did not reload itself"
    assert page.console_errors == [] and page.outside_requests == []


def test_a_stale_decision_in_the_review_queue_says_who_decided(
    page, role_keys, scored_sample, engine, embedder
) -> None:
    """The queue left open in another tab (Back loads it afresh: pages are kept in no
    cache): confirming or rejecting an OKR decided since says what stands, on the queue."""
    from sqlalchemy.orm import Session

    from alignment.models import LinkFeedback

    with decisions_undone(engine, scored_sample, embedder):
        sign_in(page, role_keys["strategy_office"])
        queue = f"/orgs/{scored_sample}/review"
        page.goto(queue)
        buttons = ("Confirm", "Serves none: orphan")
        left_open = {button: page.context.new_page() for button in buttons}
        for tab in left_open.values():
            tab.goto(queue)
        first = page.locator("article[data-okr]").first
        okr = first.get_attribute("data-okr")
        # The control starts on no objective: the engine's best candidate, chosen.
        objective = first.locator("select option[value^='SO-']").first.get_attribute("value")
        first.locator("select").select_option(objective)
        first.get_by_role("button", name="Confirm").click()
        page.wait_for_url("**/review?decided=okr*")
        with Session(engine) as s:
            key = {"org_id": scored_sample, "okr_id": okr, "objective_id": objective}
            decided = s.get(LinkFeedback, key)
            decided_by, decided_at = decided.decided_by, decided.decided_at
        for button, tab in left_open.items():
            if button == "Confirm":  # the control starts on no objective: the same one, chosen
                tab.locator(f"article[data-okr='{okr}'] select").select_option(objective)
            tab.locator(f"article[data-okr='{okr}']").get_by_role("button", name=button).click()
            tab.wait_for_url("**again=1*")
            said = tab.get_by_role("status").inner_text()
            assert said.startswith(f"{okr} already confirmed as serving {objective} (by you at ")
            assert said.endswith("; nothing changed.")
        with Session(engine) as s:  # the first decision stands, under its name and time
            kept = s.get(LinkFeedback, key)
            assert (kept.decided_by, kept.decided_at) == (decided_by, decided_at)
        assert page.console_errors == [] and page.outside_requests == []
