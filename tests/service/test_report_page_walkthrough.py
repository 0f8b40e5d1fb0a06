"""The report page after a walk-through of the sample: an objective awaiting review is said to
be (docs/report.md, "Coverage"); a followed build that succeeded says so, not "nothing left to
cancel"; a settings change after a cancel builds again; the Cancel form and "build it now" keep
the page's filters (docs/jobs.md, "Cancelling a job")."""

from __future__ import annotations

import html
import re

from sqlalchemy import text

from alignment.report import build_report
from alignment.report.store import save_settings
from tests.service import test_report_page_cancel as cancel_tests
from tests.service.test_coverage_awaiting_review import UNCOVERED, _queue_a_weak_link
from tests.service.test_report_page_cancel import ORG, PAGE, _form, _report_jobs, _said

people = cancel_tests.people  # the fixture: Ada's and Omar's signed-in browsers
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _words(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_the_report_page_says_which_objectives_await_review(
    client, session, scored_sample, embedder
) -> None:
    org = scored_sample
    okr = _queue_a_weak_link(session, org, UNCOVERED)
    run = build_report(session, org, embedder=embedder)
    waiting = run.summary["objectives_awaiting_review"]
    assert waiting >= 1 and okr
    page = client.get(f"/orgs/{org}/report.html", headers=BROWSER).text
    card = page.split('class="card story-uncovered_objective', 1)[1].split("</a>", 1)[0]
    said = "awaits" if waiting == 1 else "await"
    assert f"; {waiting} more {said} review" in _words(card)
    row = page.split(f"<b>{UNCOVERED}</b>", 1)[1].split("</tr>", 1)[0]
    assert "(awaiting review: 1 OKR)" in _words(row)


def test_a_followed_build_that_succeeded_says_it_built_the_report(
    people, session, embedder
) -> None:
    omar = people["omar"]
    asked = omar.get(f"{PAGE}?build=1", follow_redirects=False)
    assert asked.status_code == 303
    (job,) = _report_jobs(session)
    # A worker builds it.
    build_report(session, ORG, embedder=embedder)
    session.execute(
        text("UPDATE jobs SET status = 'succeeded', finished_at = now() WHERE id = :id"),
        {"id": job.id},
    )
    session.commit()
    session.expire_all()  # the page reads through this session: not the rows it held
    said = _said(omar.get(asked.headers["location"]).text)
    assert said.startswith(f"Job #{job.id} built a new report at ") and said.endswith("UTC.")
    assert "cancel" not in said


def test_a_settings_change_after_a_cancel_builds_again(people, session, embedder) -> None:
    build_report(session, ORG, embedder=embedder)
    save_settings(session, ORG, {"thin_coverage_min_okrs": 3})  # the run no longer shows it
    omar = people["omar"]
    stale = omar.get(PAGE)
    assert "Recomputing" in stale.text
    assert omar.post(_form(stale.text), follow_redirects=False).status_code == 303
    assert omar.get(PAGE).status_code == 200 and len(_report_jobs(session)) == 1
    assert _report_jobs(session)[0].status == "cancelled"
    # The settings changed after the cancel (now() stands still within the test's transaction,
    # so the change is dated forward): the page builds again.
    session.execute(
        text("UPDATE report_settings SET updated_at = now() + interval '1 hour' WHERE org_id = :o"),
        {"o": ORG},
    )
    session.expire_all()
    again = omar.get(PAGE)
    assert "Recomputing" in again.text and len(_report_jobs(session)) == 2


def test_cancel_and_build_it_now_keep_the_pages_filters(people, session) -> None:
    omar = people["omar"]
    view = "severity=high&kind=orphan_okr"
    first = omar.get(f"{PAGE}?{view}")
    assert first.status_code == 202
    (job,) = _report_jobs(session)
    action = _form(first.text)
    assert (
        action
        == f"/orgs/{ORG}/report/jobs/{job.id}/cancel?{view}&csrf=" + action.split("csrf=", 1)[1]
    )
    sent = omar.post(action, follow_redirects=False)
    assert sent.headers["location"] == f"{PAGE}?{view}&job={job.id}"
    shown = omar.get(sent.headers["location"]).text
    again = re.search(r'<a href="([^"]+)" id="report-build-again">', shown)
    assert again and html.unescape(again.group(1)) == f"{PAGE}?{view}&build=1"
    built = omar.get(html.unescape(again.group(1)), follow_redirects=False)
    new = _report_jobs(session)[-1]
    assert built.status_code == 303 and built.headers["location"] == f"{PAGE}?{view}&job={new.id}"


def test_a_bad_build_or_job_gets_the_error_page_in_a_browser(client, scored_sample) -> None:
    for query, name in (("build=maybe", "build"), ("job=abc", "job")):
        answer = client.get(f"/orgs/{scored_sample}/report.html?{query}", headers=BROWSER)
        assert answer.status_code == 422, query
        assert answer.headers["content-type"].startswith("text/html")
        assert name in _words(answer.text)


def test_storing_the_same_settings_again_is_no_change(people, session) -> None:
    """A retried PUT or a config tool storing the settings as they are would otherwise date
    them anew, lift a cancelled build and queue it again on the next page reload."""

    def stamp():
        old = "SELECT updated_at < now() - interval '1 hour' FROM report_settings WHERE org_id = :o"
        return session.scalar(text(old), {"o": ORG})

    save_settings(session, ORG, {"thin_coverage_min_okrs": 3})
    back = "UPDATE report_settings SET updated_at = now() - interval '2 hours' WHERE org_id = :o"
    session.execute(text(back), {"o": ORG})
    save_settings(session, ORG, {"thin_coverage_min_okrs": 3})
    assert stamp() is True  # kept: nothing changed
    save_settings(session, ORG, {"thin_coverage_min_okrs": 4})
    assert stamp() is False  # a real change is dated
