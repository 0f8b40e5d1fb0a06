"""All routers, assembled in one place: probes are public, everything else is authorized.

Each module below with a `router` serves one area (`reports` the report's API, `report_pages`
its page and the organizations list, `pages` the map and detail pages, `review_page` the review
queue's page, `review_queue` its API, `team_page` a team lead's page). The modules without one
serve the pages: `forms` (reading a posted form), `nav`, `review_notices` (what a decision page
says), `team_page_edits` (the team page's forms), `report_job` (the report page's notice of
its build job, with its Cancel), `gate_words` and `job_words` (wording).
"""

from fastapi import Depends, FastAPI

from service.errors import documented
from service.json_body import read_bodies_strictly
from service.permissions import authorize
from service.query_strict import refuse_unknown_queries
from service.routes import (
    access,
    alignment,
    bundles,
    drafts,
    health,
    jobs,
    metrics,
    orgs,
    pages,
    records,
    report_pages,
    reports,
    review_page,
    review_queue,
    session,
    team_page,
    webhooks,
)

PUBLIC = [health.router, session.router]
# Routes are tried in this order, one at a time (about 1 us each with FastAPI 0.165's included
# routers), so the reads dashboards poll come first. No route shadows another
# (tests/service/test_routes.py), so the order decides nothing else.
PROTECTED = [
    reports.router,
    report_pages.router,
    alignment.router,
    records.router,
    orgs.router,
    bundles.router,
    drafts.router,
    access.router,
    review_queue.router,
    metrics.router,
    pages.router,
    review_page.router,
    jobs.router,
    team_page.router,
    webhooks.router,
]
# Not held to their declared query parameters (service/query_strict.py): the probes and
# /metrics take none, so none can be misread, and their callers (orchestrators, scrapers) are
# set up once, where a refusal would read as an outage. Pages are left lenient route by route.
LENIENT_QUERIES = [health.router, metrics.router]


def include_routes(app: FastAPI) -> None:
    """Each router straight on the app: every level of included routers is one more pass of
    FastAPI's matching per request."""
    for router in [*PUBLIC, *PROTECTED]:
        read_bodies_strictly(router)
        if router not in LENIENT_QUERIES:
            refuse_unknown_queries(router)
    for router in PUBLIC:
        app.include_router(router)
    for router in PROTECTED:
        app.include_router(
            router,
            dependencies=[Depends(authorize)],
            responses=documented(400, 401, 403, 404, 409, 413, 422, 429, 503),
        )
