"""Prometheus metrics of this process (every organization's traffic: platform admins only)."""

from fastapi import APIRouter, Response

from service.observability import metrics_body

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics() -> Response:
    body, media_type = metrics_body()
    return Response(body, media_type=media_type)
