"""A drafting job that failed, or is being tried again, is said on the team page in plain words:
what failed, that nothing was stored, what the person can do, and the job's number for an
admin. The job's own error (an exception's text, for operators) stays on `GET /jobs/{id}`."""

from __future__ import annotations

import contextlib
import html
import re
from typing import Any

import pytest
from sqlalchemy.orm import Session

from alignment.errors import Invalid, Unavailable
from alignment.imports import import_document
from alignment.jobs.execute import execute
from alignment.llm_budget import BudgetExhausted
from tests.factories import small_bundle
from tests.jobs_support import Jobs, savepoint

ORG = "acme-job-words"
TEAM = f"/orgs/{ORG}/team/T-1"
DOWN = Unavailable(
    "the LLM provider could not be reached (after 2 retries); nothing was drafted or stored"
)
SPENT = BudgetExhausted(
    f"organization {ORG!r} has used 1000 of its 1000 LLM tokens this month; this call needs "
    "about 900 more"
)
GONE = Invalid("objective 'SO-2' does not exist in organization 'acme-job-words'")
BROKEN = KeyError("choices")  # what an unexpected failure looks like: its kind only


class FailingDrafter:
    """A drafter whose every call fails with `exc`, as a provider or the budget makes it."""

    kind, model, repairs = "llm", "test-model", 0

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def budget_limit(self, org_id: str) -> int | None:
        return None

    def suggest(self, ctx: Any, budget: Any) -> Any:
        raise self.exc

    summarize = suggest


@pytest.fixture
def org(session: Session) -> str:
    import_document(session, small_bundle(ORG))
    return ORG


def _asked(client, form: str = "suggest") -> int:
    """A drafting job asked for with the team page's form; its id."""
    sent = client.post(f"{TEAM}/{form}", follow_redirects=False)
    assert sent.status_code == 303, sent.text
    return int(re.search(r"[?&]job=(\d+)", sent.headers["location"]).group(1))


def _job_line(client, job_id: int) -> tuple[str, str]:
    """The page's job status (its `data-job-failed` kind, or "") and its words."""
    page = client.get(f"{TEAM}?job={job_id}")
    assert page.status_code == 200, page.text
    found = re.search(r'<(p|div) role="\w+" id="job-status"([^>]*)>(.*?)</\1>', page.text, re.S)
    assert found, page.text
    kind = re.search(r'data-job-failed="([^"]*)"', found.group(2))
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(3))).split())
    return (kind.group(1) if kind else ""), words


@pytest.mark.parametrize(
    ("exc", "kind", "why", "advice"),
    [
        (
            DOWN,
            "unavailable",
            "the AI service that writes the drafts could not be reached, or did not answer "
            "properly.",
            "Try again in a few minutes. If it keeps failing, ask your organization's admin",
        ),
        (
            SPENT,
            "token_budget_exhausted",
            "your organization has used up this month's allowance for the AI service",
            "Trying again will not help until next month: ask your organization's admin",
        ),
        (
            GONE,
            "invalid",
            "the request no longer fits the organization's records",
            "Reload this page and ask again with what is there now.",
        ),
        (
            BROKEN,
            "unexpected",
            "something went wrong on our side.",
            "Try again. If it fails again, ask your organization's admin.",
        ),
    ],
)
def test_a_failed_drafting_job_is_said_in_plain_words(
    client, session, embedder, org, exc, kind, why, advice
) -> None:
    job_id = _asked(client)
    Jobs(session, embedder, drafter=FailingDrafter(exc)).drain()
    stored = client.get(f"/jobs/{job_id}").json()
    assert stored["status"] == "failed" and stored["error"], stored

    shown_kind, said = _job_line(client, job_id)
    assert shown_kind == kind
    assert said.startswith(f"Drafting the suggested OKRs failed: {why}"), said
    assert "Nothing was stored." in said and advice in said
    assert f"give them the job number, #{job_id}" in said
    # The operators' text is not on the page, in whole or in part.
    page = html.unescape(client.get(f"{TEAM}?job={job_id}").text)
    code, _, message = stored["error"].partition(": ")
    for raw in (stored["error"], f"{code}:", message, type(exc).__name__, "worker's log"):
        assert not raw or raw not in page, raw


