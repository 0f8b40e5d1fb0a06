"""What became of a drafting job that failed (or is being tried again), or that declined, in
plain words, for the people on the team page.

The job's stored `error` ("unavailable: the LLM provider could not be reached (after 2
retries)...", "RuntimeError (details in the worker's log)") is written for operators: it stays on
the job (`GET /jobs/{id}`) and in the worker's log, and the page never shows it.
"""

from typing import Any

from alignment.jobs.views import failure_code

WHAT = {"draft_suggestions": "the suggested OKRs", "draft_summary": "the cycle summary"}
# By the domain error's code: why it failed, and what the person can do about it.
WHY = {
    "unavailable": "the AI service that writes the drafts could not be reached, or did not "
    "answer properly",
    "token_budget_exhausted": "your organization has used up this month's allowance for the AI "
    "service that writes the drafts",
    "not_found": "something the request named (the team, a cycle or an objective) was removed "
    "after you asked",
    "invalid": "the request no longer fits the organization's records (an objective or cycle it "
    "named was removed or changed after you asked)",
    "conflict": "another change to the organization was under way at the same moment",
    "busy": "another change to the organization was under way at the same moment",
    "nothing_to_suggest": "every key result the team's records offer for the objectives asked "
    "about (their KPIs, last cycle's unfinished key results) is already a key result in the "
    "organization, so there was nothing new to suggest",
}
UNEXPECTED = "something went wrong on our side"
ADVICE = {
    "unavailable": "Try again in a few minutes. If it keeps failing, ask your organization's "
    "admin to have the connection to the AI service checked",
    "token_budget_exhausted": "Trying again will not help until next month: ask your "
    "organization's admin whether the allowance can be raised",
    "not_found": "Reload this page and ask again with what is there now",
    "invalid": "Reload this page and ask again with what is there now",
    "conflict": "Try again in a moment",
    "busy": "Try again in a moment",
    "nothing_to_suggest": "Asking again gives the same answer: write the new key results "
    "yourself, or ask for other objectives or another cycle",
}
ASK_AN_ADMIN = "Try again. If it fails again, ask your organization's admin"


def job_failure(job: dict[str, Any]) -> dict[str, str] | None:
    """A rendered job's failure said for the page: `said` (what failed, and why), `advice`
    (what the person can do) and `kind` (the error's code, "unexpected" for any other); None
    when the job has not failed, not even one try."""
    if not job.get("error") and job.get("status") != "failed":
        return None
    code = failure_code(job["error"])
    known = code in WHY
    what = WHAT.get(job.get("kind", ""), "the draft")
    why = WHY[code] if known else UNEXPECTED
    return {
        "kind": code if known else "unexpected",
        "said": f"Drafting {what} failed: {why}.",
        "why": why,
        "advice": f"{ADVICE[code] if known else ASK_AN_ADMIN}.",
    }


DECLINED_ADVICE = (
    "Asking again gives the same answer: write the new key results yourself, or ask for other "
    "objectives or another cycle."
)


def job_declined(job: dict[str, Any]) -> dict[str, Any] | None:
    """A drafting job that answered "nothing new to suggest", said for the page: `said` (the
    objectives and cycle asked about), `reasons` (one sentence per objective) and `advice`;
    None for any other job. The decline is an answer, not a failure: no admin is needed.
    A job that ended `failed` with it (before declines succeeded) is said the same way."""
    result = job.get("result")
    if isinstance(result, dict) and result.get("declined") == "nothing_to_suggest":
        objectives = [str(o) for o in result.get("objectives") or []]
        asked = " and ".join(objectives) or "the objectives asked about"
        cycle = f" in {result['cycle']}" if result.get("cycle") else ""
        reasons = [f"For {r['objective']}: {r['reason']}." for r in result.get("reasons") or []]
    elif job.get("status") == "failed" and failure_code(job.get("error")) == "nothing_to_suggest":
        params = job.get("params") or {}
        named = params.get("objectives")
        asked = " and ".join(named) if isinstance(named, list) else "the objectives asked about"
        cycle = f" in {params['cycle']}" if params.get("cycle") else ""
        reasons = [f"{WHY['nothing_to_suggest'][:1].upper()}{WHY['nothing_to_suggest'][1:]}."]
    else:
        return None
    return {
        "said": f"There is nothing new to suggest for {asked}{cycle}. Nothing was stored.",
        "reasons": reasons,
        "advice": DECLINED_ADVICE,
    }
