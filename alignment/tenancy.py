"""The organization a transaction may see, enforced by PostgreSQL row-level security.

The setting is transaction-local (`set_config(..., true)`), so a pooled connection never carries
one tenant's setting into another's request. `set_tenant` records the tenant on the session too,
and every later transaction of that session sets it again before its first statement.
"""

from __future__ import annotations

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from alignment import lock_bound

TENANT_SETTING = "goldenthread.org_id"
PLATFORM_SETTING = "goldenthread.platform"
_INFO_KEY = "goldenthread.tenant"


def set_tenant(session: Session, org_id: str | None, *, platform: bool = False) -> None:
    """Let this session's transactions see `org_id`'s rows only (`platform`: every
    organization's row in `organizations`, for the platform admin, and nothing else)."""
    session.info[_INFO_KEY] = (org_id, platform)
    _apply(session.connection(), org_id, platform)


def set_tenant_at_begin(session: Session, org_id: str | None, *, platform: bool = False) -> None:
    """`set_tenant` for a session that has not run a statement yet: its first transaction sets
    the tenant before its first statement, so nothing runs now (no connection, no wait)."""
    if session.in_transaction():  # a statement may have run: set it now
        set_tenant(session, org_id, platform=platform)
    else:
        session.info[_INFO_KEY] = (org_id, platform)


_SET = "select set_config(:tenant, :org, true), set_config(:platform, :on, true)"
_SETS = {
    False: text(_SET),
    # A request's lock bound (lock_bound.py) in the same round trip.
    True: text(f"{_SET}, set_config('lock_timeout', :wait, true)"),
}


def _apply(connection, org_id: str | None, platform: bool, wait: str | None = None) -> None:
    connection.execute(
        _SETS[wait is not None],
        {
            "tenant": TENANT_SETTING,
            "org": org_id or "",
            "platform": PLATFORM_SETTING,
            "on": "on" if platform else "off",
            "wait": wait,
        },
    )


@event.listens_for(Session, "after_begin")
def _reapply_after_begin(session: Session, transaction, connection) -> None:
    tenant: tuple[str | None, bool] | None = session.info.get(_INFO_KEY)
    wait = None if transaction.nested else lock_bound.wait_of(session)
    if tenant is not None:
        _apply(connection, *tenant, wait)
    elif wait is not None:  # signing in, out: no tenant, but a request's bound all the same
        lock_bound.apply(connection, wait)
