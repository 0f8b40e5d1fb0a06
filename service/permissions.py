"""Who may call what: one rule per route, enforced for every request by `authorize`.

A route with no rule is refused (deny by default), and tests/service/test_access_matrix.py walks
the app's route table, so a new route without a rule fails the suite before it ships.

Order of checks: credentials (401; 429 before any lookup once one client address or one key
prefix has failed too often: `login_limits.authenticate_limited`), then the organization in the path
(another organization's records answer 404, exactly like records that do not exist), then the
role (403), then a team lead's object checks (its own teams' OKRs, key results, check-ins and
drafts).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from fastapi import Request
from sqlalchemy.orm import Session

from alignment.access import audit
from alignment.access.ownership import teams_touched
from alignment.access.principal import Principal, Role
from alignment.bundle.text_rules import normal_id
from alignment.deletion_turns import take_turn
from alignment.drafting.store import get_draft
from alignment.errors import Forbidden, Invalid, NotFound
from alignment.tenancy import set_tenant_at_begin
from service.auth import recently_checked
from service.deps import SessionDep
from service.login_limits import authenticate_limited
from service.query_strict import QueryCheck, check_query

PLATFORM, ADMIN, OFFICE, LEAD, INTEGRATION = (
    Role.platform_admin,
    Role.admin,
    Role.strategy_office,
    Role.team_lead,
    Role.integration,
)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# POSTs that store nothing (a body too rich for a query string): not audited as writes, so the
# team page's live suggestion does not add an audit entry per pause in typing.
STORES_NOTHING = frozenset({("POST", "/orgs/{org_id}/suggest-parent")})
DELETES_THE_ORG = ("DELETE", "/orgs/{org_id}")
# GETs that may store something (the report page queues its next run): they take their turn
# with a delete of the organization as writes do.
READS_THAT_WRITE = frozenset({("GET", "/orgs/{org_id}/report.html")})
ORG_READERS = frozenset({ADMIN, OFFICE, LEAD, INTEGRATION})
ANALYSTS = frozenset({ADMIN, OFFICE, INTEGRATION})  # scores, reports and exports
DECIDERS = frozenset({ADMIN, OFFICE, LEAD})  # drafts; a team lead's only for its own teams
WRITERS = frozenset({ADMIN, INTEGRATION})  # records, by import or one at a time


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    # For team leads: what the team check looks at ("okrs", "key-results", "check-ins" for a
    # record write, "draft" for a stored draft, "draft-request" for a request body's team,
    # "team-path" for a team page's `{team_id}`).
    team_check: str | None = None


def _rule(*roles: Role | frozenset[Role], team_check: str | None = None) -> Rule:
    flat: set[Role] = set()
    for r in roles:
        flat |= r if isinstance(r, frozenset) else {r}
    return Rule(frozenset(flat), team_check)


RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/orgs"): _rule(PLATFORM, ORG_READERS),
    ("POST", "/orgs"): _rule(PLATFORM),
    ("GET", "/orgs/{org_id}"): _rule(PLATFORM, ORG_READERS),  # what `GET /orgs` lists
    ("PATCH", "/orgs/{org_id}"): _rule(ADMIN),
    ("DELETE", "/orgs/{org_id}"): _rule(ADMIN),
    ("POST", "/bundles"): _rule(WRITERS),
    ("GET", "/orgs/{org_id}/bundle"): _rule(ANALYSTS),
    ("POST", "/orgs/{org_id}/okrs.csv"): _rule(WRITERS),
    ("GET", "/orgs/{org_id}/okrs.csv"): _rule(ANALYSTS),
    ("POST", "/orgs/{org_id}/score"): _rule(ANALYSTS),
    ("GET", "/orgs/{org_id}/okrs/{okr_id}/links"): _rule(ORG_READERS),
    ("GET", "/orgs/{org_id}/alignment/orphans"): _rule(ORG_READERS),
    ("GET", "/orgs/{org_id}/alignment/audit"): _rule(ORG_READERS),
    ("GET", "/orgs/{org_id}/alignment/coverage"): _rule(ORG_READERS),
    ("GET", "/orgs/{org_id}/alignment/coverage/{objective_id}"): _rule(ORG_READERS),
    ("GET", "/orgs/{org_id}/alignment/drift"): _rule(ORG_READERS),
    ("POST", "/orgs/{org_id}/suggest-parent"): _rule(ORG_READERS),
    ("POST", "/orgs/{org_id}/okrs/{okr_id}/links/{objective_id}/feedback"): _rule(ADMIN, OFFICE),
    ("GET", "/orgs/{org_id}/alignment/feedback-labels"): _rule(ANALYSTS),
    ("POST", "/orgs/{org_id}/reports"): _rule(ANALYSTS),
    ("GET", "/orgs/{org_id}/reports"): _rule(ANALYSTS),
    ("GET", "/orgs/{org_id}/reports/settings"): _rule(ANALYSTS),
    ("PUT", "/orgs/{org_id}/reports/settings"): _rule(ADMIN),
    ("GET", "/orgs/{org_id}/reports/latest"): _rule(ANALYSTS),
    ("GET", "/orgs/{org_id}/reports/{report_id}"): _rule(ANALYSTS),
    ("GET", "/orgs/{org_id}/reports/{report_id}/diff"): _rule(ANALYSTS),
    ("GET", "/"): _rule(PLATFORM, ORG_READERS),
    ("GET", "/orgs/{org_id}/report.html"): _rule(ANALYSTS),
    # The page's "Cancel" of the build it shows; who may is the job's rule.
    ("POST", "/orgs/{org_id}/report/jobs/{job_id}/cancel"): _rule(ANALYSTS),
    ("POST", "/orgs/{org_id}/drafts/suggestions"): _rule(DECIDERS, team_check="draft-request"),
    ("POST", "/orgs/{org_id}/drafts/summaries"): _rule(DECIDERS, team_check="draft-request"),
    ("GET", "/orgs/{org_id}/drafts"): _rule(DECIDERS),  # a team lead sees its own teams'
    ("GET", "/orgs/{org_id}/drafts/{draft_id}"): _rule(DECIDERS, team_check="draft"),
    ("POST", "/orgs/{org_id}/drafts/{draft_id}/approve"): _rule(DECIDERS, team_check="draft"),
    ("POST", "/orgs/{org_id}/drafts/{draft_id}/reject"): _rule(DECIDERS, team_check="draft"),
    ("POST", "/orgs/{org_id}/drafts/{draft_id}/dismiss"): _rule(DECIDERS, team_check="draft"),
    # Raw prompts and model output: for the people who audit the AI, not every decider.
    ("GET", "/orgs/{org_id}/drafts/{draft_id}/audit"): _rule(ADMIN, OFFICE),
    ("GET", "/orgs/{org_id}/keys"): _rule(ADMIN),
    ("POST", "/orgs/{org_id}/keys"): _rule(PLATFORM, ADMIN),
    ("DELETE", "/orgs/{org_id}/keys/{prefix}"): _rule(ADMIN),
    ("GET", "/orgs/{org_id}/audit-log"): _rule(ADMIN),
    ("GET", "/metrics"): _rule(PLATFORM),
    ("GET", "/orgs/{org_id}/strategy-map"): _rule(ORG_READERS),
    ("GET", "/orgs/{org_id}/review"): _rule(ADMIN, OFFICE),
    ("POST", "/orgs/{org_id}/review/{okr_id}/confirm"): _rule(ADMIN, OFFICE),
    ("POST", "/orgs/{org_id}/review/{okr_id}/reject"): _rule(ADMIN, OFFICE),
    ("POST", "/orgs/{org_id}/review/links/{okr_id}/{objective_id}/{decision}"): _rule(
        ADMIN, OFFICE
    ),
    ("POST", "/orgs/{org_id}/review/check-ins/{check_in_id}/{verdict}"): _rule(ADMIN, OFFICE),
    ("POST", "/orgs/{org_id}/review/drafts/{draft_id}/approve"): _rule(ADMIN, OFFICE),
    ("POST", "/orgs/{org_id}/review/drafts/{draft_id}/reject"): _rule(ADMIN, OFFICE),
    ("GET", "/orgs/{org_id}/review-queue"): _rule(ADMIN, OFFICE, INTEGRATION),
    ("POST", "/orgs/{org_id}/review-queue/okrs/{okr_id}/confirm"): _rule(ADMIN, OFFICE),
    ("POST", "/orgs/{org_id}/review-queue/okrs/{okr_id}/reject"): _rule(ADMIN, OFFICE),
    # The deprecated paths of the two above, kept for existing callers.
    ("POST", "/orgs/{org_id}/review-queue/{okr_id}/confirm"): _rule(ADMIN, OFFICE),
    ("POST", "/orgs/{org_id}/review-queue/{okr_id}/reject"): _rule(ADMIN, OFFICE),
    ("GET", "/orgs/{org_id}/review-queue/check-ins"): _rule(ADMIN, OFFICE, INTEGRATION),
    ("POST", "/orgs/{org_id}/review-queue/check-ins/{check_in_id}"): _rule(ADMIN, OFFICE),
    ("GET", "/orgs/{org_id}/okr/{okr_id}"): _rule(DECIDERS),
    ("GET", "/orgs/{org_id}/objective/{objective_id}"): _rule(DECIDERS),
    ("GET", "/orgs/{org_id}/team/{team_id}"): _rule(DECIDERS, team_check="team-path"),
    ("POST", "/orgs/{org_id}/team/{team_id}/suggest"): _rule(DECIDERS, team_check="team-path"),
    ("POST", "/orgs/{org_id}/team/{team_id}/summary"): _rule(DECIDERS, team_check="team-path"),
    ("POST", "/orgs/{org_id}/team/{team_id}/drafts/{draft_id}/approve"): _rule(
        DECIDERS, team_check="team-path"
    ),
    ("POST", "/orgs/{org_id}/team/{team_id}/drafts/{draft_id}/reject"): _rule(
        DECIDERS, team_check="team-path"
    ),
    ("POST", "/orgs/{org_id}/team/{team_id}/drafts/{draft_id}/dismiss"): _rule(
        DECIDERS, team_check="team-path"
    ),
    # The page's "Cancel" of the drafting job it follows; who may is the job's rule.
    ("POST", "/orgs/{org_id}/team/{team_id}/jobs/{job_id}/cancel"): _rule(
        DECIDERS, team_check="team-path"
    ),
    # A team lead reads only the jobs it asked for (the route filters by requester).
    ("GET", "/jobs/{job_id}"): _rule(ORG_READERS),
    ("GET", "/orgs/{org_id}/jobs"): _rule(ORG_READERS),
    # Who may cancel which job is the job's own rule (alignment/jobs/cancel.py).
    ("POST", "/jobs/{job_id}/cancel"): _rule(ORG_READERS),
    ("POST", "/orgs/{org_id}/webhooks"): _rule(ADMIN, INTEGRATION),
    ("GET", "/orgs/{org_id}/webhooks"): _rule(ADMIN, INTEGRATION),
    ("DELETE", "/orgs/{org_id}/webhooks/{webhook_id}"): _rule(ADMIN, INTEGRATION),
    ("GET", "/orgs/{org_id}/webhooks/{webhook_id}/deliveries"): _rule(ADMIN, INTEGRATION),
}

_STRATEGY = ("cycles", "teams", "objectives", "kpis")
_TEAM_RECORDS = ("okrs", "key-results", "check-ins")
for _kind in _STRATEGY + _TEAM_RECORDS:
    _team = _kind if _kind in _TEAM_RECORDS else None
    _writers = _rule(WRITERS, LEAD, team_check=_team) if _team else _rule(WRITERS)
    # Deleting is pruning one record at a time, and pruning is the admin's (POST /bundles?prune):
    # an integration's key creates and updates records but removes none.
    _deleters = _rule(ADMIN, LEAD, team_check=_team) if _team else _rule(ADMIN)
    RULES[("GET", f"/orgs/{{org_id}}/{_kind}")] = _rule(ORG_READERS)
    RULES[("GET", f"/orgs/{{org_id}}/{_kind}/{{record_id}}")] = _rule(ORG_READERS)
    RULES[("POST", f"/orgs/{{org_id}}/{_kind}")] = _writers
    RULES[("PATCH", f"/orgs/{{org_id}}/{_kind}/{{record_id}}")] = _writers
    RULES[("DELETE", f"/orgs/{{org_id}}/{_kind}/{{record_id}}")] = _deleters


def rule_for(method: str, path: str) -> Rule | None:
    return RULES.get(("GET" if method == "HEAD" else method, path))


def may_open(principal: Principal, route: str) -> bool:
    """Whether the principal's role may GET this route (its access rule), so a page links
    only what answers."""
    rule = rule_for("GET", route)
    return rule is not None and principal.role in rule.roles


# The team checks that read the request body (the team or OKR a write names).
BODY_CHECKS = frozenset({"okrs", "key-results", "check-ins", "draft-request"})


async def _team_check_body(request: Request, rule: Rule | None) -> dict[str, Any] | None:
    """The body a team lead's check reads: {} when the route's check reads none, None when it
    needs one that is not a JSON object.

    Read whatever the Content-Type says: the route parses a JSON body under several spellings
    of it (`application/JSON`, `+json`), so a check that trusted the header would pass a body
    the route then reads (one sent without a type the route refuses with 415). Read only once
    the caller is known to be a team lead."""
    if rule is None or rule.team_check not in BODY_CHECKS or request.method not in WRITE_METHODS:
        return {}
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError included
        return None
    return body if isinstance(body, dict) else None


# The fields a team check looks up: the team, OKR or key result a write names.
TEAM_FIELDS = ("team", "okr", "key_result")


def _as_the_route_reads(body: dict[str, Any]) -> dict[str, Any]:
    """The body's team fields as the route's model reads them (ids in their stored form:
    NFKC, stripped of surrounding whitespace), refused when no route would take them (not a
    string, a NUL). Looked up raw, " O-2 " or fullwidth "Ｏ－２" found no OKR and passed, and
    the route then wrote to O-2."""
    out = dict(body)
    for name in TEAM_FIELDS:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or "\x00" in value:
            raise Invalid(
                f"{name} must be an id", details=[{"path": f"$.{name}", "message": "not an id"}]
            )
        out[name] = normal_id(value)
    return out


async def authorize(request: Request, session: SessionDep) -> Principal:
    """Every protected request's check. Most requests come with a key this process checked
    moments ago and need no database here: they are checked on the event loop, and the tenant is
    set with the route's first statement. The others are checked in a worker thread."""
    rule = _rule_of(request)
    principal = recently_checked(request)
    if principal is None and rule is not None and rule.team_check in BODY_CHECKS:
        # Who is calling, before any body is read for a check: only a team lead's is.
        principal = await anyio.to_thread.run_sync(authenticate_limited, request, session)
    body: dict[str, Any] | None = {}
    if principal is not None and principal.role is LEAD:
        body = await _team_check_body(request, rule)
    if principal is None or (principal.role is LEAD and rule is not None and rule.team_check):
        return await anyio.to_thread.run_sync(_authorize, request, session, body, principal)
    return _authorize(request, session, body, principal)


