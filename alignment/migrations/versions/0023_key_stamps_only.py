"""The authentication phase may stamp the presented key's row, and change nothing else of it.

Migration 0008's `key_stamp` policy lets a transaction that names a key prefix (no tenant yet)
UPDATE that key's row, so sign-in can record `last_used_at` (alignment/access/keys.py
`_stamp_use`) and sign-out `signed_out_at` (`sign_out`, migration 0019). A policy cannot say
which columns, though: the same transaction could have made the key a platform admin's, moved
it to another organization, un-revoked it or replaced its hash. And because the policies' checks
are OR'ed, a tenant's transaction could move its own presented key to another organization:
the new row fails the tenant's check but passes the stamp policy's.

Column privileges do not fit: a tenant's admin revokes and renames keys as the same role. So a
trigger tells the two apart by the row: a change the tenant policy admits (the row is the
tenant's, or the platform's under `goldenthread.platform`, before and after) is any change;
any other change reached the row through `key_stamp`, and may touch the stamps only. Columns
added later are protected unless named here. The owner (migrations, operator commands, the
worker) is not bound by row-level security, and the trigger leaves it alone too.

Revision ID: 0023
Revises: 0022
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

# What the authentication phase writes: keys.py `_stamp_use` and `sign_out`.
STAMPS = ("last_used_at", "signed_out_at")
TENANT = "current_setting('goldenthread.org_id', true)"
PLATFORM = "coalesce(current_setting('goldenthread.platform', true) = 'on', false)"


def _tenants(row: str) -> str:
    """The tenant policy's rule (0008) for `row`, never null."""
    return f"coalesce({row}.org_id = {TENANT} or ({row}.org_id is null and {PLATFORM}), false)"


def upgrade() -> None:
    unstamped = " - ".join(["to_jsonb({row})", *(f"'{c}'" for c in STAMPS)])
    op.execute(
        f"""
        CREATE FUNCTION api_keys_stamps_only() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            changed text;
        BEGIN
            IF NOT row_security_active(TG_RELID) OR ({_tenants("OLD")} AND {_tenants("NEW")})
            THEN
                RETURN NEW;
            END IF;
            SELECT string_agg(n.key, ', ' ORDER BY n.key) INTO changed
            FROM jsonb_each({unstamped.format(row="NEW")}) AS n
            WHERE n.value IS DISTINCT FROM ({unstamped.format(row="OLD")}) -> n.key;
            IF changed IS NOT NULL THEN
                RAISE EXCEPTION 'api key %: outside a tenant that holds it, a key''s row takes '
                    'only its use and sign-out stamps (%), not a change of %',
                    OLD.prefix, '{", ".join(STAMPS)}', changed
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER api_keys_stamps_only BEFORE UPDATE ON api_keys "
        "FOR EACH ROW EXECUTE FUNCTION api_keys_stamps_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS api_keys_stamps_only ON api_keys")
    op.execute("DROP FUNCTION IF EXISTS api_keys_stamps_only()")
