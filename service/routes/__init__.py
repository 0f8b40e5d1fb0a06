"""All routers, assembled in one place."""

from fastapi import APIRouter

from service.routes import alignment, bundles, drafts, health, orgs, records, reports

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(orgs.router)
api_router.include_router(bundles.router)
api_router.include_router(records.router)
api_router.include_router(alignment.router)
api_router.include_router(reports.router)
api_router.include_router(drafts.router)