def _check_query_first(request: Request, route: Any) -> None:
    """The route's query check (service/query_strict.py), run here too: before the
    organization's write turn is waited for and an audit entry written, for a request that
    would only be refused (422) afterwards."""
    for dependency in getattr(route, "dependencies", ()):
        if isinstance(check := dependency.dependency, QueryCheck):
            check_query(request, check.allowed, check.takes, check.single)


def _rule_of(request: Request) -> Rule | None:
    return rule_for(request.method, getattr(request.scope.get("route"), "path", ""))


def _authorize(
    request: Request, session: Session, body: dict[str, Any] | None, known: Principal | None
) -> Principal:
    """The checks in order; database work only when `known` is None (the key is checked) or
    a team lead's objects are."""
    route = request.scope.get("route")
    rule = _rule_of(request)
    principal = known or authenticate_limited(request, session)
    request.state.principal = principal
    request.app.state.rate_limiter.take(str(principal.key_id or principal.name))
    org_id = request.path_params.get("org_id")
    if org_id is not None:
        platform_may = principal.role is PLATFORM and rule is not None and PLATFORM in rule.roles
        if principal.role is PLATFORM and not platform_may:
            # A platform admin lists every organization, so "not found" would hide nothing and
            # mislead: say what the role is for instead.
            raise Forbidden(
                "a platform admin creates organizations and their first admin key; an "
                "organization's records and pages are for its own keys"
            )
        if principal.org_id != org_id and not platform_may:
            raise NotFound(f"organization {org_id!r} not found")
        set_tenant_at_begin(session, org_id)
    else:
        set_tenant_at_begin(session, principal.org_id, platform=principal.role is PLATFORM)
    if rule is None:
        raise Forbidden("no access rule covers this route")
    if principal.role not in rule.roles:
        raise Forbidden(f"the {principal.role} role may not {request.method} {route.path}")
    if principal.role is LEAD and rule.team_check:
        if body is None:  # fail closed: a body the check cannot read names no team it allows
            raise Invalid(
                "the request body must be a JSON object: a team lead's request is checked "
                "against the teams it names",
                details=[{"path": "$", "message": "not a JSON object"}],
            )
        _check_teams(
            session, principal, rule.team_check, org_id or "", request, _as_the_route_reads(body)
        )
    _check_query_first(request, route)
    endpoint = (request.method, route.path)
    writes = request.method in WRITE_METHODS and endpoint not in STORES_NOTHING
    if (writes or endpoint in READS_THAT_WRITE) and (writes_to := org_id or principal.org_id):
        # After every check (a refused delete must not end the organization's running jobs)
        # and before the route's first write: alignment/deletion_turns.py.
        take_turn(session, writes_to, deleting=endpoint == DELETES_THE_ORG)
    if writes:
        # Added before the route runs, in its transaction: the entry exists exactly when the
        # write does (a refused or failed write rolls both back).
        audit.record(
            session,
            principal,
            f"{request.method} {route.path}",
            org_id=org_id or principal.org_id,
            record="/".join(str(v) for k, v in request.path_params.items() if k != "org_id")
            or None,
            details={k: v for k, v in request.query_params.items() if k != "csrf"} or None,
            request_id=request.scope.get("state", {}).get("request_id"),
        )
    return principal


