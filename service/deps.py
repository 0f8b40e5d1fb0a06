"""Request dependencies: the session that owns each request's transaction, the embedder."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy.orm import Session

from alignment.db import get_sessionmaker
from alignment.embedder import Embedder, get_embedder
from alignment.settings import get_settings


def in_transaction(session: Session) -> Iterator[Session]:
    """Commit when the route returns, roll back when it raises: routes never commit."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def get_session() -> Iterator[Session]:
    session = get_sessionmaker()()
    try:
        yield from in_transaction(session)
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


class Page:
    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, description="Items per page (capped by settings).")] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> None:
        self.limit = min(limit, get_settings().service.page_limit_max)
        self.offset = offset


PageDep = Annotated[Page, Depends()]


def embedder() -> Embedder:
    """The process-wide embedder; tests override it with the session fixture's instance."""
    return get_embedder()


EmbedderDep = Annotated[Embedder, Depends(embedder)]
