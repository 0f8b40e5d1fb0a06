"""Pages for the people who decide (server-rendered; all user text autoescaped)."""

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from alignment.strategy_map import strategy_map
from service.auth import CurrentPrincipal
from service.deps import SessionDep

router = APIRouter(include_in_schema=False)
PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@router.get("/orgs/{org_id}/strategy-map", response_class=HTMLResponse)
def strategy_map_page(
    org_id: str, session: SessionDep, principal: CurrentPrincipal
) -> HTMLResponse:
    from service.routes.reports import _pages

    html = (
        _pages()
        .get_template("strategy_map.html.j2")
        .render(m=strategy_map(session, org_id), signed_in=principal.name)
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": PAGE_CSP})
