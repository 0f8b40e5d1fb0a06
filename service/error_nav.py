"""The organization's nav (routes/nav.py) on an error page under `/orgs/{org_id}/`, as its other
pages show it, for a signed-in person of that organization only.

Anyone else keeps the page's minimal header: a 404 for an organization the person may not see
must read exactly as one for an organization that does not exist. The nav is read before the
page is built, in a thread (the exception handlers run on the event loop), and left on
`request.state` for `errors.error_page`; a nav that cannot be read leaves the header minimal
rather than turn the error page into a 500.
"""

import logging

import anyio.to_thread
from fastapi import Request

from alignment.access.principal import Principal
from alignment.db import get_app_sessionmaker
from alignment.tenancy import set_tenant_at_begin

log = logging.getLogger(__name__)
STATE_KEY = "org_nav"
# A 503 may mean the database itself is away, and a 429 asks the client to do less: neither
# page waits for a read it can do without.
WITHOUT_NAV = frozenset({429, 503})


async def read_org_nav(request: Request, status: int) -> None:
    """Leave the nav for the error page of `status` about to be built, when it has one."""
    principal = getattr(request.state, "principal", None)
    org_id = request.path_params.get("org_id")
    # The organization check `permissions.authorize` makes: the person's own, never another's.
    if status in WITHOUT_NAV or principal is None or org_id is None or principal.org_id != org_id:
        return
    try:
        nav = await anyio.to_thread.run_sync(_read, principal, org_id)
    except Exception:
        log.warning("error page for %s shown without its nav", request.url.path, exc_info=True)
        return
    setattr(request.state, STATE_KEY, nav)


def _read(principal: Principal, org_id: str) -> dict:
    # Imported here: service.routes imports service.errors, which imports this module.
    from service.routes.nav import org_nav

    # A session of its own: the request's was closed (rolled back) when the route raised.
    with get_app_sessionmaker()() as session:
        set_tenant_at_begin(session, org_id)
        return org_nav(session, principal, org_id, "")
