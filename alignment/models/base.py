"""The declarative base and the column helpers every table uses.

Texts that get embedded carry `content_hash` so the embed stage can skip unchanged text.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    String,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# PERSPECTIVES is also read from here (report, strategy map).


def content_hash(*parts: str | None) -> str:
    """Stable hash of the text that gets embedded (fields joined, whitespace normalized)."""
    joined = "\n".join(" ".join((p or "").split()) for p in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def one_of(column: str, values: tuple[str, ...]) -> str:
    """Check-constraint SQL for a nullable column limited to `values`, written as migration
    0001 wrote it (so the DDL stays the migrations' own)."""
    listed = ",".join(f"'{value}'" for value in values)
    return f"{column} is null or {column} in ({listed})"


class Base(DeclarativeBase):
    pass


def stamped_now() -> Mapped[datetime]:
    """A timestamp the database fills in when the row is written."""
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Timestamped:
    created_at: Mapped[datetime] = stamped_now()
    updated_at: Mapped[datetime] = stamped_now()


def org_fk() -> Mapped[str]:
    return mapped_column(
        String, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
