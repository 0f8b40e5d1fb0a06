"""All routers, assembled in one place: probes are public, everything else is authorized."""

from fastapi import APIRouter, Depends

from service.errors import documented
from service.permissions import authorize
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
    reports,
    review,
    session,
    team_page,
    webhooks,
)

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(session.router)

protected = APIRouter(
    dependencies=[Depends(authorize)],
    responses=documented(400, 401, 403, 404, 409, 413, 422, 429, 503),
)
protected.include_router(orgs.router)
protected.include_router(bundles.router)
protected.include_router(records.router)
protected.include_router(alignment.router)
protected.include_router(reports.router)
protected.include_router(drafts.router)
protected.include_router(access.router)
protected.include_router(review.router)
protected.include_router(metrics.router)
protected.include_router(pages.router)
protected.include_router(jobs.router)
protected.include_router(team_page.router)
protected.include_router(webhooks.router)
api_router.include_router(protected)
