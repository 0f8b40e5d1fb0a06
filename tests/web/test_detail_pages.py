"""Click-through from the strategy map: an objective's page and an OKR's page, in Chromium."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from alignment import db
from alignment.models import CheckIn, ScoredLink
from alignment.scoring.reads import comparison
from tests.web.conftest import decisions_undone, shot
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
    serving = _okrs_in(page, "serving-h")
    assert serving == _stored(session, scored_sample, objective, "aligned") and serving
    assert _okrs_in(page, "weak-h") == _stored(session, scored_sample, objective, "weak")
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


def _okrs_in(page, heading: str) -> list[str]:
    """The OKR rows of the section a heading names, in order."""
    rows = page.locator(f"section[aria-labelledby='{heading}'] tr[data-okr]")
    return rows.evaluate_all("n => n.map(x => x.dataset.okr)")


def _stored(session, org_id: str, objective: str, label: str) -> list[str]:
    return list(
        session.scalars(
            select(ScoredLink.okr_id)
            .where(
                ScoredLink.org_id == org_id,
                ScoredLink.objective_id == objective,
                ScoredLink.label == label,
            )
            .order_by(ScoredLink.score.desc())
        ).all()
    )


def test_an_objective_with_only_weak_links_is_served_by_none_as_in_the_report(
    page, role_keys, scored_sample, session, embedder
) -> None:
    from alignment.report import build_report

    linked = session.execute(
        select(ScoredLink.objective_id, ScoredLink.label).where(
            ScoredLink.org_id == scored_sample, ScoredLink.label.in_(("aligned", "weak"))
        )
    ).all()
    aligned = {o for o, label in linked if label == "aligned"}
    only_weak = sorted({o for o, label in linked if label == "weak"} - aligned)
    assert "SO-11" in only_weak  # the sample's uncovered objective (examples/README.md)
    report = build_report(session, scored_sample, embedder=embedder)
    coverage = {o["id"]: o["aligned_okrs"] for o in report.summary["objectives"]}
    assert coverage["SO-11"] == 0

    sign_in(page, role_keys["strategy_office"])
    page.goto(f"/orgs/{scored_sample}/objective/SO-11")
    heading = page.locator("#serving-h").inner_text()
    assert heading == f"OKRs serving it ({coverage['SO-11']})"
    assert _okrs_in(page, "serving-h") == []
    assert "No OKR serves this objective." in page.locator("main").inner_text()
    weak = _stored(session, scored_sample, "SO-11", "weak")
    assert _okrs_in(page, "weak-h") == weak and weak
    assert f"({len(weak)}): weak, not counted" in page.locator("#weak-h").inner_text()
    assert page.console_errors == [] and page.outside_requests == []


def test_an_okr_page_shows_who_decided_in_the_review_queue_when_and_why(
    page, role_keys, scored_sample, engine, embedder
) -> None:
    from alignment.models import LinkFeedback

    with decisions_undone(engine, scored_sample, embedder):
        sign_in(page, role_keys["strategy_office"])
        page.goto(f"/orgs/{scored_sample}/review")
        waiting = page.locator("article[data-okr]").evaluate_all("n => n.map(x => x.dataset.okr)")
        assert len(waiting) >= 2, "the sample has two OKRs awaiting review"
        confirmed, orphan = waiting[:2]
        item = page.locator(f"article[data-okr='{confirmed}']")
        # The control starts on no objective: the engine's best candidate, chosen.
        objective = item.locator("select option[value^='SO-']").first.get_attribute("value")
        item.locator("select").select_option(objective)
        item.get_by_role("button", name="Confirm").click()
        page.wait_for_url("**/review?decided=*")
        item = page.locator(f"article[data-okr='{orphan}']")
        item.get_by_label("Why").fill("an internal tooling effort, <b>not</b> strategy")
        item.get_by_role("button", name="Serves none: orphan").click()
        page.wait_for_url("**/review?decided=*")
        with Session(engine) as s:
            stored = s.scalars(
                select(LinkFeedback).where(
                    LinkFeedback.org_id == scored_sample,
                    LinkFeedback.okr_id.in_((confirmed, orphan)),
                )
            ).all()
            assert len({f.decided_by for f in stored}) == 1
            decided = {(f.okr_id, f.objective_id, f.verdict) for f in stored}
            assert {d for d in decided if d[0] == confirmed} == {
                (confirmed, objective, "confirmed")
            }
            assert {f.verdict for f in stored if f.okr_id == orphan} == {"rejected"}
        by = {(f.okr_id, f.objective_id): f for f in stored}
        assert by[(confirmed, objective)].decided_by.startswith("strategy_office-")

        page.goto(f"/orgs/{scored_sample}/okr/{confirmed}")
        shown = page.locator(f"li[data-decision='{objective}']")
        decided = by[(confirmed, objective)]
        assert shown.locator("[data-decided-by]").inner_text() == decided.decided_by
        assert f"confirmed: serves {objective}" in shown.inner_text()
        assert decided.decided_at.strftime("%Y-%m-%d") in shown.locator("time").inner_text()
        assert shown.locator("[data-note]").count() == 0

        page.goto(f"/orgs/{scored_sample}/okr/{orphan}")
        rejected = [f for (o, _), f in by.items() if o == orphan]
        assert rejected and all(f.verdict == "rejected" for f in rejected)
        rows = page.locator("li[data-decision]")
        assert sorted(rows.evaluate_all("n => n.map(x => x.dataset.decision)")) == sorted(
            f.objective_id for f in rejected
        )
        first = rows.first
        assert "rejected: does not serve" in first.inner_text()
        assert first.locator("[data-decided-by]").inner_text() == rejected[0].decided_by
        assert rejected[0].decided_at.strftime("%Y-%m-%d") in first.locator("time").inner_text()
        note = "an internal tooling effort, <b>not</b> strategy"  # shown as text, not markup
        assert first.locator("[data-note]").inner_text() == note
        shot(page, "okr-page-decisions")
        assert page.console_errors == [] and page.outside_requests == []


def test_an_orphans_page_says_what_a_typical_okr_reaches(page, role_keys, scored_sample) -> None:
    from alignment.scoring.reads import stored_verdicts

    with Session(db.get_engine()) as session:
        verdict = stored_verdicts(session, scored_sample)
        orphan = sorted(o for o, v in verdict.items() if v == "orphan")[0]
        compared = comparison(session, scored_sample, orphan)
    assert compared and compared["far_below"]
    sign_in(page, role_keys["strategy_office"])
    page.goto(f"/orgs/{scored_sample}/okr/{orphan}")
    why = page.locator("p[data-compared]").inner_text()
    assert f"a typical OKR here reaches {compared['organization_median_best']:.2f}" in why
    assert f"it scored {compared['best_score']:.2f} when last compared" in why
    assert page.console_errors == [] and page.outside_requests == []


def test_an_okr_page_names_the_teammates_whose_decisions_moved_a_score(
    page, role_keys, scored_sample, engine
) -> None:
    from sqlalchemy import delete

    from alignment.models import LinkFeedback, Okr

    with Session(engine) as s, s.begin():
        first = s.get(Okr, {"org_id": scored_sample, "id": "O-1"})
        mate = s.scalars(
            select(Okr.id)
            .where(Okr.org_id == scored_sample, Okr.team_id == first.team_id, Okr.id != "O-1")
            .order_by(Okr.id)
        ).first()
        shared = s.scalars(  # an objective stored for both OKRs
            select(ScoredLink).where(
                ScoredLink.org_id == scored_sample,
                ScoredLink.okr_id == "O-1",
                ScoredLink.objective_id.in_(
                    select(ScoredLink.objective_id).where(
                        ScoredLink.org_id == scored_sample, ScoredLink.okr_id == mate
                    )
                ),
            )
        ).first()
        objective = shared.objective_id
        # Stored directly, as the review queue would, but without queueing a rescoring of
        # the shared sample.
        s.add(
            LinkFeedback(
                org_id=scored_sample, okr_id="O-1", objective_id=shared.objective_id,
                verdict="confirmed", okr_hash=shared.okr_hash, decided_by="test",
            )
        )  # fmt: skip
    try:
        sign_in(page, role_keys["strategy_office"])
        page.goto(f"/orgs/{scored_sample}/okr/{mate}")
        row = page.locator(f"tr[data-objective='{objective}']")
        why = row.locator("p[data-team-confirmed]")
        assert "A person confirmed that teammate O-1 serves this objective" in why.inner_text()
        assert page.locator("p[data-team-confirmed]").count() == 1  # that objective only
        why.get_by_role("link", name="O-1").click()
        page.wait_for_url("**/okr/O-1")
        assert page.locator("p[data-team-confirmed]").count() == 0  # no vote for itself

        with Session(engine) as s, s.begin():  # the person changes their mind
            s.execute(
                update(LinkFeedback)
                .where(LinkFeedback.org_id == scored_sample, LinkFeedback.decided_by == "test")
                .values(verdict="rejected")
            )
        page.goto(f"/orgs/{scored_sample}/okr/{mate}")
        why = page.locator(f"tr[data-objective='{objective}'] p[data-team-rejected]")
        assert "A person rejected this objective for teammate O-1" in why.inner_text()
        assert page.locator("p[data-team-confirmed]").count() == 0
        assert page.locator("p[data-team-rejected]").count() == 1
        assert page.console_errors == [] and page.outside_requests == []
    finally:
        with Session(engine) as s, s.begin():
            s.execute(
                delete(LinkFeedback).where(
                    LinkFeedback.org_id == scored_sample, LinkFeedback.decided_by == "test"
                )
            )


def test_an_okr_page_marks_the_check_ins_awaiting_review(page, role_keys, scored_sample, engine):
    from alignment.models import CheckInDrift

    with Session(engine) as s:
        verdicts = dict(
            s.execute(
                select(CheckIn.id, CheckInDrift.verdict)
                .join(
                    CheckInDrift,
                    (CheckInDrift.org_id == CheckIn.org_id)
                    & (CheckInDrift.check_in_id == CheckIn.id),
                )
                .where(CheckIn.org_id == scored_sample)
            ).all()
        )
        unsure = sorted(c for c, v in verdicts.items() if v == "needs_review")[0]
        okr = s.scalar(
            select(CheckIn.okr_id).where(CheckIn.org_id == scored_sample, CheckIn.id == unsure)
        )
        siblings = s.scalars(
            select(CheckIn.id).where(CheckIn.org_id == scored_sample, CheckIn.okr_id == okr)
        ).all()
    sign_in(page, role_keys["strategy_office"])
    page.goto(f"/orgs/{scored_sample}/okr/{okr}")
    marked = page.locator("tr[data-check-in]:has([data-unsure])").evaluate_all(
        "n => n.map(x => x.dataset.checkIn)"
    )
    assert marked == [c for c in page.locator("tr[data-check-in]").evaluate_all(
        "n => n.map(x => x.dataset.checkIn)") if verdicts.get(c) == "needs_review"]  # fmt: skip
    assert unsure in marked and set(marked) <= set(siblings)
    assert page.console_errors == [] and page.outside_requests == []


def test_report_findings_on_detail_pages_are_for_the_roles_that_read_reports(
    page, role_keys, scored_sample, embedder
) -> None:
    # A team lead may not open the report: the detail pages do not show its findings either.
    from alignment.report import build_report
    from alignment.scoring.reads import stored_verdicts

    with Session(db.get_engine()) as s:
        run = build_report(s, scored_sample, embedder=embedder)
        about = {(r["type"], r["id"]) for f in run.findings for r in f["records"]}
        s.commit()
        orphan = sorted(o for o, v in stored_verdicts(s, scored_sample).items() if v == "orphan")[0]
    assert ("okr", orphan) in about and ("objective", "SO-11") in about
    for role, shown in (("strategy_office", True), ("team_lead", False)):
        page.context.clear_cookies()  # signed out: the next role signs in afresh
        sign_in(page, role_keys[role])
        for path in (f"okr/{orphan}", "objective/SO-11"):
            page.goto(f"/orgs/{scored_sample}/{path}")
            assert page.locator("#findings-h").count() == int(shown), (role, path)
            assert (page.locator("li[data-finding]").count() > 0) is shown, (role, path)
        assert page.console_errors == [] and page.outside_requests == []
