"""Request dependencies: the session that owns each request's transaction, the embedder."""

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from alignment.db import get_app_sessionmaker
from alignment.embedder import Embedder, get_embedder
from alignment.errors import Invalid
from alignment.settings import get_settings

# PostgreSQL's bigint: larger numbers cannot reach the database (it would refuse them).
BIGINT_MAX = 2**63 - 1
DEFAULT_LIMIT = 50


def in_transaction(session: Session) -> Iterator[Session]:
    """Commit when the route returns, roll back when it raises: routes never commit."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


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


def get_session(
    _permit: Annotated[None, Depends(database_permit, scope="function")],
) -> Iterator[Session]:
    session = get_app_sessionmaker()()
    try:
        yield from in_transaction(session)
    finally:
        session.close()


# scope="function": the commit (or rollback) runs when the route returns, before the response
# is sent. With the default request scope, current FastAPI runs it after the response, so a 201
# could reach the client before its commit, or without it.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


class Page:
    """`limit` and `offset` of every list endpoint; a limit above the maximum is refused, not
    silently lowered, so a client never mistakes a short page for the end of the list."""

    def __init__(
        self,
        limit: Annotated[
            int | None,
            Query(
                ge=1,
                description="Items per page (default 50), at most GOLDENTHREAD_PAGE_LIMIT_MAX.",
            ),
        ] = None,
        offset: Annotated[int, Query(ge=0, le=BIGINT_MAX)] = 0,
    ) -> None:
        largest = get_settings().service.page_limit_max
        if limit is None:
            limit = min(DEFAULT_LIMIT, largest)
        elif limit > largest:
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
        self.limit = limit
        self.offset = offset


PageDep = Annotated[Page, Depends()]


def embedder() -> Embedder:
    """The process-wide embedder; tests override it with the session fixture's instance."""
    return get_embedder()


EmbedderDep = Annotated[Embedder, Depends(embedder)]
