"""The authenticated caller. Every decision, write and audit entry names one.

A principal comes from an API key today; an OIDC bearer token can produce the same object
later without any route changing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    platform_admin = "platform_admin"  # creates organizations; belongs to none
    admin = "admin"  # keys, settings, delete, prune
    strategy_office = "strategy_office"  # reads everything in its organization, decides any draft
    team_lead = "team_lead"  # its own teams' OKRs, check-ins and drafts
    integration = "integration"  # import, export, read scores and reports


@dataclass(frozen=True)
class Principal:
    """Who is calling: `name` is what decisions and the audit log record."""

    name: str
    role: Role
    org_id: str | None
    team_ids: frozenset[str] = field(default_factory=frozenset)
    key_id: int | None = None