def _check_teams(
    session: Session,
    principal: Principal,
    check: str,
    org_id: str,
    request: Request,
    body: dict[str, Any],
) -> None:
    params = request.path_params
    if check == "team-path":  # the page checks that a draft in the path is that team's
        teams = {params["team_id"]}
    elif check == "draft":
        teams = {get_draft(session, org_id, params["draft_id"]).team_id}
    elif check == "draft-request":
        if "team" not in body and "objective" not in body:
            return  # an incomplete request: the route's validation names what is missing
        teams = {body.get("team")}  # an objective's summary (no team) is the office's
    else:
        teams = teams_touched(session, org_id, check, params.get("record_id"), body)
    if check not in ("draft", "draft-request", "team-path"):
        teams.discard(None)  # a record that does not exist: the route answers 404 itself
    own = ", ".join(sorted(principal.team_ids))
    if check == "draft-request" and teams == {None}:
        raise Forbidden(
            f'a team lead summarizes its own teams ({own}): ask with "team" instead of '
            '"objective"; summaries of an objective are the strategy office\'s'
        )
    if check == "draft" and teams == {None}:
        # An objective's summary: organization-wide, no team's (not "this touches None").
        doing = "read" if request.method in ("GET", "HEAD") else "decide"
        raise Forbidden(
            f"a team lead cannot {doing} organization-wide drafts, only its own teams' "
            f"({own}): draft {params['draft_id']!r} summarizes a strategic objective and "
            "belongs to no team; the strategy office or an admin decides it"
        )
    outside = sorted(str(t) for t in teams if t not in principal.team_ids)
    if outside:
        raise Forbidden(
            f"a team lead may only act for its own teams ({own}); this touches {', '.join(outside)}"
        )