def test_a_failed_summary_says_which_draft_failed(client, session, embedder, org) -> None:
    job_id = _asked(client, "summary")
    Jobs(session, embedder, drafter=FailingDrafter(DOWN)).drain()
    _, said = _job_line(client, job_id)
    assert said.startswith("Drafting the cycle summary failed: the AI service"), said


def test_a_job_being_tried_again_says_why_in_plain_words(client, session, embedder, org) -> None:
    job_id = _asked(client)
    jobs = Jobs(session, embedder, drafter=FailingDrafter(DOWN))
    with contextlib.suppress(Unavailable):  # the first of three tries: the job waits for another
        execute(
            job_id,
            attempt=0,
            max_attempts=3,
            services=jobs.services,
            scope=lambda: savepoint(session),
        )
    assert client.get(f"/jobs/{job_id}").json()["status"] == "retrying"
    kind, said = _job_line(client, job_id)
    assert kind == "" and said == (
        f"Drafting (job #{job_id}, retrying): the last try failed because the AI service that "
        "writes the drafts could not be reached, or did not answer properly, so it is being "
        "tried again. This page reloads itself until the draft is ready."
    )
    assert "unavailable:" not in said and "retries" not in said


def test_the_page_follows_only_its_own_teams_drafting_jobs(client, session, org) -> None:
    """Another job's number in the address (another team's draft, a scoring job) is not shown
    as this team's: before, a finished scoring job read "Draft ready below" on any team page."""
    other_team = client.post(f"/orgs/{ORG}/team/T-2/suggest", follow_redirects=False)
    other_job = int(re.search(r"[?&]job=(\d+)", other_team.headers["location"]).group(1))
    scoring = client.post(f"/orgs/{ORG}/score")
    assert scoring.status_code == 202, scoring.text
    own_job = _asked(client)
    for job_id in (other_job, scoring.json()["id"]):
        page = client.get(f"{TEAM}?job={job_id}")
        assert page.status_code == 200 and 'id="job-status"' not in page.text, job_id
    assert _job_line(client, own_job)[1]  # the page's own job is still followed


def test_nothing_new_to_suggest_is_an_answer_not_a_failure(client, session, embedder, org) -> None:
    """The offline drafter's decline: the job succeeds with the reason as its result, and the
    page says it in a neutral notice naming what was asked, with no failure and no admin."""
    from alignment.drafting.offline_suggestions import NothingToSuggest

    declined = NothingToSuggest(
        "nothing new to suggest for SO-1 in 2026-Q4 for team T-1: ...",
        team="T-1",
        cycle="2026-Q4",
        reasons=[("SO-1", "only one new key result is left ('Churn'), and an OKR needs 2")],
    )
    job_id = _asked(client)
    Jobs(session, embedder, drafter=FailingDrafter(declined)).drain()
    stored = client.get(f"/jobs/{job_id}").json()
    assert stored["status"] == "succeeded" and not stored["error"], stored
    assert stored["result"]["declined"] == "nothing_to_suggest"
    assert stored["result"]["objectives"] == ["SO-1"] and stored["result"]["cycle"] == "2026-Q4"

    page = client.get(f"{TEAM}?job={job_id}").text
    assert 'role="status" id="job-status" data-job-declined' in page
    kind, said = _job_line(client, job_id)
    assert kind == ""
    assert said == (
        "There is nothing new to suggest for SO-1 in 2026-Q4. Nothing was stored. For SO-1: "
        "only one new key result is left ('Churn'), and an OKR needs 2. Asking again gives the "
        "same answer: write the new key results yourself, or ask for other objectives or "
        "another cycle."
    ), said
    assert "failed" not in said and "admin" not in said and "job number" not in said
