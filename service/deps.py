"""Request dependencies: the session that owns each request's transaction, the embedder."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from alignment.db import BIGINT_MAX, get_app_sessionmaker
from alignment.embedder import Embedder, get_embedder
from alignment.errors import Invalid
from alignment.lock_bound import bound_lock_waits
from alignment.settings import get_settings

DEFAULT_LIMIT = 50


async def database_permit(request: Request) -> AsyncIterator[None]:
    """A request's turn at the database, taken before its session exists and given back after
    the session is closed.

    Sync routes and their session's commit run in a bounded thread pool. Without this gate, 50
    concurrent requests held every pooled connection while waiting for a thread, and every
    thread waited for a connection: the process stopped answering. Waiting here costs nothing:
    no thread, no connection.
    """
    permits = getattr(request.app.state, "database_permits", None)
    if permits is None:
        yield
        return
    async with permits:
        yield


async def get_session(
    _permit: Annotated[None, Depends(database_permit, scope="function")],
) -> AsyncIterator[Session]:
    """A new session (no connection yet: nothing to wait for), committed or rolled back and
    closed in one trip to the thread pool. A sync generator here cost two trips per request,
    each a hand-over between threads at the GIL (docs/scaling.md)."""
    session = get_app_sessionmaker()()
    bound_lock_waits(session)
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):  # a cancelled request still gives its connection back
            await anyio.to_thread.run_sync(_finish, session, False)
        raise
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(_finish, session, True)


_WRITE_NOTHING = "goldenthread.write_nothing"


def write_nothing(session: Session) -> None:
    """End the request's transaction with a rollback, though the route returns: a page answers
    a refused form, or a decision already made, with a page of its own rather than an error,
    and its audit entry (written before the route ran) must not stay to say it changed
    something."""
    session.info[_WRITE_NOTHING] = True


def keeps_its_writes(session: Session) -> bool:
    """Whether the route that returned may commit (and forget `write_nothing` for the next)."""
    return not session.info.pop(_WRITE_NOTHING, False)


def _finish(session: Session, commit: bool) -> None:
    try:
        if commit and keeps_its_writes(session):
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


# scope="function": the commit (or rollback) runs when the route returns, before the response
# is sent. With the default request scope, current FastAPI runs it after the response, so a 201
# could reach the client before its commit, or without it.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class Page:
    """`limit` and `offset` of every list endpoint."""

    limit: int
    offset: int

    def envelope(self, items: list[Any], total: int) -> dict[str, Any]:
        """One page of a list as every list endpoint answers it."""
        return {"items": items, "total": total, "limit": self.limit, "offset": self.offset}

    def of(self, items: list[Any]) -> dict[str, Any]:
        """This page of a list read whole."""
        return self.envelope(items[self.offset : self.offset + self.limit], len(items))


async def page_query(
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            description="Items per page (default 50), at most GOLDENTHREAD_PAGE_LIMIT_MAX.",
        ),
    ] = None,
    offset: Annotated[int, Query(ge=0, le=BIGINT_MAX)] = 0,
) -> Page:
    """A limit above the maximum is refused, not silently lowered, so a client never mistakes
    a short page for the end of the list. (`async`: checks that need no thread, see
    `get_session`.)"""
    largest = get_settings().service.page_limit_max
    if limit is None:
        return Page(min(DEFAULT_LIMIT, largest), offset)
    if limit > largest:
        raise Invalid(
            f"limit must be at most {largest}",
            details=[
                {
                    "path": "query.limit",
                    "message": f"{limit} is above the largest page, {largest} "
                    "(GOLDENTHREAD_PAGE_LIMIT_MAX)",
                }
            ],
        )
    return Page(limit, offset)


PageDep = Annotated[Page, Depends(page_query)]


def embedder() -> Embedder:
    """The process-wide embedder; tests override it with the session fixture's instance."""
    return get_embedder()


EmbedderDep = Annotated[Embedder, Depends(embedder)]


async def no_body(request: Request) -> None:
    """For a POST whose options are query parameters: a JSON body sent to it (`{"adjudicate":
    true}`) would otherwise be ignored without a word and the default run instead."""
    if await request.body():
        raise Invalid(
            "this request takes no body: its options are query parameters (see /docs)",
            details=[{"path": "$", "message": "send options in the query: ?adjudicate=true"}],
        )
