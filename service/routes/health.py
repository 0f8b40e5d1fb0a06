"""Liveness and readiness probes."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from alignment.db import ping

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz() -> JSONResponse:
    if ping():
        return JSONResponse({"status": "ready", "database": "reachable"})
    body = {"error": {"code": "unavailable", "message": "database unreachable", "details": None}}
    return JSONResponse(body, status_code=503)
