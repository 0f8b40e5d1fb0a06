"""API keys: `gt_<prefix>_<secret>`, shown once; only the SHA-256 of the secret is stored.

The secret carries 256 bits from `secrets`, so a fast hash is enough (there is nothing to
brute-force); the comparison is constant-time. The prefix is public: it names the key in lists,
logs and the audit trail.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from alignment.access.principal import Principal, Role
from alignment.bundle.text_rules import normal_id
from alignment.errors import Conflict, Invalid, NotFound
from alignment.models import ApiKey, Organization, Team

KEY_PATTERN = re.compile(r"^gt_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$")
PREFIX_SETTING = "goldenthread.key_prefix"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    session: Session,
    *,
    org_id: str | None,
    role: Role | str,
    team_ids: Iterable[str] = (),
    name: str | None = None,
    created_by: str = "system",
) -> tuple[ApiKey, str]:
    """Store a new key and return it with its raw text, which is never retrievable again."""
    role = _role(role)
    team_ids = [normal_id(t) for t in team_ids]  # as the teams' ids are stored
    teams = sorted(set(team_ids))
    if role is Role.platform_admin:
        if org_id is not None:
            raise Invalid(
                "a platform_admin key belongs to no organization",
                # The role is what the request got wrong: the organization is the route's.
                details=_at("role", "platform_admin keys are made without an organization"),
            )
    else:
        if not org_id:
            article = "an" if str(role)[:1] in "aeiou" else "a"
            raise Invalid(
                f"{article} {role} key needs an organization", details=_at("org", "required")
            )
        if session.get(Organization, org_id) is None:
            raise NotFound(f"organization {org_id!r} not found", details=_at("org", "not found"))
    if role is Role.team_lead:
        if not teams:
            raise Invalid(
                "a team_lead key needs at least one team",
                details=_at("teams", "name the teams this key may write for"),
            )
        known = set(
            session.scalars(select(Team.id).where(Team.org_id == org_id, Team.id.in_(teams)))
        )
        listed = list(dict.fromkeys(team_ids))
        if missing := [t for t in listed if t not in known]:
            raise Invalid(
                f"no team {', '.join(map(repr, missing))} in organization {org_id!r}",
                details=[
                    {"path": f"$.teams[{listed.index(t)}]", "message": f"no team {t!r} here"}
                    for t in missing
                ],
            )
    elif teams:
        raise Invalid(
            f"only team_lead keys have teams, not {role}",
            details=_at("teams", f"{role} keys have no teams; leave it out"),
        )

    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    row = ApiKey(
        prefix=prefix,
        secret_hash=_digest(secret),
        org_id=org_id,
        role=role.value,
        team_ids=teams,
        name=name or f"{role.value}-{prefix}",
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    return row, f"gt_{prefix}_{secret}"


def active_key(session: Session, prefix: str) -> ApiKey | None:
    """The unrevoked key with this prefix, or None."""
    # Row-level security admits exactly this key's row before any tenant is known, and lets
    # that phase change only its stamps, last_used_at and signed_out_at (migration 0023).
    session.execute(
        text("select set_config(:name, :prefix, true)"), {"name": PREFIX_SETTING, "prefix": prefix}
    )
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    return None if row is None or row.revoked_at is not None else row


def authenticate(session: Session, raw_key: str) -> Principal | None:
    """The principal of a valid, unrevoked key; None for anything else (never says which)."""
    match = KEY_PATTERN.match(raw_key or "")
    if not match:
        return None
    prefix, secret = match.groups()
    return authenticate_by(
        session, prefix, lambda row: hmac.compare_digest(row.secret_hash, _digest(secret))
    )


def authenticate_by(
    session: Session, prefix: str, proves: Callable[[ApiKey], bool]
) -> Principal | None:
    """The principal of the unrevoked key with this prefix when `proves` accepts its row (the
    key's secret, or a page session ticket signed over its stored hash)."""
    row = active_key(session, prefix)
    if row is None or not proves(row):
        return None
    _stamp_use(session, row.id)
    return principal_of(row)


def sign_out(session: Session, prefix: str, at: datetime) -> None:
    """End every page session of the key issued before `at` (the key stays valid)."""
    row = active_key(session, prefix)
    if row is not None:
        row.signed_out_at = at
        session.flush()


def _stamp_use(session: Session, key_id: int) -> None:
    """Record when a key was last used, at most once a minute, and never waiting: the row
    lock lasts until the request commits, and concurrent requests with the same key would
    otherwise queue behind it, each holding a pooled connection."""
    session.execute(
        text(
            "update api_keys set last_used_at = now() where id = ("
            "  select id from api_keys where id = :id"
            "  and (last_used_at is null or last_used_at < now() - interval '1 minute')"
            "  for update skip locked)"
        ),
        {"id": key_id},
    )


def principal_of(row: ApiKey) -> Principal:
    return Principal(
        name=f"{row.name} (key {row.prefix})",
        role=Role(row.role),
        org_id=row.org_id,
        team_ids=frozenset(row.team_ids or ()),
        key_id=row.id,
    )


def list_keys(session: Session, org_id: str | None) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id)
    query = query.where(ApiKey.org_id == org_id if org_id else ApiKey.org_id.is_(None))
    return list(session.scalars(query))


def revoke_key(session: Session, prefix: str, *, org_id: str | None) -> ApiKey:
    """Revoke once; revoking again changes nothing (a retry is harmless)."""
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None or row.org_id != org_id:
        raise NotFound(
            f"key {prefix!r} not found",
            details=[{"path": "path.prefix", "message": "no such key in this organization"}],
        )
    if row.revoked_at is None:
        row.revoked_at = func.now()
        session.flush()
        session.refresh(row)
    return row


def render_key(row: ApiKey) -> dict:
    return {
        "prefix": row.prefix,
        "name": row.name,
        "org_id": row.org_id,
        "role": row.role,
        "teams": list(row.team_ids or ()),
        "created_by": row.created_by,
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "revoked_at": row.revoked_at,
    }


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        valid = ", ".join(r.value for r in Role)
        raise Invalid(
            f"unknown role {role!r}; valid: {valid}", details=_at("role", f"one of {valid}")
        ) from None


def _at(field: str, message: str) -> list[dict[str, str]]:
    return [{"path": f"$.{field}", "message": message}]


def refuse_once_an_admin_exists(session: Session, org_id: str) -> None:
    """A platform admin bootstraps an organization's first admin key, nothing after it. The
    lock makes two concurrent bootstraps take turns, so the second sees the first's key."""
    session.execute(
        text("select pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"first-admin-key:{org_id}"},
    )
    active_admin = session.scalar(
        select(ApiKey.id)
        .where(
            ApiKey.org_id == org_id,
            ApiKey.role == Role.admin.value,
            ApiKey.revoked_at.is_(None),
        )
        .limit(1)
    )
    if active_admin is not None:
        raise Conflict(
            f"organization {org_id!r} already has an active admin key; "
            "a platform_admin key only creates an organization's first admin key. The "
            "organization's own admin creates further keys; if no admin can, the operator "
            "runs `goldenthread keys create` on the database's machine",
            details=[{"path": "path.org_id", "message": "has an active admin key"}],
        )
