"""All routers, assembled in one place."""

from fastapi import APIRouter

from service.routes import alignment, bundles, health, orgs, records

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(orgs.router)
api_router.include_router(bundles.router)
api_router.include_router(records.router)
api_router.include_router(alignment.router)
